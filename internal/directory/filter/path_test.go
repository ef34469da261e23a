package filter

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// showPath renders a PathExpr as the canonical PATCH path.
func showPath(pe PathExpr) string {
	s := pe.Attr.String()
	if pe.Filter != nil {
		s += "[" + showIn(pe.Filter, true) + "]"
	}
	if pe.Sub != nil {
		s += "." + pe.Sub.Name
	}
	return s
}

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		rt       *schema.ResourceType
		in, want string
	}{
		// RFC 7644 §3.5.2 examples.
		{schema.GroupResource, `members`, `members`},
		{schema.UserResource, `name.familyName`, `name.familyName`},
		{schema.UserResource, `addresses[type eq "work"]`, `addresses[type eq "work"]`},
		{schema.GroupResource, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`},
		// The RFC's example says .displayName; Group.members calls it "display"
		// (RFC 7643 §8.7.1), and schema.Normalize accepts both.
		{schema.GroupResource, `members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName`, `members[value eq "2819c223-7f76-453a-919d-413861904646"].display`},
		{schema.GroupResource, `members.displayName`, `members.display`},
		{schema.UserResource, `emails[type eq "work" and value ew "example.com"]`, `emails[type eq "work" and value ew "example.com"]`},
		{schema.UserResource, `emails[type eq "work"].value`, `emails[type eq "work"].value`},
		{schema.UserResource, ent + `:manager`, ent + `:manager`},
		{schema.UserResource, ent + `:manager.value`, ent + `:manager.value`},
		{schema.UserResource, ent + `:employeeNumber`, ent + `:employeeNumber`},
		{schema.UserResource, `urn:ietf:params:scim:schemas:core:2.0:User:userName`, `userName`},
		// Entra's attribute mappings: capitalised sub-attributes.
		{schema.UserResource, `emails[type eq "other"].Value`, `emails[type eq "other"].value`},
		{schema.UserResource, `addresses[type eq "work"].Formatted`, `addresses[type eq "work"].formatted`},
		{schema.UserResource, `addresses[type eq "work"].streetAddress`, `addresses[type eq "work"].streetAddress`},
		{schema.UserResource, `phoneNumbers[type eq "mobile"].value`, `phoneNumbers[type eq "mobile"].value`},
		{schema.UserResource, `Active`, `active`},
		{schema.UserResource, `externalId`, `externalId`},
		{schema.GroupResource, `displayName`, `displayName`},
		// Leniency shared with Parse.
		{schema.UserResource, `phoneNumbers[type eq mobile].value`, `phoneNumbers[type eq "mobile"].value`},
		{schema.UserResource, ` emails[ TYPE EQ "work" ].value `, `emails[type eq "work"].value`},
		{schema.UserResource, `emails[type eq "work" and (primary eq true or value pr)]`, `emails[type eq "work" and (primary eq true or value pr)]`},
	} {
		t.Run(c.in, func(t *testing.T) {
			pe, err := ParsePath(c.rt, c.in)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", c.in, err)
			}
			if got := showPath(pe); got != c.want {
				t.Errorf("ParsePath(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

func TestParsePathStructure(t *testing.T) {
	pe, err := ParsePath(schema.UserResource, `emails[type eq "work"].value`)
	if err != nil {
		t.Fatal(err)
	}
	emails := schema.User.Attr("emails")
	c, ok := pe.Filter.(Compare)
	if pe.Attr.Attr != emails || pe.Attr.Sub != nil || pe.Sub != emails.Sub("value") ||
		!ok || c.Path.Attr != emails || c.Path.Sub != emails.Sub("type") || c.Value != "work" {
		t.Errorf("got %+v (filter %+v)", pe, pe.Filter)
	}
	pe, err = ParsePath(schema.UserResource, ent+`:manager.value`)
	if err != nil {
		t.Fatal(err)
	}
	if pe.Attr.Schema != schema.EnterpriseUser || pe.Attr.Attr.Name != "manager" || pe.Attr.Sub.Name != "value" || pe.Filter != nil || pe.Sub != nil {
		t.Errorf("got %+v", pe)
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, c := range []struct {
		in        string
		rt        *schema.ResourceType
		field     string
		fragments []string
	}{
		{``, nil, "", []string{"the path is empty"}},
		{`foo`, nil, "foo", []string{`unknown attribute "foo" of User`}},
		{`name.foo`, nil, "name.foo", []string{`unknown attribute "name.foo"`}},
		{`emails.value.display`, nil, "emails.value.display", []string{"unknown attribute"}},
		{`members`, nil, "members", []string{`unknown attribute "members" of User`}},
		{ent, nil, ent, []string{"names a schema extension, not an attribute", ent + ":employeeNumber"}},
		{`emails[type eq "work"].foo`, nil, "emails.foo", []string{`unknown sub-attribute "foo" of emails`}},
		{`members[value eq "x"].displayNam`, schema.GroupResource, "members.displayNam", []string{`unknown sub-attribute "displayNam" of members`}},
		{`emails[typo eq "work"].value`, nil, "emails.typo", []string{`unknown sub-attribute "typo" of emails`}},
		{`emails[type eq "work"] .value`, nil, "", []string{"expected the end of the path", `".value"`}},
		{`emails[type eq "work"]x`, nil, "", []string{"expected the end of the path", `"x"`}},
		{`emails[type eq "work"`, nil, "", []string{`closing the "["`}},
		{`emails[]`, nil, "emails", []string{"empty"}},
		{`emails[primary gt true]`, nil, "emails.primary", []string{"operator gt is not allowed on boolean attribute emails.primary"}},
		{`userName[value eq "x"]`, nil, "userName", []string{"applies to a complex attribute"}},
		{`name.givenName[value eq "x"]`, nil, "name.givenName", []string{"is a sub-attribute"}},
		{`emails[value eq "x" and emails[type pr]]`, nil, "emails", []string{"cannot be nested"}},
		{`(members)`, schema.GroupResource, "", []string{"expected an attribute name at position 1"}},
		{`"members"`, schema.GroupResource, "", []string{"expected an attribute name"}},
		{`members]`, schema.GroupResource, "", []string{`unexpected "]"`}},
		{`members value`, schema.GroupResource, "", []string{"expected the end of the path"}},
		{"emails[value eq \"\xff\"]", nil, "", []string{"not valid UTF-8"}},
		{strings.Repeat("a", MaxLength+1), nil, "", []string{"limit is 4096"}},
	} {
		t.Run(c.in, func(t *testing.T) {
			rt := c.rt
			if rt == nil {
				rt = schema.UserResource
			}
			pe, err := ParsePath(rt, c.in)
			if err == nil {
				t.Fatalf("ParsePath(%q) = %s, want an error", c.in, showPath(pe))
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.InvalidPath {
				t.Fatalf("ParsePath(%q) error %v is not a fault.InvalidPath", c.in, err)
			}
			if fe.Field != c.field {
				t.Errorf("Field = %q, want %q", fe.Field, c.field)
			}
			if !strings.HasPrefix(fe.Message, "path ") {
				t.Errorf("message %q does not start with the path", fe.Message)
			}
			for _, f := range c.fragments {
				if !strings.Contains(fe.Message, f) {
					t.Errorf("message %q does not mention %q", fe.Message, f)
				}
			}
		})
	}
}
