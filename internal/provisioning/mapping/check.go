package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// kind is the static type of a node, as far as Compile can know it.
type kind uint8

const (
	kAny kind = iota // attributes and pass-through functions: known at run time
	kString
	kNumber
	kBool
	kDate
	kList
	kNone // an omitted argument
)

// pkind is what a parameter accepts.
type pkind uint8

const (
	pAny     pkind = iota // any value, lists included
	pText                 // one value, used as text
	pNumber               // a number; a string constant must be numeric
	pDate                 // a date; a string constant must be a date
	pCond                 // a condition
	pList                 // a list or a single value
	pAttr                 // an [attribute] reference
	pLit                  // a string constant
	pCompare              // vbBinaryCompare or vbTextCompare
)

type param struct {
	name     string
	kind     pkind
	optional bool // may be omitted (left empty) or left off at the end
}

// funcDef describes one function of the language.
type funcDef struct {
	name     string
	params   []param
	repeat   int // the last repeat parameters repeat (variadic functions)
	min      int // fewest arguments
	ret      kind
	volatile bool
	check    func(ck *checker, c *call) *syntaxError // extra compile-time checks
	eval     func(x *evalCtx, c *call) (Value, error)
}

func (f *funcDef) signature() string {
	var b strings.Builder
	b.WriteString(f.name)
	b.WriteByte('(')
	for i, p := range f.params {
		if i > 0 {
			b.WriteString(", ")
		}
		if p.optional {
			b.WriteString("[" + p.name + "]")
		} else {
			b.WriteString(p.name)
		}
	}
	if f.repeat > 0 {
		b.WriteString(", …")
	}
	b.WriteByte(')')
	return b.String()
}

func (f *funcDef) param(i int) param {
	if n := len(f.params); i >= n {
		return f.params[n-f.repeat+(i-n)%f.repeat]
	}
	return f.params[i]
}

var funcIndex = func() map[string]*funcDef {
	m := make(map[string]*funcDef, len(funcList))
	for _, f := range funcList {
		m[strings.ToLower(f.name)] = f
	}
	return m
}()

// lookupFunc finds a function by name, case-insensitively (Entra's names are
// case-sensitive; accepting any case loses nothing and String() restores the
// canonical spelling).
func lookupFunc(name string) *funcDef { return funcIndex[strings.ToLower(name)] }

// Functions lists the names of every function the language knows.
func Functions() []string {
	out := make([]string, len(funcList))
	for i, f := range funcList {
		out[i] = f.name
	}
	return out
}

type checker struct {
	e    *Expr
	seen map[string]bool
}

func errAt(n node, format string, args ...any) *syntaxError {
	return &syntaxError{at: n.offset(), msg: fmt.Sprintf(format, args...)}
}

func kindOf(n node) kind {
	switch n := n.(type) {
	case *strLit, *identLit:
		return kString
	case *numLit:
		return kNumber
	case *boolLit:
		return kBool
	case *omitted:
		return kNone
	case *compare:
		return kBool
	case *call:
		return n.fn.ret
	}
	return kAny
}

var kindNames = map[kind]string{
	kString: "a string", kNumber: "a number", kBool: "a boolean", kDate: "a date", kList: "a list",
}

func (ck *checker) check(n node, top bool) *syntaxError {
	switch n := n.(type) {
	case *attrRef:
		key := strings.ToLower(n.name)
		if !ck.seen[key] {
			ck.seen[key] = true
			ck.e.attrs = append(ck.e.attrs, n.name)
		}
	case *identLit:
		return errAt(n, "%s can only be used as the compareType of InStr", n.name)
	case *compare:
		if err := ck.check(n.l, false); err != nil {
			return err
		}
		return ck.check(n.r, false)
	case *call:
		return ck.checkCall(n, top)
	}
	return nil
}

func (ck *checker) checkCall(c *call, top bool) *syntaxError {
	f := c.fn
	// Trailing omitted arguments beyond the parameter list are tolerated only
	// if the function has that many parameters.
	if len(c.args) < f.min || f.repeat == 0 && len(c.args) > len(f.params) {
		return errAt(c, "%s expects %s, got %d; its form is %s", f.name, arity(f), len(c.args), f.signature())
	}
	switch f.name {
	case "SelectUniqueValue":
		if !top {
			return errAt(c, "SelectUniqueValue must be the whole expression; it cannot be nested in another function")
		}
		ck.e.unique = true
	case "Redact":
		ck.e.redacted = true
	}
	if f.volatile {
		ck.e.volatile = true
	}
	for i, a := range c.args {
		p := f.param(i)
		if err := ck.checkArg(c, i, p, a); err != nil {
			return err
		}
		if p.kind == pCompare {
			continue // constants need no further checks
		}
		if err := ck.check(a, false); err != nil {
			return err
		}
	}
	if f.check != nil {
		return f.check(ck, c)
	}
	return nil
}

func arity(f *funcDef) string {
	switch {
	case f.repeat > 0:
		return "at least " + plural(f.min, "argument")
	case f.min == len(f.params):
		return plural(f.min, "argument")
	default:
		return "from " + strconv.Itoa(f.min) + " to " + plural(len(f.params), "argument")
	}
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return strconv.Itoa(n) + " " + s + "s"
}

func ordinal(i int) string {
	switch i {
	case 0:
		return "first"
	case 1:
		return "second"
	case 2:
		return "third"
	case 3:
		return "fourth"
	case 4:
		return "fifth"
	case 5:
		return "sixth"
	case 6:
		return "seventh"
	}
	return "argument " + strconv.Itoa(i+1)
}

func (ck *checker) checkArg(c *call, i int, p param, a node) *syntaxError {
	f := c.fn
	k := kindOf(a)
	if k == kNone {
		if !p.optional {
			return errAt(a, "%s needs a value for %s (its %s argument); it cannot be left empty", f.name, p.name, ordinal(i))
		}
		return nil
	}
	got := func() string {
		switch a := a.(type) {
		case *strLit:
			return strconv.Quote(a.v)
		case *call:
			return a.fn.name + "(…), which returns " + kindNames[k]
		}
		if s, ok := kindNames[k]; ok {
			return s
		}
		return "that"
	}
	switch p.kind {
	case pText:
		if k == kList {
			return errAt(a, "%s expects a single value as %s, got %s; pick one value with Item or combine them with Join", f.name, p.name, got())
		}
	case pNumber:
		if s, ok := a.(*strLit); ok {
			if _, ok := parseNumber(s.v); !ok {
				return errAt(a, "%s expects a number as %s, got %s", f.name, p.name, got())
			}
		} else if k == kBool || k == kDate || k == kList {
			return errAt(a, "%s expects a number as %s, got %s", f.name, p.name, got())
		}
	case pDate:
		if s, ok := a.(*strLit); ok {
			if _, ok := parseLooseDate(s.v); !ok {
				return errAt(a, "%s expects a date as %s, but %s is not a date (use ISO 8601 such as \"2021-06-30T08:00:00Z\", or M/d/yyyy h:mm:ss tt)", f.name, p.name, got())
			}
		} else if k == kNumber || k == kBool || k == kList {
			return errAt(a, "%s expects a date as %s, got %s; convert it with CDate or DateFromNum", f.name, p.name, got())
		}
	case pCond:
		bad := k == kDate || k == kList
		if s, ok := a.(*strLit); ok {
			_, valid := truth(s.v)
			bad = !valid
		}
		if bad {
			return errAt(a, "%s expects a condition (True or False) as its %s argument, got %s", f.name, ordinal(i), got())
		}
	case pAttr:
		if _, ok := a.(*attrRef); !ok {
			return errAt(a, "%s expects an attribute reference such as [%s] as %s", f.name, p.name, p.name)
		}
	case pLit:
		if _, ok := a.(*strLit); !ok {
			return errAt(a, "%s expects a string constant in double quotes as %s", f.name, p.name)
		}
	case pCompare:
		if _, ok := compareMode(a); !ok {
			return errAt(a, "%s expects vbBinaryCompare or vbTextCompare as %s", f.name, p.name)
		}
	}
	return nil
}

// compareMode reads InStr's compareType: true means case-insensitive.
func compareMode(a node) (textCompare bool, ok bool) {
	switch a := a.(type) {
	case *identLit:
		return a.name == "vbTextCompare", true
	case *numLit:
		switch a.v {
		case 0:
			return false, true
		case 1:
			return true, true
		}
	case *strLit:
		switch strings.ToLower(a.v) {
		case "vbbinarycompare", "0":
			return false, true
		case "vbtextcompare", "1":
			return true, true
		}
	}
	return false, false
}

// literalNumber returns the value of a number constant (or numeric string
// constant) argument, if it is one.
func literalNumber(a node) (float64, bool) {
	switch a := a.(type) {
	case *numLit:
		return a.v, true
	case *strLit:
		return parseNumber(a.v)
	}
	return 0, false
}

// checkWhole verifies that constant number arguments at the given indexes are
// whole numbers no smaller than lo.
func checkWhole(c *call, lo int64, idx ...int) *syntaxError {
	for _, i := range idx {
		if i >= len(c.args) {
			continue
		}
		f, ok := literalNumber(c.args[i])
		if !ok {
			continue
		}
		n, whole := asInt(f)
		p := c.fn.param(i)
		if !whole {
			return errAt(c.args[i], "%s expects a whole number as %s, got %s", c.fn.name, p.name, formatNumber(f))
		}
		if n < lo {
			return errAt(c.args[i], "%s expects %s to be at least %d, got %d", c.fn.name, p.name, lo, n)
		}
	}
	return nil
}

// literalDate returns the value of a constant date argument, if it is one.
func literalDate(a node) (time.Time, bool) {
	if s, ok := a.(*strLit); ok {
		return parseLooseDate(s.v)
	}
	return time.Time{}, false
}

func isOmitted(c *call, i int) bool {
	if i >= len(c.args) {
		return true
	}
	_, ok := c.args[i].(*omitted)
	return ok
}

func arg(c *call, i int) node {
	if i >= len(c.args) {
		return &omitted{at: c.at}
	}
	return c.args[i]
}
