package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestETag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	id := c.createUser("etag.user")
	path := "/Users/" + id
	current := func(t *testing.T) string {
		t.Helper()
		r := e.client(t).get(path)
		wantStatus(t, r, 200)
		if tag := r.Header.Get("ETag"); tag == "" || tag != r.str("meta/version") {
			t.Fatalf("ETag %q, meta.version %q: want equal and non-empty", tag, r.str("meta/version"))
		}
		return r.Header.Get("ETag")
	}
	stale := current(t)
	wantStatus(t, c.patch(path, op("replace", "title", "v2")), 200)

	t.Run("GET with the current ETag in If-None-Match is 304 without a body", func(t *testing.T) {
		tag := current(t)
		r := e.client(t).do(req{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": tag}})
		wantStatus(t, r, http.StatusNotModified)
		if len(r.Raw) != 0 {
			t.Errorf("304 with a body: %s", r.Raw)
		}
		if r.Header.Get("ETag") != tag {
			t.Errorf("304 ETag %q, want %q", r.Header.Get("ETag"), tag)
		}
	})
	t.Run("GET with a stale ETag in If-None-Match is 200", func(t *testing.T) {
		r := e.client(t).do(req{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": stale}})
		wantStatus(t, r, 200)
	})
	for _, tc := range []struct {
		name string
		r    req
	}{
		{"PUT with a stale If-Match is 412", req{Method: "PUT", Path: path, Body: userBody("etag.user")}},
		{"PATCH with a stale If-Match is 412", req{Method: "PATCH", Path: path, Body: patchBody(op("replace", "title", "lost update"))}},
		{"DELETE with a stale If-Match is 412", req{Method: "DELETE", Path: path}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := current(t)
			tc.r.Header = map[string]string{"If-Match": stale}
			r := e.client(t).do(tc.r)
			wantError(t, r, http.StatusPreconditionFailed, "", "If-Match")
			if after := current(t); after != before {
				t.Errorf("version changed from %s to %s despite the 412", before, after)
			}
		})
	}
	t.Run("PATCH with the current If-Match applies and changes the ETag", func(t *testing.T) {
		tag := current(t)
		r := e.client(t).do(req{Method: "PATCH", Path: path, Body: patchBody(op("replace", "title", "v3")), Header: map[string]string{"If-Match": tag}})
		wantStatus(t, r, 200)
		if r.str("title") != "v3" || r.Header.Get("ETag") == tag || r.Header.Get("ETag") != r.str("meta/version") {
			t.Errorf("title %q ETag %q (was %s) meta.version %q", r.str("title"), r.Header.Get("ETag"), tag, r.str("meta/version"))
		}
	})
	t.Run("If-Match without the weak prefix matches", func(t *testing.T) {
		tag := strings.TrimPrefix(current(t), "W/")
		r := e.client(t).do(req{Method: "PATCH", Path: path, Body: patchBody(op("replace", "title", "v4")), Header: map[string]string{"If-Match": tag}})
		wantStatus(t, r, 200)
	})
	t.Run("If-Match star applies", func(t *testing.T) {
		r := e.client(t).do(req{Method: "PUT", Path: path, Body: userBody("etag.user"), Header: map[string]string{"If-Match": "*"}})
		wantStatus(t, r, 200)
	})
	t.Run("no If-Match applies", func(t *testing.T) {
		wantStatus(t, e.client(t).patch(path, op("replace", "title", "v5")), 200)
	})
	t.Run("a PATCH that changes nothing keeps the version", func(t *testing.T) {
		tag := current(t)
		r := e.client(t).patch(path, op("replace", "title", "v5"))
		wantStatus(t, r, 200)
		if r.Header.Get("ETag") != tag {
			t.Errorf("no-op PATCH moved the ETag from %s to %s", tag, r.Header.Get("ETag"))
		}
	})
	t.Run("groups carry ETags too", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("etag group")
		r := c.get("/Groups/" + gid)
		tag := r.Header.Get("ETag")
		if tag == "" || tag != r.str("meta/version") {
			t.Fatalf("group ETag %q meta.version %q", tag, r.str("meta/version"))
		}
		wantStatus(t, c.do(req{Method: "GET", Path: "/Groups/" + gid, Header: map[string]string{"If-None-Match": tag}}), 304)
		wantStatus(t, c.patch("/Groups/"+gid, op("replace", "displayName", "etag group 2")), 200)
		wantError(t, c.do(req{Method: "PATCH", Path: "/Groups/" + gid, Body: patchBody(op("replace", "displayName", "x")), Header: map[string]string{"If-Match": tag}}), 412, "")
	})
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name, endpoint string
		body           map[string]any
	}{
		{"POST /Users is 201 with Location equal to meta.location", "/Users", userBody("create.user")},
		{"POST /Groups is 201 with Location equal to meta.location", "/Groups", map[string]any{"schemas": []any{groupURN}, "displayName": "create group"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.client(t).post(tc.endpoint, tc.body)
			wantStatus(t, r, 201)
			id := r.str("id")
			loc := r.Header.Get("Location")
			if id == "" || loc != e.base+tc.endpoint+"/"+id || loc != r.str("meta/location") {
				t.Errorf("id %q Location %q meta.location %q", id, loc, r.str("meta/location"))
			}
			if r.Header.Get("ETag") == "" || r.Header.Get("ETag") != r.str("meta/version") {
				t.Errorf("ETag %q meta.version %q", r.Header.Get("ETag"), r.str("meta/version"))
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.str("meta/created") == "" || r.str("meta/created") != r.str("meta/lastModified") {
				t.Errorf("created %q lastModified %q", r.str("meta/created"), r.str("meta/lastModified"))
			}
			wantStatus(t, e.client(t).get(loc), 200)
		})
	}
	t.Run("read-only attributes in the body are ignored", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("readonly group")
		body := userBody("readonly.user")
		body["id"] = "client-chosen-id"
		body["meta"] = map[string]any{"created": "2001-01-01T00:00:00Z", "version": `W/"99"`, "location": "http://evil.example/Users/x"}
		body["groups"] = []any{map[string]any{"value": gid}}
		r := c.post("/Users", body)
		wantStatus(t, r, 201)
		if r.str("id") == "client-chosen-id" || strings.HasPrefix(r.str("meta/created"), "2001") || strings.Contains(r.str("meta/location"), "evil") {
			t.Errorf("client-supplied read-only values were kept: %s", r.Raw)
		}
		if r.at("groups") != nil {
			t.Errorf("groups written by the client: %v", r.at("groups"))
		}
		if m := c.get("/Groups/" + gid); len(m.list("members")) != 0 {
			t.Errorf("User.groups in a POST added a membership: %v", m.at("members"))
		}
		wantError(t, c.get("/Users/client-chosen-id"), 404, "")
	})
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, kind := range []string{"Users", "Groups"} {
		t.Run("DELETE "+kind+" is 204, then every method is 404", func(t *testing.T) {
			c := e.client(t)
			var id string
			if kind == "Users" {
				id = c.createUser("delete.me")
			} else {
				id = c.createGroup("delete me")
			}
			path := "/" + kind + "/" + id
			r := c.del(path)
			wantStatus(t, r, 204)
			if len(r.Raw) != 0 {
				t.Errorf("204 with a body: %s", r.Raw)
			}
			wantError(t, c.get(path), 404, "", id)
			wantError(t, c.del(path), 404, "")
			wantError(t, c.put(path, userBody("delete.me")), 404, "")
			wantError(t, c.patch(path, op("replace", "displayName", "x")), 404, "")
		})
	}
	t.Run("deleting a user removes it from its groups", func(t *testing.T) {
		c := e.client(t)
		u1, u2 := c.createUser("member.one"), c.createUser("member.two")
		gid := c.createGroup("deletion group", u1, u2)
		wantStatus(t, c.del("/Users/"+u1), 204)
		r := c.get("/Groups/" + gid)
		if got := memberIDs(r); !slices.Equal(got, []string{u2}) {
			t.Errorf("members after deleting %s: %v, want [%s]", u1, got, u2)
		}
		if n := c.get(`/Groups?filter=members.value eq "` + u1 + `"`).num("totalResults"); n != 0 {
			t.Errorf("groups still listing the deleted user: %d", n)
		}
	})
}

func memberIDs(r response) []string {
	var ids []string
	for _, m := range r.list("members") {
		s, _ := at(m, "value").(string)
		ids = append(ids, s)
	}
	sort.Strings(ids)
	return ids
}

func groupIDs(r response) map[string]string {
	out := map[string]string{}
	for _, g := range r.list("groups") {
		id, _ := at(g, "value").(string)
		typ, _ := at(g, "type").(string)
		out[id] = typ
	}
	return out
}

func TestUniqueness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	c.createUser("Alice.Smith")
	for _, variant := range []string{"Alice.Smith", "alice.smith", "ALICE.SMITH", "aLiCe.SmItH"} {
		t.Run("POST userName "+variant+" is 409 uniqueness", func(t *testing.T) {
			wantError(t, e.client(t).post("/Users", userBody(variant)), 409, "uniqueness", "userName")
		})
	}
	t.Run("PUT renaming to a case variant of a taken userName is 409", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("bob.jones")
		wantError(t, c.put("/Users/"+id, userBody("ALICE.smith")), 409, "uniqueness", "userName")
		if r := c.get("/Users/" + id); r.str("userName") != "bob.jones" {
			t.Errorf("userName after a failed PUT: %q", r.str("userName"))
		}
	})
	t.Run("PATCH renaming to a case variant of a taken userName is 409", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("carol.white")
		wantError(t, c.patch("/Users/"+id, op("replace", "userName", "alice.SMITH")), 409, "uniqueness", "userName")
	})
	t.Run("a user may change the case of its own userName", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("dave.case")
		r := c.patch("/Users/"+id, op("replace", "userName", "Dave.Case"))
		wantStatus(t, r, 200)
		if r.str("userName") != "Dave.Case" {
			t.Errorf("userName %q, want it stored as sent", r.str("userName"))
		}
	})
	t.Run("group displayName is unique regardless of case", func(t *testing.T) {
		c := e.client(t)
		c.createGroup("Engineering")
		r := c.post("/Groups", map[string]any{"displayName": "ENGINEERING"})
		wantError(t, r, 409, "uniqueness", "displayName")
		other := c.createGroup("Sales")
		wantError(t, c.patch("/Groups/"+other, op("replace", "displayName", "engineering")), 409, "uniqueness", "displayName")
	})
	t.Run("the same userName in another directory is fine", func(t *testing.T) {
		tok := e.directory("uniq-other", "rfc", zeroSettings)
		r := e.client(t).as(tok).post("/Users", userBody("alice.smith"))
		wantStatus(t, r, 201)
	})
}

func TestFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	ids := map[string]string{}
	for _, u := range []struct {
		name, family, email, title string
		active                     bool
	}{
		{"alice", "Anderson", "alice@example.com", "Engineer", true},
		{"bob", "Brown", "bob@example.org", "Manager", true},
		{"carol", "Anderson", "carol@example.org", "", false},
		{"dan_underscore", "Davis", "dan@corp.test", "100% remote", true},
	} {
		body := userBody(u.name)
		body["name"] = map[string]any{"givenName": strings.ToUpper(u.name[:1]) + u.name[1:], "familyName": u.family}
		body["emails"] = []any{map[string]any{"value": u.email, "type": "work", "primary": true}}
		body["active"] = u.active
		if u.title != "" {
			body["title"] = u.title
		}
		r := c.post("/Users", body)
		wantStatus(t, r, 201)
		ids[u.name] = r.str("id")
	}
	find := func(t *testing.T, filter string) []string {
		t.Helper()
		r := e.client(t).get("/Users?filter=" + filter)
		wantStatus(t, r, 200)
		if r.num("totalResults") != len(r.list("Resources")) {
			t.Errorf("totalResults %d but %d resources", r.num("totalResults"), len(r.list("Resources")))
		}
		var names []string
		for _, x := range r.list("Resources") {
			names = append(names, at(x, "userName").(string))
		}
		sort.Strings(names)
		return names
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`userName eq "alice"`, []string{"alice"}},
		{`userName eq "ALICE"`, []string{"alice"}},
		{`USERNAME Eq "alice"`, []string{"alice"}},
		{`name.familyName eq "Anderson"`, []string{"alice", "carol"}},
		{`name.FamilyName eq "anderson"`, []string{"alice", "carol"}},
		{`userName sw "a"`, []string{"alice"}},
		{`userName ew "ce"`, []string{"alice"}},
		{`userName co "o"`, []string{"bob", "carol", "dan_underscore"}},
		{`userName co "_"`, []string{"dan_underscore"}},
		{`title co "%"`, []string{"dan_underscore"}},
		{`title pr`, []string{"alice", "bob", "dan_underscore"}},
		{`not (title pr)`, []string{"carol"}},
		{`active eq false`, []string{"carol"}},
		{`active eq true and name.familyName eq "Anderson"`, []string{"alice"}},
		{`userName eq "alice" or userName eq "bob"`, []string{"alice", "bob"}},
		{`(userName eq "alice" or userName eq "bob") and title eq "Manager"`, []string{"bob"}},
		{`emails[type eq "work" and value co "example.org"]`, []string{"bob", "carol"}},
		{`emails.value ew ".test"`, []string{"dan_underscore"}},
		{`emails[type eq "work"].value eq "ALICE@example.com"`, []string{"alice"}},
		{`meta.created gt "2011-05-13T04:42:34Z"`, []string{"alice", "bob", "carol", "dan_underscore"}},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, nil},
		{`id eq "` + "nonexistent" + `"`, nil},
		{`userName eq "x\" or \"1\"=\"1"`, nil},
		{`userName eq "alice') OR 1=1 --"`, nil},
	} {
		t.Run("filter "+tc.filter, func(t *testing.T) {
			if got := find(t, tc.filter); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
	t.Run("filter on id finds exactly that user", func(t *testing.T) {
		if got := find(t, `id eq "`+ids["bob"]+`"`); !slices.Equal(got, []string{"bob"}) {
			t.Errorf("id filter: %v", got)
		}
	})
	for _, bad := range []string{
		`userName eq`,
		`userName xx "alice"`,
		`userName eq "alice`,
		`(userName eq "alice"`,
		`userName eq "alice")`,
		`userName eq "alice" or`,
		`userName eq "alice" and and userName eq "bob"`,
		`emails[type eq "work"`,
		`emails[type eq "work"]]`,
		`eq "alice"`,
		`userName eq "alice" or 1 eq 1`,
		`userName pr "x"`,
		`" OR 1=1 --`,
		` `,
		`name eq "x"`,
		`meta.created gt "yesterday"`,
	} {
		t.Run(fmt.Sprintf("malformed filter %q is 400 invalidFilter", bad), func(t *testing.T) {
			r := e.client(t).get("/Users?filter=" + bad)
			wantError(t, r, 400, "invalidFilter")
			if r.at("Resources") != nil || r.at("totalResults") != nil {
				t.Errorf("an invalid filter returned results: %s", r.Raw)
			}
			noInternals(t, r)
		})
	}
	t.Run("an empty filter parameter is 400, not everything", func(t *testing.T) {
		for _, q := range []string{"filter=", "filter=%20%20", "Filter=&count=5"} {
			r := e.client(t).do(req{Method: "GET", Path: e.base + "/Users?" + q})
			wantError(t, r, 400, "invalidFilter")
		}
	})
	t.Run("a non-string filter in a SearchRequest is 400, null is no filter", func(t *testing.T) {
		for _, body := range []string{`{"filter":123}`, `{"filter":""}`, `{"filter":["userName pr"]}`, `{"filter":{"userName":"alice"}}`} {
			wantError(t, e.client(t).post("/Users/.search", body), 400, "invalidFilter")
		}
		if r := e.client(t).post("/Users/.search", `{"filter":null}`); r.num("totalResults") != 4 {
			t.Errorf("filter null: %s", truncate(string(r.Raw), 200))
		}
	})
	for _, f := range []string{`noSuchAttribute eq "x"`, `userName eq 'alice'`, `password pr`, `password eq "x"`, `urn:example:nope:attr eq "x"`} {
		t.Run(fmt.Sprintf("filter %q never matches everything", f), func(t *testing.T) {
			r := e.client(t).get("/Users?filter=" + f)
			if r.Status == 200 && r.num("totalResults") != 0 {
				t.Fatalf("%s matched %d users", f, r.num("totalResults"))
			}
			if r.Status != 200 {
				wantError(t, r, 400, "invalidFilter")
			}
			noInternals(t, r)
		})
	}
	t.Run("filters on groups", func(t *testing.T) {
		c := e.client(t)
		gid := c.createGroup("Filter Group", ids["alice"])
		c.createGroup("Other Group")
		r := c.get(`/Groups?filter=displayName eq "filter group"`)
		if r.num("totalResults") != 1 || r.str("Resources/0/id") != gid {
			t.Errorf("displayName filter: %s", r.Raw)
		}
		r = c.get(`/Groups?filter=members.value eq "` + ids["alice"] + `"`)
		if r.num("totalResults") != 1 || r.str("Resources/0/id") != gid {
			t.Errorf("members.value filter: %s", r.Raw)
		}
		r = c.get(`/Users?filter=groups.value eq "` + gid + `"`)
		if r.num("totalResults") != 1 || r.str("Resources/0/id") != ids["alice"] {
			t.Errorf("groups.value filter: %s", r.Raw)
		}
	})
}

// noInternals fails if an error detail leaks implementation details.
func noInternals(t *testing.T, r response) {
	t.Helper()
	low := strings.ToLower(string(r.Raw))
	for _, s := range []string{"sqlite", "sql:", "select ", "pq:", "pgx", "goroutine", "panic", "runtime error", ".go:"} {
		if strings.Contains(low, s) {
			t.Errorf("response leaks %q: %s", s, truncate(string(r.Raw), 400))
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	var all []string
	for i := range 7 {
		all = append(all, c.createUser(fmt.Sprintf("page.user.%d", i)))
	}
	for _, tc := range []struct {
		name        string
		query       string
		start, per  int
		firstID     string
		wantDefault bool
	}{
		{"startIndex 0 is treated as 1", "startIndex=0&count=2", 1, 2, all[0], false},
		{"negative startIndex is treated as 1", "startIndex=-5&count=2", 1, 2, all[0], false},
		{"negative count is treated as 0", "count=-1", 1, 0, "", false},
		{"count 0 returns only totalResults", "count=0", 1, 0, "", false},
		{"count 0 with a startIndex returns only totalResults", "startIndex=3&count=0", 3, 0, "", false},
		{"startIndex past the end is an empty page", "startIndex=100&count=10", 100, 0, "", false},
		{"a middle page", "startIndex=3&count=2", 3, 2, all[2], false},
		{"the last page is short", "startIndex=6&count=5", 6, 2, all[5], false},
		{"huge count is clamped, not refused", "count=100000", 1, 7, all[0], false},
		{"parameter names are case-insensitive", "STARTINDEX=2&Count=1", 2, 1, all[1], false},
		{"no parameters return everything from 1", "", 1, 7, all[0], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.client(t).get("/Users?" + tc.query)
			wantStatus(t, r, 200)
			if r.num("totalResults") != 7 || r.num("startIndex") != tc.start || r.num("itemsPerPage") != tc.per {
				t.Errorf("totalResults %d startIndex %d itemsPerPage %d, want 7 %d %d", r.num("totalResults"), r.num("startIndex"), r.num("itemsPerPage"), tc.start, tc.per)
			}
			res, ok := r.at("Resources").([]any)
			if !ok {
				t.Fatalf("Resources is %#v, want an array (never null or missing)", r.at("Resources"))
			}
			if len(res) != tc.per {
				t.Errorf("%d resources, want %d", len(res), tc.per)
			}
			if tc.firstID != "" && r.str("Resources/0/id") != tc.firstID {
				t.Errorf("first id %s, want %s", r.str("Resources/0/id"), tc.firstID)
			}
		})
	}
	t.Run("an empty result has Resources as an empty array", func(t *testing.T) {
		r := e.client(t).get(`/Users?filter=userName eq "nobody"`)
		wantStatus(t, r, 200)
		if !strings.Contains(string(r.Raw), `"Resources":[]`) {
			t.Errorf("raw body %s lacks \"Resources\":[]", r.Raw)
		}
	})
	for _, q := range []string{"count=ten", "startIndex=1.5", "count=9223372036854775808", "startIndex=abc"} {
		t.Run("non-integer "+q+" is 400 invalidValue", func(t *testing.T) {
			wantError(t, e.client(t).get("/Users?"+q), 400, "invalidValue")
		})
	}
	t.Run("index pages cover every user exactly once", func(t *testing.T) {
		var got []string
		for start := 1; start <= 7; start += 3 {
			r := e.client(t).get(fmt.Sprintf("/Users?startIndex=%d&count=3", start))
			got = append(got, r.ids()...)
		}
		if !slices.Equal(got, all) {
			t.Errorf("pages %v, want %v", got, all)
		}
	})
}

func TestCursorPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	var all []string
	for i := range 8 {
		all = append(all, c.createUser(fmt.Sprintf("cursor.user.%d", i)))
	}
	walk := func(t *testing.T, query string) []string {
		t.Helper()
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("nextCursor chain does not end")
			}
			r := e.client(t).get("/Users?" + query + "&cursor=" + cursor)
			wantStatus(t, r, 200)
			if r.at("startIndex") != nil {
				t.Errorf("cursor page carries startIndex %v", r.at("startIndex"))
			}
			got = append(got, r.ids()...)
			next := r.str("nextCursor")
			if next == "" {
				return got
			}
			cursor = next
		}
	}
	t.Run("the nextCursor chain covers all users once, in order", func(t *testing.T) {
		if got := walk(t, "count=3"); !slices.Equal(got, all) {
			t.Errorf("cursor walk %v, want %v", got, all)
		}
	})
	t.Run("the chain honours a filter", func(t *testing.T) {
		got := walk(t, `count=2&filter=userName sw "cursor.user."`)
		if len(got) != 8 {
			t.Errorf("%d users, want 8", len(got))
		}
	})
	t.Run("the chain honours a sort order", func(t *testing.T) {
		got := walk(t, "count=3&sortBy=userName&sortOrder=descending")
		want := slices.Clone(all)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("descending cursor walk %v, want %v", got, want)
		}
	})
	t.Run("the last page has no nextCursor", func(t *testing.T) {
		r := e.client(t).get("/Users?count=100&cursor=")
		if r.at("nextCursor") != nil || len(r.ids()) != 8 {
			t.Errorf("single page: %s", r.Raw)
		}
	})
	for _, bad := range []string{"garbage", "b206LTE", "%00"} {
		t.Run("a forged cursor "+bad+" is 400", func(t *testing.T) {
			wantError(t, e.client(t).get("/Users?count=2&cursor="+bad), 400, "invalidValue", "cursor")
		})
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	for _, u := range []struct{ name, family string }{{"mike", "Zulu"}, {"anna", "Young"}, {"zoe", ""}, {"Bert", "Xavier"}} {
		body := userBody(u.name)
		if u.family == "" {
			body["name"] = map[string]any{"givenName": "Zoe"}
		} else {
			body["name"] = map[string]any{"givenName": "G", "familyName": u.family}
		}
		wantStatus(t, c.post("/Users", body), 201)
	}
	names := func(r response, key string) []string {
		var out []string
		for _, x := range r.list("Resources") {
			s, _ := at(x, key).(string)
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"sortBy=userName", []string{"anna", "Bert", "mike", "zoe"}},
		{"sortBy=userName&sortOrder=ascending", []string{"anna", "Bert", "mike", "zoe"}},
		{"sortBy=userName&sortOrder=descending", []string{"zoe", "mike", "Bert", "anna"}},
		{"sortBy=USERNAME&sortOrder=DESCENDING", []string{"zoe", "mike", "Bert", "anna"}},
		{"sortBy=name.familyName", []string{"Bert", "anna", "mike", "zoe"}},                      // missing sorts last ascending
		{"sortBy=name.familyName&sortOrder=descending", []string{"zoe", "mike", "anna", "Bert"}}, // and first descending
		{"sortBy=userName&startIndex=2&count=2", []string{"Bert", "mike"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.client(t).get("/Users?" + tc.query)
			wantStatus(t, r, 200)
			if got := names(r, "userName"); !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an unknown sortBy is 400", func(t *testing.T) {
		wantError(t, e.client(t).get("/Users?sortBy=shoeSize"), 400, "invalidValue", "sortBy")
	})
	t.Run("an unknown sortOrder is 400", func(t *testing.T) {
		wantError(t, e.client(t).get("/Users?sortBy=userName&sortOrder=sideways"), 400, "invalidValue", "sortOrder")
	})
	t.Run("groups sort by displayName", func(t *testing.T) {
		c := e.client(t)
		for _, n := range []string{"beta", "Alpha", "gamma"} {
			c.createGroup(n)
		}
		r := c.get("/Groups?sortBy=displayName&sortOrder=descending")
		if got := names(r, "displayName"); !slices.Equal(got, []string{"gamma", "beta", "Alpha"}) {
			t.Errorf("group order %v", got)
		}
	})
}

func TestProjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	full := userBody("proj.user")
	full["title"] = "Boss"
	full[enterpriseURN] = map[string]any{"employeeNumber": "42", "department": "R&D"}
	r := c.post("/Users", full)
	wantStatus(t, r, 201)
	id := r.str("id")
	gid := c.createGroup("proj group", id)

	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		name   string
		r      req
		status int
		want   []string // exact top-level keys
		check  func(t *testing.T, r response)
	}{
		{"GET attributes=userName returns userName, id and schemas only", req{Method: "GET", Path: "/Users/" + id + "?attributes=userName"}, 200,
			[]string{"id", "schemas", "userName"}, nil},
		{"GET attributes=name.givenName returns only that sub-attribute", req{Method: "GET", Path: "/Users/" + id + "?attributes=name.givenName"}, 200,
			[]string{"id", "name", "schemas"}, func(t *testing.T, r response) {
				if m, _ := r.at("name").(map[string]any); len(m) != 1 || m["givenName"] != "Given" {
					t.Errorf("name %v", r.at("name"))
				}
			}},
		{"GET attributes with an extension attribute", req{Method: "GET", Path: "/Users/" + id + "?attributes=" + enterpriseURN + ":employeeNumber"}, 200,
			[]string{"id", "schemas", enterpriseURN}, func(t *testing.T, r response) {
				if m, _ := r.at(enterpriseURN).(map[string]any); len(m) != 1 || m["employeeNumber"] != "42" {
					t.Errorf("extension %v", r.at(enterpriseURN))
				}
			}},
		{"GET excludedAttributes removes attributes and sub-attributes", req{Method: "GET", Path: "/Users/" + id + "?excludedAttributes=emails,name.familyName,meta"}, 200,
			nil, func(t *testing.T, r response) {
				if r.at("emails") != nil || r.at("meta") != nil || r.at("name/familyName") != nil || r.str("name/givenName") != "Given" || r.str("title") != "Boss" {
					t.Errorf("excluded: %s", r.Raw)
				}
			}},
		{"excluding id or schemas has no effect", req{Method: "GET", Path: "/Users/" + id + "?excludedAttributes=id,schemas"}, 200,
			nil, func(t *testing.T, r response) {
				if r.str("id") != id || r.at("schemas") == nil {
					t.Errorf("id/schemas excluded: %s", r.Raw)
				}
			}},
		{"a value filter in attributes selects the attribute (Microsoft collection)", req{Method: "GET", Path: `/Users?attributes=emails[type eq "work"]`}, 200,
			nil, func(t *testing.T, r response) {
				if r.str("Resources/0/emails/0/value") != "proj.user@example.com" || r.at("Resources/0/userName") != nil {
					t.Errorf("emails projection: %s", r.Raw)
				}
			}},
		{"list attributes=userName applies to every resource", req{Method: "GET", Path: "/Users?attributes=userName"}, 200,
			nil, func(t *testing.T, r response) {
				if got := keys(r.at("Resources/0").(map[string]any)); !slices.Equal(got, []string{"id", "schemas", "userName"}) {
					t.Errorf("list projection keys %v", got)
				}
			}},
		{"list excludedAttributes=members on groups", req{Method: "GET", Path: "/Groups?excludedAttributes=members"}, 200,
			nil, func(t *testing.T, r response) {
				if r.at("Resources/0/members") != nil || r.str("Resources/0/displayName") != "proj group" {
					t.Errorf("group projection: %s", r.Raw)
				}
			}},
		{"GET group attributes=displayName", req{Method: "GET", Path: "/Groups/" + gid + "?attributes=displayName"}, 200,
			[]string{"displayName", "id", "schemas"}, nil},
		{"POST honours attributes", req{Method: "POST", Path: "/Users?attributes=userName", Body: userBody("proj.post")}, 201,
			[]string{"id", "schemas", "userName"}, nil},
		{"PUT honours excludedAttributes", req{Method: "PUT", Path: "/Users/" + id + "?excludedAttributes=emails,name", Body: full}, 200,
			nil, func(t *testing.T, r response) {
				if r.at("emails") != nil || r.at("name") != nil || r.str("userName") != "proj.user" {
					t.Errorf("PUT projection: %s", r.Raw)
				}
			}},
		{"PATCH honours attributes", req{Method: "PATCH", Path: "/Users/" + id + "?attributes=title", Body: patchBody(op("replace", "title", "Chief"))}, 200,
			[]string{"id", "schemas", "title"}, func(t *testing.T, r response) {
				if r.str("title") != "Chief" {
					t.Errorf("title %q", r.str("title"))
				}
			}},
		{"User.groups can be asked for explicitly", req{Method: "GET", Path: "/Users/" + id + "?attributes=groups"}, 200,
			[]string{"groups", "id", "schemas"}, nil},
		{"password is never returned, even when asked for", req{Method: "GET", Path: "/Users/" + id + "?attributes=password,userName"}, 200,
			[]string{"id", "schemas", "userName"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.client(t).do(tc.r)
			wantStatus(t, r, tc.status)
			if tc.want != nil {
				if got := keys(r.Body); !slices.Equal(got, tc.want) {
					t.Errorf("keys %v, want %v", got, tc.want)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	t.Run("an unknown attribute in attributes is 400", func(t *testing.T) {
		wantError(t, e.client(t).get("/Users/"+id+"?attributes=shoeSize"), 400, "invalidValue", "shoeSize")
	})
}
