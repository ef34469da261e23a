package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

const ent = schema.EnterpriseUserURN

type parseCase struct {
	in, want string
}

func runParse(t *testing.T, rt *schema.ResourceType, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			e, err := Parse(rt, c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if got := show(e); got != c.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", c.in, got, c.want)
			}
		})
	}
}

// Every example filter of RFC 7644 §3.4.2.2 (Figure 2) and the case
// examples of its text.
func TestParseRFCExamples(t *testing.T) {
	runParse(t, schema.UserResource, []parseCase{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
		{`userName sw "J"`, `userName sw "J"`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `userName sw "J"`},
		{`title pr`, `title pr`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `meta.lastModified ge "2011-05-13T04:42:34Z"`},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `meta.lastModified lt "2011-05-13T04:42:34Z"`},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, `meta.lastModified le "2011-05-13T04:42:34Z"`},
		{`title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`},
		{`title pr or userType eq "Intern"`, `title pr or userType eq "Intern"`},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			`userType eq "Employee" and (emails.value co "example.com" or emails.value co "example.org")`},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			`userType ne "Employee" and not (emails.value co "example.com" or emails.value co "example.org")`},
		{`userType eq "Employee" and (emails.type eq "work")`, `userType eq "Employee" and emails.type eq "work"`},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`},
		// §3.4.2.2: "filter=userName Eq "john"" and "filter=Username eq "john"" are the same.
		{`userName Eq "john"`, `userName eq "john"`},
		{`Username eq "john"`, `userName eq "john"`},
	})
}

func TestParseGrammar(t *testing.T) {
	runParse(t, schema.UserResource, []parseCase{
		// not > and > or; chains associate to the left.
		{`title pr or userType eq "a" and nickName pr`, `title pr or userType eq "a" and nickName pr`},
		{`(title pr or userType eq "a") and nickName pr`, `(title pr or userType eq "a") and nickName pr`},
		{`not (title pr) and nickName pr or locale pr`, `not (title pr) and nickName pr or locale pr`},
		{`title pr and (nickName pr and locale pr)`, `title pr and (nickName pr and locale pr)`},
		{`not(not(title pr))`, `not (not (title pr))`},
		{`((((title pr))))`, `title pr`},
		// Full valFilter grammar inside brackets.
		{`emails[type eq "work" and value co "x" and primary eq true]`, `emails[type eq "work" and value co "x" and primary eq true]`},
		{`emails[(type eq "work" or type eq "home") and not (primary eq false)]`, `emails[(type eq "work" or type eq "home") and not (primary eq false)]`},
		{`emails[ type eq "work" ]`, `emails[type eq "work"]`},
		// Extension, URN-qualified, complex -> value, $ref.
		{ent + `:department eq "Sales"`, ent + `:department eq "Sales"`},
		{`URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Manager.Value eq "m1"`, ent + `:manager.value eq "m1"`},
		{ent + `:manager eq "m1"`, ent + `:manager.value eq "m1"`},
		{`emails pr`, `emails pr`},
		{`name pr`, `name pr`},
		{`id eq "2819c223"`, `id eq "2819c223"`},
		{`meta.resourceType eq "User"`, `meta.resourceType eq "User"`},
		{`x509Certificates co "MIIB"`, `x509Certificates.value co "MIIB"`},
		// Values: JSON escapes, null, numbers on strings, booleans.
		{`userName eq "a\"b\\c\u00e9\uD83D\uDE00"`, `userName eq "a\"b\\cé😀"`},
		{`userName eq ""`, `userName eq ""`},
		{`externalId eq null`, `externalId eq null`},
		{`title ne NULL`, `title ne null`},
		{`userName eq 123`, `userName eq "123"`},
		{`userName eq 1.50`, `userName eq "1.50"`},
		{`userName eq true`, `userName eq "true"`},
		{`active eq true`, `active eq true`},
		{`active ne FALSE`, `active ne false`},
		{`active eq "True"`, `active eq true`},
		{`emails[primary eq "False"]`, `emails[primary eq false]`},
		{`meta.created lt 2011-01-01`, `meta.created lt "2011-01-01T00:00:00Z"`},
		{`meta.created eq "2011-05-13T04:42:34.5+02:00"`, `meta.created eq "2011-05-13T04:42:34.5+02:00"`},
	})
	runParse(t, schema.GroupResource, []parseCase{
		{`displayName eq "Tour Guides"`, `displayName eq "Tour Guides"`},
		{`members[value eq "2819c223"]`, `members[value eq "2819c223"]`},
		{`members.value eq "2819c223" and members.$ref pr`, `members.value eq "2819c223" and members.$ref pr`},
		{`members eq "2819c223"`, `members.value eq "2819c223"`},
		{`members.displayName sw "Tour"`, `members.display sw "Tour"`},
		{`members[displayName sw "Tour"]`, `members[display sw "Tour"]`},
	})
}

// Forms real clients send that the RFC grammar does not allow.
func TestParseLenient(t *testing.T) {
	runParse(t, schema.UserResource, []parseCase{
		// Entra's documentation.
		{`externalId eq jyoung`, `externalId eq "jyoung"`},
		// Microsoft's SCIM Postman collection.
		{`userName sw O`, `userName sw "O"`},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
			`name.familyName eq "Employee" and (emails.value co "example.com" or emails.value co "example.org")`},
		{`DisplayName eq "x"`, `displayName eq "x"`},
		{`USERNAME EQ "x" AND TITLE PR OR NOT (ACTIVE EQ TRUE)`, `userName eq "x" and title pr or not (active eq true)`},
		{"  userName \t eq\r\n\"x\"  ", `userName eq "x"`},
		{`emails[type eq work]`, `emails[type eq "work"]`},
		{`emails [type eq "work"]`, `emails[type eq "work"]`},
		// Entra's matching form for a filtered attribute.
		{`emails[type eq "work"].value eq "bjensen@example.com"`, `emails[type eq "work" and value eq "bjensen@example.com"]`},
		{`emails[type eq "work"].Value pr`, `emails[type eq "work" and value pr]`},
	})
}

func TestParseTypedValues(t *testing.T) {
	e, err := Parse(schema.UserResource, `meta.lastModified gt 2015-10-10T14:38:21.8617979-07:00`)
	if err != nil {
		t.Fatal(err)
	}
	c := e.(Compare)
	want := time.Date(2015, 10, 10, 21, 38, 21, 861797900, time.UTC)
	if tm, ok := c.Value.(time.Time); !ok || !tm.Equal(want) {
		t.Errorf("value = %#v, want time %v", c.Value, want)
	}
	if c.Path.Schema != schema.Common || c.Path.Attr != schema.MetaAttr || c.Path.Sub.Name != "lastModified" {
		t.Errorf("path = %+v", c.Path)
	}
	e, _ = Parse(schema.UserResource, `emails[type eq "work"]`)
	vp := e.(ValuePath)
	inner := vp.Filter.(Compare)
	if vp.Attr.Attr.Name != "emails" || vp.Attr.Sub != nil || inner.Path.Attr != vp.Attr.Attr || inner.Path.Sub.Name != "type" {
		t.Errorf("value path = %+v / %+v", vp.Attr, inner.Path)
	}
	e, _ = Parse(numericRT, numURN+`:score ge -1.5e1`)
	if v := e.(Compare).Value; v != -15.0 {
		t.Errorf("score value = %#v, want float64 -15", v)
	}
	e, _ = Parse(numericRT, numURN+`:count eq "7"`)
	if v := e.(Compare).Value; v != 7.0 {
		t.Errorf("count value = %#v, want float64 7", v)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat(`title pr and `, 400) + `title pr`
	deep := strings.Repeat("(", MaxDepth+1) + "title pr" + strings.Repeat(")", MaxDepth+1)
	deepNot := strings.Repeat("not (", MaxDepth+1) + "title pr" + strings.Repeat(")", MaxDepth+1)
	for _, c := range []struct {
		name, in  string
		rt        *schema.ResourceType
		field     string
		fragments []string
	}{
		{"empty", ``, nil, "", []string{"empty"}},
		{"blank", " \t ", nil, "", []string{"empty"}},
		{"unknown attribute", `foo eq "x"`, nil, "foo", []string{`unknown attribute "foo" of User`}},
		{"unknown sub-attribute", `name.nick eq "x"`, nil, "name.nick", []string{`unknown attribute "name.nick"`}},
		{"unknown URN", `urn:example:foo:bar eq "x"`, nil, "urn:example:foo:bar", []string{"unknown attribute"}},
		{"user attribute on group", `userName eq "x"`, schema.GroupResource, "userName", []string{`unknown attribute "userName" of Group`}},
		{"extension on group", ent + `:department eq "x"`, schema.GroupResource, ent + ":department", []string{"unknown attribute"}},
		{"gt on boolean", `active gt true`, nil, "active", []string{"operator gt is not allowed on boolean attribute active"}},
		{"co on boolean", `emails[primary co "t"]`, nil, "emails.primary", []string{"operator co is not allowed on boolean attribute emails.primary"}},
		{"bad boolean", `active eq yes`, nil, "active", []string{"boolean", `"yes"`}},
		{"co on dateTime", `meta.created co "2011"`, nil, "meta.created", []string{"operator co is not allowed on dateTime attribute meta.created"}},
		{"bad dateTime", `meta.created gt "yesterday"`, nil, "meta.created", []string{`"yesterday" is not a dateTime for meta.created`}},
		{"gt on binary", `x509Certificates.value gt "x"`, nil, "x509Certificates.value", []string{"operator gt is not allowed on binary attribute"}},
		{"co on number", numURN + `:score co "1"`, numericRT, numURN + ":score", []string{"operator co is not allowed on numeric attribute"}},
		{"bad number", numURN + `:score eq ten`, numericRT, numURN + ":score", []string{"expected a number", `"ten"`}},
		{"gt null", `title gt null`, nil, "title", []string{"operator gt needs a value, not null"}},
		{"complex without value", `name eq "x"`, nil, "name", []string{"name is a complex attribute", "name.givenName"}},
		{"missing operator", `userName`, nil, "userName", []string{`expected an operator after "userName"`, "end of the input"}},
		{"unknown operator", `userName equals "x"`, nil, "userName", []string{`unknown operator "equals"`}},
		{"missing value", `userName eq`, nil, "userName", []string{"expected a value after"}},
		{"paren as value", `userName eq )`, nil, "userName", []string{"expected a value after", `")"`}},
		{"missing and/or", `userName eq "x" title pr`, nil, "", []string{`expected "and", "or" or the end of the filter at position 17`, `"title"`}},
		{"value after pr", `title pr "x"`, nil, "", []string{`expected "and", "or"`, "string"}},
		{"dangling and", `title pr and`, nil, "", []string{"expected an attribute name", "end of the input"}},
		{"leading or", `or title pr`, nil, "or", []string{`unknown attribute "or"`}},
		{"unclosed paren", `(title pr`, nil, "", []string{`closing the "(" at position 1`}},
		{"stray paren", `title pr)`, nil, "", []string{`unexpected ")" at position 9`}},
		{"empty parens", `()`, nil, "", []string{"expected an attribute name"}},
		{"not without parens", `not title pr`, nil, "", []string{`"not" at position 1 must be followed by a parenthesised filter`}},
		{"unterminated string", `userName eq "x`, nil, "", []string{"unterminated string starting at position 13"}},
		{"bad escape", `userName eq "\q"`, nil, "", []string{"malformed string"}},
		{"control character", "userName eq \"a\x01\"", nil, "", []string{"malformed string"}},
		{"NUL", "title pr\x00", nil, "", []string{"NUL character"}},
		{"escaped NUL", `userName eq "a\u0000"`, nil, "", []string{`NUL character (\u0000)`}},
		{"invalid UTF-8", "userName eq \"\xff\"", nil, "", []string{"not valid UTF-8"}},
		{"unclosed bracket", `emails[type eq "work"`, nil, "", []string{`closing the "[" at position 7`}},
		{"stray bracket", `title pr]`, nil, "", []string{`unexpected "]"`}},
		{"empty brackets", `emails[]`, nil, "emails", []string{"value filter of emails", "empty"}},
		{"nested value path", `emails[type eq "work" and emails[value pr]]`, nil, "emails", []string{"value filters cannot be nested"}},
		{"value path on simple", `userName[value eq "x"]`, nil, "userName", []string{"applies to a complex attribute", "string"}},
		{"value path on sub-attribute", `name.givenName[value eq "x"]`, nil, "name.givenName", []string{"is a sub-attribute"}},
		{"unknown sub in brackets", `emails[typo eq "x"]`, nil, "emails.typo", []string{`unknown sub-attribute "typo" of emails`}},
		{"unknown sub after brackets", `emails[type eq "work"].typo eq "x"`, nil, "emails.typo", []string{`unknown sub-attribute "typo" of emails`}},
		{"too long", long, nil, "", []string{"bytes long; the limit is 4096"}},
		{"too deep", deep, nil, "", []string{"nests deeper than 50 levels"}},
		{"too deep not", deepNot, nil, "", []string{"nests deeper than 50 levels"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt := c.rt
			if rt == nil {
				rt = schema.UserResource
			}
			e, err := Parse(rt, c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", c.in, show(e))
			}
			if e != nil {
				t.Errorf("Parse(%q) returned an Expr with its error", c.in)
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.InvalidFilter {
				t.Fatalf("Parse(%q) error %v (%T) is not a fault.InvalidFilter", c.in, err, err)
			}
			if fe.Field != c.field {
				t.Errorf("Field = %q, want %q", fe.Field, c.field)
			}
			if !strings.HasPrefix(fe.Message, "filter: ") {
				t.Errorf("message %q does not start with %q", fe.Message, "filter: ")
			}
			for _, f := range c.fragments {
				if !strings.Contains(fe.Message, f) {
					t.Errorf("message %q does not mention %q", fe.Message, f)
				}
			}
		})
	}
}

func TestParseLimitsAreInclusive(t *testing.T) {
	in := strings.Repeat("(", MaxDepth) + "title pr" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(schema.UserResource, in); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	in = `userName eq "` + strings.Repeat("a", MaxLength-len(`userName eq ""`)) + `"`
	if _, err := Parse(schema.UserResource, in); err != nil {
		t.Errorf("length %d: %v", len(in), err)
	}
}

func TestParseNilResourceType(t *testing.T) {
	if _, err := Parse(nil, "title pr"); err == nil || fault.KindOf(err) != "" {
		t.Errorf("Parse(nil rt) = %v, want an unclassified (internal) error", err)
	}
}

// numericRT is a resource type with number attributes, which the core
// schemas lack, so the numeric rules have something to bite on.
const numURN = "urn:example:params:scim:schemas:extension:test:1.0:Widget"

var numericRT = &schema.ResourceType{
	ID: "Widget", Name: "Widget", Endpoint: "/Widgets", Schema: schema.User,
	Extensions: []*schema.Schema{{
		ID: numURN, Name: "Widget",
		Attributes: []*schema.Attribute{
			{Name: "score", Type: schema.Decimal},
			{Name: "count", Type: schema.Integer},
			{Name: "tags", Type: schema.String, MultiValued: true},
		},
	}},
}
