package provisioning

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

const (
	addOnlyRoles   = "AppRoleAssignmentsComplex([appRoleAssignments])"
	assertiveRoles = "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"
)

// rolesSchema compiles users with userName and the whole roles list mapped
// by fn.
func rolesSchema(t *testing.T, fn string) *CompiledObject {
	t.Helper()
	c, err := CompileSchema(Schema{
		Users: ObjectSchema{Mappings: []Mapping{
			{Target: "userName", Source: "userName", Match: 1},
			{Target: "roles", Type: MapExpression, Source: fn},
		}},
		Groups: ObjectSchema{Disabled: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Users
}

func rolesDesired(t *testing.T, co *CompiledObject, roles ...string) *Desired {
	t.Helper()
	env := mapping.Attrs{"userName": "ann"}
	if roles != nil {
		env["appRoleAssignments"] = roles
	}
	d, err := co.Evaluate(env)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func roleEls(names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"value": n, "display": n, "type": RoleElementType, "primary": false}
	}
	return out
}

func TestCompileRoleMappings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mappings []Mapping
		err      string // substring; "" compiles
	}{
		{"add-only into roles", []Mapping{{Target: "roles", Type: MapExpression, Source: addOnlyRoles}}, ""},
		{"assertive into roles", []Mapping{{Target: "roles", Type: MapExpression, Source: assertiveRoles}}, ""},
		{"another expression into roles", []Mapping{{Target: "roles", Type: MapExpression, Source: `Split("a,b", ",")`}}, "map it with AppRoleAssignmentsComplex"},
		{"direct into roles", []Mapping{{Target: "roles", Source: "roles"}}, "map it with AppRoleAssignmentsComplex"},
		{"the complex function into roles.value", []Mapping{{Target: "roles.value", Type: MapExpression, Source: addOnlyRoles}}, "map it to roles itself"},
		{"whole list and primary role together", []Mapping{
			{Target: "roles", Type: MapExpression, Source: assertiveRoles},
			{Target: "roles[primary eq true].value", Type: MapExpression, Source: "SingleAppRoleAssignment([appRoleAssignments])"},
		}, "either as a whole or by parts"},
		{"the primary role alone is unchanged", []Mapping{{Target: "roles[primary eq true].value", Type: MapExpression, Source: "SingleAppRoleAssignment([appRoleAssignments])"}}, ""},
		{"other complex attributes are still refused", []Mapping{{Target: "emails", Source: "emails"}}, "the target attribute is complex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := append([]Mapping{{Target: "userName", Source: "userName", Match: 1}}, tc.mappings...)
			_, err := CompileSchema(Schema{Users: ObjectSchema{Mappings: ms}, Groups: ObjectSchema{Disabled: true}}, nil)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// A create sends the whole list as roles elements in both modes, shaped as
// Entra documents it (primary false, display = value, Entra's type).
func TestRolesCreate(t *testing.T) {
	for _, fn := range []string{addOnlyRoles, assertiveRoles} {
		co := rolesSchema(t, fn)
		d := rolesDesired(t, co, "Developer", "Admin")
		op := Plan(PlanInput{Type: TypeUser, InScope: true, Active: true, Desired: d})
		if op.Kind != OpCreate {
			t.Fatalf("%s: %s", fn, op.Kind)
		}
		res := CreateResource(schema.UserResource, d.Values)
		if got, want := res["roles"], roleEls("Admin", "Developer"); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: roles sent %#v, want %#v", fn, got, want)
		}
		if !reflect.DeepEqual(op.Exported["roles"], []string{"Admin", "Developer"}) {
			t.Fatalf("%s: shadow %#v", fn, op.Exported["roles"])
		}
		// Read back, the created resource gives the same values: no update.
		cur := ResourceValues(schema.UserResource, res, sortedPaths(d.By))
		if ops, _, _ := Diff(d, cur); len(ops) != 0 {
			t.Fatalf("%s: read back differs: %+v", fn, ops)
		}
	}
}

func TestPlanRoles(t *testing.T) {
	// As a target returns them: its own element shapes and a role Gatehouse
	// did not send ("Auditor", granted in the application).
	targetRoles := func(names ...string) target.Resource {
		els := make([]any, len(names))
		for i, n := range names {
			els[i] = map[string]any{"value": n, "primary": i == 0}
		}
		return target.Resource{"id": "t1", "userName": "ann", "roles": els}
	}
	tests := []struct {
		name    string
		fn      string
		want    []string       // the directory's roles
		shadow  map[string]any // link.Exported; nil: the target is read (current)
		current target.Resource
		exact   bool // the target's /Schemas say roles.value is caseExact
		kind    string
		patch   string // JSON of the patch ops
		change  string // "old -> new" of the roles modification
		after   []string
	}{
		{
			name: "add-only: the missing role is added, the target's own role stays",
			fn:   addOnlyRoles, want: []string{"Admin", "Developer"}, current: targetRoles("Admin", "Auditor"),
			kind:   OpUpdate,
			patch:  `[{"op":"add","path":"roles","value":[{"display":"Developer","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Developer"}]}]`,
			change: "[Admin Auditor] -> [Admin Auditor Developer]", after: []string{"Admin", "Auditor", "Developer"},
		},
		{
			name: "add-only: a role gone from the directory is never removed",
			fn:   addOnlyRoles, want: []string{"Admin"}, current: targetRoles("Admin", "Developer"),
			kind: OpNone,
		},
		{
			name: "add-only: no role left is no change either",
			fn:   addOnlyRoles, want: nil, current: targetRoles("Admin"),
			kind: OpNone,
		},
		{
			name: "add-only: against the shadow (JSON round trip) the first role is added",
			fn:   addOnlyRoles, want: []string{"Admin"}, shadow: map[string]any{"userName": "ann"},
			kind:   OpUpdate,
			patch:  `[{"op":"add","path":"roles","value":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}]`,
			change: "(none) -> [Admin]", after: []string{"Admin"},
		},
		{
			name: "assertive: the roles are replaced, removing the target's own role",
			fn:   assertiveRoles, want: []string{"Admin", "Developer"}, current: targetRoles("Admin", "Auditor"),
			kind:   OpUpdate,
			patch:  `[{"op":"replace","path":"roles","value":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"},{"display":"Developer","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Developer"}]}]`,
			change: "[Admin Auditor] -> [Admin Developer]", after: []string{"Admin", "Developer"},
		},
		{
			name: "assertive: a role gone from the directory is removed",
			fn:   assertiveRoles, want: []string{"Admin"}, current: targetRoles("Admin", "Developer"),
			kind:   OpUpdate,
			patch:  `[{"op":"replace","path":"roles","value":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}]`,
			change: "[Admin Developer] -> [Admin]", after: []string{"Admin"},
		},
		{
			name: "assertive: no role left removes them all",
			fn:   assertiveRoles, want: nil, current: targetRoles("Admin"),
			kind: OpUpdate, patch: `[{"op":"remove","path":"roles"}]`, change: "[Admin] -> (none)",
		},
		{
			name: "assertive: equal as a set, other order and case (roles.value is not caseExact): no PATCH",
			fn:   assertiveRoles, want: []string{"Admin", "Developer"}, current: targetRoles("developer", "ADMIN"),
			kind: OpNone,
		},
		{
			name: "add-only: equal as a set, other order and case: no PATCH",
			fn:   addOnlyRoles, want: []string{"Admin", "Developer"}, current: targetRoles("developer", "ADMIN"),
			kind: OpNone,
		},
		{
			name: "assertive: a target whose roles.value is caseExact gets the case fixed",
			fn:   assertiveRoles, want: []string{"Admin"}, current: targetRoles("admin"), exact: true,
			kind:   OpUpdate,
			patch:  `[{"op":"replace","path":"roles","value":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}]`,
			change: "[admin] -> [Admin]", after: []string{"Admin"},
		},
		{
			name: "add-only: a target whose roles.value is caseExact gets the other case added",
			fn:   addOnlyRoles, want: []string{"Admin"}, current: targetRoles("admin"), exact: true,
			kind:   OpUpdate,
			patch:  `[{"op":"add","path":"roles","value":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}]`,
			change: "[admin] -> [Admin admin]", after: []string{"Admin", "admin"},
		},
		{
			name: "assertive: equal to the shadow after a JSON round trip: no PATCH",
			fn:   assertiveRoles, want: []string{"Admin", "Developer"}, shadow: map[string]any{"userName": "ann", "roles": []any{"Admin", "Developer"}},
			kind: OpNone,
		},
		{
			name: "assertive: nothing wanted, nothing there: no PATCH",
			fn:   assertiveRoles, want: nil, current: target.Resource{"id": "t1", "userName": "ann"},
			kind: OpNone,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			co := rolesSchema(t, tc.fn)
			d := rolesDesired(t, co, tc.want...)
			if tc.exact {
				d.rolesExact = &tc.exact
			}
			in := PlanInput{Type: TypeUser, InScope: true, Active: true, Desired: d, Link: link(true, tc.shadow)}
			if tc.current != nil {
				in.Current = ResourceValues(schema.UserResource, tc.current, sortedPaths(d.By))
			}
			if tc.shadow != nil {
				// The shadow as stored: through JSON.
				b, _ := json.Marshal(tc.shadow)
				var m map[string]any
				json.Unmarshal(b, &m)
				in.Link.Exported = m
			}
			op := Plan(in)
			if op.Kind != tc.kind {
				t.Fatalf("kind %s (%s), want %s; patch %+v", op.Kind, op.Reason, tc.kind, op.Patch)
			}
			if tc.kind == OpNone {
				return
			}
			b, _ := json.Marshal(op.Patch)
			if string(b) != tc.patch {
				t.Fatalf("patch\n got %s\nwant %s", b, tc.patch)
			}
			var change string
			for _, m := range op.Changes {
				if m.Attribute == "roles" {
					change = show(m.Old) + " -> " + show(m.New)
				}
			}
			if change != tc.change {
				t.Fatalf("change %q, want %q (all: %+v)", change, tc.change, op.Changes)
			}
			got, had := op.Exported["roles"]
			if tc.after == nil && had || tc.after != nil && fmt.Sprint(got) != fmt.Sprint(tc.after) {
				t.Fatalf("shadow after %#v, want %v", got, tc.after)
			}
		})
	}
}
