package mapping

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// ErrIgnoreFlow is returned (wrapped) by Eval when IgnoreFlowIfNullOrEmpty
// fires: the engine must not send this attribute at all. Test with errors.Is.
var ErrIgnoreFlow = errors.New("IgnoreFlowIfNullOrEmpty: the value is null or empty, the attribute is not sent")

// MaxValueBytes bounds the size of any intermediate value, so that nested
// Replace, Join or ConvertToBase64 calls cannot grow a value without limit.
const MaxValueBytes = 1 << 20

// MaxWorkBytes bounds the bytes all the calls of one Eval may produce
// together, so that a pathological expression costs milliseconds, not
// seconds, per object.
const MaxWorkBytes = 16 << 20

// DefaultField is the fault.Error Field of errors from Compile.
const DefaultField = "expression"

// Expr is a compiled expression. It is immutable and safe for concurrent use.
type Expr struct {
	src      string // as written; error positions refer to it
	field    string
	canon    string
	root     node
	attrs    []string
	volatile bool
	redacted bool
	unique   bool
}

// Compile parses and type-checks src. Errors are *fault.Error of kind
// fault.InvalidValue with Field "expression" and a message such as
// `expression: position 12: Join expects a separator string as its first argument`;
// positions are 1-based character offsets into src.
func Compile(src string) (*Expr, error) { return CompileField(DefaultField, src) }

// CompileField is Compile with the Field the errors (compile-time and from
// Eval) carry, for example "mappings[3].expression".
func CompileField(field, src string) (*Expr, error) {
	e := &Expr{src: src, field: field}
	if !utf8.ValidString(src) {
		return nil, fault.New(fault.InvalidValue, field, "expression: the expression is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(src); n > MaxLength {
		return nil, fault.New(fault.InvalidValue, field, "expression: the expression has %d characters; at most %d are allowed", n, MaxLength)
	}
	p := &parser{src: src}
	root := p.parseTop()
	if p.err != nil {
		return nil, e.errAt(p.err.at, p.err.msg)
	}
	ck := &checker{e: e, seen: map[string]bool{}}
	if err := ck.check(root, true); err != nil {
		return nil, e.errAt(err.at, err.msg)
	}
	e.root = root
	var b strings.Builder
	root.write(&b)
	e.canon = b.String()
	return e, nil
}

// MustCompile is Compile for expressions known to be valid (defaults, tests);
// it panics on error.
func MustCompile(src string) *Expr {
	e, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String renders the expression canonically: canonical function names, one
// space after each comma, constants re-escaped. The result compiles to an
// equal expression.
func (e *Expr) String() string { return e.canon }

// Attributes lists the source attributes the expression references, in order
// of first appearance, without case-insensitive duplicates.
func (e *Expr) Attributes() []string { return append([]string(nil), e.attrs...) }

// Volatile reports whether the expression calls Now, Guid or RandomString, so
// that its value changes from one evaluation to the next. The engine should
// apply such mappings only on create (or compare by other means), otherwise
// every cycle would update every object.
func (e *Expr) Volatile() bool { return e.volatile }

// Redacted reports whether the expression uses Redact: its value must appear
// as "[Redact]" in provisioning logs and dry-run output.
func (e *Expr) Redacted() bool { return e.redacted }

// SelectsUniqueValue reports whether the expression is a SelectUniqueValue
// call. Entra allows such mappings only when they apply on create and are not
// matching attributes; the engine enforces that.
func (e *Expr) SelectsUniqueValue() bool { return e.unique }

// Function returns the canonical name of the function the whole expression
// is a call of ("AppRoleAssignmentsComplex" for
// appRoleAssignmentsComplex([appRoleAssignments])), or "" when the
// expression is not a call. The engine shapes some functions' results for
// the target (the complex role functions produce SCIM roles elements).
func (e *Expr) Function() string {
	if c, ok := e.root.(*call); ok {
		return c.fn.name
	}
	return ""
}

// Eval evaluates the expression against env, which must describe the whole
// source object (never only what changed). A nil env has no attributes.
// Runtime errors are *fault.Error: fault.InvalidValue for bad data,
// fault.Limit past MaxValueBytes or MaxWorkBytes, fault.Uniqueness when
// SelectUniqueValue finds every candidate taken, fault.Unsupported when env
// lacks an extension a function needs. Errors from env's extensions are
// wrapped as they are; IgnoreFlowIfNullOrEmpty firing wraps ErrIgnoreFlow.
func (e *Expr) Eval(env Env) (Value, error) {
	if env == nil {
		env = Attrs(nil)
	}
	x := &evalCtx{e: e, env: env}
	return x.eval(e.root)
}

// position converts a byte offset into a 1-based character position.
func (e *Expr) position(at int) int {
	if at > len(e.src) {
		at = len(e.src)
	}
	return utf8.RuneCountInString(e.src[:at]) + 1
}

func (e *Expr) errAt(at int, msg string) *fault.Error {
	return fault.New(fault.InvalidValue, e.field, "expression: position %d: %s", e.position(at), msg)
}

// evalCtx is the state of one Eval call.
type evalCtx struct {
	e      *Expr
	env    Env
	now    time.Time
	hasNow bool
	work   int // bytes produced so far, against MaxWorkBytes
}

func (x *evalCtx) fail(n node, format string, args ...any) error {
	return x.e.errAt(n.offset(), fmt.Sprintf(format, args...))
}

func (x *evalCtx) clock() time.Time {
	if !x.hasNow {
		if c, ok := x.env.(Clock); ok {
			x.now = c.Now().UTC()
		} else {
			x.now = time.Now().UTC()
		}
		x.hasNow = true
	}
	return x.now
}

func (x *evalCtx) random() io.Reader {
	if r, ok := x.env.(Randomness); ok {
		if rd := r.Random(); rd != nil {
			return rd
		}
	}
	return rand.Reader
}

func (x *evalCtx) eval(n node) (Value, error) {
	switch n := n.(type) {
	case *strLit:
		return n.val, nil
	case *numLit:
		return n.v, nil
	case *boolLit:
		return n.v, nil
	case *identLit:
		return n.name, nil
	case *omitted:
		return nil, nil
	case *attrRef:
		raw, ok := x.env.Attr(n.name)
		if !ok {
			return nil, nil
		}
		v, ok := Normalize(raw)
		if !ok {
			return nil, x.fail(n, "the attribute [%s] has a value of type %T, which expressions cannot use", n.name, raw)
		}
		return v, nil
	case *compare:
		l, err := x.eval(n.l)
		if err != nil {
			return nil, err
		}
		r, err := x.eval(n.r)
		if err != nil {
			return nil, err
		}
		return compareValues(n.op, l, r), nil
	case *call:
		v, err := n.fn.eval(x, n)
		if err != nil {
			return nil, err
		}
		n2 := size(v)
		if n2 > MaxValueBytes {
			return nil, x.tooLarge(n)
		}
		if x.work += n2; x.work > MaxWorkBytes {
			return nil, fault.New(fault.Limit, x.e.field, "expression: position %d: evaluating the expression produced more than %d bytes of intermediate values", x.e.position(n.at), MaxWorkBytes)
		}
		return v, nil
	}
	return nil, fmt.Errorf("mapping: unknown node %T", n)
}

func (x *evalCtx) tooLarge(n *call) error {
	return fault.New(fault.Limit, x.e.field, "expression: position %d: %s produces a value larger than %d bytes", x.e.position(n.at), n.fn.name, MaxValueBytes)
}

func size(v Value) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []string:
		n := 0
		for _, s := range v {
			n += len(s) + 1
		}
		return n
	}
	return 0
}

// describe names an argument for messages: the attribute or the function.
func describe(n node) string {
	switch n := n.(type) {
	case *attrRef:
		return "[" + n.name + "]"
	case *call:
		return n.fn.name
	}
	return "the value"
}

// scalar applies the single-value rule: a list of one value is that value, an
// empty list is null, a longer list is an error.
func (x *evalCtx) scalar(n node, fn, param string) (Value, error) {
	v, err := x.eval(n)
	if err != nil {
		return nil, err
	}
	if l, ok := v.([]string); ok {
		switch len(l) {
		case 0:
			return nil, nil
		case 1:
			return l[0], nil
		}
		return nil, x.fail(n, "%s expects a single value as %s, but %s has %d values; pick one with Item or combine them with Join", fn, param, describe(n), len(l))
	}
	return v, nil
}

// text evaluates n as a string; null reports null == true.
func (x *evalCtx) text(n node, fn, param string) (s string, null bool, err error) {
	v, err := x.scalar(n, fn, param)
	if err != nil || v == nil {
		return "", v == nil, err
	}
	return Text(v), false, nil
}

// number evaluates n as a number; null and "" report null == true.
func (x *evalCtx) number(n node, fn, param string) (f float64, null bool, err error) {
	v, err := x.scalar(n, fn, param)
	if err != nil {
		return 0, false, err
	}
	switch v := v.(type) {
	case nil:
		return 0, true, nil
	case float64:
		return v, false, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, true, nil
		}
		if f, ok := parseNumber(v); ok {
			return f, false, nil
		}
		return 0, false, x.fail(n, "%s expects a number as %s, but %s is %q", fn, param, describe(n), v)
	}
	return 0, false, x.fail(n, "%s expects a number as %s, but %s is %s", fn, param, describe(n), typeName(v))
}

// integer is number restricted to whole numbers.
func (x *evalCtx) integer(n node, fn, param string) (i int64, null bool, err error) {
	f, null, err := x.number(n, fn, param)
	if err != nil || null {
		return 0, null, err
	}
	i, ok := asInt(f)
	if !ok {
		return 0, false, x.fail(n, "%s expects a whole number as %s, got %s", fn, param, formatNumber(f))
	}
	return i, false, nil
}

// date evaluates n as a date; null and "" report null == true.
func (x *evalCtx) date(n node, fn, param string) (t time.Time, null bool, err error) {
	v, err := x.scalar(n, fn, param)
	if err != nil {
		return time.Time{}, false, err
	}
	switch v := v.(type) {
	case nil:
		return time.Time{}, true, nil
	case time.Time:
		return v, false, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return time.Time{}, true, nil
		}
		if t, ok := parseLooseDate(v); ok {
			return t, false, nil
		}
		return time.Time{}, false, x.fail(n, "%s expects a date as %s, but %s is %q, which is not a date (use ISO 8601, M/d/yyyy h:mm:ss tt, or FormatDateTime to convert it)", fn, param, describe(n), v)
	}
	return time.Time{}, false, x.fail(n, "%s expects a date as %s, but %s is %s", fn, param, describe(n), typeName(v))
}

// list evaluates n as a multi-valued value: null is an empty list, a scalar a
// list of one.
func (x *evalCtx) list(n node) ([]string, error) {
	v, err := x.eval(n)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	}
	return []string{Text(v)}, nil
}

// cond evaluates n as a condition. Null and "" are false (Entra's IIF fails
// instead); "True"/"False" in any case, booleans and numbers (non-zero is
// true) are accepted; any other text is an error.
func (x *evalCtx) cond(n node, fn string) (bool, error) {
	v, err := x.scalar(n, fn, "condition")
	if err != nil {
		return false, err
	}
	b, ok := truth(v)
	if !ok {
		return false, x.fail(n, "%s expects a condition (True or False), but %s is %s", fn, describe(n), quoteValue(v))
	}
	return b, nil
}

func truth(v Value) (bool, bool) {
	switch v := v.(type) {
	case nil:
		return false, true
	case bool:
		return v, true
	case float64:
		return v != 0, true
	case string:
		switch s := strings.TrimSpace(v); {
		case s == "", strings.EqualFold(s, "false"):
			return false, true
		case strings.EqualFold(s, "true"):
			return true, true
		default:
			if f, ok := parseNumber(s); ok {
				return f != 0, true
			}
		}
	}
	return false, false
}

func typeName(v Value) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case time.Time:
		return "a date"
	case []string:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

func quoteValue(v Value) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case time.Time:
		return "the date " + Text(v)
	}
	return typeName(v)
}
