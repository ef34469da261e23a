package filter

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// bjensen is RFC 7643 §8.2's user in canonical document form.
func bjensen() map[string]any {
	return map[string]any{
		"id":          "2819c223-7f76-453a-919d-413861904646",
		"externalId":  "BJensen",
		"userName":    "bjensen@example.com",
		"name":        map[string]any{"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"title":       "Tour Guide",
		"userType":    "Employee",
		"active":      true,
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"},
		},
		"ims": []any{map[string]any{"value": "someaimhandle", "type": "aim"}},
		ent: map[string]any{
			"employeeNumber": "701984",
			"department":     "Tour Operations",
			"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
		},
		"meta": map[string]any{
			"resourceType": "User",
			"created":      "2010-01-23T04:56:22Z",
			"lastModified": "2011-05-13T04:42:34Z",
			"version":      `W/"3694e05e9dff591"`,
		},
	}
}

type matchCase struct {
	filter string
	want   bool
}

func runMatch(t *testing.T, rt *schema.ResourceType, doc map[string]any, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			e, err := Parse(rt, c.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.filter, err)
			}
			if got := Match(e, doc); got != c.want {
				t.Errorf("Match(%s) = %v, want %v", show(e), got, c.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	runMatch(t, schema.UserResource, bjensen(), []matchCase{
		// caseExact false: userName, emails, type...
		{`userName eq "BJENSEN@EXAMPLE.COM"`, true},
		{`userName eq "bjensen"`, false},
		{`userName sw "BJ"`, true},
		{`userName ew "@Example.Com"`, true},
		{`userName co "SEN@"`, true},
		{`name.familyName co "jen"`, true},
		// caseExact true: id, externalId, meta.version.
		{`externalId eq "BJensen"`, true},
		{`externalId eq "bjensen"`, false},
		{`externalId sw "bj"`, false},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`meta.version eq "W/\"3694e05e9dff591\""`, true},
		{`meta.version eq "w/\"3694e05e9dff591\""`, false},
		{`meta.resourceType eq "User"`, true},
		// Multi-valued: any value matches.
		{`emails co "jensen.org"`, true},
		{`emails.value ew "@example.com"`, true},
		{`emails.type eq "home" and emails.value co "@example.com"`, true},
		// A value filter needs one element to satisfy all of it.
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "home" and value co "@example.com"]`, false},
		{`emails[type eq "WORK" and primary eq true]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails[not (type eq "work")]`, true},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{`emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{`ims[type eq "xmpp" and value co "@foo.com"]`, false},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, true},
		{`phoneNumbers[type eq "work"]`, false},
		// ne is not (eq): absent matches, multi-valued needs no equal value.
		{`nickName ne "Babs"`, true},
		{`title ne "Tour Guide"`, false},
		{`title ne "tour guide"`, false},
		{`emails.type ne "work"`, false},
		{`emails.type ne "other"`, true},
		{`emails[type ne "work"]`, true},
		{`emails[primary ne true]`, true}, // the home email has no primary
		// null and pr.
		{`nickName eq null`, true},
		{`title eq null`, false},
		{`title ne null`, true},
		{`nickName pr`, false},
		{`title pr`, true},
		{`name pr`, true},
		{`emails pr`, true},
		{`phoneNumbers pr`, false},
		{`emails[primary pr]`, true},
		// Other operators on an absent attribute.
		{`nickName co ""`, false},
		{`nickName gt "a"`, false},
		// not, and, or, precedence.
		{`not (userName eq "bjensen@example.com")`, false},
		{`not (nickName pr)`, true},
		{`userType eq "Intern" and title pr or active eq true`, true},
		{`userType eq "Intern" and (title pr or active eq true)`, false},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, false},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true},
		// Booleans, including Entra's strings.
		{`active eq true`, true},
		{`active eq "False"`, false},
		{`active ne false`, true},
		// dateTime: chronological, zones honoured.
		{`meta.lastModified gt "2011-05-13T04:42:33Z"`, true},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, true},
		{`meta.lastModified lt 2011-05-13T04:42:34.001Z`, true},
		{`meta.created lt 2011-01-01`, true},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, false},
		// Strings order lexicographically.
		{`userName gt "a"`, true},
		{`userName lt "B"`, false},
		{`userName le "BJENSEN@EXAMPLE.COM"`, true},
		// Extension attributes live under the URN key.
		{ent + `:department sw "tour"`, true},
		{ent + `:employeeNumber eq 701984`, true},
		{ent + `:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{ent + `:manager.value pr`, true},
		{ent + `:costCenter pr`, false},
		// schemas is derived when the document does not store it.
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"`, false},
		{`schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"`, false}, // caseExact
	})
}

func TestMatchDocumentVariants(t *testing.T) {
	doc := map[string]any{
		"userName": "alice",
		"active":   "False", // Entra's string, if a document ever holds one
		"Title":    "Boss",  // off-spelling key still found
		"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"emails":   []any{nil, map[string]any{"Value": "a@x.org", "type": ""}},
		"meta":     map[string]any{"created": "not a date"},
		numURN:     map[string]any{"score": 2.5, "count": int64(7), "tags": []any{"red", "Blue"}},
	}
	runMatch(t, numericRT, doc, []matchCase{
		{`active eq false`, true},
		{`title eq "boss"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, false}, // stored schemas win
		{`emails.value eq "A@X.ORG"`, true},
		{`emails.type pr`, false}, // "" is not present
		{`emails[type eq ""]`, true},
		{`meta.created gt "2000-01-01T00:00:00Z"`, false}, // unparsable value never matches
		{`meta.created ne "2000-01-01T00:00:00Z"`, true},
		{numURN + `:score gt 2`, true},
		{numURN + `:score le 2.5`, true},
		{numURN + `:score eq 2.50`, true},
		{numURN + `:count eq 7`, true},
		{numURN + `:count ge 8`, false},
		{numURN + `:tags eq "blue"`, true},
		{numURN + `:tags ne "green"`, true},
		{numURN + `:tags ne "RED"`, false},
	})
}

func TestMatchElement(t *testing.T) {
	pe, err := ParsePath(schema.UserResource, `emails[type eq "work" and not (value ew "@old.example.com")].value`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		elem map[string]any
		want bool
	}{
		{map[string]any{"type": "Work", "value": "b@example.com"}, true},
		{map[string]any{"type": "work", "value": "b@OLD.example.com"}, false},
		{map[string]any{"type": "home", "value": "b@example.com"}, false},
		{map[string]any{"value": "b@example.com"}, false},
		{map[string]any{}, false},
		{nil, false},
	} {
		if got := MatchElement(pe.Filter, c.elem); got != c.want {
			t.Errorf("MatchElement(%s, %v) = %v, want %v", show(pe.Filter), c.elem, got, c.want)
		}
	}
	pe, _ = ParsePath(schema.GroupResource, `members[value eq "2819c223"]`)
	if !MatchElement(pe.Filter, map[string]any{"value": "2819c223", "type": "User"}) {
		t.Error("member filter did not match its member")
	}
}

func TestMatchMalformedAST(t *testing.T) {
	doc := bjensen()
	title, _ := Parse(schema.UserResource, "title pr")
	c := title.(Compare)
	for name, e := range map[string]Expr{
		"nil":              nil,
		"not nil":          Not{},
		"and nil":          And{Left: title},
		"nil pointer":      (*Compare)(nil),
		"empty compare":    Compare{},
		"unknown operator": Compare{Path: c.Path, Op: "xx", Value: "a"},
		"empty value path": ValuePath{},
		"odd value type":   Compare{Path: c.Path, Op: Eq, Value: []int{1}},
	} {
		if Match(e, doc) {
			t.Errorf("%s: Match = true, want false", name)
		}
	}
	// Pointer forms evaluate like values.
	if !Match(&c, doc) || !Match(&And{Left: &c, Right: c}, doc) || Match(&Not{X: &c}, doc) {
		t.Error("pointer forms do not evaluate like value forms")
	}
}
