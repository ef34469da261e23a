package mapping

import (
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Value is an expression value: nil (null), string, bool, float64 (numbers),
// time.Time, or []string (multi-valued).
type Value = any

// Env supplies source attribute values by name, e.g. "givenName",
// "name.givenName", `emails[type eq "work"].value`,
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".
// Names are case-insensitive. An absent attribute is reported as (nil, false);
// Eval treats absent and null alike.
//
// Attr should return one of the Value types. Other integer and float types are
// converted to float64 and []any of scalars to []string; anything else is a
// runtime error naming the attribute.
//
// An Env may also implement Clock, Randomness, UniquenessChecker and AppRoles.
type Env interface {
	Attr(name string) (Value, bool)
}

// Clock is an optional Env extension: Now() answers Now (and the current date
// FormatDateTime assumes when a format has no date part). Without it Eval uses
// the system clock. Tests and dry-runs inject a fixed time through it.
type Clock interface {
	Now() time.Time
}

// Randomness is an optional Env extension: Guid and RandomString read their
// random bytes from Random(). Without it Eval uses crypto/rand. Tests inject a
// deterministic reader through it.
type Randomness interface {
	Random() io.Reader
}

// UniquenessChecker is an optional Env extension that SelectUniqueValue needs:
// IsUnique reports whether value is not yet taken in the target. Without it
// SelectUniqueValue fails with fault.Unsupported.
type UniquenessChecker interface {
	IsUnique(value string) (bool, error)
}

// AppRoles is an optional Env extension: the names of the app roles assigned
// to the object, for SingleAppRoleAssignment and AppRoleAssignmentsComplex.
// Without it those functions read the [appRoleAssignments] attribute.
type AppRoles interface {
	AppRoles() []string
}

// Attrs is a ready-made Env over a map. Lookups try the exact name first and
// then a case-insensitive match, so Attrs{"givenName": "Ann"} answers
// "givenname" too.
type Attrs map[string]Value

// Attr implements Env.
func (a Attrs) Attr(name string) (Value, bool) {
	if v, ok := a[name]; ok {
		return v, true
	}
	for k, v := range a {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// DateLayout is how a time.Time renders as text: Entra's "M/d/yyyy h:mm:ss tt"
// in UTC (for example "3/16/2020 7:00:00 AM").
const DateLayout = "1/2/2006 3:04:05 PM"

// Text renders a value the way the language converts it to a string: null is
// "", booleans are "True"/"False", numbers use the shortest decimal form
// without exponent, times use DateLayout in UTC. A multi-valued value renders
// as its values joined by ","; use Strings to keep them apart.
func Text(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return formatNumber(x)
	case time.Time:
		return x.UTC().Format(DateLayout)
	case []string:
		return strings.Join(x, ",")
	}
	return ""
}

// Strings renders a value as a list: null is nil, a multi-valued value is a
// copy of its values, any other value is a one-element list of its Text.
func Strings(v Value) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []string:
		return append([]string(nil), x...)
	}
	return []string{Text(v)}
}

// IsNullOrEmpty reports whether v is null, the empty string or an empty list,
// the test IgnoreFlowIfNullOrEmpty and IsNullOrEmpty apply.
func IsNullOrEmpty(v Value) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	}
	return false
}

func isNull(v Value) bool {
	if l, ok := v.([]string); ok {
		return len(l) == 0
	}
	return v == nil
}

func formatNumber(f float64) string {
	if f == 0 {
		f = 0 // -0 renders as 0 in values (literals keep their sign)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Normalize converts what an Env returned into a Value: other integer and
// float types become float64, times UTC, []any of scalars []string (nulls
// dropped). ok is false for types the language does not know and for NaN and
// infinities.
func Normalize(v any) (Value, bool) {
	switch x := v.(type) {
	case nil, string, bool, []string:
		return x, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return x, true
	case time.Time:
		return x.UTC(), true
	case float32:
		return Normalize(float64(x))
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			n, ok := Normalize(e)
			if !ok {
				return nil, false
			}
			switch n.(type) {
			case nil:
				continue
			case []string:
				return nil, false
			}
			out = append(out, Text(n))
		}
		return out, true
	}
	return nil, false
}

// parseNumber reads a number the way the language does: decimal with an
// optional sign and fraction, or VBA hex (&HFF). Surrounding spaces are
// ignored.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '&' && (s[1] == 'H' || s[1] == 'h') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil || u > maxExactInt {
			return 0, false
		}
		return float64(u), true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+') {
			return 0, false // no exponents, no "Inf", no "0x"
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// maxExactInt is the largest integer a float64 holds exactly (2^53).
const maxExactInt = 1 << 53

// asInt converts a number to int64 when it is whole and exactly representable.
func asInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.Abs(f) > maxExactInt {
		return 0, false
	}
	return int64(f), true
}
