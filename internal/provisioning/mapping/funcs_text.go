package mapping

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf16"
)

func evalAppend(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "Append", "source")
	if err != nil || null {
		return nil, err
	}
	suffix, _, err := x.text(c.args[1], "Append", "suffix")
	if err != nil {
		return nil, err
	}
	if len(s)+len(suffix) > MaxValueBytes {
		return nil, x.tooLarge(c)
	}
	return s + suffix, nil
}

func checkJoin(_ *checker, c *call) *syntaxError {
	switch k := kindOf(c.args[0]); {
	case k == kNumber || k == kBool || k == kDate || k == kList:
		return errAt(c.args[0], "Join expects a separator string as its first argument; write Join(\" \", [givenName], [surname])")
	}
	return nil
}

// evalJoin joins the values of its sources, flattening lists and skipping
// null and empty values (Entra's Join(", ", "", [surname], [givenName]) gives
// "Doe, John").
func evalJoin(x *evalCtx, c *call) (Value, error) {
	sep, _, err := x.text(c.args[0], "Join", "separator")
	if err != nil {
		return nil, err
	}
	var parts []string
	total := 0
	for _, a := range c.args[1:] {
		l, err := x.list(a)
		if err != nil {
			return nil, err
		}
		for _, s := range l {
			if s == "" {
				continue
			}
			total += len(s) + len(sep)
			if total > MaxValueBytes+len(sep) {
				return nil, x.tooLarge(c)
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep), nil
}

func checkLeft(_ *checker, c *call) *syntaxError { return checkWhole(c, minInt, 1) }

const minInt = -1 << 53

// evalLeft follows Entra: NumChars 0 gives "", a negative NumChars the whole
// string, a null string "".
func evalLeft(x *evalCtx, c *call) (Value, error) {
	s, _, err := x.text(c.args[0], "Left", "String")
	if err != nil {
		return nil, err
	}
	n, err := x.reqInt(c, 1)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return s, nil
	}
	r := []rune(s)
	if int64(len(r)) <= n {
		return s, nil
	}
	return string(r[:n]), nil
}

func checkMid(_ *checker, c *call) *syntaxError {
	if err := checkWhole(c, 1, 1); err != nil {
		return err
	}
	return checkWhole(c, 0, 2)
}

// evalMid returns length characters from the 1-based start; past the end it
// returns what there is.
func evalMid(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "Mid", "source")
	if err != nil || null {
		return nil, err
	}
	start, err := x.reqInt(c, 1)
	if err != nil {
		return nil, err
	}
	length, err := x.reqInt(c, 2)
	if err != nil {
		return nil, err
	}
	if start < 1 {
		return nil, x.fail(c.args[1], "Mid expects start to be at least 1, got %d", start)
	}
	if length < 0 {
		return nil, x.fail(c.args[2], "Mid expects length to be at least 0, got %d", length)
	}
	r := []rune(s)
	if start > int64(len(r)) {
		return "", nil
	}
	end := int64(len(r))
	if length < end-(start-1) {
		end = start - 1 + length
	}
	return string(r[start-1 : end]), nil
}

func evalPCase(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "PCase", "source")
	if err != nil || null {
		return nil, err
	}
	if isOmitted(c, 1) {
		return titleCase(s), nil
	}
	seps, _, err := x.text(c.args[1], "PCase", "wordSeparators")
	if err != nil {
		return nil, err
	}
	return titleCaseWith(s, seps), nil
}

// titleCase is .NET's TextInfo.ToTitleCase applied to the lower-cased text,
// which is what Entra's examples show ("PABLO GONSALVES (SECOND)" gives
// "Pablo Gonsalves (Second)"): a word starts at a letter and runs until a
// separator (spaces, punctuation, symbols, controls); an apostrophe does not
// end a word ("o'neil" gives "O'neil").
func titleCase(s string) string {
	rs := []rune(strings.ToLower(s))
	for i := 0; i < len(rs); i++ {
		if !unicode.IsLetter(rs[i]) {
			continue
		}
		rs[i] = unicode.ToTitle(rs[i])
		for i+1 < len(rs) && (rs[i+1] == '\'' || !isWordSeparator(rs[i+1])) {
			i++
		}
	}
	return string(rs)
}

func isWordSeparator(r rune) bool {
	return unicode.In(r, unicode.Z, unicode.P, unicode.S, unicode.Cc, unicode.Cf)
}

// titleCaseWith upper-cases the first character of each word, words being
// separated by any of seps, and lower-cases the rest.
func titleCaseWith(s, seps string) string {
	rs := []rune(strings.ToLower(s))
	start := true
	for i, r := range rs {
		switch {
		case strings.ContainsRune(seps, r):
			start = true
		case start:
			rs[i] = unicode.ToTitle(r)
			start = false
		}
	}
	return string(rs)
}

// cultureRE is the shape of an RFC 4646 culture name such as "en-US".
var cultureRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func checkCulture(_ *checker, c *call) *syntaxError {
	if isOmitted(c, 1) {
		return nil
	}
	s := c.args[1].(*strLit).v
	if s != "" && !cultureRE.MatchString(s) {
		return errAt(c.args[1], "%s expects a culture name such as \"en-US\" or \"tr-TR\", got %q", c.fn.name, s)
	}
	lang, _, _ := strings.Cut(strings.ToLower(s), "-")
	c.aux = lang == "tr" || lang == "az"
	return nil
}

// evalCase converts case with the invariant culture, or Turkish rules for
// Turkish and Azerbaijani cultures (i/İ, ı/I).
func evalCase(upper bool) func(*evalCtx, *call) (Value, error) {
	return func(x *evalCtx, c *call) (Value, error) {
		s, null, err := x.text(c.args[0], c.fn.name, "source")
		if err != nil || null {
			return nil, err
		}
		turkish, _ := c.aux.(bool)
		switch {
		case upper && turkish:
			return strings.ToUpperSpecial(unicode.TurkishCase, s), nil
		case upper:
			return strings.ToUpper(s), nil
		case turkish:
			return strings.ToLowerSpecial(unicode.TurkishCase, s), nil
		}
		return strings.ToLower(s), nil
	}
}

func checkWord(_ *checker, c *call) *syntaxError { return checkWhole(c, minInt, 1) }

// evalWord returns the n-th word (1-based), words being separated by any of
// the delimiter characters; runs of delimiters count as one. A null string or
// a number below 1 or past the last word gives "".
func evalWord(x *evalCtx, c *call) (Value, error) {
	s, _, err := x.text(c.args[0], "Word", "String")
	if err != nil {
		return nil, err
	}
	n, err := x.reqInt(c, 1)
	if err != nil {
		return nil, err
	}
	delims, _, err := x.text(c.args[2], "Word", "Delimiters")
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return "", nil
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if n > int64(len(words)) {
		return "", nil
	}
	return words[n-1], nil
}

func checkSplit(_ *checker, c *call) *syntaxError {
	if s, ok := c.args[1].(*strLit); ok && s.v == "" {
		return errAt(c.args[1], "Split expects a non-empty delimiter")
	}
	return nil
}

// evalSplit splits on the delimiter, trims spaces around each value and
// drops empty values (Entra's example turns "PermissionSetOne,
// PermissionSetTwo" into ["PermissionSetOne", "PermissionSetTwo"]).
func evalSplit(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "Split", "source")
	if err != nil || null {
		return nil, err
	}
	d, _, err := x.text(c.args[1], "Split", "delimiter")
	if err != nil {
		return nil, err
	}
	if d == "" {
		return nil, x.fail(c.args[1], "Split expects a non-empty delimiter, but %s is empty", describe(c.args[1]))
	}
	var out []string
	for _, part := range strings.Split(s, d) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// evalBase64 encodes the UTF-16LE bytes of the text, as .NET's
// Convert.ToBase64String(Encoding.Unicode.GetBytes(s)) does.
func evalBase64(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "ConvertToBase64", "source")
	if err != nil || null {
		return nil, err
	}
	units := utf16.Encode([]rune(s))
	if base64.StdEncoding.EncodedLen(2*len(units)) > MaxValueBytes {
		return nil, x.tooLarge(c)
	}
	b := make([]byte, 2*len(units))
	for i, u := range units {
		b[2*i], b[2*i+1] = byte(u), byte(u>>8)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// evalUTF8Hex encodes the UTF-8 bytes of the text as upper-case hex.
func evalUTF8Hex(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "ConvertToUTF8Hex", "source")
	if err != nil || null {
		return nil, err
	}
	if 2*len(s) > MaxValueBytes {
		return nil, x.tooLarge(c)
	}
	return strings.ToUpper(hex.EncodeToString([]byte(s))), nil
}

func evalCStr(x *evalCtx, c *call) (Value, error) {
	s, null, err := x.text(c.args[0], "CStr", "value")
	if err != nil || null {
		return nil, err
	}
	return s, nil
}

func checkInStr(_ *checker, c *call) *syntaxError { return checkWhole(c, 1, 2) }

// evalInStr returns the 1-based position of value2 in value1 at or after
// start, or 0. vbTextCompare ignores case. A null value1 gives 0.
func evalInStr(x *evalCtx, c *call) (Value, error) {
	s, _, err := x.text(c.args[0], "InStr", "value1")
	if err != nil {
		return nil, err
	}
	sub, _, err := x.text(c.args[1], "InStr", "value2")
	if err != nil {
		return nil, err
	}
	start := int64(1)
	if !isOmitted(c, 2) {
		n, null, err := x.integer(c.args[2], "InStr", "start")
		if err != nil {
			return nil, err
		}
		if !null {
			start = n
		}
	}
	if start < 1 {
		return nil, x.fail(c.args[2], "InStr expects start to be at least 1, got %d", start)
	}
	textCompare := false
	if !isOmitted(c, 3) {
		textCompare, _ = compareMode(c.args[3])
	}
	hay, needle := []rune(s), []rune(sub)
	if textCompare {
		for i, r := range hay {
			hay[i] = unicode.ToLower(r)
		}
		for i, r := range needle {
			needle[i] = unicode.ToLower(r)
		}
	}
	if start > int64(len(hay))+1 {
		return float64(0), nil
	}
	for i := int(start - 1); i+len(needle) <= len(hay); i++ {
		if runesEqual(hay[i:i+len(needle)], needle) {
			return float64(i + 1), nil
		}
	}
	return float64(0), nil
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkItem(_ *checker, c *call) *syntaxError { return checkWhole(c, 1, 1) }

// evalItem returns the index-th value (1-based) of a list, null past the end.
func evalItem(x *evalCtx, c *call) (Value, error) {
	l, err := x.list(c.args[0])
	if err != nil {
		return nil, err
	}
	i, err := x.reqInt(c, 1)
	if err != nil {
		return nil, err
	}
	if i < 1 {
		return nil, x.fail(c.args[1], "Item expects index to be at least 1 (the first value), got %d", i)
	}
	if i > int64(len(l)) {
		return nil, nil
	}
	return l[i-1], nil
}

// evalCount counts the values of a list; null and "" count 0, any other
// single value 1.
func evalCount(x *evalCtx, c *call) (Value, error) {
	v, err := x.eval(c.args[0])
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return float64(0), nil
	case string:
		if v == "" {
			return float64(0), nil
		}
	case []string:
		return float64(len(v)), nil
	}
	return float64(1), nil
}

// evalRemoveDuplicates keeps the first of equal values (case-sensitive) in
// their order.
func evalRemoveDuplicates(x *evalCtx, c *call) (Value, error) {
	l, err := x.list(c.args[0])
	if err != nil || l == nil {
		return nil, err
	}
	seen := make(map[string]bool, len(l))
	out := make([]string, 0, len(l))
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}
