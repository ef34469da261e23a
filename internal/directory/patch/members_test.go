package patch

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// stored is the membership the loader reports for filter cases.
var stored = []MemberRef{
	{Value: "u1", Type: "User", Display: "Babs"},
	{Value: "u2", Type: "User", Display: "Kim"},
	{Value: "g1", Type: "Group", Display: "Guides"},
}

type memberCase struct {
	name   string
	ops    []string
	opt    Options
	want   MemberDelta
	loads  int // expected calls of Options.Members
	rename string
	kind   fault.Kind
}

func TestMembers(t *testing.T) {
	const rfcAdd = `{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646","value":"2819c223-7f76-453a-919d-413861904646"}]}`
	for _, tc := range []memberCase{
		// RFC 7644 §3.5.2 group examples.
		{name: "RFC add a member", ops: []string{rfcAdd},
			want: MemberDelta{Add: []MemberRef{{Value: "2819c223-7f76-453a-919d-413861904646", Type: "User", Display: "Babs Jensen"}}}},
		{name: "RFC remove all members", ops: []string{`{"op":"remove","path":"members"}`},
			want: MemberDelta{Clear: true}},
		{name: "RFC remove one member", ops: []string{`{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}`},
			want: MemberDelta{Remove: []string{"2819c223-7f76-453a-919d-413861904646"}}},
		{name: "RFC remove two members and add one",
			ops: []string{`{"op":"remove","path":"members[value eq \"2819c223\"]"}`, `{"op":"remove","path":"members[value eq \"902c246b\"]"}`,
				`{"op":"add","path":"members","value":[{"display":"James Smith","$ref":"https://example.com/v2/Users/08e1d05d","value":"08e1d05d"}]}`},
			want: MemberDelta{Remove: []string{"2819c223", "902c246b"}, Add: []MemberRef{{Value: "08e1d05d", Type: "User", Display: "James Smith"}}}},
		{name: "RFC remove all members then add",
			ops:  []string{`{"op":"remove","path":"members"}`, `{"op":"add","path":"members","value":[{"value":"u9"},{"value":"u8"}]}`},
			want: MemberDelta{Clear: true, Add: []MemberRef{{Value: "u9"}, {Value: "u8"}}}},
		{name: "RFC replace all members", ops: []string{`{"op":"replace","path":"members","value":[{"value":"u9","display":"A"},{"value":"u8","display":"B"}]}`},
			want: MemberDelta{Clear: true, Add: []MemberRef{{Value: "u9", Display: "A"}, {Value: "u8", Display: "B"}}}},

		// Client dialects.
		{name: "Entra Remove with a value removes only the listed members",
			ops:  []string{`{"op":"Remove","path":"members","value":[{"value":"u1091"}]}`},
			want: MemberDelta{Remove: []string{"u1091"}}},
		{name: "Entra Add with a null $ref",
			ops:  []string{`{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5"}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "f648f8d5"}}}},
		{name: "Okta remove by filter then add with display",
			ops:  []string{`{"op":"remove","path":"members[value eq \"89bb1940\"]"}`, `{"op":"add","path":"members","value":[{"value":"23a35c27","display":"test.user@okta.local"}]}`},
			want: MemberDelta{Remove: []string{"89bb1940"}, Add: []MemberRef{{Value: "23a35c27", Display: "test.user@okta.local"}}}},
		{name: "Okta full push replaces the members",
			ops:  []string{`{"op":"replace","path":"members","value":[{"value":"u1","display":"Babs"}]}`},
			want: MemberDelta{Clear: true, Add: []MemberRef{{Value: "u1", Display: "Babs"}}}},
		{name: "Okta rename resent with a membership change",
			ops:    []string{`{"op":"replace","value":{"id":"abf4","displayName":"Renamed"}}`, `{"op":"add","path":"members","value":[{"value":"u3"}]}`},
			rename: "Renamed", want: MemberDelta{Add: []MemberRef{{Value: "u3"}}}},
		{name: "Microsoft members with displayName and an extra name key",
			ops:  []string{`{"name":"addMember","op":"add","path":"members","value":[{"displayName":"new User","value":"id4"}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "id4", Display: "new User"}}}},
		{name: "Microsoft member as a bare string",
			ops:  []string{`{"op":"add","path":"members","value":"string id 1"}`, `{"op":"add","path":"members","value":["string id 2"]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "string id 1"}, {Value: "string id 2"}}}},
		{name: "members in a no-path value become a delta",
			ops:    []string{`{"op":"replace","value":{"displayName":"Renamed","members":[{"value":"u1"}]}}`},
			rename: "Renamed", want: MemberDelta{Clear: true, Add: []MemberRef{{Value: "u1"}}}},

		// Delta bookkeeping.
		{name: "type is canonicalised and derived from $ref",
			ops:  []string{`{"op":"add","path":"members","value":[{"value":"a","type":"user"},{"value":"b","$ref":"https://x/v2/Groups/b"}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "a", Type: "User"}, {Value: "b", Type: "Group"}}}},
		{name: "numeric id becomes a string",
			ops:  []string{`{"op":"add","path":"members","value":[{"value":123}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "123"}}}},
		{name: "duplicate adds collapse",
			ops:  []string{`{"op":"add","path":"members","value":[{"value":"a"},{"value":"a","display":"A"}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "a", Display: "A"}}}},
		{name: "add then remove removes",
			ops:  []string{`{"op":"add","path":"members","value":[{"value":"a"}]}`, `{"op":"remove","path":"members[value eq \"a\"]"}`},
			want: MemberDelta{Remove: []string{"a"}}},
		{name: "remove then add adds",
			ops:  []string{`{"op":"remove","path":"members[value eq \"a\"]"}`, `{"op":"add","path":"members","value":[{"value":"a"}]}`},
			want: MemberDelta{Add: []MemberRef{{Value: "a"}}}},
		{name: "remove after clear needs no removal",
			ops:  []string{`{"op":"remove","path":"members"}`, `{"op":"remove","path":"members[value eq \"a\"]"}`},
			want: MemberDelta{Clear: true}},
		{name: "value eq joined by or needs no member list",
			ops:  []string{`{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}`},
			want: MemberDelta{Remove: []string{"a", "b"}}},
		{name: "add through a filter takes the id from it",
			ops:  []string{`{"op":"add","path":"members[value eq \"a\"]","value":{"display":"A"}}`},
			want: MemberDelta{Add: []MemberRef{{Value: "a", Display: "A"}}}},

		// Filters that need the current members.
		{name: "remove by type loads the members once",
			ops:  []string{`{"op":"remove","path":"members[type eq \"Group\"]"}`, `{"op":"remove","path":"members[display sw \"K\"]"}`},
			opt:  Options{Members: func() ([]MemberRef, error) { return stored, nil }},
			want: MemberDelta{Remove: []string{"g1", "u2"}}, loads: 1},
		{name: "filters see earlier operations",
			ops:  []string{`{"op":"add","path":"members","value":[{"value":"g2","type":"Group"}]}`, `{"op":"remove","path":"members[value eq \"g1\"]"}`, `{"op":"remove","path":"members[type eq \"Group\"]"}`},
			opt:  Options{Members: func() ([]MemberRef, error) { return stored, nil }},
			want: MemberDelta{Remove: []string{"g1"}}, loads: 1},
		{name: "replace a selected member",
			ops:  []string{`{"op":"replace","path":"members[value eq \"u1\"]","value":{"value":"u7"}}`},
			opt:  Options{Members: func() ([]MemberRef, error) { return stored, nil }},
			want: MemberDelta{Remove: []string{"u1"}, Add: []MemberRef{{Value: "u7"}}}, loads: 1},
		{name: "replace an unmatched member is noTarget in RFC mode",
			ops:  []string{`{"op":"replace","path":"members[value eq \"zz\"]","value":{"value":"u7"}}`},
			opt:  Options{RFCNoTarget: true, Members: func() ([]MemberRef, error) { return stored, nil }},
			kind: fault.NoTarget},
		{name: "a member filter without a loader is unsupported",
			ops: []string{`{"op":"remove","path":"members[type eq \"Group\"]"}`}, kind: fault.Unsupported},

		// Errors.
		{name: "member without an id", ops: []string{`{"op":"add","path":"members","value":[{"display":"x"}]}`}, kind: fault.InvalidValue},
		{name: "member that is a list", ops: []string{`{"op":"add","path":"members","value":[[1]]}`}, kind: fault.InvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loads := 0
			if load := tc.opt.Members; load != nil {
				tc.opt.Members = func() ([]MemberRef, error) { loads++; return load() }
			}
			res, err := apply(t, schema.GroupResource, groupDoc(), tc.opt, tc.ops...)
			if tc.kind != "" {
				if !fault.Is(err, tc.kind) {
					t.Fatalf("error = %v (kind %q), want kind %q", err, fault.KindOf(err), tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Members, tc.want) {
				t.Fatalf("delta:\n got %+v\nwant %+v", res.Members, tc.want)
			}
			if loads != tc.loads {
				t.Errorf("Members loaded %d times, want %d", loads, tc.loads)
			}
			want := groupDoc()
			if tc.rename != "" {
				want["displayName"] = tc.rename
			}
			if !reflect.DeepEqual(res.Doc, want) {
				t.Errorf("document = %s, want %s (members never enter it)", dump(res.Doc), dump(want))
			}
			if !res.Changed {
				t.Error("Changed = false for a membership edit")
			}
		})
	}
}

func TestMembersLoaderErrorIsReturned(t *testing.T) {
	boom := errors.New("store down")
	_, err := apply(t, schema.GroupResource, groupDoc(), Options{Members: func() ([]MemberRef, error) { return nil, boom }},
		`{"op":"remove","path":"members[type eq \"User\"]"}`)
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want the loader's error", err)
	}
}

func TestMembersIsNotAUserAttribute(t *testing.T) {
	res, err := apply(t, schema.UserResource, userDoc(), Options{}, `{"op":"add","path":"members","value":[{"value":"u1"}]}`)
	if err != nil || res.Changed || res.Members.Add != nil {
		t.Fatalf("got %+v, %v; want an ignored unknown attribute", res, err)
	}
}
