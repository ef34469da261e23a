package provisioning

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

func desired(values map[string]any) *Desired {
	return &Desired{Values: values, OnCreate: map[string]bool{}, Ignored: map[string]bool{}, Empty: map[string]*CompiledMapping{}, By: map[string]*CompiledMapping{}}
}

func link(active bool, exported map[string]any) *Link {
	return &Link{ObjectType: TypeUser, SourceID: "u1", TargetID: "t1", Origin: OriginCreated, Active: active, Exported: exported}
}

func TestPlan(t *testing.T) {
	bob := map[string]any{"userName": "bob", "active": true, "displayName": "Bob", "title": "Engineer"}
	tests := []struct {
		name       string
		in         PlanInput
		kind       string
		patch      string // JSON of the patch ops, "" for none
		reason     string // substring of the reason
		exportedOK func(map[string]any) bool
	}{
		{
			name: "in scope and not linked: create",
			in:   PlanInput{Type: TypeUser, InScope: true, Active: true, Desired: desired(bob)},
			kind: OpCreate, reason: "not linked",
			exportedOK: func(e map[string]any) bool { return e["userName"] == "bob" },
		},
		{
			name: "linked and unchanged: nothing",
			in:   PlanInput{Type: TypeUser, InScope: true, Active: true, Desired: desired(bob), Link: link(true, bob)},
			kind: OpNone, reason: "in sync",
		},
		{
			name: "linked, one attribute changed: one replace with old -> new",
			in: PlanInput{Type: TypeUser, InScope: true, Active: true, Link: link(true, bob),
				Desired: desired(map[string]any{"userName": "bob", "active": true, "displayName": "Bob", "title": "Manager"})},
			kind: OpUpdate, patch: `[{"op":"replace","path":"title","value":"Manager"}]`,
			exportedOK: func(e map[string]any) bool { return e["title"] == "Manager" },
		},
		{
			name: "attribute emptied in the source: remove",
			in: PlanInput{Type: TypeUser, InScope: true, Active: true, Link: link(true, bob),
				Desired: func() *Desired {
					d := desired(map[string]any{"userName": "bob", "active": true, "displayName": "Bob"})
					d.Empty["title"] = &CompiledMapping{}
					return d
				}()},
			kind: OpUpdate, patch: `[{"op":"remove","path":"title"}]`,
			exportedOK: func(e map[string]any) bool { _, ok := e["title"]; return !ok },
		},
		{
			name: "on-create-only and ignored attributes are not updated",
			in: PlanInput{Type: TypeUser, InScope: true, Active: true, Link: link(true, bob),
				Desired: func() *Desired {
					d := desired(map[string]any{"userName": "bob", "active": true, "displayName": "Robert", "title": "Engineer"})
					d.OnCreate["displayName"] = true
					d.Ignored["title"] = true
					return d
				}()},
			kind: OpNone,
		},
		{
			name: "disabled in the source while linked: disable with the active change",
			in: PlanInput{Type: TypeUser, InScope: true, Active: false, Link: link(true, bob),
				Desired: desired(map[string]any{"userName": "bob", "active": false, "displayName": "Bob", "title": "Engineer"})},
			kind: OpDisable, patch: `[{"op":"replace","path":"active","value":false}]`, reason: "disabled in the source",
		},
		{
			name: "disabled in the source and never provisioned: skip",
			in:   PlanInput{Type: TypeUser, InScope: true, Active: false, Desired: desired(bob)},
			kind: OpSkip, reason: "disabled users are not created",
		},
		{
			name: "unassigned while linked: disable",
			in:   PlanInput{Type: TypeUser, InScope: false, ScopeReason: "not assigned", Active: true, Link: link(true, bob)},
			kind: OpDisable, patch: `[{"op":"replace","path":"active","value":false}]`, reason: "out of scope: not assigned",
			exportedOK: func(e map[string]any) bool { return e["active"] == false && e["userName"] == "bob" },
		},
		{
			name: "out of scope with skip-out-of-scope-deletions: left alone",
			in: PlanInput{Type: TypeUser, InScope: false, ScopeReason: "filtered out", Active: true, Link: link(true, bob),
				Settings: Settings{SkipOutOfScopeDeletions: true}},
			kind: OpSkip, reason: "skip-out-of-scope-deletions",
		},
		{
			name: "out of scope and already disabled: nothing",
			in:   PlanInput{Type: TypeUser, InScope: false, Active: true, Link: link(false, bob)},
			kind: OpNone,
		},
		{
			name: "out of scope and not linked: skipped with the reason",
			in:   PlanInput{Type: TypeUser, InScope: false, ScopeReason: `scoping filter "sales": department EQUALS Sales is false`},
			kind: OpSkip, reason: "department EQUALS Sales",
		},
		{
			name: "back in scope after a disable: update re-enables",
			in: PlanInput{Type: TypeUser, InScope: true, Active: true,
				Link:    link(false, map[string]any{"userName": "bob", "active": false, "displayName": "Bob", "title": "Engineer"}),
				Desired: desired(bob)},
			kind: OpUpdate, patch: `[{"op":"replace","path":"active","value":true}]`, reason: "back in scope",
		},
		{
			name: "deleted in the source while linked: delete",
			in:   PlanInput{Type: TypeUser, Deleted: true, Link: link(true, bob)},
			kind: OpDelete, reason: "deleted in the source",
		},
		{
			name: "deleted in the source with on-source-delete disable",
			in:   PlanInput{Type: TypeUser, Deleted: true, Link: link(true, bob), Settings: Settings{OnSourceDelete: OnDeleteDisable}},
			kind: OpDisable, patch: `[{"op":"replace","path":"active","value":false}]`,
		},
		{
			name: "deleted in the source with on-source-delete none: unlink only",
			in:   PlanInput{Type: TypeUser, Deleted: true, Link: link(true, bob), Settings: Settings{OnSourceDelete: OnDeleteNone}},
			kind: OpUnlink,
		},
		{
			name: "deleted in the source, never provisioned: nothing (never touch what we did not create or match)",
			in:   PlanInput{Type: TypeUser, Deleted: true},
			kind: OpNone,
		},
		{
			name: "target read back differs from the shadow: the read wins",
			in: PlanInput{Type: TypeUser, InScope: true, Active: true, Link: link(true, bob), Desired: desired(bob),
				Current: map[string]any{"userName": "bob", "active": true, "displayName": "Bobby", "title": "Engineer"}},
			kind: OpUpdate, patch: `[{"op":"replace","path":"displayName","value":"Bob"}]`,
		},
		{
			name: "group out of scope: kept, members removed by the engine",
			in:   PlanInput{Type: TypeGroup, InScope: false, ScopeReason: "not assigned", Link: &Link{ObjectType: TypeGroup, TargetID: "tg", Active: true}},
			kind: OpDisable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.SourceID, tc.in.Name = "u1", "bob"
			op := Plan(tc.in)
			if op.Kind != tc.kind {
				t.Fatalf("kind %s (%s), want %s", op.Kind, op.Reason, tc.kind)
			}
			got := ""
			if len(op.Patch) > 0 {
				b, _ := json.Marshal(op.Patch)
				got = string(b)
			}
			if got != tc.patch {
				t.Fatalf("patch %s, want %s", got, tc.patch)
			}
			if tc.reason != "" && !strings.Contains(op.Reason, tc.reason) {
				t.Fatalf("reason %q does not mention %q", op.Reason, tc.reason)
			}
			if tc.exportedOK != nil && !tc.exportedOK(op.Exported) {
				t.Fatalf("exported %v", op.Exported)
			}
			if len(op.Patch) != len(op.Changes) {
				t.Fatalf("%d patch ops but %d changes", len(op.Patch), len(op.Changes))
			}
		})
	}
}

func TestDiffReportsOldAndNew(t *testing.T) {
	d := desired(map[string]any{"title": "Manager", `emails[type eq "work"].value`: "b@x.example"})
	ops, mods, after := Diff(d, map[string]any{"title": "Engineer"})
	if len(ops) != 2 || len(mods) != 2 {
		t.Fatalf("ops %v", ops)
	}
	want := []Modification{{Attribute: `emails[type eq "work"].value`, Old: nil, New: "b@x.example"}, {Attribute: "title", Old: "Engineer", New: "Manager"}}
	if !reflect.DeepEqual(mods, want) {
		t.Fatalf("mods %#v", mods)
	}
	if after["title"] != "Manager" || after[`emails[type eq "work"].value`] != "b@x.example" {
		t.Fatalf("after %v", after)
	}
	// A JSON round trip of the shadow ([]any, float64) still compares equal.
	var shadow map[string]any
	json.Unmarshal([]byte(`{"roles":["a","b"],"n":3}`), &shadow)
	if ops, _, _ := Diff(desired(map[string]any{"roles": []string{"a", "b"}, "n": 3.0}), shadow); len(ops) != 0 {
		t.Fatalf("round-tripped values differ: %v", ops)
	}
}

func TestMemberDiff(t *testing.T) {
	tests := []struct {
		want, have  []string
		add, remove string
	}{
		{nil, nil, "[]", "[]"},
		{[]string{"a", "b"}, nil, "[a b]", "[]"},
		{[]string{"a"}, []string{"a", "b"}, "[]", "[b]"},
		{[]string{"c", "a"}, []string{"b", "a"}, "[c]", "[b]"},
	}
	for _, tc := range tests {
		add, remove := MemberDiff(tc.want, tc.have)
		if fmt.Sprint(nonNilStrings(add)) != tc.add || fmt.Sprint(nonNilStrings(remove)) != tc.remove {
			t.Errorf("MemberDiff(%v, %v) = %v, %v; want %s, %s", tc.want, tc.have, add, remove, tc.add, tc.remove)
		}
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestThreshold(t *testing.T) {
	mk := func(disables, updates int) []Op {
		var ops []Op
		for range disables {
			ops = append(ops, Op{Kind: OpDisable})
		}
		for range updates {
			ops = append(ops, Op{Kind: OpUpdate})
		}
		return ops
	}
	tests := []struct {
		name             string
		ops              []Op
		linked, n, pct   int
		approved         bool
		wantSend, wantSt int
	}{
		{"under both limits", mk(3, 5), 100, 10, 20, false, 8, 0},
		{"over the count: deletes staged, updates sent", mk(11, 5), 1000, 10, 20, false, 5, 11},
		{"over the percentage", mk(30, 0), 100, 500, 20, false, 0, 30},
		{"exactly at the count is allowed", mk(10, 0), 1000, 10, 0, false, 10, 0},
		{"approved lets everything through", mk(600, 1), 1000, 500, 20, true, 601, 0},
		{"rails off", mk(600, 0), 600, 0, 0, false, 600, 0},
		{"a single delete of the only object is not a mass deletion", mk(1, 0), 1, 500, 20, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send, staged := Threshold(tc.ops, tc.linked, tc.n, tc.pct, tc.approved)
			if len(send) != tc.wantSend || len(staged) != tc.wantSt {
				t.Fatalf("send %d staged %d, want %d / %d", len(send), len(staged), tc.wantSend, tc.wantSt)
			}
		})
	}
}

func TestDefaultMappingsEvaluateAndBuildTheResource(t *testing.T) {
	c, err := CompileSchema(DefaultSchema(ProfileAWS), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := directory.User{ID: "src-1", UserName: "bob", Active: true, Attrs: map[string]any{
		"userName": "bob", "displayName": "Bob Builder", "active": true,
		"name":        map[string]any{"givenName": "Bob", "familyName": "Builder"},
		"emails":      []any{map[string]any{"value": "bob@example.com", "type": "work", "primary": true}, map[string]any{"value": "b@home.example", "type": "home"}},
		EnterpriseURN: map[string]any{"department": "Sales"},
	}}
	d, err := c.Users.Evaluate(userSource(u).Env)
	if err != nil {
		t.Fatal(err)
	}
	r := CreateResource(schema.UserResource, d.Values)
	b, _ := json.Marshal(r)
	for _, want := range []string{`"externalId":"src-1"`, `"userName":"bob"`, `"active":true`, `"formatted":"Bob Builder"`,
		`"emails":[{"primary":true,"type":"work","value":"bob@example.com"}]`, `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("resource %s lacks %s", b, want)
		}
	}
	if _, ok := d.Empty["title"]; !ok {
		t.Errorf("title should be empty: %v", d.Empty)
	}
	// Reading the created resource back yields the same values: no update.
	back := ResourceValues(schema.UserResource, r, pathsOf(d.Values))
	if ops, _, _ := Diff(d, back); len(ops) != 0 {
		t.Fatalf("read-back differs: %v (back %v)", ops, back)
	}
	var _ = target.Resource(r)
}

func pathsOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCompileErrorsNameTheMapping(t *testing.T) {
	bad := func(mut func(*Schema)) error {
		s := DefaultSchema(ProfileGeneric)
		mut(&s)
		_, err := CompileSchema(s, nil)
		return err
	}
	tests := []struct {
		name string
		mut  func(*Schema)
		want string
	}{
		{"expression syntax", func(s *Schema) {
			s.Users.Mappings[3] = Mapping{Target: "displayName", Type: MapExpression, Source: `Join(" ", [givenName]`}
		}, "users.mappings[3] (displayName): "},
		{"unknown target attribute", func(s *Schema) {
			s.Users.Mappings = append(s.Users.Mappings, Mapping{Target: "favouriteColour", Type: MapConstant, Source: "blue"})
		}, "favouriteColour"},
		{"unknown source attribute", func(s *Schema) {
			s.Users.Mappings = append(s.Users.Mappings, Mapping{Target: "nickName", Type: MapDirect, Source: "nick"})
		}, `source attribute "nick"`},
		{"no matching attribute", func(s *Schema) {
			for i := range s.Groups.Mappings {
				s.Groups.Mappings[i].Match = 0
			}
		}, "groups: at least one mapping must be a matching attribute"},
		{"duplicate target", func(s *Schema) {
			s.Users.Mappings = append(s.Users.Mappings, Mapping{Target: "userName", Type: MapConstant, Source: "x"})
		}, "already mapped by users.mappings[1]"},
		{"same precedence twice", func(s *Schema) { s.Users.Mappings[1].Match = 1 }, "precedence 1 is also used"},
		{"bad scoping operator", func(s *Schema) {
			s.Users.Scoping = []ScopingFilter{{Name: "f", Clauses: []ScopingClause{{Attribute: "department", Operator: "SOUNDS_LIKE", Value: "x"}}}}
		}, "users.scoping"},
		{"id is not mappable", func(s *Schema) {
			s.Users.Mappings = append(s.Users.Mappings, Mapping{Target: "id", Type: MapDirect, Source: "id"})
		}, "cannot be mapped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := bad(tc.mut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
