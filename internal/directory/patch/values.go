package patch

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// merge returns old's sub-attributes overlaid with nv's, minus those the
// client set to null: a complex replace leaves unnamed sub-attributes alone
// (RFC 7644 §3.5.2.3), and null means unassigned (RFC 7643 §2.5). When the
// "value" changes, "$ref" and "display" describe the old value and go too
// (a manager replaced by a bare id must not keep the old manager's $ref).
func merge(old any, nv map[string]any, nulls []string) map[string]any {
	out := map[string]any{}
	m, _ := old.(map[string]any)
	for k, v := range m {
		out[k] = v
	}
	if ov, ok := m["value"]; ok && nv["value"] != nil && !equal(ov, nv["value"]) {
		for _, k := range []string{"$ref", "display", "displayName"} {
			delete(out, k)
		}
	}
	for k, v := range nv {
		out[k] = v
	}
	for _, k := range nulls {
		if _, set := nv[k]; !set {
			delete(out, k)
		}
	}
	return out
}

// nullSubs lists the sub-attributes of a that the raw value sets to null,
// looking through Entra's one-element list wrapping. schema.Value drops
// nulls, so they are read from the raw value.
func nullSubs(a *schema.Attribute, raw any) []string {
	if l, ok := raw.([]any); ok && len(l) == 1 {
		raw = l[0]
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	for k, v := range m {
		if v != nil {
			continue
		}
		sub := a.Sub(k)
		if sub == nil && strings.EqualFold(k, "displayName") {
			sub = a.Sub("display")
		}
		if sub != nil {
			out = append(out, sub.Name)
		}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// isEmpty reports the values RFC 7643 §2.5 treats as unassigned.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// equal compares two document values: unassigned forms are equal to each
// other and to an absent key, and numbers compare by value whatever their Go
// type (a stored document may hold float64 where Value produced int64).
func equal(a, b any) bool {
	if isEmpty(a) || isEmpty(b) {
		return isEmpty(a) && isEmpty(b)
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, xv := range x {
			if !equal(xv, y[k]) {
				return false
			}
		}
		for k, yv := range y {
			if _, ok := x[k]; !ok && !isEmpty(yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func containsEqual(list []any, v any) bool {
	for _, e := range list {
		if equal(e, v) {
			return true
		}
	}
	return false
}

// prune drops keys whose value became empty (an extension object whose last
// attribute was removed, a complex attribute without sub-attributes).
func prune(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			prune(sub)
		}
		if isEmpty(v) {
			delete(m, k)
		}
	}
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}
