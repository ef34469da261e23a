package scoping

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
)

var user = mapping.Attrs{
	"department":  "Sales",
	"state":       "New York",
	"employeeId":  "1500000",
	"level":       7,
	"ratio":       1.5,
	"uac":         514,
	"uacText":     "512",
	"jobTitle":    "Account Executive",
	"empty":       "",
	"null":        nil,
	"enabled":     true,
	"disabled":    false,
	"flagText":    "True",
	"upn":         "ann@domain.com",
	"emails":      []string{"ann@domain.com", "ann@other.org"},
	"numbers":     []string{"3", "12"},
	"noValues":    []string{},
	"blankValues": []string{"", ""},
	"anyList":     []any{"x", 2, nil},
}

func TestOperators(t *testing.T) {
	for _, c := range []struct {
		attr, op, value string
		want            bool
	}{
		// EQUALS: exact and case-sensitive (Microsoft Learn: "matches the input string value exactly (case sensitive)").
		{"department", "EQUALS", "Sales", true},
		{"department", "EQUALS", "sales", false},
		{"department", "EQUALS", "Sale", false},
		{"level", "EQUALS", "7", true},
		{"enabled", "EQUALS", "true", true}, // booleans match True/true
		{"emails", "EQUALS", "ann@other.org", true},
		{"missing", "EQUALS", "x", false},
		{"empty", "EQUALS", "x", false},
		{"noValues", "EQUALS", "x", false},
		// NOT EQUALS: false on null (Microsoft Learn: "Scoping filters will return false if the value is null / empty").
		{"department", "NOT EQUALS", "Marketing", true},
		{"department", "NOT EQUALS", "Sales", false},
		{"department", "NOT EQUALS", "sales", true},
		{"missing", "NOT EQUALS", "x", false},
		{"empty", "NOT EQUALS", "x", false},
		{"emails", "NOT EQUALS", "ann@other.org", false}, // none may equal
		{"emails", "NOT EQUALS", "bob@domain.com", true},
		// IS TRUE / IS FALSE.
		{"enabled", "IS TRUE", "", true},
		{"disabled", "IS TRUE", "", false},
		{"flagText", "IS TRUE", "", true},
		{"department", "IS TRUE", "", false},
		{"missing", "IS TRUE", "", false},
		{"disabled", "IS FALSE", "", true},
		{"enabled", "IS FALSE", "", false},
		{"missing", "IS FALSE", "", false}, // null is not false
		{"empty", "IS FALSE", "", false},
		// IS NULL / IS NOT NULL: empty string and empty lists are null.
		{"missing", "IS NULL", "", true},
		{"null", "IS NULL", "", true},
		{"empty", "IS NULL", "", true},
		{"noValues", "IS NULL", "", true},
		{"blankValues", "IS NULL", "", true},
		{"department", "IS NULL", "", false},
		{"disabled", "IS NULL", "", false},
		{"department", "IS NOT NULL", "", true},
		{"level", "IS NOT NULL", "", true},
		{"emails", "IS NOT NULL", "", true},
		{"missing", "IS NOT NULL", "", false},
		{"empty", "IS NOT NULL", "", false},
		// REGEX MATCH: unanchored, case-sensitive, RE2.
		{"upn", "REGEX MATCH", `.*\@domain.com`, true},
		{"upn", "REGEX MATCH", `^ann@`, true},
		{"upn", "REGEX MATCH", `ANN`, false},
		{"upn", "REGEX MATCH", `(?i)ANN`, true},
		{"employeeId", "REGEX MATCH", `^(1[0-9][0-9][0-9][0-9][0-9][0-9])$`, true},
		{"emails", "REGEX MATCH", `\.org$`, true},
		{"missing", "REGEX MATCH", `.*`, false},
		// NOT REGEX MATCH: false on null (Microsoft Learn says so explicitly).
		{"upn", "NOT REGEX MATCH", `.*\@domain.com`, false},
		{"upn", "NOT REGEX MATCH", `@contoso\.com$`, true},
		{"emails", "NOT REGEX MATCH", `\.org$`, false},
		{"emails", "NOT REGEX MATCH", `\.net$`, true},
		{"missing", "NOT REGEX MATCH", `x`, false},
		{"empty", "NOT REGEX MATCH", `x`, false},
		// Includes: case-sensitive substring (.NET String.Contains).
		{"jobTitle", "Includes", "Exec", true},
		{"jobTitle", "Includes", "exec", false},
		{"emails", "Includes", "other", true},
		{"missing", "Includes", "x", false},
		// ENDS_WITH: case-sensitive.
		{"upn", "ENDS_WITH", "@domain.com", true},
		{"upn", "ENDS_WITH", "@DOMAIN.COM", false},
		{"emails", "ENDS_WITH", ".org", true},
		{"missing", "ENDS_WITH", "x", false},
		// Greater_Than and Greater_Than_OR_EQUALS: integers only.
		{"employeeId", "Greater_Than", "1000000", true},
		{"employeeId", "Greater_Than", "1500000", false},
		{"employeeId", "Greater_Than_OR_EQUALS", "1500000", true},
		{"level", "Greater_Than", "-3", true},
		{"level", "Greater_Than_OR_EQUALS", "8", false},
		{"ratio", "Greater_Than", "1", false},      // 1.5 is not an integer
		{"department", "Greater_Than", "1", false}, // nor is text
		{"numbers", "Greater_Than", "10", true},    // "12"
		{"numbers", "Greater_Than", "12", false},
		{"missing", "Greater_Than", "0", false},
		// & and !&: bitwise AND non-zero / zero.
		{"uac", "&", "2", true},
		{"uac", "&", "1", false},
		{"uacText", "&", "512", true},
		{"uac", "!&", "1", true},
		{"uac", "!&", "2", false},
		{"numbers", "&", "4", true},   // 12 & 4
		{"numbers", "!&", "4", false}, // 12 has it
		{"numbers", "!&", "16", true},
		{"department", "!&", "1", false}, // not an integer: neither true nor "no bit"
		{"missing", "&", "1", false},
		{"missing", "!&", "1", false},
		// []any from an Env is normalised; nulls are dropped.
		{"anyList", "EQUALS", "2", true},
		// Operator spelling is forgiving.
		{"department", "equals", "Sales", true},
		{"department", "not_equals", "Sales", false},
		{"upn", "Ends With", "@domain.com", true},
		{"employeeId", "GREATER_THAN_OR_EQUALS", "1500000", true},
		{"jobTitle", "INCLUDES", "Exec", true},
		{"missing", "is_null", "", true},
	} {
		s := Set{{Clauses: []Clause{{Attribute: c.attr, Operator: c.op, Value: c.value}}}}
		got, err := s.InScope(user)
		if err != nil {
			t.Errorf("%s %s %q: %v", c.attr, c.op, c.value, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %s %q = %v, want %v (%s)", c.attr, c.op, c.value, got, c.want, s.Explain(user))
		}
	}
}

func TestAndOr(t *testing.T) {
	ny := Filter{Name: "NY sales", Clauses: []Clause{
		{Attribute: "state", Operator: Equals, Value: "New York"},
		{Attribute: "department", Operator: Equals, Value: "Sales"},
		{Attribute: "employeeId", Operator: GreaterThanOrEquals, Value: "1000000"},
		{Attribute: "jobTitle", Operator: IsNotNull},
	}}
	eng := Filter{Clauses: []Clause{{Attribute: "department", Operator: Equals, Value: "Engineering"}}}
	for _, c := range []struct {
		set  Set
		env  mapping.Env
		want bool
	}{
		{nil, user, true},
		{Set{}, nil, true},
		{Set{ny}, user, true},
		{Set{eng}, user, false},
		{Set{eng, ny}, user, true},
		{Set{ny}, mapping.Attrs{"state": "New York", "department": "Sales", "employeeId": "1"}, false},
		{Set{ny}, nil, false},
	} {
		got, err := c.set.InScope(c.env)
		if err != nil || got != c.want {
			t.Errorf("%v: InScope = %v, %v; want %v", c.set, got, err, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	set := Set{
		{Name: "Sales", Clauses: []Clause{
			{Attribute: "department", Operator: Equals, Value: "Sales"},
			{Attribute: "state", Operator: Equals, Value: "California"},
		}},
		{Clauses: []Clause{{Attribute: "costCenter", Operator: IsNotNull}}},
		{Name: "Domain", Clauses: []Clause{{Attribute: "emails", Operator: EndsWith, Value: ".net"}}},
	}
	got := set.Explain(user)
	want := `out of scope: filter "Sales": state EQUALS "California" is false (state is "New York"); ` +
		`filter #2: costCenter IS NOT NULL is false (costCenter is null); ` +
		`filter "Domain": emails ENDS_WITH ".net" is false (emails is ["ann@domain.com", "ann@other.org"])`
	if got != want {
		t.Errorf("Explain =\n %s\nwant\n %s", got, want)
	}
	if got := (Set{{Name: "Levels", Clauses: []Clause{{Attribute: "level", Operator: GreaterThan, Value: "9"}}}}).Explain(user); got != `out of scope: filter "Levels": level Greater_Than "9" is false (level is 7)` {
		t.Errorf("Explain = %s", got)
	}
	set[0].Clauses[1].Value = "New York"
	if got := set.Explain(user); got != `in scope: filter "Sales" matched` {
		t.Errorf("Explain = %s", got)
	}
	if got := (Set{}).Explain(user); got != "in scope: no scoping filters are configured" {
		t.Errorf("Explain = %s", got)
	}
	if got := (Set{{Clauses: []Clause{{Attribute: "a", Operator: "LIKE", Value: "x"}}}}).Explain(user); !strings.HasPrefix(got, `scoping filters are invalid: "LIKE" is not a scoping operator`) {
		t.Errorf("Explain = %s", got)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		set   Set
		field string
		msg   string
	}{
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: "LIKE", Value: "x"}}}}, "scoping[0].clauses[0].operator", `"LIKE" is not a scoping operator; use one of EQUALS, NOT EQUALS`},
		{Set{{Clauses: []Clause{{Attribute: "", Operator: Equals, Value: "x"}}}}, "scoping[0].clauses[0].attribute", "the clause has no attribute"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: Equals}}}}, "scoping[0].clauses[0].value", "EQUALS needs a value (to test for an empty attribute use IS NULL)"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: IsNull, Value: "x"}}}}, "scoping[0].clauses[0].value", `IS NULL takes no value, got "x"`},
		{Set{{}, {Clauses: []Clause{{Attribute: "a", Operator: IsTrue}, {Attribute: "a", Operator: IsTrue}, {Attribute: "b", Operator: RegexMatch, Value: "(a"}}}}, "scoping[1].clauses[2].value", `"(a" is not a valid regular expression: missing closing ): ` + "`(a`"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: RegexMatch, Value: "(?!x)"}}}}, "scoping[0].clauses[0].value", "invalid or unsupported Perl syntax"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: NotRegexMatch, Value: strings.Repeat("a", MaxPatternLength+1)}}}}, "scoping[0].clauses[0].value", "at most 1024"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: GreaterThan, Value: "ten"}}}}, "scoping[0].clauses[0].value", `Greater_Than compares integers, but "ten" is not an integer`},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: GreaterThanOrEquals, Value: "1.5"}}}}, "scoping[0].clauses[0].value", "not an integer"},
		{Set{{Clauses: []Clause{{Attribute: "a", Operator: BitAnd, Value: "0x2"}}}}, "scoping[0].clauses[0].value", "not an integer"},
		{Set{{Name: "empty"}}, "scoping[0].clauses", `filter "empty" has no clauses; a filter needs at least one`},
	} {
		err := c.set.Validate()
		var found bool
		for _, e := range flatten(err) {
			if fe, ok := fault.As(e); ok && fe.Kind == fault.InvalidValue && fe.Field == c.field && strings.Contains(fe.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("Validate(%v) = %v; want %s: %s", c.set, err, c.field, c.msg)
		}
		if _, err := c.set.InScope(user); err == nil {
			t.Errorf("InScope of an invalid set succeeded: %v", c.set)
		}
	}
	// All problems are reported at once.
	err := Set{{Clauses: []Clause{{Attribute: "a", Operator: "x", Value: "1"}, {Attribute: "", Operator: Equals, Value: "1"}}}}.Validate()
	if n := len(flatten(err)); n != 2 || !fault.Is(err, fault.InvalidValue) {
		t.Errorf("Validate found %d problems (%v), want 2", n, err)
	}
	// Every operator validates in canonical spelling with a sensible value.
	for _, op := range Operators {
		v := "1"
		if unary(op) {
			v = ""
		}
		if err := (Set{{Clauses: []Clause{{Attribute: "a", Operator: op, Value: v}}}}).Validate(); err != nil {
			t.Errorf("%s: %v", op, err)
		}
		if Canonical(strings.ToLower(op)) != op {
			t.Errorf("Canonical(%q) = %q", strings.ToLower(op), Canonical(strings.ToLower(op)))
		}
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestUnsupportedValueType(t *testing.T) {
	s := Set{{Clauses: []Clause{{Attribute: "weird", Operator: IsNull}}}}
	_, err := s.InScope(mapping.Attrs{"weird": struct{}{}})
	if !fault.Is(err, fault.InvalidValue) {
		t.Fatalf("err = %v, want InvalidValue", err)
	}
	if got := s.Explain(mapping.Attrs{"weird": struct{}{}}); !strings.HasPrefix(got, "scoping failed: ") {
		t.Errorf("Explain = %s", got)
	}
}

func TestEncoding(t *testing.T) {
	set := Set{{Name: "NY", Clauses: []Clause{{Attribute: "state", Operator: Equals, Value: "New York"}, {Attribute: "title", Operator: IsNotNull}}}}
	j, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"NY","clauses":[{"attribute":"state","operator":"EQUALS","value":"New York"},{"attribute":"title","operator":"IS NOT NULL"}]}]`; string(j) != want {
		t.Errorf("JSON = %s\nwant  %s", j, want)
	}
	y, err := yaml.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var back Set
	if err := yaml.Unmarshal(y, &back); err != nil || len(back) != 1 || back[0].Clauses[1].Operator != IsNotNull || back[0].Name != "NY" {
		t.Errorf("YAML round trip: %v, %+v\n%s", err, back, y)
	}
	const doc = `
- name: Engineers
  clauses:
    - attribute: department
      operator: EQUALS
      value: Engineering
    - {attribute: userAccountControl, operator: "!&", value: "2"}
`
	if err := yaml.Unmarshal([]byte(doc), &back); err != nil {
		t.Fatal(err)
	}
	ok, err := back.InScope(mapping.Attrs{"department": "Engineering", "userAccountControl": 512})
	if err != nil || !ok {
		t.Errorf("YAML-defined set: %v, %v", ok, err)
	}
}

func BenchmarkInScope(b *testing.B) {
	set := Set{
		{Name: "a", Clauses: []Clause{{Attribute: "department", Operator: Equals, Value: "Engineering"}}},
		{Name: "b", Clauses: []Clause{
			{Attribute: "upn", Operator: RegexMatch, Value: `.*\@domain.com`},
			{Attribute: "employeeId", Operator: GreaterThan, Value: "1000"},
			{Attribute: "uac", Operator: NotBitAnd, Value: "2"},
		}},
	}
	for b.Loop() {
		if _, err := set.InScope(user); err != nil {
			b.Fatal(err)
		}
	}
}
