package scim_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestDerivedGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	u := c.createUser("nested.user")
	inner := c.createGroup("inner", u)
	outer := c.createGroup("outer")
	wantStatus(t, c.patch("/Groups/"+outer, op("add", "members", []any{map[string]any{"value": inner, "type": "Group"}})), 200)

	t.Run("User.groups lists direct and indirect groups", func(t *testing.T) {
		got := groupIDs(e.client(t).get("/Users/" + u))
		if len(got) != 2 || got[inner] != "direct" || got[outer] != "indirect" {
			t.Errorf("groups %v, want %s direct and %s indirect", got, inner, outer)
		}
	})
	t.Run("a nested group member has type Group and a Groups $ref", func(t *testing.T) {
		r := e.client(t).get("/Groups/" + outer)
		if r.str("members/0/type") != "Group" || r.str("members/0/$ref") != e.base+"/Groups/"+inner {
			t.Errorf("members: %v", r.at("members"))
		}
	})
	t.Run("groups.value filter finds direct members", func(t *testing.T) {
		r := e.client(t).get(`/Users?filter=groups.value eq "` + inner + `"`)
		if r.num("totalResults") != 1 {
			t.Errorf("groups.value filter: %s", r.Raw)
		}
	})
	t.Run("User.groups is read-only in PATCH", func(t *testing.T) {
		r := e.client(t).patch("/Users/"+u, op("add", "groups", []any{map[string]any{"value": outer}}))
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("PATCH groups: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("a group cannot contain itself", func(t *testing.T) {
		wantError(t, e.client(t).patch("/Groups/"+inner, op("add", "members", []any{map[string]any{"value": inner}})), 400, "", "itself")
	})
	t.Run("removing the nested group drops the indirect membership", func(t *testing.T) {
		c := e.client(t)
		wantStatus(t, c.patch("/Groups/"+outer, op("remove", `members[value eq "`+inner+`"]`, nil)), 200)
		got := groupIDs(c.get("/Users/" + u))
		if len(got) != 1 || got[inner] != "direct" {
			t.Errorf("groups %v", got)
		}
	})
	t.Run("deleting a group removes it from the user and from its parent", func(t *testing.T) {
		c := e.client(t)
		wantStatus(t, c.patch("/Groups/"+outer, op("add", "members", []any{map[string]any{"value": inner}})), 200)
		wantStatus(t, c.del("/Groups/"+inner), 204)
		if got := groupIDs(c.get("/Users/" + u)); len(got) != 0 {
			t.Errorf("groups after deleting %s: %v", inner, got)
		}
		if got := memberIDs(c.get("/Groups/" + outer)); len(got) != 0 {
			t.Errorf("outer members after deleting inner: %v", got)
		}
	})
}

func TestGroupMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	u1, u2, u3 := c.createUser("gm.one"), c.createUser("gm.two"), c.createUser("gm.three")
	member := func(id string) map[string]any { return map[string]any{"value": id} }
	for _, tc := range []struct {
		name  string
		start []string
		ops   []map[string]any
		want  []string
	}{
		{"add is idempotent", []string{u1}, []map[string]any{op("add", "members", []any{member(u1), member(u2)})}, []string{u1, u2}},
		{"remove with a value array removes only the listed members", []string{u1, u2, u3}, []map[string]any{op("Remove", "members", []any{member(u2)})}, []string{u1, u3}},
		{"remove with an empty value array removes nothing", []string{u1, u2}, []map[string]any{op("remove", "members", []any{})}, []string{u1, u2}},
		{"remove without a value removes all", []string{u1, u2}, []map[string]any{op("remove", "members", nil)}, nil},
		{"remove by a value filter", []string{u1, u2}, []map[string]any{op("remove", `members[value eq "`+u1+`"]`, nil)}, []string{u2}},
		{"remove by an or of value filters", []string{u1, u2, u3}, []map[string]any{op("remove", `members[value eq "`+u1+`" or value eq "`+u3+`"]`, nil)}, []string{u2}},
		{"remove of an absent member is a no-op", []string{u1}, []map[string]any{op("remove", `members[value eq "`+u2+`"]`, nil)}, []string{u1}},
		{"replace members sets the list", []string{u1, u2}, []map[string]any{op("replace", "members", []any{member(u3)})}, []string{u3}},
		{"add and remove in one request apply in order", []string{u1}, []map[string]any{op("add", "members", []any{member(u2)}), op("remove", `members[value eq "`+u1+`"]`, nil)}, []string{u2}},
		{"bare id strings are accepted as members", nil, []map[string]any{op("add", "members", []any{u1, u2})}, []string{u1, u2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t)
			gid := c.createGroup("gm "+tc.name, tc.start...)
			r := c.patch("/Groups/"+gid, tc.ops...)
			wantStatus(t, r, 200)
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := memberIDs(c.get("/Groups/" + gid)); !slices.Equal(got, want) {
				t.Errorf("members %v, want %v", got, want)
			}
		})
	}
	t.Run("an unknown member id is 400 naming the member", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("gm unknown")
		r := c.patch("/Groups/"+gid, op("add", "members", []any{member("string id 1")}))
		wantError(t, r, 400, "invalidValue", "string id 1")
	})
	t.Run("remove without a path is 400", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("gm nopath", u1)
		r := c.patch("/Groups/"+gid, op("remove", "", nil))
		if r.Status != 400 {
			t.Fatalf("status %d: %s", r.Status, r.Raw)
		}
		if got := memberIDs(c.get("/Groups/" + gid)); !slices.Equal(got, []string{u1}) {
			t.Errorf("members changed: %v", got)
		}
	})
	t.Run("a member type that does not match is 400", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("gm type")
		wantError(t, c.patch("/Groups/"+gid, op("add", "members", []any{map[string]any{"value": u1, "type": "Group"}})), 400, "", "type")
	})
	t.Run("PUT replaces the member list", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("gm put", u1, u2)
		r := c.put("/Groups/"+gid, map[string]any{"schemas": []any{groupURN}, "displayName": "gm put", "members": []any{member(u3)}})
		wantStatus(t, r, 200)
		if got := memberIDs(c.get("/Groups/" + gid)); !slices.Equal(got, []string{u3}) {
			t.Errorf("members %v", got)
		}
	})
	t.Run("accepting unknown members is a directory setting", func(t *testing.T) {
		tok := e.directory("lenient-members", "rfc", lenientMembers)
		c := e.client(t).as(tok)
		gid := c.createGroup("lenient")
		wantStatus(t, c.patch("/Groups/"+gid, op("add", "members", []any{member("string id 1")})), 200)
		if got := memberIDs(c.get("/Groups/" + gid)); len(got) != 0 {
			t.Errorf("an unknown member was stored: %v", got)
		}
	})
}

func TestUserPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		ops   []map[string]any
		check func(t *testing.T, r response)
	}{
		{"replace on an unmatched filtered path adds the element (Entra)", []map[string]any{op("replace", `emails[type eq "home"].value`, "home@example.com")}, func(t *testing.T, r response) {
			if len(r.list("emails")) != 2 {
				t.Errorf("emails %v", r.at("emails"))
			}
		}},
		{"string booleans in any case are coerced", []map[string]any{op("Replace", "active", "FALSE")}, func(t *testing.T, r response) {
			if r.at("active") != false {
				t.Errorf("active %v", r.at("active"))
			}
		}},
		{"no-path add merges attributes", []map[string]any{op("add", "", map[string]any{"title": "T", "name": map[string]any{"middleName": "M"}})}, func(t *testing.T, r response) {
			if r.str("title") != "T" || r.str("name/middleName") != "M" || r.str("name/givenName") != "Given" {
				t.Errorf("merged: %s", r.Raw)
			}
		}},
		{"removing a filtered element", []map[string]any{op("remove", `emails[type eq "work"]`, nil)}, func(t *testing.T, r response) {
			if r.at("emails") != nil {
				t.Errorf("emails %v", r.at("emails"))
			}
		}},
		{"primary moves to the value that sets it", []map[string]any{op("add", "emails", []any{map[string]any{"value": "b@example.com", "type": "home", "primary": true}})}, func(t *testing.T, r response) {
			primaries := 0
			for _, m := range r.list("emails") {
				if at(m, "primary") == true {
					primaries++
					if at(m, "value") != "b@example.com" {
						t.Errorf("primary on %v", m)
					}
				}
			}
			if primaries != 1 {
				t.Errorf("%d primaries: %v", primaries, r.at("emails"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t)
			id := c.createUser("patch." + strings.ReplaceAll(uuid.NewString(), "-", "")[:8])
			r := c.patch("/Users/"+id, tc.ops...)
			wantStatus(t, r, 200)
			tc.check(t, r)
			g := c.get("/Users/" + id)
			r.Body["meta"], g.Body["meta"] = nil, nil
			if fmt.Sprint(r.Body) != fmt.Sprint(g.Body) {
				t.Errorf("PATCH response differs from a later GET:\n%v\n%v", r.Body, g.Body)
			}
		})
	}
	for _, tc := range []struct {
		name     string
		ops      []map[string]any
		status   int
		scimType string
		mentions string
	}{
		{"unknown op", []map[string]any{op("merge", "title", "x")}, 400, "invalidSyntax", "merge"},
		{"remove without a path", []map[string]any{op("remove", "", nil)}, 400, "noTarget", ""},
		{"replace of a read-only attribute", []map[string]any{op("replace", "id", "new-id")}, 400, "mutability", "id"},
		{"replace of meta", []map[string]any{op("replace", "meta.created", "2001-01-01T00:00:00Z")}, 400, "mutability", "meta"},
		{"remove of the required userName", []map[string]any{op("remove", "userName", nil)}, 400, "mutability", "userName"},
		{"a malformed path", []map[string]any{op("replace", `emails[type eq "work"`, "x")}, 400, "invalidPath", ""},
		{"a boolean that is not one", []map[string]any{op("replace", "active", "maybe")}, 400, "invalidValue", "active"},
		{"an object for a string", []map[string]any{op("replace", "title", map[string]any{"a": 1})}, 400, "invalidValue", "title"},
		{"two primaries in one value", []map[string]any{op("add", "emails", []any{map[string]any{"value": "a@x", "primary": true}, map[string]any{"value": "b@x", "primary": true}})}, 400, "invalidValue", "primary"},
	} {
		t.Run(tc.name+" is rejected and changes nothing", func(t *testing.T) {
			c := e.client(t)
			id := c.createUser("bad.patch." + strings.ReplaceAll(uuid.NewString(), "-", "")[:8])
			before := c.get("/Users/" + id).Header.Get("ETag")
			// The bad operation comes after a good one: PATCH is atomic.
			ops := append([]map[string]any{op("replace", "title", "changed")}, tc.ops...)
			r := c.patch("/Users/"+id, ops...)
			if tc.mentions != "" {
				wantError(t, r, tc.status, tc.scimType, tc.mentions, "Operations[1]")
			} else {
				wantError(t, r, tc.status, tc.scimType)
			}
			g := c.get("/Users/" + id)
			if g.Header.Get("ETag") != before || g.at("title") != nil {
				t.Errorf("a rejected PATCH changed the user: %s", g.Raw)
			}
		})
	}
	t.Run("malformed PATCH bodies are 400", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("bad.patch.body")
		for _, body := range []string{`{}`, `{"Operations":[]}`, `{"Operations":"x"}`, `[]`, `{"Operations":[{"path":"title"}]}`, `{"Operations":[1]}`, `not json`} {
			wantError(t, c.do(req{Method: "PATCH", Path: "/Users/" + id, Body: body}), 400, "")
		}
	})
	t.Run("the patchReturns204 setting answers 204 without a body", func(t *testing.T) {
		tok := e.directory("patch-204", "rfc", patch204)
		c := e.client(t).as(tok)
		id := c.createUser("p204.user")
		r := c.patch("/Users/"+id, op("replace", "title", "x"))
		wantStatus(t, r, 204)
		if len(r.Raw) != 0 || r.Header.Get("ETag") == "" {
			t.Errorf("204: body %q ETag %q", r.Raw, r.Header.Get("ETag"))
		}
	})
	t.Run("the rfcNoTarget setting makes an unmatched replace noTarget", func(t *testing.T) {
		tok := e.directory("rfc-notarget", "rfc", rfcNoTarget)
		c := e.client(t).as(tok)
		id := c.createUser("nt.user")
		wantError(t, c.patch("/Users/"+id, op("replace", `emails[type eq "home"].value`, "h@x")), 400, "noTarget")
	})
}

func TestPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	id := c.createUser("put.user", map[string]any{"title": "Old", "nickName": "Nick"})
	t.Run("PUT replaces every writable attribute", func(t *testing.T) {
		body := userBody("put.user")
		body["title"] = "New"
		r := e.client(t).put("/Users/"+id, body)
		wantStatus(t, r, 200)
		if r.str("title") != "New" || r.at("nickName") != nil || r.str("id") != id {
			t.Errorf("PUT result: %s", r.Raw)
		}
	})
	t.Run("an unknown attribute in PUT is ignored (Microsoft collection adreses)", func(t *testing.T) {
		body := userBody("put.user")
		body["adreses"] = []any{map[string]any{"country": "Germany"}}
		r := e.client(t).put("/Users/"+id, body)
		wantStatus(t, r, 200)
		if strings.Contains(strings.ToLower(string(r.Raw)), "adreses") {
			t.Errorf("unknown attribute echoed: %s", r.Raw)
		}
	})
	t.Run("PUT without userName is 400", func(t *testing.T) {
		body := userBody("put.user")
		delete(body, "userName")
		body["userame"] = "typo"
		wantError(t, e.client(t).put("/Users/"+id, body), 400, "invalidValue", "userName")
	})
	t.Run("PUT keeps active when it is sent", func(t *testing.T) {
		c := e.client(t)
		wantStatus(t, c.patch("/Users/"+id, op("replace", "active", false)), 200)
		body := userBody("put.user")
		body["active"] = false
		if r := c.put("/Users/"+id, body); r.at("active") != false {
			t.Errorf("active after PUT %v", r.at("active"))
		}
	})
	t.Run("PUT with another user's id in the body changes only the addressed user", func(t *testing.T) {
		c := e.client(t)
		other := c.createUser("put.other")
		body := userBody("put.user")
		body["id"] = other
		body["title"] = "Mine"
		r := c.put("/Users/"+id, body)
		wantStatus(t, r, 200)
		if r.str("id") != id {
			t.Errorf("id %s, want %s", r.str("id"), id)
		}
		if o := c.get("/Users/" + other); o.at("title") != nil || o.str("userName") != "put.other" {
			t.Errorf("the other user changed: %s", o.Raw)
		}
	})
}

// Directory settings used by the tests.
var (
	zeroSettings   = settings(func(s *dirSettings) {})
	lenientMembers = settings(func(s *dirSettings) { s.AcceptUnknownMembers = true })
	patch204       = settings(func(s *dirSettings) { s.PatchReturns204 = true })
	rfcNoTarget    = settings(func(s *dirSettings) { s.RFCNoTarget = true })
)
