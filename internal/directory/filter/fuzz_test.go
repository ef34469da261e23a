package filter

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Seeds: the RFC examples, the client dialects, and inputs aimed at the
// lexer's and parser's edges. testdata/fuzz holds the same kind of inputs
// plus what earlier fuzzing runs found interesting.
var parseSeeds = []string{
	`userName eq "bjensen"`,
	`name.familyName co "O'Malley"`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
	`title pr`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`title pr and userType eq "Employee"`,
	`title pr or userType eq "Intern"`,
	`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`externalId eq jyoung`,
	`userName sw O`,
	`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`,
	`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
	`emails[type eq "work"].value eq "x"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m"`,
	`active eq "True"`,
	`members[value eq "2819c223"].display eq "x"`,
	`emails[(type eq "a" or type eq "b") and not (primary eq false)]`,
	``, `(`, `)`, `[`, `]`, `"`, `\`, `not`, `not (`, `not ()`, `()`, `emails[`, `emails[]`,
	`emails[type eq "work"]]`, `emails[type eq "work"].`, `emails[type eq "work"].value`,
	`emails[type eq "work" and emails[value pr]]`,
	`userName eq "\u0000"`, `userName eq "\ud800"`, `userName eq "x`, `userName eq x"y"`,
	`and and and`, `or`, `pr`, `title pr pr`, `title pr and`,
	`meta.created gt 99999-01-01`, `meta.created eq 2011-13-45T99:99:99Z`,
	`urn:`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr`,
	`a.b.c.d eq 1`, `.`, `..`, `.value eq 1`, `userName eq 1e999`, `userName eq -`, `active eq 1`,
	`userName eq null`, `userName gt null`,
	strings.Repeat("(", MaxDepth+1) + "title pr" + strings.Repeat(")", MaxDepth+1),
	strings.Repeat("not (", 30) + "title pr" + strings.Repeat(")", 30),
	strings.Repeat(`emails[value eq "x"] and `, 10) + `title pr`,
	"userName\teq\n\"x\"", "userName eq \"\xc3\"", "\xff", "title pr\x00",
}

var pathSeeds = []string{
	`members`, `name.familyName`, `emails[type eq "work"].value`, `members[value eq "2819c223"]`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
	`emails[type eq "other"].Value`, `addresses[type eq "work"].Formatted`,
	`members[value eq "2819c223"].displayName`, `phoneNumbers[type eq mobile].value`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
	``, `[`, `]`, `.`, `emails[`, `emails[]`, `emails[type eq "work"]`, `emails[type eq "work"].`,
	`emails[type eq "work"] .value`, `emails[type eq "work"].value.x`, `emails.value[type pr]`,
	`emails[type eq "work" and emails[value pr]]`, `(members)`, `members value`, `not (members pr)`,
	"emails[value eq \"\xff\"]", `emails[value eq "\ud800"].value`,
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, rt := range []*schema.ResourceType{schema.UserResource, schema.GroupResource} {
			e, err := Parse(rt, s)
			if err != nil {
				if fe, ok := fault.As(err); !ok || fe.Kind != fault.InvalidFilter || !strings.HasPrefix(fe.Message, "filter: ") {
					t.Fatalf("Parse(%q): error %v is not a fault.InvalidFilter", s, err)
				}
				if e != nil {
					t.Fatalf("Parse(%q): Expr and error both set", s)
				}
				continue
			}
			if e == nil {
				t.Fatalf("Parse(%q): nil Expr and nil error", s)
			}
			Match(e, bjensen())
			out := show(e)
			if strings.Contains(out, `\u0000`) || !utf8.ValidString(out) {
				t.Fatalf("Parse(%q) let a NUL or invalid UTF-8 through: %s", s, out)
			}
			roundTrip(t, s, out, func(s string) (string, error) {
				e, err := Parse(rt, s)
				if err != nil {
					return "", err
				}
				return show(e), nil
			})
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	elems := []map[string]any{
		{"type": "work", "value": "x", "primary": true},
		{"type": "Other", "value": 1.0, "display": nil},
		{},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, rt := range []*schema.ResourceType{schema.UserResource, schema.GroupResource} {
			pe, err := ParsePath(rt, s)
			if err != nil {
				if fe, ok := fault.As(err); !ok || fe.Kind != fault.InvalidPath || !strings.HasPrefix(fe.Message, "path ") {
					t.Fatalf("ParsePath(%q): error %v is not a fault.InvalidPath", s, err)
				}
				continue
			}
			if pe.Attr.Attr == nil {
				t.Fatalf("ParsePath(%q): no attribute and no error", s)
			}
			if pe.Filter != nil {
				for _, el := range elems {
					MatchElement(pe.Filter, el)
				}
			}
			roundTrip(t, s, showPath(pe), func(s string) (string, error) {
				pe, err := ParsePath(rt, s)
				if err != nil {
					return "", err
				}
				return showPath(pe), nil
			})
		}
	})
}

// roundTrip checks that the canonical rendering of a parse result parses
// to itself, which catches precedence, escaping and typing slips that
// "did not panic" cannot.
func roundTrip(t *testing.T, in, canonical string, parse func(string) (string, error)) {
	t.Helper()
	if len(canonical) > MaxLength {
		return // rendering can be longer than the input (quotes added to bare values)
	}
	again, err := parse(canonical)
	if err != nil {
		t.Fatalf("input %q renders as %q, which does not parse: %v", in, canonical, err)
	}
	if again != canonical {
		t.Fatalf("input %q renders as %q, which renders as %q", in, canonical, again)
	}
}
