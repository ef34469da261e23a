package mapping

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// node is one element of the syntax tree. Offsets are byte offsets into the
// source; messages convert them to 1-based character positions.
type node interface {
	offset() int
	write(b *strings.Builder)
}

type (
	strLit struct {
		at  int
		v   string
		val Value // v, boxed once so that Eval does not allocate
	}
	numLit struct {
		at  int
		v   float64
		hex bool
	}
	boolLit struct {
		at int
		v  bool
	}
	// identLit is a bare name that is not a call: the VBA constants
	// vbBinaryCompare and vbTextCompare.
	identLit struct {
		at   int
		name string
	}
	attrRef struct {
		at   int
		name string
	}
	// omitted is an empty argument, as in Switch([x], , "a", "b").
	omitted struct{ at int }
	call    struct {
		at   int
		fn   *funcDef
		args []node
		aux  any // compile-time artefacts (compiled regex, date format, ...)
	}
	compare struct {
		at   int
		op   string
		l, r node
	}
)

func (n *strLit) offset() int   { return n.at }
func (n *numLit) offset() int   { return n.at }
func (n *boolLit) offset() int  { return n.at }
func (n *identLit) offset() int { return n.at }
func (n *attrRef) offset() int  { return n.at }
func (n *omitted) offset() int  { return n.at }
func (n *call) offset() int     { return n.at }
func (n *compare) offset() int  { return n.at }

func (n *strLit) write(b *strings.Builder) { writeQuoted(b, n.v) }
func (n *numLit) write(b *strings.Builder) {
	if n.hex {
		b.WriteString("&H")
		b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(n.v), 16)))
		return
	}
	b.WriteString(strconv.FormatFloat(n.v, 'f', -1, 64))
}
func (n *boolLit) write(b *strings.Builder) {
	if n.v {
		b.WriteString("true")
	} else {
		b.WriteString("false")
	}
}
func (n *identLit) write(b *strings.Builder) { b.WriteString(n.name) }
func (n *attrRef) write(b *strings.Builder) {
	b.WriteByte('[')
	b.WriteString(n.name)
	b.WriteByte(']')
}
func (n *omitted) write(*strings.Builder) {}
func (n *call) write(b *strings.Builder) {
	b.WriteString(n.fn.name)
	b.WriteByte('(')
	for i, a := range n.args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.write(b)
	}
	b.WriteByte(')')
}
func (n *compare) write(b *strings.Builder) {
	n.l.write(b)
	b.WriteByte(' ')
	b.WriteString(n.op)
	b.WriteByte(' ')
	n.r.write(b)
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// constants are the bare names the parser accepts outside brackets.
var constants = map[string]string{
	"vbbinarycompare": "vbBinaryCompare",
	"vbtextcompare":   "vbTextCompare",
}

// MaxLength is the longest expression Compile accepts, in characters (Entra's
// limit).
const MaxLength = 10000

// maxDepth bounds call nesting so that hostile input cannot exhaust the stack.
const maxDepth = 100

type parser struct {
	src   string
	i     int
	depth int
	err   *syntaxError
}

// syntaxError carries a byte offset; Compile turns it into a fault.Error.
type syntaxError struct {
	at  int
	msg string
}

func (p *parser) fail(at int, msg string) {
	if p.err == nil {
		p.err = &syntaxError{at: at, msg: msg}
	}
}

func (p *parser) skipSpace() {
	for p.i < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += n
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.src) {
		return p.src[p.i]
	}
	return 0
}

// parseTop parses a whole expression.
func (p *parser) parseTop() node {
	p.skipSpace()
	if p.i >= len(p.src) {
		p.fail(0, "the expression is empty")
		return nil
	}
	n := p.parseExpr()
	if p.err != nil {
		return nil
	}
	p.skipSpace()
	if p.i < len(p.src) {
		p.fail(p.i, "unexpected "+p.describe()+" after the end of the expression")
		return nil
	}
	return n
}

// parseExpr parses operand [op operand].
func (p *parser) parseExpr() node {
	l := p.parseOperand()
	if p.err != nil {
		return nil
	}
	p.skipSpace()
	at := p.i
	op := p.compareOp()
	if op == "" {
		return l
	}
	p.skipSpace()
	if c := p.peek(); c == ',' || c == ')' || c == 0 {
		p.fail(p.i, "expected a value after "+op)
		return nil
	}
	r := p.parseOperand()
	if p.err != nil {
		return nil
	}
	p.skipSpace()
	if p.compareOp() != "" {
		p.fail(at, "comparisons cannot be chained; nest them with IIF, And or Or")
		return nil
	}
	return &compare{at: at, op: op, l: l, r: r}
}

func (p *parser) compareOp() string {
	rest := p.src[p.i:]
	for _, op := range []string{"<>", ">=", "<=", "=", ">", "<"} {
		if strings.HasPrefix(rest, op) {
			if op == "=" && strings.HasPrefix(rest, "==") {
				p.fail(p.i, "use = to compare (there is no ==)")
				return ""
			}
			p.i += len(op)
			return op
		}
	}
	if strings.HasPrefix(rest, "!=") {
		p.fail(p.i, "use <> for not equal")
	}
	return ""
}

func (p *parser) parseOperand() node {
	p.skipSpace()
	at := p.i
	c := p.peek()
	switch {
	case c == '"':
		return p.parseString()
	case c == '[':
		return p.parseAttr()
	case c == '-' || c >= '0' && c <= '9':
		return p.parseNumber()
	case c == '&':
		return p.parseHex()
	case c == '_' || isLetterAt(p.src, p.i):
		return p.parseName()
	case c == 0:
		p.fail(at, "unexpected end of the expression")
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.i:])
		switch r {
		case '“', '”', '„', '«', '»':
			p.fail(at, "unexpected "+strconv.QuoteRune(r)+": string constants use straight double quotes (\")")
		case '\'':
			p.fail(at, "unexpected ': string constants use double quotes (\")")
		default:
			p.fail(at, "unexpected "+p.describe()+"; expected a function call, an [attribute], a \"string\" or a number")
		}
	}
	return nil
}

func (p *parser) describe() string {
	if p.i >= len(p.src) {
		return "end of the expression"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.i:])
	return strconv.QuoteRune(r)
}

func (p *parser) parseString() node {
	at := p.i
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch c {
		case '"':
			p.i++
			v := b.String()
			return &strLit{at: at, v: v, val: v}
		case '\\':
			// \" and \\ are escapes; any other backslash is kept as is, so
			// regex patterns such as "\d" survive.
			if p.i+1 < len(p.src) && (p.src[p.i+1] == '"' || p.src[p.i+1] == '\\') {
				b.WriteByte(p.src[p.i+1])
				p.i += 2
				continue
			}
		}
		b.WriteByte(c)
		p.i++
	}
	p.fail(at, "the string constant is not closed with \"")
	return nil
}

func (p *parser) parseAttr() node {
	at := p.i
	p.i++ // [
	start, depth, inQuote := p.i, 0, false
	for ; p.i < len(p.src); p.i++ {
		c := p.src[p.i]
		switch {
		case inQuote:
			if c == '\\' && p.i+1 < len(p.src) {
				p.i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '[':
			depth++
		case c == ']':
			if depth == 0 {
				raw := p.src[start:p.i]
				p.i++
				name := strings.TrimSpace(raw)
				if name == "" {
					p.fail(at, "the attribute name between [ and ] is empty")
					return nil
				}
				if strings.ContainsAny(name, "\r\n") {
					p.fail(at, "an attribute name cannot span lines")
					return nil
				}
				return &attrRef{at: at, name: name}
			}
			depth--
		}
	}
	p.fail(at, "the attribute reference is not closed with ]")
	return nil
}

func (p *parser) parseNumber() node {
	at := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		p.fail(at, "expected digits after -")
		return nil
	}
	if p.peek() == '.' {
		p.i++
		frac := p.i
		for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
		}
		if p.i == frac {
			p.fail(at, "expected digits after the decimal point")
			return nil
		}
	}
	if c := p.peek(); c == '_' || isLetterAt(p.src, p.i) {
		p.fail(p.i, "unexpected "+p.describe()+" in a number")
		return nil
	}
	f, err := strconv.ParseFloat(p.src[at:p.i], 64)
	if err != nil || math.IsInf(f, 0) {
		p.fail(at, "the number "+p.src[at:p.i]+" is out of range")
		return nil
	}
	return &numLit{at: at, v: f}
}

func (p *parser) parseHex() node {
	at := p.i
	if p.i+1 >= len(p.src) || (p.src[p.i+1] != 'H' && p.src[p.i+1] != 'h') {
		p.fail(at, "unexpected &; hexadecimal numbers are written &H followed by hex digits")
		return nil
	}
	p.i += 2
	start := p.i
	for p.i < len(p.src) && isHexDigit(p.src[p.i]) {
		p.i++
	}
	if p.i == start {
		p.fail(at, "expected hex digits after &H")
		return nil
	}
	u, err := strconv.ParseUint(p.src[start:p.i], 16, 64)
	if err != nil || u > maxExactInt {
		p.fail(at, "the hexadecimal number &H"+p.src[start:p.i]+" is larger than &H20000000000000")
		return nil
	}
	return &numLit{at: at, v: float64(u), hex: true}
}

func isLetterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return i < len(s) && unicode.IsLetter(r)
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (p *parser) parseName() node {
	at := p.i
	for p.i < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.i:])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		p.i += n
	}
	name := p.src[at:p.i]
	end := p.i
	p.skipSpace()
	if p.peek() != '(' {
		p.i = end
		switch lower := strings.ToLower(name); lower {
		case "true", "false":
			return &boolLit{at: at, v: lower == "true"}
		default:
			if c, ok := constants[lower]; ok {
				return &identLit{at: at, name: c}
			}
		}
		p.fail(at, "unknown name "+name+"; attribute references are written in brackets, as in ["+name+"], and function calls need parentheses")
		return nil
	}
	fn := lookupFunc(name)
	if fn == nil {
		msg := "unknown function " + name
		if s := suggest(name); s != "" {
			msg += "; did you mean " + s + "?"
		}
		p.fail(at, msg)
		return nil
	}
	p.i++ // (
	p.depth++
	if p.depth > maxDepth {
		p.fail(at, "functions are nested more than "+strconv.Itoa(maxDepth)+" deep")
		return nil
	}
	c := &call{at: at, fn: fn}
	p.skipSpace()
	if p.peek() == ')' {
		p.i++
		p.depth--
		return c
	}
	for {
		p.skipSpace()
		if ch := p.peek(); ch == ',' || ch == ')' {
			c.args = append(c.args, &omitted{at: p.i})
		} else {
			a := p.parseExpr()
			if p.err != nil {
				return nil
			}
			c.args = append(c.args, a)
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
			p.i++
			p.depth--
			return c
		case 0:
			p.fail(at, "the call to "+fn.name+" is not closed with )")
			return nil
		default:
			p.fail(p.i, "unexpected "+p.describe()+" in the arguments of "+fn.name+"; expected , or )")
			return nil
		}
	}
}

// aliases suggests Entra functions for names people bring from elsewhere.
var aliases = map[string]string{
	"concat": "Join", "concatenate": "Join", "substring": "Mid", "substr": "Mid", "lower": "ToLower",
	"lcase": "ToLower", "upper": "ToUpper", "ucase": "ToUpper", "if": "IIF", "iff": "IIF", "len": "Count",
	"trim": "StripSpaces", "proper": "PCase", "isempty": "IsNullOrEmpty", "case": "Switch", "ifnull": "Coalesce",
}

// suggest returns the known function closest to name, or "".
func suggest(name string) string {
	lower := strings.ToLower(name)
	if a, ok := aliases[lower]; ok {
		return a
	}
	limit := 1
	switch n := len(lower); {
	case n > 8:
		limit = 3
	case n > 4:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, fn := range funcList {
		if d := editDistance(lower, strings.ToLower(fn.name)); d < bestD {
			best, bestD = fn.name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent letters cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
