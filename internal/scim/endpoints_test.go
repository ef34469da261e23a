package scim_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	var users []string
	for _, n := range []string{"search.a", "search.b", "search.c"} {
		users = append(users, c.createUser(n, map[string]any{"displayName": "Eng " + n}))
	}
	groups := []string{c.createGroup("Eng Platform", users[0]), c.createGroup("Eng Data"), c.createGroup("Sales")}
	search := func(t *testing.T, path string, body map[string]any) response {
		t.Helper()
		body["schemas"] = []any{searchURN}
		return e.client(t).post(path, body)
	}
	t.Run("POST /Users/.search filters, pages, sorts and projects", func(t *testing.T) {
		r := search(t, "/Users/.search", map[string]any{"filter": `userName sw "search."`, "startIndex": 2, "count": 1,
			"sortBy": "userName", "sortOrder": "descending", "attributes": []any{"userName"}})
		wantStatus(t, r, 200)
		if r.num("totalResults") != 3 || r.num("startIndex") != 2 || r.num("itemsPerPage") != 1 || r.str("Resources/0/userName") != "search.b" || r.at("Resources/0/emails") != nil {
			t.Errorf(".search: %s", r.Raw)
		}
	})
	t.Run("POST /Groups/.search with excludedAttributes", func(t *testing.T) {
		r := search(t, "/Groups/.search", map[string]any{"filter": `displayName sw "eng"`, "excludedAttributes": []any{"members"}})
		wantStatus(t, r, 200)
		if r.num("totalResults") != 2 || r.at("Resources/0/members") != nil {
			t.Errorf("groups .search: %s", r.Raw)
		}
	})
	t.Run("POST /.search at the root returns users then groups", func(t *testing.T) {
		r := search(t, "/.search", map[string]any{"filter": `displayName sw "Eng"`})
		wantStatus(t, r, 200)
		got := r.ids()
		want := append(slices.Clone(users), groups[0], groups[1])
		if r.num("totalResults") != 5 || !slices.Equal(got, want) {
			t.Errorf("root search %v (total %d), want %v", got, r.num("totalResults"), want)
		}
	})
	t.Run("root search pages across the user/group boundary", func(t *testing.T) {
		r := search(t, "/.search", map[string]any{"startIndex": 3, "count": 2})
		wantStatus(t, r, 200)
		if got := r.ids(); !slices.Equal(got, []string{users[2], groups[0]}) || r.num("totalResults") != 6 {
			t.Errorf("page %v (total %d)", got, r.num("totalResults"))
		}
	})
	t.Run("count 0 on the root search returns the total only", func(t *testing.T) {
		r := search(t, "/.search", map[string]any{"count": 0})
		if r.num("totalResults") != 6 || len(r.list("Resources")) != 0 {
			t.Errorf("count 0: %s", r.Raw)
		}
	})
	t.Run("a malformed filter in .search is 400 invalidFilter", func(t *testing.T) {
		for _, p := range []string{"/Users/.search", "/Groups/.search", "/.search"} {
			wantError(t, search(t, p, map[string]any{"filter": `displayName eq`}), 400, "invalidFilter")
		}
	})
	t.Run("GET on .search is not a search", func(t *testing.T) {
		r := e.client(t).get("/Users/.search")
		if r.Status == 200 && r.at("Resources") != nil {
			t.Errorf("GET /Users/.search listed users: %s", r.Raw)
		}
	})
}

func TestBulk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bulk := func(t *testing.T, failOnErrors int, ops ...map[string]any) response {
		t.Helper()
		list := make([]any, len(ops))
		for i, o := range ops {
			list[i] = o
		}
		body := map[string]any{"schemas": []any{bulkURN}, "Operations": list}
		if failOnErrors > 0 {
			body["failOnErrors"] = failOnErrors
		}
		r := e.client(t).post("/Bulk", body)
		wantStatus(t, r, 200)
		if !containsString(r.list("schemas"), bulkRespURN) {
			t.Errorf("schemas %v", r.at("schemas"))
		}
		return r
	}
	userOp := func(bulkID, name string) map[string]any {
		return map[string]any{"method": "POST", "path": "/Users", "bulkId": bulkID, "data": userBody(name)}
	}
	groupOp := func(bulkID, name string, members ...string) map[string]any {
		ms := []any{}
		for _, m := range members {
			ms = append(ms, map[string]any{"value": m})
		}
		return map[string]any{"method": "POST", "path": "/Groups", "bulkId": bulkID, "data": map[string]any{"schemas": []any{groupURN}, "displayName": name, "members": ms}}
	}
	idOf := func(t *testing.T, r response, i int) string {
		t.Helper()
		loc := r.str(fmt.Sprintf("Operations/%d/location", i))
		if loc == "" {
			t.Fatalf("operation %d has no location: %s", i, r.Raw)
		}
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	t.Run("a group can reference a user created earlier in the same request", func(t *testing.T) {
		r := bulk(t, 0, userOp("u1", "bulk.one"), groupOp("g1", "bulk group", "bulkId:u1"))
		for i := range 2 {
			if s := r.str(fmt.Sprintf("Operations/%d/status", i)); s != "201" {
				t.Fatalf("operation %d status %q: %s", i, s, r.Raw)
			}
		}
		uid, gid := idOf(t, r, 0), idOf(t, r, 1)
		if r.str("Operations/0/bulkId") != "u1" || r.str("Operations/1/bulkId") != "g1" {
			t.Errorf("bulkIds not echoed: %s", r.Raw)
		}
		if got := memberIDs(e.client(t).get("/Groups/" + gid)); !slices.Equal(got, []string{uid}) {
			t.Errorf("members %v, want [%s]", got, uid)
		}
		if r.str("Operations/0/location") != e.base+"/Users/"+uid || r.str("Operations/0/version") == "" {
			t.Errorf("location/version: %s", r.Raw)
		}
	})
	t.Run("a forward reference waits for the operation it names", func(t *testing.T) {
		r := bulk(t, 0, groupOp("g2", "forward group", "bulkId:u2"), userOp("u2", "bulk.two"))
		if r.str("Operations/0/status") != "201" || r.str("Operations/1/status") != "201" {
			t.Fatalf("statuses: %s", r.Raw)
		}
		if r.str("Operations/0/bulkId") != "g2" {
			t.Errorf("results are not in request order: %s", r.Raw)
		}
		if got := memberIDs(e.client(t).get("/Groups/" + idOf(t, r, 0))); !slices.Equal(got, []string{idOf(t, r, 1)}) {
			t.Errorf("members %v", got)
		}
	})
	t.Run("a circular reference fails both operations with a 4xx", func(t *testing.T) {
		r := bulk(t, 0, groupOp("ga", "circle a", "bulkId:gb"), groupOp("gb", "circle b", "bulkId:ga"))
		for i := range 2 {
			st := r.str(fmt.Sprintf("Operations/%d/status", i))
			if !strings.HasPrefix(st, "4") {
				t.Errorf("operation %d status %q, want 4xx: %s", i, st, r.Raw)
			}
			if d := r.str(fmt.Sprintf("Operations/%d/response/detail", i)); !strings.Contains(d, "circular") {
				t.Errorf("operation %d detail %q does not say circular", i, d)
			}
		}
		if n := e.client(t).get(`/Groups?filter=displayName sw "circle"`).num("totalResults"); n != 0 {
			t.Errorf("%d circular groups were created", n)
		}
	})
	t.Run("a reference to an undeclared bulkId fails that operation", func(t *testing.T) {
		r := bulk(t, 0, groupOp("g3", "dangling group", "bulkId:nope"))
		if st := r.str("Operations/0/status"); !strings.HasPrefix(st, "4") {
			t.Errorf("status %q: %s", st, r.Raw)
		}
	})
	t.Run("PATCH and DELETE can address a resource by bulkId", func(t *testing.T) {
		r := bulk(t, 0,
			userOp("u4", "bulk.four"),
			map[string]any{"method": "PATCH", "path": "/Users/bulkId:u4", "data": patchBody(op("replace", "title", "Bulked"))},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "u5", "data": userBody("bulk.five")},
			map[string]any{"method": "DELETE", "path": "/Users/bulkId:u5"},
		)
		for i, want := range []string{"201", "200", "201", "204"} {
			if st := r.str(fmt.Sprintf("Operations/%d/status", i)); st != want {
				t.Errorf("operation %d status %q, want %s: %s", i, st, want, r.Raw)
			}
		}
		if got := e.client(t).get("/Users/" + idOf(t, r, 0)); got.str("title") != "Bulked" {
			t.Errorf("PATCH by bulkId did not apply: %s", got.Raw)
		}
	})
	t.Run("errors are reported per operation and the others still run", func(t *testing.T) {
		bad := map[string]any{"method": "POST", "path": "/Users", "bulkId": "bad", "data": map[string]any{"displayName": "no userName"}}
		r := bulk(t, 0, bad, userOp("ok", "bulk.after.error"))
		if r.str("Operations/0/status") != "400" || r.str("Operations/1/status") != "201" {
			t.Fatalf("statuses: %s", r.Raw)
		}
		if d := r.str("Operations/0/response/detail"); !strings.Contains(d, "userName") {
			t.Errorf("detail %q does not name userName", d)
		}
		if r.str("Operations/0/response/status") != "400" || r.str("Operations/0/response/scimType") == "" {
			t.Errorf("error response: %v", r.at("Operations/0/response"))
		}
	})
	t.Run("failOnErrors stops after that many errors", func(t *testing.T) {
		bad := func(id string) map[string]any {
			return map[string]any{"method": "POST", "path": "/Users", "bulkId": id, "data": map[string]any{"displayName": "no userName"}}
		}
		r := bulk(t, 1, bad("b1"), userOp("never", "bulk.never"))
		if n := len(r.list("Operations")); n != 1 {
			t.Errorf("%d results, want 1: %s", n, r.Raw)
		}
		if n := e.client(t).get(`/Users?filter=userName eq "bulk.never"`).num("totalResults"); n != 0 {
			t.Errorf("an operation after failOnErrors ran")
		}
		r = bulk(t, 2, bad("b2"), userOp("runs", "bulk.runs"), bad("b3"), userOp("stops", "bulk.stops"))
		if n := len(r.list("Operations")); n != 3 {
			t.Errorf("%d results, want 3: %s", n, r.Raw)
		}
	})
	t.Run("a stale version in an operation is 412 for that operation", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("bulk.versioned")
		wantStatus(t, c.patch("/Users/"+id, op("replace", "title", "x")), 200)
		r := bulk(t, 0, map[string]any{"method": "PATCH", "path": "/Users/" + id, "version": `W/"1"`, "data": patchBody(op("replace", "title", "y"))})
		if st := r.str("Operations/0/status"); st != "412" {
			t.Errorf("status %q, want 412: %s", st, r.Raw)
		}
	})
	t.Run("more operations than maxOperations is 413", func(t *testing.T) {
		ops := make([]any, 1001)
		for i := range ops {
			ops[i] = map[string]any{"method": "DELETE", "path": "/Users/x"}
		}
		r := e.client(t).post("/Bulk", map[string]any{"schemas": []any{bulkURN}, "Operations": ops})
		wantError(t, r, http.StatusRequestEntityTooLarge, "", "1000")
	})
	for _, tc := range []struct{ name, body string }{
		{"missing Operations", `{"schemas":["` + bulkURN + `"]}`},
		{"Operations not an array", `{"schemas":["` + bulkURN + `"],"Operations":{}}`},
		{"an operation without method", `{"Operations":[{"path":"/Users","bulkId":"x","data":{}}]}`},
		{"POST without bulkId", `{"Operations":[{"method":"POST","path":"/Users","data":{"userName":"x"}}]}`},
		{"a GET operation", `{"Operations":[{"method":"GET","path":"/Users"}]}`},
	} {
		t.Run("malformed bulk: "+tc.name+" is 400", func(t *testing.T) {
			wantError(t, e.client(t).post("/Bulk", tc.body), 400, "")
		})
	}
	t.Run("an operation on an unknown endpoint fails alone", func(t *testing.T) {
		r := bulk(t, 0, map[string]any{"method": "POST", "path": "/Secrets", "bulkId": "s", "data": map[string]any{}})
		if st := r.str("Operations/0/status"); !strings.HasPrefix(st, "4") {
			t.Errorf("status %q", st)
		}
	})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("ServiceProviderConfig advertises what the server does", func(t *testing.T) {
		for _, path := range []string{"/ServiceProviderConfig", "/serviceConfiguration", "/serviceproviderconfig"} {
			r := e.client(t).get(path)
			wantStatus(t, r, 200)
			for p, want := range map[string]any{
				"patch/supported": true, "bulk/supported": true, "bulk/maxOperations": 1000.0, "bulk/maxPayloadSize": float64(1 << 20),
				"filter/supported": true, "filter/maxResults": 1000.0, "sort/supported": true, "etag/supported": true,
				"authenticationSchemes/0/type": "oauthbearertoken",
			} {
				if got := r.at(p); got != want {
					t.Errorf("%s %s = %#v, want %#v", path, p, got, want)
				}
			}
			if r.at("Resources") != nil || !containsString(r.list("schemas"), "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig") {
				t.Errorf("%s is not a single SPC object: %s", path, truncate(string(r.Raw), 300))
			}
		}
	})
	t.Run("ResourceTypes lists User first", func(t *testing.T) {
		r := e.client(t).get("/ResourceTypes")
		wantStatus(t, r, 200)
		if r.num("totalResults") != 2 || r.str("Resources/0/name") != "User" || r.str("Resources/0/endpoint") != "/Users" ||
			r.str("Resources/0/schema") != userURN || r.str("Resources/0/schemaExtensions/0/schema") != enterpriseURN ||
			r.str("Resources/1/name") != "Group" || r.str("Resources/1/endpoint") != "/Groups" {
			t.Errorf("ResourceTypes: %s", truncate(string(r.Raw), 1000))
		}
		one := e.client(t).get("/ResourceTypes/User")
		if one.str("id") != "User" || one.at("Resources") != nil {
			t.Errorf("/ResourceTypes/User: %s", one.Raw)
		}
		wantError(t, e.client(t).get("/ResourceTypes/Printer"), 404, "")
	})
	t.Run("Schemas contains User Account with its attributes", func(t *testing.T) {
		r := e.client(t).get("/Schemas")
		wantStatus(t, r, 200)
		var user map[string]any
		var ids []string
		for _, s := range r.list("Resources") {
			m := s.(map[string]any)
			ids = append(ids, m["id"].(string))
			if m["id"] == userURN {
				user = m
			}
		}
		if user == nil || user["description"] != "User Account" {
			t.Fatalf("no User schema described as User Account: %v", ids)
		}
		for _, want := range []string{groupURN, enterpriseURN} {
			if !slices.Contains(ids, want) {
				t.Errorf("schemas %v lack %s", ids, want)
			}
		}
		attrs := map[string]map[string]any{}
		for _, a := range user["attributes"].([]any) {
			m := a.(map[string]any)
			attrs[m["name"].(string)] = m
		}
		if a := attrs["userName"]; a == nil || a["required"] != true || a["uniqueness"] != "server" || a["caseExact"] != false {
			t.Errorf("userName characteristics: %v", a)
		}
		if a := attrs["password"]; a == nil || a["returned"] != "never" || a["mutability"] != "writeOnly" {
			t.Errorf("password characteristics: %v", a)
		}
		if a := attrs["groups"]; a == nil || a["mutability"] != "readOnly" {
			t.Errorf("groups characteristics: %v", a)
		}
		one := e.client(t).get("/Schemas/" + userURN)
		if one.str("id") != userURN || one.str("description") != "User Account" {
			t.Errorf("/Schemas/{urn}: %s", truncate(string(one.Raw), 200))
		}
		wantError(t, e.client(t).get("/Schemas/urn:example:nope"), 404, "")
	})
	for _, path := range []string{"/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
		t.Run("a filter on "+path+" is 403", func(t *testing.T) {
			wantError(t, e.client(t).get(path+`?filter=name eq "User"`), 403, "")
		})
		t.Run(path+" requires the token", func(t *testing.T) {
			wantError(t, e.client(t).as("").get(path), 401, "")
		})
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		t.Run(m+" /Me is 501", func(t *testing.T) {
			var body any
			if m == "PUT" || m == "PATCH" {
				body = map[string]any{}
			}
			wantError(t, e.client(t).do(req{Method: m, Path: "/Me", Body: body}), http.StatusNotImplemented, "", "/Me")
		})
	}
}

func TestUnknownEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/Printers", "/Users/a/b", "/Groups/x/members"} {
		t.Run(p+" is a SCIM 404", func(t *testing.T) {
			wantError(t, e.client(t).get(p), 404, "")
		})
	}
	t.Run("endpoint names are case-insensitive", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("case.endpoint")
		wantStatus(t, c.get("/users/"+id), 200)
		wantStatus(t, c.get("/USERS?filter=userName eq \"case.endpoint\""), 200)
		wantStatus(t, c.get("/Users/?filter=userName eq \"case.endpoint\""), 200)
	})
}

func TestContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	id := c.createUser("ct.user")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/Users"}, {"PUT", "/Users/" + id}, {"PATCH", "/Users/" + id}, {"POST", "/Groups"},
		{"POST", "/Users/.search"}, {"POST", "/.search"}, {"POST", "/Bulk"},
	} {
		t.Run(tc.method+" "+tc.path+" with text/plain is 415", func(t *testing.T) {
			r := e.client(t).do(req{Method: tc.method, Path: tc.path, Body: `{"userName":"x"}`, Header: map[string]string{"Content-Type": "text/plain"}})
			wantError(t, r, http.StatusUnsupportedMediaType, "", "Content-Type")
		})
	}
	for i, ct := range []string{"application/json", "application/scim+json", "application/scim+json; charset=utf-8", "Application/JSON"} {
		t.Run("Content-Type "+ct+" is accepted", func(t *testing.T) {
			r := e.client(t).do(req{Method: "POST", Path: "/Users", Body: userBody(fmt.Sprintf("ct.%d", i)), Header: map[string]string{"Content-Type": ct}})
			wantStatus(t, r, 201)
		})
	}
	t.Run("responses are application/scim+json", func(t *testing.T) {
		for _, p := range []string{"/Users/" + id, "/Users", "/ServiceProviderConfig", "/Users/nope"} {
			if ct := e.client(t).get(p).Header.Get("Content-Type"); ct != "application/scim+json" {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
		}
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMaxBody(8<<10))
	c := e.client(t)
	id := c.createUser("limit.user")
	gid := c.createGroup("limit group")
	big := strings.Repeat("x", 9<<10)
	for _, tc := range []struct {
		name, method, path string
		body               string
	}{
		{"POST /Users", "POST", "/Users", `{"userName":"big","displayName":"` + big + `"}`},
		{"PUT /Users", "PUT", "/Users/" + id, `{"userName":"big","displayName":"` + big + `"}`},
		{"PATCH /Groups", "PATCH", "/Groups/" + gid, `{"Operations":[{"op":"replace","path":"displayName","value":"` + big + `"}]}`},
		{"POST /Bulk", "POST", "/Bulk", `{"Operations":[{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"` + big + `"}}]}`},
		{"POST /.search", "POST", "/.search", `{"filter":"userName eq \"` + big + `\""}`},
	} {
		t.Run(tc.name+" over the server's max body is 413", func(t *testing.T) {
			wantError(t, e.client(t).do(req{Method: tc.method, Path: tc.path, Body: tc.body}), http.StatusRequestEntityTooLarge, "", "limit")
		})
	}
	t.Run("ServiceProviderConfig advertises the configured limit", func(t *testing.T) {
		if got := e.client(t).get("/ServiceProviderConfig").num("bulk/maxPayloadSize"); got != 8<<10 {
			t.Errorf("maxPayloadSize %d", got)
		}
	})
}
