package target

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

const customSchemas = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"Resources":[
 {"id":"urn:ietf:params:scim:schemas:core:2.0:User","attributes":[
   {"name":"userName","type":"string","multiValued":false,"required":true},
   {"name":"emails","type":"complex","multiValued":true,"required":true,"subAttributes":[
     {"name":"value","type":"string","multiValued":false,"required":true},{"name":"type","type":"string","multiValued":false,"required":false}]},
   {"name":"name","type":"complex","multiValued":false,"required":false,"subAttributes":[
     {"name":"givenName","type":"string","multiValued":false,"required":false}]},
   {"name":"roles","type":"complex","multiValued":true,"required":false,"subAttributes":[
     {"name":"value","type":"string","multiValued":false,"required":false,"caseExact":true}]}]},
 {"id":"urn:example:params:scim:schemas:extension:acme:2.0:User","attributes":[{"name":"badge","type":"string","multiValued":false,"required":false}]},
 {"id":"urn:ietf:params:scim:schemas:core:2.0:Group","attributes":[{"name":"displayName","type":"string","multiValued":false,"required":true},
   {"name":"members","type":"complex","multiValued":true,"required":false,"subAttributes":[{"name":"value","type":"string"}]}]}]}`

const spc = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],"patch":{"supported":true},"filter":{"supported":true,"maxResults":200},"bulk":{"supported":false},"etag":{"supported":true}}`

func TestSchemasFromTarget(t *testing.T) {
	f := newFake(t, nil, reply(200, spc), reply(200, customSchemas))
	c := newTestClient(t, f.URL(), nil, nil, nil)
	info, err := c.Schemas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls := f.Calls(); calls[0].Path != "/scim/v2/ServiceProviderConfig" || calls[1].Path != "/scim/v2/Schemas" {
		t.Fatalf("requests %v", calls)
	}
	if info.Source != "target" || !info.PatchSupported || !info.FilterSupported || info.BulkSupported || !info.ETagSupported || info.MaxResults != 200 {
		t.Fatalf("info %+v", info)
	}
	u := info.User
	checks := []struct {
		got  bool
		what string
	}{
		{u.Required("userName"), "userName required"},
		{u.Required("EMAILS"), "emails required (case-insensitive)"},
		{u.Required(`emails[type eq "work"].value`), "emails.value required through a value filter"},
		{!u.Required("name.givenName"), "name.givenName not required by this target"},
		{u.MultiValued("emails") && u.Array("emails"), "emails multi-valued"},
		{u.Known("urn:example:params:scim:schemas:extension:acme:2.0:User:badge"), "extension attribute known"},
		{!u.Known("title"), "title unknown to this target"},
		{u.Known("externalId") && u.Known("id"), "common attributes known"},
		{!u.Known("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), "enterprise extension unknown to this target"},
		{info.Group.Required("displayName") && info.Group.MultiValued("members"), "group schema"},
		{info.NestedGroups && info.UserFilters == nil, "generic profile: nesting allowed, filters unknown"},
		{caseExact(u, "roles.value") == "exact", "roles.value caseExact by this target"},
		{caseExact(u, `emails[type eq "work"].value`) == "not exact", "emails.value not caseExact"},
		{caseExact(u, "title") == "unknown", "caseExact of an unknown attribute"},
	}
	for _, ck := range checks {
		if !ck.got {
			t.Errorf("expected %s", ck.what)
		}
	}
	v := u.Check(Resource{"userName": "bob"})
	if len(v) != 1 || v[0].Path != "emails" || v[0].Rule != "required" || !strings.Contains(v[0].Message, "required in its /Schemas") {
		t.Errorf("violations %+v", v)
	}
}

func TestSchemasBuiltinFallbackAndAWSRules(t *testing.T) {
	f := newFake(t, nil,
		func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		reply(404, scimError(404, "", "no such endpoint")),
	)
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS }, nil)
	info, err := c.Schemas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != "builtin" || len(info.Warnings) != 2 {
		t.Fatalf("source %s warnings %v", info.Source, info.Warnings)
	}
	u := info.User
	for _, p := range []string{"userName", "displayName", "name.givenName", "Name.FamilyName"} {
		if !u.Required(p) {
			t.Errorf("aws: %s should be required", p)
		}
	}
	for _, p := range []string{"emails", "addresses", "phoneNumbers", "roles"} {
		if u.MultiValued(p) || !u.Array(p) {
			t.Errorf("aws: %s should be an array of at most one value", p)
		}
	}
	if u.Known("x509Certificates") || u.Known("password") || !u.Known("title") || !u.Known("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value") {
		t.Error("aws: known attributes wrong")
	}
	if info.MaxMemberChanges != 100 || info.NestedGroups || info.BulkSupported || len(info.UserFilters) == 0 {
		t.Errorf("aws profile rules %+v", info)
	}
	if got := strings.Join(u.RequiredPaths(), ","); got != "displayName,name.familyName,name.givenName,userName" {
		t.Errorf("required paths %s", got)
	}

	v := u.Check(Resource{
		"userName": "bob;", "displayName": "Bob", "name": map[string]any{"givenName": "Bob"},
		"emails":       []any{map[string]any{"value": "a@x"}},
		"phoneNumbers": []any{map[string]any{"value": "1"}, map[string]any{"value": "2"}},
		"password":     "x",
	})
	var got []string
	for _, x := range v {
		got = append(got, x.Rule+":"+x.Path)
		if x.Source != ProfileAWS {
			t.Errorf("%s: source %s", x.Path, x.Source)
		}
	}
	want := "required:name.familyName,unsupported:password,single-valued:phoneNumbers,primary:emails[0].primary,characters:userName"
	if strings.Join(got, ",") != want {
		t.Errorf("violations %s\nwant %s", strings.Join(got, ","), want)
	}
	if len(u.Check(Resource{"userName": "bob", "displayName": "Bob", "name": map[string]any{"givenName": "B", "familyName": "O"},
		"emails": []any{map[string]any{"value": "a@x", "primary": true}}})) != 0 {
		t.Error("a valid AWS user has violations")
	}
}

func TestSchemasAuthFailureReturned(t *testing.T) {
	f := newFake(t, nil, reply(401, scimError(401, "", "bad token")))
	c := newTestClient(t, f.URL(), nil, nil, nil)
	if _, err := c.Schemas(context.Background()); !errorsIsUnauthorized(err) {
		t.Fatalf("Schemas with a bad token: %v", err)
	}
}

func errorsIsUnauthorized(err error) bool {
	e, ok := AsError(err)
	return ok && e.Code() == CodeUnauthorized
}

func TestStripFilters(t *testing.T) {
	for in, want := range map[string]string{
		`emails[type eq "work"].value`:            "emails.value",
		`emails[type eq "a]b"].value`:             "emails.value",
		`addresses[type eq "work"].streetAddress`: "addresses.streetAddress",
		`members[value eq "x\"]"]`:                "members",
		"name.givenName":                          "name.givenName",
	} {
		if got := stripFilters(in); got != want {
			t.Errorf("stripFilters(%q) = %q, want %q", in, got, want)
		}
	}
}

func caseExact(s *ResourceSchema, path string) string {
	exact, known := s.CaseExact(path)
	switch {
	case !known:
		return "unknown"
	case exact:
		return "exact"
	}
	return "not exact"
}
