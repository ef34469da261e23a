package scim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// TestAWSProfile covers a directory with the aws-identity-center profile:
// AWS IAM Identity Center's documented constraints, each rejection naming
// the attribute and the profile (AWS itself answers a generic 400).
func TestAWSProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.directory("aws", directory.ProfileAWS, zeroSettings)
	aws := func(t *testing.T) *client { return e.client(t).as(tok) }
	const profile = "aws-identity-center"

	t.Run("a complete user is accepted", func(t *testing.T) {
		wantStatus(t, aws(t).post("/Users", userBody("aws.complete")), 201)
	})
	for _, tc := range []struct {
		name   string
		edit   func(m map[string]any)
		attr   string // the detail must start with this attribute
		absent []string
	}{
		{"missing name.givenName", func(m map[string]any) { m["name"] = map[string]any{"familyName": "F"} }, "name.givenName", nil},
		{"blank name.givenName", func(m map[string]any) { m["name"] = map[string]any{"givenName": "  ", "familyName": "F"} }, "name.givenName", nil},
		{"missing name.familyName", func(m map[string]any) { m["name"] = map[string]any{"givenName": "G"} }, "name.familyName", nil},
		{"missing name", func(m map[string]any) { delete(m, "name") }, "name.givenName", nil},
		{"missing displayName", func(m map[string]any) { delete(m, "displayName") }, "displayName", nil},
		{"missing userName", func(m map[string]any) { delete(m, "userName") }, "userName", nil},
	} {
		t.Run(tc.name+" is 400 naming the attribute and the profile", func(t *testing.T) {
			body := userBody("aws.missing")
			tc.edit(body)
			r := aws(t).post("/Users", body)
			wantError(t, r, 400, "invalidValue", tc.attr)
			detail := r.str("detail")
			if !strings.HasPrefix(detail, tc.attr+" ") {
				t.Errorf("detail %q is not about %s first", detail, tc.attr)
			}
			if tc.attr != "userName" && !strings.Contains(detail, profile) {
				t.Errorf("detail %q does not mention the %s profile", detail, profile)
			}
		})
	}
	t.Run("the missing-givenName detail is about givenName only", func(t *testing.T) {
		body := userBody("aws.given")
		body["name"] = map[string]any{"familyName": "F"}
		d := aws(t).post("/Users", body).str("detail")
		if !strings.HasPrefix(d, "name.givenName is required by this directory's aws-identity-center profile") {
			t.Errorf("detail %q", d)
		}
		if strings.HasPrefix(d, "name.familyName") || strings.Contains(d, "unparsable") {
			t.Errorf("detail %q blames something else", d)
		}
	})
	t.Run("two emails are 400", func(t *testing.T) {
		body := userBody("aws.twomail")
		body["emails"] = []any{
			map[string]any{"value": "a@example.com", "type": "work", "primary": true},
			map[string]any{"value": "b@example.com", "type": "home"},
		}
		wantError(t, aws(t).post("/Users", body), 400, "invalidValue", "emails", profile)
	})
	for _, attr := range []string{"addresses", "phoneNumbers", "roles"} {
		t.Run("two "+attr+" are 400", func(t *testing.T) {
			body := userBody("aws.two" + strings.ToLower(attr))
			body[attr] = []any{map[string]any{"value": "1", "type": "work"}, map[string]any{"value": "2", "type": "home"}}
			if attr == "addresses" {
				body[attr] = []any{map[string]any{"locality": "A", "type": "work"}, map[string]any{"locality": "B", "type": "home"}}
			}
			wantError(t, aws(t).post("/Users", body), 400, "invalidValue", attr, profile)
		})
	}
	t.Run("an email that is not primary is 400", func(t *testing.T) {
		for _, primary := range []any{nil, false} {
			body := userBody("aws.notprimary")
			email := map[string]any{"value": "a@example.com", "type": "work"}
			if primary != nil {
				email["primary"] = primary
			}
			body["emails"] = []any{email}
			wantError(t, aws(t).post("/Users", body), 400, "invalidValue", "emails[0].primary", profile)
		}
	})
	for _, attr := range []string{"ims", "photos", "x509Certificates", "entitlements", "password"} {
		t.Run("the unsupported attribute "+attr+" is 400", func(t *testing.T) {
			body := userBody("aws.unsupported." + strings.ToLower(attr))
			body[attr] = []any{map[string]any{"value": "x"}}
			if attr == "password" {
				body[attr] = e.secret("aws-password-" + attr + "-Zx81")
			}
			wantError(t, aws(t).post("/Users", body), 400, "invalidValue", attr, profile)
		})
	}
	for _, ch := range []string{"<", ">", ";", ":", "%", "\t", "\n", "\r"} {
		for _, field := range []string{"userName", "displayName"} {
			t.Run(fmt.Sprintf("%s with %q is 400", field, ch), func(t *testing.T) {
				body := userBody("aws.chars")
				body[field] = "bad" + ch + "value"
				wantError(t, aws(t).post("/Users", body), 400, "invalidValue", field)
			})
		}
	}
	t.Run("the rules apply to PUT", func(t *testing.T) {
		c := aws(t)
		id := c.createUser("aws.put")
		body := userBody("aws.put")
		body["name"] = map[string]any{"familyName": "F"}
		wantError(t, c.put("/Users/"+id, body), 400, "invalidValue", "name.givenName", profile)
	})
	t.Run("the rules apply to the result of PATCH", func(t *testing.T) {
		c := aws(t)
		id := c.createUser("aws.patch")
		wantError(t, c.patch("/Users/"+id, op("remove", "name.givenName", nil)), 400, "", "name.givenName")
		wantError(t, c.patch("/Users/"+id, op("add", "emails", []any{map[string]any{"value": "second@example.com", "type": "home"}})), 400, "invalidValue", "emails")
		if r := c.get("/Users/" + id); r.str("name/givenName") != "Given" || len(r.list("emails")) != 1 {
			t.Errorf("a rejected PATCH changed the user: %s", r.Raw)
		}
	})
	for _, path := range []string{"userName", "active"} {
		t.Run("PATCH remove of "+path+" is 400", func(t *testing.T) {
			c := aws(t)
			id := c.createUser("aws.remove." + strings.ToLower(path))
			wantError(t, c.patch("/Users/"+id, op("remove", path, nil)), 400, "mutability", path, profile)
		})
	}
	for _, f := range []string{
		`userName co "x"`,
		`userName sw "aws"`,
		`userName ne "x"`,
		`userName pr`,
		`displayName eq "x"`,
		`userName eq "a" or userName eq "b"`,
		`not (userName eq "a")`,
		`emails[type eq "work"]`,
	} {
		t.Run(fmt.Sprintf("filter %s is 400 invalidFilter", f), func(t *testing.T) {
			r := aws(t).get("/Users?filter=" + f)
			wantError(t, r, 400, "invalidFilter", profile)
		})
	}
	for _, f := range []string{`userName eq "aws.complete"`, `externalId eq "x"`, `id eq "x" and userName eq "y"`} {
		t.Run(fmt.Sprintf("filter %s is accepted", f), func(t *testing.T) {
			wantStatus(t, aws(t).get("/Users?filter="+f), 200)
		})
	}
	t.Run("group filters are limited too", func(t *testing.T) {
		wantError(t, aws(t).get(`/Groups?filter=displayName co "x"`), 400, "invalidFilter", profile)
		wantStatus(t, aws(t).get(`/Groups?filter=displayName eq "x"`), 200)
	})

	// Membership limits need more than 100 users: create them in one Bulk request.
	var ids []string
	{
		c := aws(t)
		ops := make([]any, 0, 105)
		for i := range 105 {
			ops = append(ops, map[string]any{"method": "POST", "path": "/Users", "bulkId": fmt.Sprintf("u%d", i), "data": userBody(fmt.Sprintf("aws.bulk.%03d", i))})
		}
		r := c.post("/Bulk", map[string]any{"schemas": []any{bulkURN}, "Operations": ops})
		wantStatus(t, r, 200)
		for i, o := range r.list("Operations") {
			if at(o, "status") != "201" {
				t.Fatalf("bulk operation %d: %v", i, o)
			}
			loc := at(o, "location").(string)
			ids = append(ids, loc[strings.LastIndex(loc, "/")+1:])
		}
	}
	members := func(ids []string) []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = map[string]any{"value": id}
		}
		return out
	}
	t.Run("a group PATCH with 101 member adds is 400", func(t *testing.T) {
		c := aws(t)
		gid := c.createGroup("aws group 101")
		wantError(t, c.patch("/Groups/"+gid, op("add", "members", members(ids[:101]))), 400, "invalidValue", "101", "100", profile)
		if r := c.get("/Groups/" + gid); len(r.list("members")) != 0 {
			t.Errorf("%d members were added", len(r.list("members")))
		}
	})
	t.Run("101 membership changes split over operations are 400 too", func(t *testing.T) {
		c := aws(t)
		gid := c.createGroup("aws group split")
		wantError(t, c.patch("/Groups/"+gid, op("add", "members", members(ids[:60])), op("add", "members", members(ids[60:101]))), 400, "invalidValue", "100")
	})
	t.Run("a group PATCH with 100 member adds is accepted", func(t *testing.T) {
		c := aws(t)
		gid := c.createGroup("aws group 100")
		wantStatus(t, c.patch("/Groups/"+gid, op("add", "members", members(ids[:100]))), 200)
	})
	t.Run("creating a group with 101 members is 400", func(t *testing.T) {
		r := aws(t).post("/Groups", map[string]any{"displayName": "aws group create 101", "members": members(ids[:101])})
		wantError(t, r, 400, "invalidValue", "100")
	})
	t.Run("replacing all members is 400", func(t *testing.T) {
		c := aws(t)
		gid := c.createGroup("aws group replace", ids[0])
		wantError(t, c.patch("/Groups/"+gid, op("replace", "members", members(ids[1:2]))), 400, "invalidValue", "members", profile)
		wantError(t, c.patch("/Groups/"+gid, op("remove", "members", nil)), 400, "invalidValue", "members", profile)
		if got := memberIDs(c.get("/Groups/" + gid)); len(got) != 1 || got[0] != ids[0] {
			t.Errorf("members changed: %v", got)
		}
	})
	t.Run("adding and removing members by id works", func(t *testing.T) {
		c := aws(t)
		gid := c.createGroup("aws group edit", ids[0])
		wantStatus(t, c.patch("/Groups/"+gid, op("add", "members", members(ids[1:3])), op("remove", `members[value eq "`+ids[0]+`"]`, nil)), 200)
		if got := memberIDs(c.get("/Groups/" + gid)); len(got) != 2 {
			t.Errorf("members %v", got)
		}
	})
	t.Run("count is clamped to 100", func(t *testing.T) {
		r := aws(t).get("/Users?count=500")
		wantStatus(t, r, 200)
		if r.num("itemsPerPage") != 100 || len(r.list("Resources")) != 100 || r.num("totalResults") < 105 {
			t.Errorf("itemsPerPage %d, %d resources, totalResults %d", r.num("itemsPerPage"), len(r.list("Resources")), r.num("totalResults"))
		}
		if d := aws(t).get("/Users"); d.num("itemsPerPage") != 100 {
			t.Errorf("default page %d, want 100", d.num("itemsPerPage"))
		}
	})
	t.Run("ServiceProviderConfig advertises the profile's page limit", func(t *testing.T) {
		r := aws(t).get("/ServiceProviderConfig")
		if r.num("filter/maxResults") != 100 {
			t.Errorf("filter.maxResults %d", r.num("filter/maxResults"))
		}
	})
	t.Run("the rfc directory is not restricted", func(t *testing.T) {
		c := e.client(t)
		body := userBody("rfc.free")
		delete(body, "displayName")
		body["name"] = map[string]any{"familyName": "F"}
		body["emails"] = []any{map[string]any{"value": "a@x"}, map[string]any{"value": "b@x"}}
		wantStatus(t, c.post("/Users", body), 201)
		wantStatus(t, c.get(`/Users?filter=userName co "x"`), 200)
	})
}
