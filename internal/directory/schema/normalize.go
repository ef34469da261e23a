package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Options tune how lenient normalisation is.
type Options struct {
	// Strict rejects unknown attributes instead of ignoring them.
	Strict bool
}

// Normalize turns a client's JSON object into the canonical attribute
// document the store keeps: attribute names in their schema spelling,
// booleans sent as "True"/"False" coerced, nulls dropped (null means
// unassigned, RFC 7644 §3.5.2), single values wrapped as [{"value":x}]
// unwrapped (an Entra quirk), a lone object for a multi-valued attribute
// wrapped into a list, and every type checked. Read-only common attributes
// (id, meta, schemas) and read-only attributes such as User.groups are
// dropped, as RFC 7644 §3.3 says they SHALL be ignored. Errors name the
// attribute path.
func Normalize(rt *ResourceType, raw map[string]any, opt Options) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		if strings.HasPrefix(strings.ToLower(k), "urn:") {
			if ext := rt.Extension(k); ext != nil {
				if v == nil {
					continue
				}
				m, ok := v.(map[string]any)
				if !ok {
					return nil, fault.New(fault.InvalidValue, ext.ID, "%s must be a JSON object", ext.ID)
				}
				sub, err := normalizeAttrs(ext, ext.ID+":", m, opt)
				if err != nil {
					return nil, err
				}
				if len(sub) > 0 {
					out[ext.ID] = sub
				}
				continue
			}
			// A URN-qualified core attribute ("urn:...:User:userName") or an
			// unknown extension (Entra once sent a typo'd enterprise URN).
			if p, ok := rt.Resolve(k); ok && p.Sub == nil && p.Schema == rt.Schema {
				if err := putAttr(out, p.Attr, "", v, opt); err != nil {
					return nil, err
				}
				continue
			}
			if opt.Strict {
				return nil, fault.New(fault.InvalidValue, k, "%s is not a schema extension of %s", k, rt.Name)
			}
			continue
		}
		if a := Common.Attr(k); a != nil {
			if a == ExternalIDAttr {
				if v == nil {
					continue
				}
				s, err := coerceString(a.Name, v)
				if err != nil {
					return nil, err
				}
				out[a.Name] = s
			}
			continue // id, meta, schemas are server-assigned
		}
		a := rt.Schema.Attr(k)
		if a == nil {
			if opt.Strict {
				return nil, fault.New(fault.InvalidValue, k, "%s is not an attribute of %s", k, rt.Name)
			}
			continue
		}
		if err := putAttr(out, a, "", v, opt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func normalizeAttrs(s *Schema, prefix string, raw map[string]any, opt Options) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		a := s.Attr(k)
		if a == nil {
			if opt.Strict {
				return nil, fault.New(fault.InvalidValue, prefix+k, "%s%s is not an attribute of %s", prefix, k, s.Name)
			}
			continue
		}
		if err := putAttr(out, a, prefix, v, opt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// putAttr normalises v for attribute a and stores it in out unless it is
// null, empty or read-only.
func putAttr(out map[string]any, a *Attribute, prefix string, v any, opt Options) error {
	if a.Mutability == ReadOnly {
		return nil
	}
	nv, err := Value(a, prefix, v, opt)
	if err != nil {
		return err
	}
	if nv != nil {
		out[a.Name] = nv
	}
	return nil
}

// Value normalises one attribute value (single or multi-valued, simple or
// complex). It returns nil for null and for empty lists or objects.
func Value(a *Attribute, prefix string, v any, opt Options) (any, error) {
	if v == nil {
		return nil, nil
	}
	name := prefix + a.Name
	if a.MultiValued {
		list, ok := v.([]any)
		if !ok {
			list = []any{v} // a lone value for a multi-valued attribute
		}
		out := make([]any, 0, len(list))
		primaries := 0
		for i, e := range list {
			ev, err := singleValue(a, fmt.Sprintf("%s[%d]", name, i), e, opt)
			if err != nil {
				return nil, err
			}
			if ev == nil {
				continue
			}
			if m, ok := ev.(map[string]any); ok && m["primary"] == true {
				primaries++
			}
			out = append(out, ev)
		}
		if primaries > 1 {
			return nil, fault.New(fault.InvalidValue, name, "%s: at most one value may have primary set to true (RFC 7643 §2.4)", name)
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	// Entra's legacy dialect wraps single values as [{"$ref":null,"value":x}].
	if list, ok := v.([]any); ok {
		switch len(list) {
		case 0:
			return nil, nil
		case 1:
			if m, ok := list[0].(map[string]any); ok && a.Type != Complex {
				if inner, ok := lookupFold(m, "value"); ok {
					v = inner
					break
				}
			}
			v = list[0]
		default:
			return nil, fault.New(fault.InvalidValue, name, "%s is single-valued but %d values were given", name, len(list))
		}
	}
	return singleValue(a, name, v, opt)
}

func singleValue(a *Attribute, name string, v any, opt Options) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.Type != Complex {
		return scalar(a, name, v)
	}
	m, ok := v.(map[string]any)
	if !ok {
		// A bare value for a complex attribute means its "value" sub-attribute
		// (Microsoft's collection adds members as plain id strings).
		if a.Sub("value") == nil {
			return nil, fault.New(fault.InvalidValue, name, "%s must be a JSON object", name)
		}
		m = map[string]any{"value": v}
	}
	out := map[string]any{}
	for _, k := range sortedKeys(m) {
		sv := m[k]
		sub := a.Sub(k)
		if sub == nil && strings.EqualFold(k, "displayName") && a.Sub("display") != nil {
			sub = a.Sub("display") // members sent with "displayName" instead of "display"
		}
		if sub == nil {
			if opt.Strict {
				return nil, fault.New(fault.InvalidValue, name+"."+k, "%s.%s is not a sub-attribute of %s", name, k, a.Name)
			}
			continue
		}
		if sub.Mutability == ReadOnly {
			continue // e.g. manager.displayName: the server's to fill, not the client's
		}
		nv, err := scalar(sub, name+"."+sub.Name, sv)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[sub.Name] = nv
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// scalar checks and coerces a simple value to the attribute's type.
func scalar(a *Attribute, name string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case Boolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			// Entra's default dialect sends "True"/"False".
			if b, err := strconv.ParseBool(strings.TrimSpace(t)); err == nil {
				return b, nil
			}
		}
		return nil, fault.New(fault.InvalidValue, name, "%s must be a boolean, got %s", name, describe(v))
	case Integer:
		switch t := v.(type) {
		case float64:
			if t == float64(int64(t)) {
				return int64(t), nil
			}
		case json.Number:
			if i, err := t.Int64(); err == nil {
				return i, nil
			}
		case int64:
			return t, nil
		case int:
			return int64(t), nil
		}
		return nil, fault.New(fault.InvalidValue, name, "%s must be an integer, got %s", name, describe(v))
	case Decimal:
		switch t := v.(type) {
		case float64:
			return t, nil
		case json.Number:
			if f, err := t.Float64(); err == nil {
				return f, nil
			}
		}
		return nil, fault.New(fault.InvalidValue, name, "%s must be a number, got %s", name, describe(v))
	case DateTime:
		s, ok := v.(string)
		if !ok {
			return nil, fault.New(fault.InvalidValue, name, "%s must be an xsd:dateTime string, got %s", name, describe(v))
		}
		if _, err := ParseDateTime(s); err != nil {
			return nil, fault.New(fault.InvalidValue, name, "%s must be an xsd:dateTime such as 2008-01-23T04:56:22Z, got %q", name, s)
		}
		return s, nil
	case Complex:
		return nil, fault.New(fault.InvalidValue, name, "%s must not nest complex values", name)
	default: // string, reference, binary
		return coerceString(name, v)
	}
}

func coerceString(name string, v any) (any, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case json.Number:
		return t.String(), nil
	}
	return nil, fault.New(fault.InvalidValue, name, "%s must be a string, got %s", name, describe(v))
}

// ParseDateTime parses the xsd:dateTime forms clients send (RFC 3339 with or
// without fractional seconds or zone; .NET's seven-digit fractions).
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an xsd:dateTime: %q", s)
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// lookupFold finds a key case-insensitively (RFC 7643 §2.1).
func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// sortedKeys iterates a map deterministically, so that the first error
// reported for a request is always the same one.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
