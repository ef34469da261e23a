// Package scoping evaluates Entra-style attribute scoping filters: which
// source objects a provisioning application considers at all.
//
// A Clause compares one attribute with one operator and value; the clauses of
// a Filter are ANDed; the Filters of a Set are ORed; an empty Set puts every
// object in scope. The operators are Entra's fourteen (EQUALS, NOT EQUALS,
// IS TRUE, IS FALSE, IS NULL, IS NOT NULL, REGEX MATCH, NOT REGEX MATCH,
// Includes, ENDS_WITH, Greater_Than, Greater_Than_OR_EQUALS, & and !&), with
// Entra's semantics: string comparisons are case-sensitive, and every
// operator except IS NULL and IS NOT NULL is false on a null or empty
// attribute. Unlike Entra, multi-valued attributes are supported: a positive
// operator matches when any value does, a negative one (NOT EQUALS, NOT REGEX
// MATCH, !&) when none does. docs/expressions.md describes each operator.
package scoping

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
)

// The operators, spelled as Entra's schema (Graph filterClause.operatorName)
// spells them. Validate and InScope accept any case, and spaces, underscores
// and hyphens interchangeably ("not_equals", "Ends With").
const (
	Equals              = "EQUALS"
	NotEquals           = "NOT EQUALS"
	IsTrue              = "IS TRUE"
	IsFalse             = "IS FALSE"
	IsNull              = "IS NULL"
	IsNotNull           = "IS NOT NULL"
	RegexMatch          = "REGEX MATCH"
	NotRegexMatch       = "NOT REGEX MATCH"
	Includes            = "Includes"
	EndsWith            = "ENDS_WITH"
	GreaterThan         = "Greater_Than"
	GreaterThanOrEquals = "Greater_Than_OR_EQUALS"
	BitAnd              = "&"
	NotBitAnd           = "!&"
)

// Operators lists the operators in canonical spelling.
var Operators = []string{Equals, NotEquals, IsTrue, IsFalse, IsNull, IsNotNull, RegexMatch, NotRegexMatch,
	Includes, EndsWith, GreaterThan, GreaterThanOrEquals, BitAnd, NotBitAnd}

// MaxPatternLength bounds a REGEX MATCH pattern. Go's regexp (RE2) matches in
// time linear in the input, so no timeout is needed; the bound keeps compiled
// programs small.
const MaxPatternLength = 1024

// Clause is one condition: Attribute Operator Value.
type Clause struct {
	Attribute string `json:"attribute" yaml:"attribute"`
	Operator  string `json:"operator" yaml:"operator"`
	Value     string `json:"value,omitempty" yaml:"value,omitempty"`
}

// Filter is a named set of clauses that must all hold.
type Filter struct {
	Name    string   `json:"name,omitempty" yaml:"name,omitempty"`
	Clauses []Clause `json:"clauses" yaml:"clauses"`
}

// Set is an application's scoping filters; an object is in scope when any
// filter holds, or when there are none.
type Set []Filter

// Canonical returns the canonical spelling of an operator, or "" if op is
// not one.
func Canonical(op string) string {
	for _, o := range Operators {
		if o == op {
			return o // the common case, without allocating
		}
	}
	key := strings.ToUpper(strings.Join(strings.FieldsFunc(op, func(r rune) bool {
		return r == ' ' || r == '_' || r == '-' || r == '\t'
	}), " "))
	for _, o := range Operators {
		if strings.ReplaceAll(strings.ToUpper(o), "_", " ") == key {
			return o
		}
	}
	return ""
}

func unary(op string) bool { return op == IsTrue || op == IsFalse || op == IsNull || op == IsNotNull }
func numeric(op string) bool {
	return op == GreaterThan || op == GreaterThanOrEquals || op == BitAnd || op == NotBitAnd
}
func regex(op string) bool { return op == RegexMatch || op == NotRegexMatch }

// compiled is a validated clause.
type compiled struct {
	Clause
	op  string
	num int64
	re  *regexp.Regexp
}

// Validate reports every invalid clause: an empty attribute, an unknown
// operator, a value on an operator that takes none or none where one is
// needed, an invalid or overlong regular expression, a non-integer value for
// Greater_Than, Greater_Than_OR_EQUALS, & and !&, and a filter without
// clauses. Each problem is a *fault.Error (fault.InvalidValue) whose Field
// names it, e.g. scoping[0].clauses[2].value; several are joined with
// errors.Join.
func (s Set) Validate() error {
	_, err := s.compile()
	return err
}

func (s Set) compile() ([][]compiled, error) {
	var errs []error
	out := make([][]compiled, len(s))
	for i, f := range s {
		if len(f.Clauses) == 0 {
			errs = append(errs, fault.New(fault.InvalidValue, fmt.Sprintf("scoping[%d].clauses", i),
				"%s has no clauses; a filter needs at least one", label(i, f)))
			continue
		}
		for j, c := range f.Clauses {
			cc, err := compileClause(c, i, j)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out[i] = append(out[i], cc)
		}
	}
	switch len(errs) {
	case 0:
		return out, nil
	case 1:
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

func compileClause(c Clause, i, j int) (compiled, error) {
	cc := compiled{Clause: c, op: Canonical(c.Operator)}
	field := func(name string) string { return fmt.Sprintf("scoping[%d].clauses[%d].%s", i, j, name) }
	if strings.TrimSpace(c.Attribute) == "" {
		return cc, fault.New(fault.InvalidValue, field("attribute"), "the clause has no attribute")
	}
	if cc.op == "" {
		return cc, fault.New(fault.InvalidValue, field("operator"), "%q is not a scoping operator; use one of %s",
			c.Operator, strings.Join(Operators, ", "))
	}
	switch {
	case unary(cc.op):
		if c.Value != "" {
			return cc, fault.New(fault.InvalidValue, field("value"), "%s takes no value, got %q", cc.op, c.Value)
		}
	case c.Value == "":
		return cc, fault.New(fault.InvalidValue, field("value"), "%s needs a value (to test for an empty attribute use IS NULL)", cc.op)
	case numeric(cc.op):
		n, err := strconv.ParseInt(strings.TrimSpace(c.Value), 10, 64)
		if err != nil {
			return cc, fault.New(fault.InvalidValue, field("value"), "%s compares integers, but %q is not an integer", cc.op, c.Value)
		}
		cc.num = n
	case regex(cc.op):
		if len(c.Value) > MaxPatternLength {
			return cc, fault.New(fault.InvalidValue, field("value"), "the regular expression is %d bytes long; at most %d are allowed", len(c.Value), MaxPatternLength)
		}
		re, err := compileRegex(c.Value)
		if err != nil {
			return cc, fault.New(fault.InvalidValue, field("value"), "%q is not a valid regular expression: %s (RE2 syntax: no lookaround or backreferences)",
				c.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		cc.re = re
	}
	return cc, nil
}

// regexCache keeps compiled patterns, since InScope runs once per object.
var regexCache struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

func compileRegex(p string) (*regexp.Regexp, error) {
	regexCache.Lock()
	defer regexCache.Unlock()
	if re, ok := regexCache.m[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	if regexCache.m == nil || len(regexCache.m) >= 1024 {
		regexCache.m = map[string]*regexp.Regexp{}
	}
	regexCache.m[p] = re
	return re, nil
}

// InScope reports whether the object env describes is in scope. An invalid
// set is an error (validate it when it is saved); so is an attribute value of
// a type the expression language does not know.
func (s Set) InScope(env mapping.Env) (bool, error) {
	if len(s) == 0 {
		return true, nil
	}
	filters, err := s.compile()
	if err != nil {
		return false, err
	}
	for _, f := range filters {
		failed, _, err := matchFilter(f, env)
		if err != nil || failed < 0 {
			return err == nil, err
		}
	}
	return false, nil
}

// Explain says why the object is in or out of scope, for provisioning logs:
// the filter that matched, or for each filter the first clause that failed
// and the attribute's actual value.
func (s Set) Explain(env mapping.Env) string {
	if len(s) == 0 {
		return "in scope: no scoping filters are configured"
	}
	filters, err := s.compile()
	if err != nil {
		return "scoping filters are invalid: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	var reasons []string
	for i, f := range filters {
		failed, vals, err := matchFilter(f, env)
		if err != nil {
			return "scoping failed: " + err.Error()
		}
		if failed < 0 {
			return "in scope: " + label(i, s[i]) + " matched"
		}
		c := f[failed]
		reasons = append(reasons, fmt.Sprintf("%s: %s is false (%s)", label(i, s[i]), c.describe(), actual(c.Attribute, vals)))
	}
	return "out of scope: " + strings.Join(reasons, "; ")
}

func label(i int, f Filter) string {
	if f.Name != "" {
		return fmt.Sprintf("filter %q", f.Name)
	}
	return fmt.Sprintf("filter #%d", i+1)
}

// matchFilter returns -1 when every clause holds, else the index of the
// first clause that fails and the values it saw.
func matchFilter(f []compiled, env mapping.Env) (int, []mapping.Value, error) {
	for i, c := range f {
		vals, err := values(env, c.Attribute)
		if err != nil {
			return 0, nil, err
		}
		if !c.holds(vals) {
			return i, vals, nil
		}
	}
	return -1, nil, nil
}

func (c compiled) describe() string {
	if unary(c.op) {
		return c.Attribute + " " + c.op
	}
	return fmt.Sprintf("%s %s %q", c.Attribute, c.op, c.Value)
}

func actual(attr string, vals []mapping.Value) string {
	switch len(vals) {
	case 0:
		return attr + " is null"
	case 1:
		return attr + " is " + render(vals[0])
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = render(v)
	}
	return attr + " is [" + strings.Join(parts, ", ") + "]"
}

func render(v mapping.Value) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return mapping.Text(v)
}

// values returns the attribute's non-empty values; none means null.
func values(env mapping.Env, attr string) ([]mapping.Value, error) {
	if env == nil {
		return nil, nil
	}
	raw, ok := env.Attr(attr)
	if !ok {
		return nil, nil
	}
	v, ok := mapping.Normalize(raw)
	if !ok {
		return nil, fault.New(fault.InvalidValue, attr, "the attribute %s has a value of type %T, which scoping filters cannot compare", attr, raw)
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []string:
		out := make([]mapping.Value, 0, len(v))
		for _, s := range v {
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case string:
		if v == "" {
			return nil, nil
		}
	}
	return []mapping.Value{v}, nil
}

// holds evaluates the clause on the attribute's values.
func (c compiled) holds(vals []mapping.Value) bool {
	switch c.op {
	case IsNull:
		return len(vals) == 0
	case IsNotNull:
		return len(vals) > 0
	}
	if len(vals) == 0 {
		return false // Entra: every other operator is false on null or empty
	}
	switch c.op {
	case NotEquals:
		return !c.any(vals, Equals)
	case NotRegexMatch:
		return !c.any(vals, RegexMatch)
	case NotBitAnd:
		// Every value must be an integer with no bit in common with Value.
		for _, v := range vals {
			n, ok := integer(v)
			if !ok || n&c.num != 0 {
				return false
			}
		}
		return true
	}
	return c.any(vals, c.op)
}

func (c compiled) any(vals []mapping.Value, op string) bool {
	for _, v := range vals {
		if c.one(v, op) {
			return true
		}
	}
	return false
}

// one evaluates a positive operator on one value.
func (c compiled) one(v mapping.Value, op string) bool {
	text := mapping.Text(v)
	_, isBool := v.(bool)
	switch op {
	case Equals:
		// Case-sensitive, as in Entra; a boolean matches "True" and "true".
		return text == c.Value || isBool && strings.EqualFold(text, c.Value)
	case Includes:
		return strings.Contains(text, c.Value)
	case EndsWith:
		return strings.HasSuffix(text, c.Value)
	case RegexMatch:
		return c.re.MatchString(text)
	case IsTrue:
		return strings.EqualFold(strings.TrimSpace(text), "true")
	case IsFalse:
		return strings.EqualFold(strings.TrimSpace(text), "false")
	case GreaterThan, GreaterThanOrEquals, BitAnd:
		n, ok := integer(v)
		switch {
		case !ok:
			return false
		case op == GreaterThan:
			return n > c.num
		case op == GreaterThanOrEquals:
			return n >= c.num
		}
		return n&c.num != 0
	}
	return false
}

// integer reads a value as an integer: a whole number, or text holding one.
func integer(v mapping.Value) (int64, bool) {
	switch v := v.(type) {
	case float64:
		if v != float64(int64(v)) || v >= 1<<63 || v < -(1<<63) {
			return 0, false
		}
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}
