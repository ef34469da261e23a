package patch

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// userWithoutWorkEmail is the fixture Entra's "add work email" case starts from.
func userWithoutWorkEmail() map[string]any {
	d := userDoc()
	d["emails"] = list(d, "emails")[1:]
	return d
}

// TestEntraUserDialect covers what Microsoft Entra ID sends to a non-gallery
// SCIM app, in its default dialect and with aadOptscim062020
// (scim-server.md §2.1).
func TestEntraUserDialect(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "Replace with a False string disables the user",
			ops:  []string{`{"op":"Replace","path":"active","value":"False"}`},
			edit: func(d map[string]any) { d["active"] = false }},
		{name: "Add with a capital A sets a single value",
			ops:  []string{`{"op":"Add","path":"nickName","value":"Babs"}`},
			edit: func(d map[string]any) { d["nickName"] = "Babs" }},
		{name: "one Replace per attribute",
			ops: []string{
				`{"op":"Replace","path":"displayName","value":"Bjfe"}`,
				`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"bjfe@example.com"}`,
				`{"op":"Replace","path":"name.givenName","value":"Kkom"}`,
				`{"op":"Replace","path":"name.familyName","value":"Unua"}`,
				`{"op":"Replace","path":"externalId","value":"bjfe"}`,
				`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Aklq"}`,
			},
			edit: func(d map[string]any) {
				d["displayName"], d["externalId"] = "Bjfe", "bjfe"
				elem(d, "emails", 0)["value"] = "bjfe@example.com"
				n := d["name"].(map[string]any)
				n["givenName"], n["familyName"] = "Kkom", "Unua"
				extOf(d)["employeeNumber"] = "Aklq"
			}},
		{name: "no-path replace with dotted and URN-qualified keys",
			ops: []string{`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}`},
			edit: func(d map[string]any) {
				d["displayName"] = "Bjfe"
				n := d["name"].(map[string]any)
				n["givenName"], n["familyName"] = "Kkom", "Unua"
				extOf(d)["employeeNumber"] = "Aklq"
			}},
		{name: "capitalised sub-attribute after a value path",
			ops: []string{`{"op":"Add","path":"emails[type eq \"other\"].Value","value":"o@example.com"}`,
				`{"op":"Replace","path":"addresses[type eq \"other\"].Formatted","value":"Somewhere"}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"type": "other", "value": "o@example.com"})
				d["addresses"] = append(list(d, "addresses"), map[string]any{"type": "other", "formatted": "Somewhere"})
			}},
		{name: "single value wrapped as a list of one value object",
			ops:  []string{`{"op":"Replace","path":"displayName","value":[{"$ref":null,"value":"User x"}]}`},
			edit: func(d map[string]any) { d["displayName"] = "User x" }},
		{name: "bare manager path with a list value",
			ops: []string{`{"op":"Add","path":"manager","value":[{"$ref":"http://example.com/Users/00aa","value":"00aa"}]}`},
			edit: func(d map[string]any) {
				extOf(d)["manager"] = map[string]any{"$ref": "http://example.com/Users/00aa", "value": "00aa"}
			}},
		{name: "manager with a null $ref drops the old reference",
			ops:  []string{`{"op":"Add","path":"manager","value":[{"$ref":null,"value":"00bb"}]}`},
			edit: func(d map[string]any) { extOf(d)["manager"] = map[string]any{"value": "00bb"} }},
		{name: "manager replaced by a bare id drops the old reference",
			ops:  []string{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"00cc"}`},
			edit: func(d map[string]any) { extOf(d)["manager"] = map[string]any{"value": "00cc"} }},
		{name: "manager re-sent with the same id keeps its reference",
			ops: []string{`{"op":"replace","path":"manager","value":"26118915-6090-4610-87e4-49d8ca9f808d"}`}},
		{name: "bare extension attribute path",
			ops:  []string{`{"op":"Replace","path":"department","value":"Sales"}`},
			edit: func(d map[string]any) { extOf(d)["department"] = "Sales" }},
	})
	runDocCases(t, schema.UserResource, userWithoutWorkEmail, []docCase{
		{name: "add on a work email value path creates the work email",
			ops: []string{`{"op":"add","path":"emails[type eq \"work\"].value","value":"w@example.com"}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"type": "work", "value": "w@example.com"})
			}},
		{name: "Replace on a missing work email adds it",
			ops: []string{`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"type": "work", "value": "w@example.com"})
			}},
		{name: "Replace on a missing work email is noTarget in RFC mode",
			ops: []string{`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`},
			opt: Options{RFCNoTarget: true}, kind: fault.NoTarget},
		{name: "add on a work email value path in RFC mode still adds",
			ops: []string{`{"op":"add","path":"emails[type eq \"work\"].value","value":"w@example.com"}`},
			opt: Options{RFCNoTarget: true},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"type": "work", "value": "w@example.com"})
			}},
	})
}

// TestOktaUserDialect covers Okta's PATCH uses (scim-server.md §2.2).
func TestOktaUserDialect(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "no-path replace deactivates",
			ops:  []string{`{"op":"replace","value":{"active":false}}`},
			edit: func(d map[string]any) { d["active"] = false }},
		{name: "password sync passes the password through for hashing",
			ops:  []string{`{"op":"replace","value":{"password":"1mz050nq"}}`},
			edit: func(d map[string]any) { d["password"] = "1mz050nq" }},
		{name: "no-path value with an extension object",
			ops: []string{`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m2"}}}}`},
			edit: func(d map[string]any) {
				extOf(d)["department"] = "Sales"
				extOf(d)["manager"] = map[string]any{"value": "m2"}
			}},
	})
}

// TestMicrosoftCollectionUser covers the user PATCHes of Microsoft's SCIM
// Postman collection (scim-server.md §5.1).
func TestMicrosoftCollectionUser(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "replace userName",
			ops:  []string{`{"op":"replace","path":"userName","value":"ryan3"}`},
			edit: func(d map[string]any) { d["userName"] = "ryan3" }},
		{name: "Replace userName",
			ops:  []string{`{"op":"Replace","path":"userName","value":"newusername"}`},
			edit: func(d map[string]any) { d["userName"] = "newusername" }},
		{name: "Replace active with a boolean",
			ops:  []string{`{"op":"Replace","path":"active","value": false}`},
			edit: func(d map[string]any) { d["active"] = false }},
	})
}

// TestGroupRename: renames change the document and never the members.
func TestGroupRename(t *testing.T) {
	runDocCases(t, schema.GroupResource, groupDoc, []docCase{
		{name: "Okta no-path replace with the readOnly id",
			ops:  []string{`{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}`},
			edit: func(d map[string]any) { d["displayName"] = "Test SCIMv2" }},
		{name: "Entra Replace displayName",
			ops:  []string{`{"op":"Replace","path":"displayName","value":"Tour Leads"}`},
			edit: func(d map[string]any) { d["displayName"] = "Tour Leads" }},
		{name: "Okta re-sent rename is no change",
			ops: []string{`{"op":"replace","value":{"id":"abf4","displayName":"Tour Guides"}}`}},
	})
}
