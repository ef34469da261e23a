package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func p(name string, k pkind) param     { return param{name: name, kind: k} }
func opt(name string, k pkind) param   { return param{name: name, kind: k, optional: true} }
func one(name string, k pkind) []param { return []param{p(name, k)} }

// funcList is the function set: Entra's (reference §1.4, Microsoft Learn
// "Reference for writing expressions for attribute mappings") plus And and Or.
var funcList = []*funcDef{
	{name: "And", params: []param{p("condition1", pCond), p("condition2", pCond)}, repeat: 1, min: 2, ret: kBool, eval: evalAndOr(false)},
	{name: "Append", params: []param{p("source", pText), p("suffix", pText)}, min: 2, ret: kString, eval: evalAppend},
	{name: "AppRoleAssignmentsComplex", params: one("appRoleAssignments", pAttr), min: 1, ret: kList, eval: evalRoleList},
	{name: "AssertiveAppRoleAssignmentsComplex", params: one("appRoleAssignments", pAttr), min: 1, ret: kList, eval: evalRoleList},
	{name: "BitAnd", params: []param{p("value1", pNumber), p("value2", pNumber)}, min: 2, ret: kNumber, check: checkBitAnd, eval: evalBitAnd},
	{name: "CBool", params: one("expression", pCond), min: 1, ret: kBool, eval: evalCBool},
	{name: "CDate", params: one("expression", pDate), min: 1, ret: kDate, eval: evalCDate},
	{name: "Coalesce", params: one("source", pAny), repeat: 1, min: 1, ret: kAny, eval: evalCoalesce},
	{name: "ConvertToBase64", params: one("source", pText), min: 1, ret: kString, eval: evalBase64},
	{name: "ConvertToUTF8Hex", params: one("source", pText), min: 1, ret: kString, eval: evalUTF8Hex},
	{name: "Count", params: one("attribute", pList), min: 1, ret: kNumber, eval: evalCount},
	{name: "CStr", params: one("value", pText), min: 1, ret: kString, eval: evalCStr},
	{name: "DateAdd", params: []param{p("interval", pLit), p("value", pNumber), p("dateTime", pDate)}, min: 3, ret: kDate, check: checkDateAdd, eval: evalDateAdd},
	{name: "DateDiff", params: []param{p("interval", pLit), p("date1", pDate), p("date2", pDate)}, min: 3, ret: kNumber, check: checkInterval, eval: evalDateDiff},
	{name: "DateFromNum", params: one("value", pNumber), min: 1, ret: kDate, eval: evalDateFromNum},
	{name: "FormatDateTime", params: []param{p("source", pText), opt("dateTimeStyles", pLit), p("inputFormat", pLit), p("outputFormat", pLit)}, min: 4, ret: kString, check: checkFormatDateTime, eval: evalFormatDateTime},
	{name: "Guid", min: 0, ret: kString, volatile: true, eval: evalGuid},
	{name: "IgnoreFlowIfNullOrEmpty", params: one("expression", pAny), min: 1, ret: kAny, eval: evalIgnoreFlow},
	{name: "IIF", params: []param{p("condition", pCond), p("valueIfTrue", pAny), p("valueIfFalse", pAny)}, min: 3, ret: kAny, eval: evalIIF},
	{name: "InStr", params: []param{p("value1", pText), p("value2", pText), opt("start", pNumber), opt("compareType", pCompare)}, min: 2, ret: kNumber, check: checkInStr, eval: evalInStr},
	{name: "IsNull", params: one("expression", pAny), min: 1, ret: kBool, eval: evalIs(func(v Value) bool { return isNull(v) })},
	{name: "IsNullOrEmpty", params: one("expression", pAny), min: 1, ret: kBool, eval: evalIs(IsNullOrEmpty)},
	{name: "IsPresent", params: one("expression", pAny), min: 1, ret: kBool, eval: evalIs(func(v Value) bool { return !IsNullOrEmpty(v) })},
	{name: "IsString", params: one("expression", pAny), min: 1, ret: kBool, eval: evalIs(func(v Value) bool { _, ok := v.(string); return ok })},
	{name: "Item", params: []param{p("attribute", pList), p("index", pNumber)}, min: 2, ret: kString, check: checkItem, eval: evalItem},
	{name: "Join", params: []param{p("separator", pText), p("source", pList)}, repeat: 1, min: 2, ret: kString, check: checkJoin, eval: evalJoin},
	{name: "Left", params: []param{p("String", pText), p("NumChars", pNumber)}, min: 2, ret: kString, check: checkLeft, eval: evalLeft},
	{name: "Mid", params: []param{p("source", pText), p("start", pNumber), p("length", pNumber)}, min: 3, ret: kString, check: checkMid, eval: evalMid},
	{name: "NormalizeDiacritics", params: one("source", pText), min: 1, ret: kString, eval: evalStringFunc(normalizeDiacritics)},
	{name: "Not", params: one("source", pText), min: 1, ret: kBool, eval: evalNot},
	{name: "Now", min: 0, ret: kDate, volatile: true, eval: evalNow},
	{name: "NumFromDate", params: one("value", pDate), min: 1, ret: kString, eval: evalNumFromDate},
	{name: "Or", params: []param{p("condition1", pCond), p("condition2", pCond)}, repeat: 1, min: 2, ret: kBool, eval: evalAndOr(true)},
	{name: "PCase", params: []param{p("source", pText), opt("wordSeparators", pText)}, min: 1, ret: kString, eval: evalPCase},
	{name: "RandomString", params: []param{p("Length", pNumber), p("MinimumNumbers", pNumber), p("MinimumSpecialCharacters", pNumber), p("MinimumCapital", pNumber), p("MinimumLowerCase", pNumber), opt("CharactersToAvoid", pText)}, min: 5, ret: kString, volatile: true, check: checkRandomString, eval: evalRandomString},
	{name: "Redact", params: one("value", pAny), min: 1, ret: kAny, eval: evalRedact},
	{name: "RemoveDuplicates", params: one("attribute", pList), min: 1, ret: kList, eval: evalRemoveDuplicates},
	{name: "Replace", params: []param{p("source", pText), opt("oldValue", pText), opt("regexPattern", pLit), opt("regexGroupName", pLit), opt("replacementValue", pText), opt("replacementAttributeName", pText), opt("template", pText)}, min: 3, ret: kString, check: checkReplace, eval: evalReplace},
	{name: "SelectUniqueValue", params: one("uniqueValueRule", pText), repeat: 1, min: 2, ret: kString, eval: evalSelectUniqueValue},
	{name: "SingleAppRoleAssignment", params: one("appRoleAssignments", pAttr), min: 1, ret: kString, eval: evalSingleRole},
	{name: "Split", params: []param{p("source", pText), p("delimiter", pText)}, min: 2, ret: kList, check: checkSplit, eval: evalSplit},
	{name: "StripSpaces", params: one("source", pText), min: 1, ret: kString, eval: evalStringFunc(func(s string) string { return strings.ReplaceAll(s, " ", "") })},
	{name: "Switch", params: []param{p("source", pText), opt("defaultValue", pAny), p("key", pText), p("value", pAny)}, repeat: 2, min: 4, ret: kAny, check: checkSwitch, eval: evalSwitch},
	{name: "ToLower", params: []param{p("source", pText), opt("culture", pLit)}, min: 1, ret: kString, check: checkCulture, eval: evalCase(false)},
	{name: "ToUpper", params: []param{p("source", pText), opt("culture", pLit)}, min: 1, ret: kString, check: checkCulture, eval: evalCase(true)},
	{name: "Word", params: []param{p("String", pText), p("WordNumber", pNumber), p("Delimiters", pText)}, min: 3, ret: kString, check: checkWord, eval: evalWord},
}

// reqInt evaluates a required whole-number argument; null is an error.
func (x *evalCtx) reqInt(c *call, i int) (int64, error) {
	p := c.fn.param(i)
	n, null, err := x.integer(c.args[i], c.fn.name, p.name)
	if err != nil {
		return 0, err
	}
	if null {
		return 0, x.fail(c.args[i], "%s needs a number as %s, but %s is null or empty", c.fn.name, p.name, describe(c.args[i]))
	}
	return n, nil
}

// evalStringFunc lifts a string transformation: null in, null out.
func evalStringFunc(f func(string) string) func(*evalCtx, *call) (Value, error) {
	return func(x *evalCtx, c *call) (Value, error) {
		s, null, err := x.text(c.args[0], c.fn.name, c.fn.params[0].name)
		if err != nil || null {
			return nil, err
		}
		return f(s), nil
	}
}

func evalIs(f func(Value) bool) func(*evalCtx, *call) (Value, error) {
	return func(x *evalCtx, c *call) (Value, error) {
		v, err := x.eval(c.args[0])
		if err != nil {
			return nil, err
		}
		return f(v), nil
	}
}

func evalAndOr(or bool) func(*evalCtx, *call) (Value, error) {
	return func(x *evalCtx, c *call) (Value, error) {
		for _, a := range c.args {
			b, err := x.cond(a, c.fn.name)
			if err != nil {
				return nil, err
			}
			if b == or {
				return or, nil // short-circuit
			}
		}
		return !or, nil
	}
}

func evalCBool(x *evalCtx, c *call) (Value, error) { return x.cond(c.args[0], "CBool") }

// evalNot follows Entra: "If source value is True, returns False. Otherwise,
// returns True." Null and unrecognised text are therefore not True.
func evalNot(x *evalCtx, c *call) (Value, error) {
	v, err := x.scalar(c.args[0], "Not", "source")
	if err != nil {
		return nil, err
	}
	b, _ := truth(v)
	return !b, nil
}

// evalIIF evaluates only the branch it returns. A null or empty condition is
// false (Entra's IIF fails instead).
func evalIIF(x *evalCtx, c *call) (Value, error) {
	b, err := x.cond(c.args[0], "IIF")
	if err != nil {
		return nil, err
	}
	if b {
		return x.eval(c.args[1])
	}
	return x.eval(c.args[2])
}

// evalSwitch compares the source's text with each key, case-sensitively,
// in order, and evaluates only the value it returns. A null source matches
// the key "". A boolean source matches "True"/"true" alike. It depends on
// nothing but its arguments, so it gives the same value whichever attribute
// of the object changed (Entra may blank the target then).
func evalSwitch(x *evalCtx, c *call) (Value, error) {
	v, err := x.scalar(c.args[0], "Switch", "source")
	if err != nil {
		return nil, err
	}
	src := Text(v)
	_, isBool := v.(bool)
	for i := 2; i+1 < len(c.args); i += 2 {
		k, _, err := x.text(c.args[i], "Switch", "key")
		if err != nil {
			return nil, err
		}
		if k == src || isBool && strings.EqualFold(k, src) {
			return x.eval(c.args[i+1])
		}
	}
	return x.eval(c.args[1])
}

func checkSwitch(_ *checker, c *call) *syntaxError {
	if len(c.args)%2 != 0 {
		return errAt(c, "Switch expects key/value pairs after the source and the default value, so an even number of arguments; got %d", len(c.args))
	}
	return nil
}

// evalCoalesce returns the first argument that is not null (an empty list is
// null; the empty string is not).
func evalCoalesce(x *evalCtx, c *call) (Value, error) {
	for _, a := range c.args {
		v, err := x.eval(a)
		if err != nil {
			return nil, err
		}
		if !isNull(v) {
			return v, nil
		}
	}
	return nil, nil
}

func evalIgnoreFlow(x *evalCtx, c *call) (Value, error) {
	v, err := x.eval(c.args[0])
	if err != nil {
		return nil, err
	}
	if IsNullOrEmpty(v) {
		return nil, fmt.Errorf("expression: position %d: %w", x.e.position(c.at), ErrIgnoreFlow)
	}
	return v, nil
}

func evalRedact(x *evalCtx, c *call) (Value, error) { return x.eval(c.args[0]) }

// evalSelectUniqueValue returns the first non-empty candidate the Env's
// UniquenessChecker accepts.
func evalSelectUniqueValue(x *evalCtx, c *call) (Value, error) {
	uc, ok := x.env.(UniquenessChecker)
	if !ok {
		return nil, fault.New(fault.Unsupported, x.e.field, "expression: position %d: SelectUniqueValue needs a uniqueness check against the target, which this evaluation does not provide", x.e.position(c.at))
	}
	var tried []string
	for _, a := range c.args {
		s, null, err := x.text(a, "SelectUniqueValue", "uniqueValueRule")
		if err != nil {
			return nil, err
		}
		if null || s == "" || slices.Contains(tried, s) {
			continue
		}
		tried = append(tried, s)
		unique, err := uc.IsUnique(s)
		if err != nil {
			return nil, fmt.Errorf("expression: SelectUniqueValue: checking %q: %w", s, err)
		}
		if unique {
			return s, nil
		}
	}
	if len(tried) == 0 {
		return nil, nil
	}
	return nil, fault.New(fault.Uniqueness, x.e.field, "expression: position %d: SelectUniqueValue: every candidate is already taken in the target (%s)", x.e.position(c.at), quoteList(tried))
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// roles returns the object's app roles, sorted and without duplicates: from
// the AppRoles extension when the Env has it, else from the attribute.
func (x *evalCtx) roles(c *call) ([]string, error) {
	var l []string
	if ar, ok := x.env.(AppRoles); ok {
		l = ar.AppRoles()
	} else {
		var err error
		if l, err = x.list(c.args[0]); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(l))
	for _, r := range l {
		if r != "" {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// evalSingleRole returns one role. With several it returns the first in
// ordinal order, so the result does not depend on the order the source lists
// them in (Entra's choice is unspecified).
func evalSingleRole(x *evalCtx, c *call) (Value, error) {
	l, err := x.roles(c)
	if err != nil || len(l) == 0 {
		return nil, err
	}
	return l[0], nil
}

func evalRoleList(x *evalCtx, c *call) (Value, error) {
	l, err := x.roles(c)
	if err != nil || len(l) == 0 {
		return nil, err
	}
	return l, nil
}

// compareValues implements = <> < <= > >= in conditions. Lists match when
// any value does (<> when none equals). Null equals null and "" and is
// neither smaller nor greater than anything. Numbers compare numerically with
// numbers and numeric text, dates chronologically with dates and date text,
// booleans case-insensitively with "True"/"False", and other text ordinally
// (case-sensitively).
func compareValues(op string, l, r Value) bool {
	if op == "<>" {
		return !compareValues("=", l, r)
	}
	for _, side := range []*Value{&l, &r} {
		if list, ok := (*side).([]string); ok {
			if len(list) == 0 {
				*side = nil
				continue
			}
			for _, e := range list {
				*side = e
				if compareValues(op, l, r) {
					return true
				}
			}
			return false
		}
	}
	if l == nil || r == nil {
		return op == "=" && Text(l) == Text(r)
	}
	c := order(l, r)
	switch op {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func order(l, r Value) int {
	if lf, ok := asNumber(l); ok {
		if rf, ok := asNumber(r); ok {
			_, ls := l.(string)
			_, rs := r.(string)
			if !ls || !rs { // two strings compare as text, as in VBA
				return cmpFloat(lf, rf)
			}
		}
	}
	_, lt := l.(time.Time)
	_, rt := r.(time.Time)
	if lt || rt {
		if ld, ok := asDate(l); ok {
			if rd, ok := asDate(r); ok {
				return ld.Compare(rd)
			}
		}
	}
	ls, rs := Text(l), Text(r)
	_, lb := l.(bool)
	_, rb := r.(bool)
	if (lb || rb) && strings.EqualFold(ls, rs) {
		return 0
	}
	return strings.Compare(ls, rs)
}

func asNumber(v Value) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		return parseNumber(v)
	}
	return 0, false
}

func asDate(v Value) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		return parseLooseDate(v)
	}
	return time.Time{}, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
