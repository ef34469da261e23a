package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Limits on what Parse and ParsePath accept. A filter arrives in a URL or a
// request body from an untrusted client; these bound the work (and the
// recursion) one request can cause. Real clients send a handful of terms.
const (
	MaxLength = 4096 // bytes
	MaxDepth  = 50   // nested "(", "not (" and "[" levels
)

// Parse parses a SCIM filter (RFC 7644 §3.4.2.2) for resource type rt and
// resolves every attribute path against rt's schemas.
//
// Beyond the RFC grammar it accepts what real clients send: operators,
// keywords and attribute names in any case; runs of whitespace; unquoted
// values (`externalId eq jyoung`, `meta.created gt 2015-10-10T14:38:21-07:00`);
// "True"/"False" as strings for booleans; and Entra's matching form
// `emails[type eq "work"].value eq "x"`, read as
// `emails[type eq "work" and value eq "x"]`.
//
// Values are typed by the attribute they are compared with: a string
// attribute gets a string (so `userName eq 123` compares with "123"), a
// boolean a bool, a number a float64, a dateTime a time.Time. JSON null
// stays nil and is allowed with eq and ne only.
//
// Every error is a *fault.Error of kind fault.InvalidFilter; a nil error
// always comes with a non-nil Expr.
func Parse(rt *schema.ResourceType, s string) (Expr, error) {
	if rt == nil {
		return nil, errors.New("filter.Parse: nil resource type") // a programming error, not the client's
	}
	p, err := newParser(rt, s, fault.InvalidFilter, "filter: ", "filter")
	if err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.trailing(t, `"and", "or" or the end of the filter`)
	}
	return e, nil
}

// parser is a recursive-descent parser over lex's tokens. One grammar serves
// filters and PATCH paths; only the error kind and prefix differ.
//
// It replaces github.com/scim2/filter-parser/v2 (v2.3.1), which agrees with
// it on the RFC subset (checked on 20,000 random filters) but cannot be
// used as is: its value filters take at most two terms and no parentheses,
// it returns string escapes undecoded ("a\"b" gives a\"b), wraps integers
// beyond int64, rejects unquoted values, and its errors ("parse conflict
// [00:001]: expected op.Or or[func func func func]") cannot go to a client.
// The unquoted-value leniency needs a tokenizer anyway; on top of one the
// grammar is the hundred lines below.
type parser struct {
	rt     *schema.ResourceType
	toks   []token
	i      int
	depth  int
	kind   fault.Kind
	prefix string // starts every message: `filter: ` or `path "...": `
	noun   string // "filter" or "path", for messages about the whole input
	// elem is set inside [..]: attribute names there are sub-attributes of it.
	elem *schema.Path
}

func newParser(rt *schema.ResourceType, s string, kind fault.Kind, prefix, noun string) (*parser, error) {
	p := &parser{rt: rt, kind: kind, prefix: prefix, noun: noun}
	switch {
	case len(s) > MaxLength:
		return nil, p.fail("", "the %s is %d bytes long; the limit is %d", noun, len(s), MaxLength)
	case !utf8.ValidString(s):
		return nil, p.fail("", "the %s is not valid UTF-8", noun)
	case strings.IndexByte(s, 0) >= 0:
		// PostgreSQL text cannot hold NUL; refuse it here rather than fail
		// with a 500 in the store.
		return nil, p.fail("", "the %s contains a NUL character", noun)
	case strings.TrimSpace(s) == "":
		return nil, p.fail("", "the %s is empty", noun)
	}
	toks, lerr := lex(s)
	if lerr != nil {
		return nil, p.fail("", "%s", lerr.msg)
	}
	p.toks = toks
	return p, nil
}

// fail builds the error. The message is formatted before the prefix is
// added because the prefix may echo client text containing '%'.
func (p *parser) fail(field, format string, args ...any) error {
	return &fault.Error{Kind: p.kind, Field: field, Message: p.prefix + fmt.Sprintf(format, args...)}
}

func (p *parser) expected(t token, want string) error {
	return p.fail("", "expected %s at position %d, got %s", want, t.pos+1, t.describe())
}

// trailing reports a token left over after a complete filter or path.
func (p *parser) trailing(t token, want string) error {
	switch t.kind {
	case tRParen:
		return p.fail("", `unexpected ")" at position %d without a matching "("`, t.pos+1)
	case tRBrack:
		return p.fail("", `unexpected "]" at position %d without a matching "["`, t.pos+1)
	}
	return p.expected(t, want)
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isKeyword(t token, kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

func (p *parser) enter(open token) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail("", "the %s nests deeper than %d levels at position %d", p.noun, MaxDepth, open.pos+1)
	}
	return nil
}

// parseOr: or binds loosest, then and, then not (RFC 7644 §3.4.2.2).
// Chains associate to the left: a or b or c is Or{Or{a, b}, c}.
func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = Or{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and") {
		p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = And{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		return p.group()
	case isKeyword(t, "not") && p.peekAt(1).kind == tLParen:
		p.next()
		x, err := p.group()
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	case isKeyword(t, "not") && p.peekAt(1).kind == tWord && !isOp(p.peekAt(1).text):
		// The RFC only has not "(" FILTER ")"; say so rather than
		// reporting "not" as an unknown attribute.
		return nil, p.fail("", `"not" at position %d must be followed by a parenthesised filter, as in not (title pr)`, t.pos+1)
	case t.kind == tWord:
		return p.attrTerm()
	}
	return nil, p.expected(t, `an attribute name, "not" or "("`)
}

func (p *parser) group() (Expr, error) {
	open := p.next()
	if err := p.enter(open); err != nil {
		return nil, err
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tRParen {
		return nil, p.fail("", `expected "and", "or" or ")" closing the "(" at position %d, got %s at position %d`, open.pos+1, t.describe(), t.pos+1)
	}
	p.depth--
	return x, nil
}

// attrTerm parses attrExp or valuePath; the current token is a word.
func (p *parser) attrTerm() (Expr, error) {
	name := p.next()
	if p.peek().kind == tLBrack {
		return p.valuePath(name)
	}
	path, err := p.resolve(name)
	if err != nil {
		return nil, err
	}
	return p.comparison(name, path)
}

// resolve resolves an attribute name: against rt at the top level, against
// the bracketed attribute's sub-attributes inside [..].
func (p *parser) resolve(name token) (schema.Path, error) {
	if p.elem != nil {
		sub := subAttr(p.elem.Attr, name.text)
		if sub == nil {
			return schema.Path{}, p.fail(p.elem.String()+"."+name.text, "unknown sub-attribute %s of %s", quote(name.text), p.elem.String())
		}
		return schema.Path{Schema: p.elem.Schema, Attr: p.elem.Attr, Sub: sub}, nil
	}
	path, ok := resolvePath(p.rt, name.text)
	if !ok {
		return schema.Path{}, p.fail(name.text, "unknown attribute %s of %s", quote(name.text), p.rt.Name)
	}
	return path, nil
}

// valuePath parses attr "[" valFilter "]", optionally followed (without
// space) by Entra's ".sub op value".
func (p *parser) valuePath(name token) (Expr, error) {
	if p.elem != nil {
		return nil, p.fail(name.text, "value filters cannot be nested: %s[ at position %d is inside the value filter of %s", name.text, name.pos+1, p.elem.String())
	}
	attr, err := p.valuePathAttr(name)
	if err != nil {
		return nil, err
	}
	filter, closing, err := p.valueFilter(attr)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tWord && t.pos == closing.pos+1 && strings.HasPrefix(t.text, ".") {
		p.next()
		sub := subAttr(attr.Attr, t.text[1:])
		if sub == nil {
			return nil, p.fail(attr.String()+t.text, "unknown sub-attribute %s of %s", quote(t.text[1:]), attr.String())
		}
		c, err := p.comparison(t, schema.Path{Schema: attr.Schema, Attr: attr.Attr, Sub: sub})
		if err != nil {
			return nil, err
		}
		filter = And{Left: filter, Right: c}
	}
	return ValuePath{Attr: attr, Filter: filter}, nil
}

// valuePathAttr resolves the attribute in front of "[": it must be a
// complex attribute, not a sub-attribute.
func (p *parser) valuePathAttr(name token) (schema.Path, error) {
	path, ok := resolvePath(p.rt, name.text)
	switch {
	case !ok:
		return schema.Path{}, p.fail(name.text, "unknown attribute %s of %s", quote(name.text), p.rt.Name)
	case path.Sub != nil:
		return schema.Path{}, p.fail(path.String(), "a value filter [...] applies to a complex attribute, but %s is a sub-attribute", path.String())
	case path.Attr.Type != schema.Complex:
		return schema.Path{}, p.fail(path.String(), "a value filter [...] applies to a complex attribute, but %s is of type %s", path.String(), path.Attr.Type)
	}
	return path, nil
}

// valueFilter parses "[" valFilter "]" for attr; the current token is "[".
// Inside, the full filter grammar applies (the RFC's valFilter uses logExp,
// so a and b and c and grouping are allowed), minus nested value paths.
func (p *parser) valueFilter(attr schema.Path) (Expr, token, error) {
	open := p.next()
	if err := p.enter(open); err != nil {
		return nil, token{}, err
	}
	if p.peek().kind == tRBrack {
		return nil, token{}, p.fail(attr.String(), "the value filter of %s at position %d is empty", attr.String(), open.pos+1)
	}
	p.elem = &attr
	x, err := p.parseOr()
	p.elem = nil
	if err != nil {
		return nil, token{}, err
	}
	closing := p.next()
	if closing.kind != tRBrack {
		return nil, token{}, p.fail("", `expected "and", "or" or "]" closing the "[" at position %d, got %s at position %d`, open.pos+1, closing.describe(), closing.pos+1)
	}
	p.depth--
	return x, closing, nil
}

var ops = map[string]Op{"eq": Eq, "ne": Ne, "co": Co, "sw": Sw, "ew": Ew, "gt": Gt, "ge": Ge, "lt": Lt, "le": Le, "pr": Pr}

func isOp(s string) bool { _, ok := ops[strings.ToLower(s)]; return ok }

// comparison parses "op value" (or "pr") after the attribute name.
func (p *parser) comparison(name token, path schema.Path) (Expr, error) {
	field := path.String()
	ot := p.next()
	op, ok := ops[strings.ToLower(ot.text)]
	if ot.kind != tWord || !ok {
		if ot.kind == tWord {
			return nil, p.fail(field, "unknown operator %s after %s at position %d; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr", quote(ot.text), quote(name.text), ot.pos+1)
		}
		return nil, p.fail(field, "expected an operator after %s at position %d, got %s", quote(name.text), ot.pos+1, ot.describe())
	}
	if op == Pr {
		// pr on a complex attribute asks whether it has any value at all,
		// so the path stays on the attribute itself.
		return Compare{Path: path, Op: Pr}, nil
	}
	if a := path.Target(); a.Type == schema.Complex {
		// RFC 7644 §3.4.2.2: `emails co "x"` compares the value sub-attribute.
		v := a.Sub("value")
		if v == nil {
			return nil, p.fail(field, "%s is a complex attribute; compare one of its sub-attributes (%s)", field, subNames(a))
		}
		path.Sub = v
		field = path.String()
	}
	vt := p.next()
	if vt.kind != tString && vt.kind != tWord {
		return nil, p.fail(field, "expected a value after %s %s at position %d, got %s", quote(name.text), op, vt.pos+1, vt.describe())
	}
	v, err := p.value(path, op, vt)
	if err != nil {
		return nil, err
	}
	return Compare{Path: path, Op: op, Value: v}, nil
}

// value types the comparison value by the attribute it is compared with and
// rejects operator/type combinations RFC 7644 §3.4.2.2 rules out.
func (p *parser) value(path schema.Path, op Op, vt token) (any, error) {
	a, field := path.Target(), path.String()
	text, bare := vt.text, vt.kind == tWord
	if !bare {
		text = vt.val
	}
	if bare && strings.EqualFold(text, "null") {
		if op != Eq && op != Ne {
			return nil, p.fail(field, "operator %s needs a value, not null (null is allowed with eq and ne)", op)
		}
		return nil, nil
	}
	substring := op == Co || op == Sw || op == Ew
	ordering := op == Gt || op == Ge || op == Lt || op == Le
	switch a.Type {
	case schema.Boolean:
		if substring || ordering {
			return nil, p.fail(field, "operator %s is not allowed on boolean attribute %s", op, field)
		}
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, p.fail(field, "%s is a boolean attribute; expected true or false, got %s", field, vt.describe())
	case schema.Integer, schema.Decimal:
		if substring {
			return nil, p.fail(field, "operator %s is not allowed on numeric attribute %s", op, field)
		}
		if f, ok := parseNumber(text); ok {
			return f, nil
		}
		return nil, p.fail(field, "%s is a numeric attribute; expected a number, got %s", field, vt.describe())
	case schema.DateTime:
		if substring {
			return nil, p.fail(field, "operator %s is not allowed on dateTime attribute %s", op, field)
		}
		t, err := schema.ParseDateTime(strings.TrimSpace(text))
		if err != nil {
			return nil, p.fail(field, "%s is not a dateTime for %s; use xsd:dateTime such as 2011-05-13T04:42:34Z", quote(text), field)
		}
		return t, nil
	case schema.Binary:
		if ordering {
			return nil, p.fail(field, "operator %s is not allowed on binary attribute %s", op, field)
		}
	}
	// string and reference (and binary, base64 text): a bare true, false or
	// number is the text the client typed.
	return text, nil
}

// parseNumber accepts JSON-style numbers; strconv alone would also take
// "Inf", "0x1p3" and "1_000".
func parseNumber(s string) (float64, bool) {
	if s == "" || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func subNames(a *schema.Attribute) string {
	names := make([]string, len(a.SubAttributes))
	for i, s := range a.SubAttributes {
		names[i] = a.Name + "." + s.Name
	}
	return strings.Join(names, ", ")
}

// subAttr finds a sub-attribute case-insensitively. Like schema.Normalize it
// takes "displayName" for a "display" sub-attribute: RFC 7644 §3.5.2's own
// example path is members[value eq "..."].displayName.
func subAttr(a *schema.Attribute, name string) *schema.Attribute {
	if s := a.Sub(name); s != nil {
		return s
	}
	if strings.EqualFold(name, "displayName") {
		return a.Sub("display")
	}
	return nil
}

// resolvePath is rt.Resolve plus subAttr's displayName alias.
func resolvePath(rt *schema.ResourceType, name string) (schema.Path, bool) {
	if path, ok := rt.Resolve(name); ok {
		return path, true
	}
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return schema.Path{}, false
	}
	path, ok := rt.Resolve(name[:i])
	if !ok || path.Sub != nil || path.Attr.Type != schema.Complex {
		return schema.Path{}, false
	}
	if path.Sub = subAttr(path.Attr, name[i+1:]); path.Sub == nil {
		return schema.Path{}, false
	}
	return path, true
}
