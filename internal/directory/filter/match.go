package filter

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// Match reports whether the resource document res satisfies e. res is the
// canonical attribute document (schema spelling, extension attributes under
// their URN key) plus "id", "externalId" and "meta" ({"created",
// "lastModified", "resourceType", "version"}, dateTimes as RFC 3339 strings).
// "schemas" is taken from res when present, otherwise derived from
// meta.resourceType and the extension keys present.
//
// Semantics, which the SQL translation must mirror:
//
//   - Strings compare case-insensitively (after strings.ToLower) unless the
//     target attribute is caseExact (id, externalId, meta.version, ...).
//     gt/ge/lt/le on strings compare lexicographically.
//   - A multi-valued attribute matches when any of its values matches
//     (emails.value co "x", emails.type eq "work").
//   - ne is the exact complement of eq: `x ne v` ≡ `not (x eq v)`. So an
//     absent attribute matches ne (a missing value is not equal to v), and a
//     multi-valued attribute matches ne only when none of its values equals
//     v. RFC 7644 could also be read as "some value differs"; the complement
//     is what people mean by `emails.type ne "work"` and is NOT EXISTS in SQL.
//   - `x eq null` matches when x has no value and `x ne null` when it has
//     one, i.e. `not (x pr)` and `x pr`.
//   - pr: present and non-empty (not null, not "", not [] or {}).
//   - Every other operator is false on an absent attribute.
//   - dateTimes compare chronologically (document values are parsed with
//     schema.ParseDateTime), numbers numerically, booleans accept the
//     strings "true"/"false" in any case (Entra's "True").
//   - A value of the wrong type never matches; nothing here panics.
//
// A nil or unknown Expr matches nothing: an absent filter must be handled
// by the caller, never by accident here.
func Match(e Expr, res map[string]any) bool { return eval(e, res, false) }

// MatchElement evaluates a value-path filter (ValuePath.Filter or
// PathExpr.Filter) against one element of a multi-valued complex attribute,
// such as {"type": "work", "value": "bjensen@example.com"}. Each Compare is
// looked up by its Path.Sub in elem.
func MatchElement(e Expr, elem map[string]any) bool { return eval(e, elem, true) }

func eval(e Expr, doc map[string]any, elem bool) bool {
	switch x := e.(type) {
	case And:
		return eval(x.Left, doc, elem) && eval(x.Right, doc, elem)
	case Or:
		return eval(x.Left, doc, elem) || eval(x.Right, doc, elem)
	case Not:
		return x.X != nil && !eval(x.X, doc, elem)
	case Compare:
		return compare(x, lookup(x.Path, doc, elem))
	case ValuePath:
		if elem || x.Attr.Attr == nil { // value paths do not nest
			return false
		}
		for _, v := range lookup(schema.Path{Schema: x.Attr.Schema, Attr: x.Attr.Attr}, doc, false) {
			if m, ok := v.(map[string]any); ok && eval(x.Filter, m, true) {
				return true
			}
		}
		return false
	// Pointer forms, in case an AST is built by hand.
	case *And:
		return x != nil && eval(*x, doc, elem)
	case *Or:
		return x != nil && eval(*x, doc, elem)
	case *Not:
		return x != nil && eval(*x, doc, elem)
	case *Compare:
		return x != nil && eval(*x, doc, elem)
	case *ValuePath:
		return x != nil && eval(*x, doc, elem)
	}
	return false
}

// lookup returns the values a path names in doc, multi-valued attributes
// flattened, nulls dropped.
func lookup(p schema.Path, doc map[string]any, elem bool) []any {
	if elem {
		if p.Sub == nil {
			return nil
		}
		return flatten(nil, get(doc, p.Sub.Name))
	}
	if p.Attr == nil {
		return nil
	}
	container := doc
	if p.IsExtension() {
		container, _ = get(doc, p.Schema.ID).(map[string]any)
	}
	v := get(container, p.Attr.Name)
	if v == nil && p.Attr == schema.SchemasAttr {
		v = derivedSchemas(doc)
	}
	if p.Sub == nil {
		return flatten(nil, v)
	}
	var out []any
	for _, e := range flatten(nil, v) {
		if m, ok := e.(map[string]any); ok {
			out = flatten(out, get(m, p.Sub.Name))
		}
	}
	return out
}

// get looks key up exactly, then case-insensitively: documents should be in
// schema spelling, but a stray "Value" must not make a filter miss.
func get(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func flatten(out []any, v any) []any {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			if e != nil {
				out = append(out, e)
			}
		}
	case []string:
		for _, e := range x {
			out = append(out, e)
		}
	case []map[string]any:
		for _, e := range x {
			out = append(out, e)
		}
	default:
		out = append(out, v)
	}
	return out
}

// derivedSchemas rebuilds "schemas" for documents that do not store it: the
// core schema of meta.resourceType plus every extension present.
func derivedSchemas(doc map[string]any) []any {
	var out []any
	if meta, ok := get(doc, "meta").(map[string]any); ok {
		if name, ok := get(meta, "resourceType").(string); ok {
			for _, rt := range schema.ResourceTypes() {
				if strings.EqualFold(rt.Name, name) {
					out = append(out, rt.Schema.ID)
				}
			}
		}
	}
	for k, v := range doc {
		if strings.HasPrefix(strings.ToLower(k), "urn:") && present(v) {
			out = append(out, k)
		}
	}
	return out
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		for _, e := range x {
			if present(e) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range x {
			if present(e) {
				return true
			}
		}
		return false
	}
	return true
}

func compare(c Compare, vals []any) bool {
	a := c.Path.Target()
	if a == nil {
		return false
	}
	some := func(f func(v any) bool) bool {
		for _, v := range vals {
			if f(v) {
				return true
			}
		}
		return false
	}
	equal := func(v any) bool { r, ok := order(a, v, c.Value); return ok && r == 0 }
	switch c.Op {
	case Pr:
		return some(present)
	case Eq:
		if c.Value == nil {
			return !some(present)
		}
		return some(equal)
	case Ne:
		if c.Value == nil {
			return some(present)
		}
		return !some(equal)
	case Co, Sw, Ew:
		want, ok := c.Value.(string)
		if !ok {
			return false
		}
		if !a.CaseExact {
			want = strings.ToLower(want)
		}
		return some(func(v any) bool {
			s, ok := asString(v)
			if !ok {
				return false
			}
			if !a.CaseExact {
				s = strings.ToLower(s)
			}
			switch c.Op {
			case Co:
				return strings.Contains(s, want)
			case Sw:
				return strings.HasPrefix(s, want)
			}
			return strings.HasSuffix(s, want)
		})
	case Gt, Ge, Lt, Le:
		return some(func(v any) bool {
			r, ok := order(a, v, c.Value)
			if !ok {
				return false
			}
			switch c.Op {
			case Gt:
				return r > 0
			case Ge:
				return r >= 0
			case Lt:
				return r < 0
			}
			return r <= 0
		})
	}
	return false
}

// order compares a document value with a filter value, typed by the filter
// value (Parse has already typed it by the attribute). ok is false when the
// two cannot be compared.
func order(a *schema.Attribute, doc, want any) (int, bool) {
	switch w := want.(type) {
	case string:
		s, ok := asString(doc)
		if !ok {
			return 0, false
		}
		if !a.CaseExact {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		return strings.Compare(s, w), true
	case bool:
		b, ok := asBool(doc)
		if !ok {
			return 0, false
		}
		switch {
		case b == w:
			return 0, true
		case w:
			return -1, true
		}
		return 1, true
	case time.Time:
		t, ok := asTime(doc)
		if !ok {
			return 0, false
		}
		return t.Compare(w), true
	}
	wn, ok := asNumber(want)
	if !ok {
		return 0, false
	}
	dn, ok := asNumber(doc)
	if !ok {
		return 0, false
	}
	return cmp.Compare(dn, wn), true
}

// asString accepts the scalars Normalize would have turned into strings.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := schema.ParseDateTime(x)
		return t, err == nil
	}
	return time.Time{}, false
}
