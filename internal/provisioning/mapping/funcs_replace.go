package mapping

import (
	"regexp"
	"strconv"
	"strings"
)

// Replace's five modes, chosen at compile time by which arguments are given
// (an argument left empty is not given; "" is given).
const (
	replaceLiteral       = iota + 1 // oldValue, replacementValue
	replaceTemplate                 // oldValue, template
	replaceRegex                    // regexPattern, replacementValue
	replaceRegexGroup               // regexPattern, regexGroupName, replacementValue
	replaceRegexFallback            // regexPattern, regexGroupName, replacementAttributeName
)

type replaceAux struct {
	mode  int
	re    *regexp.Regexp
	group int
}

const (
	argSource = iota
	argOldValue
	argRegexPattern
	argRegexGroupName
	argReplacementValue
	argReplacementAttribute
	argTemplate
)

func checkReplace(_ *checker, c *call) *syntaxError {
	has := func(i int) bool { return !isOmitted(c, i) }
	old, rx, grp := has(argOldValue), has(argRegexPattern), has(argRegexGroupName)
	repl, rattr, tmpl := has(argReplacementValue), has(argReplacementAttribute), has(argTemplate)
	aux := &replaceAux{}
	switch {
	case old && !rx && !grp && repl && !rattr && !tmpl:
		aux.mode = replaceLiteral
	case old && !rx && !grp && !repl && !rattr && tmpl:
		aux.mode = replaceTemplate
	case !old && rx && !grp && repl && !rattr && !tmpl:
		aux.mode = replaceRegex
	case !old && rx && grp && repl && !rattr && !tmpl:
		aux.mode = replaceRegexGroup
	case !old && rx && grp && !repl && rattr && !tmpl:
		aux.mode = replaceRegexFallback
	default:
		return errAt(c, "Replace needs one of these argument combinations: oldValue and replacementValue; oldValue and template; "+
			"regexPattern and replacementValue; regexPattern, regexGroupName and replacementValue; "+
			"regexPattern, regexGroupName and replacementAttributeName (its form is %s)", c.fn.signature())
	}
	if old {
		if s, ok := c.args[argOldValue].(*strLit); ok && s.v == "" {
			return errAt(s, "Replace expects a non-empty oldValue")
		}
	}
	if rx {
		lit := c.args[argRegexPattern].(*strLit)
		re, err := regexp.Compile(lit.v)
		if err != nil {
			return errAt(lit, "Replace: the regexPattern %q is not a valid regular expression: %s (patterns use RE2 syntax: no lookaround or backreferences)", lit.v, regexError(err))
		}
		aux.re = re
	}
	if grp {
		lit := c.args[argRegexGroupName].(*strLit)
		aux.group = groupIndex(aux.re, lit.v)
		if aux.group < 0 {
			return errAt(lit, "Replace: the regexPattern has no group named %q; name one with (?<%s>...)", lit.v, lit.v)
		}
	}
	c.aux = aux
	return nil
}

func regexError(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// groupIndex resolves a group name, or a group number as .NET allows.
func groupIndex(re *regexp.Regexp, name string) int {
	if i := re.SubexpIndex(name); i >= 0 {
		return i
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n <= re.NumSubexp() {
		return n
	}
	return -1
}

func evalReplace(x *evalCtx, c *call) (Value, error) {
	aux := c.aux.(*replaceAux)
	text := func(i int) (string, bool, error) {
		return x.text(c.args[i], "Replace", c.fn.params[i].name)
	}
	src, srcNull, err := text(argSource)
	if err != nil {
		return nil, err
	}
	if aux.mode == replaceRegexFallback {
		if !srcNull && src != "" {
			return src, nil
		}
		v, null, err := text(argReplacementAttribute)
		if err != nil || null {
			return nil, err
		}
		m := aux.re.FindStringSubmatchIndex(v)
		if m == nil || m[2*aux.group] < 0 {
			return nil, nil
		}
		return v[m[2*aux.group]:m[2*aux.group+1]], nil
	}
	if srcNull {
		return nil, nil
	}
	switch aux.mode {
	case replaceLiteral, replaceTemplate:
		old, _, err := text(argOldValue)
		if err != nil {
			return nil, err
		}
		if old == "" {
			return nil, x.fail(c.args[argOldValue], "Replace expects a non-empty oldValue, but %s is empty", describe(c.args[argOldValue]))
		}
		in, with := src, ""
		if aux.mode == replaceLiteral {
			if with, _, err = text(argReplacementValue); err != nil {
				return nil, err
			}
		} else {
			with = src
			if in, _, err = text(argTemplate); err != nil {
				return nil, err
			}
		}
		if n := strings.Count(in, old); len(in)+n*(len(with)-len(old)) > MaxValueBytes {
			return nil, x.tooLarge(c)
		}
		return strings.ReplaceAll(in, old, with), nil
	}
	with, _, err := text(argReplacementValue)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	last := 0
	for _, m := range aux.re.FindAllStringSubmatchIndex(src, -1) {
		if aux.mode == replaceRegexGroup {
			g := aux.group
			if m[2*g] < 0 {
				continue
			}
			b.WriteString(src[last:m[2*g]])
			b.WriteString(with)
			last = m[2*g+1]
		} else {
			b.WriteString(src[last:m[0]])
			expandDotNet(&b, with, aux.re, src, m)
			last = m[1]
		}
		if b.Len() > MaxValueBytes {
			return nil, x.tooLarge(c)
		}
	}
	b.WriteString(src[last:])
	return b.String(), nil
}

// expandDotNet writes a .NET regex replacement pattern: $$, $&, $`, $', $_,
// $+, $n and ${name}; an unknown group stays as written.
func expandDotNet(b *strings.Builder, tmpl string, re *regexp.Regexp, src string, m []int) {
	group := func(i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return src[m[2*i]:m[2*i+1]]
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '$' || i+1 >= len(tmpl) {
			b.WriteByte(c)
			continue
		}
		switch n := tmpl[i+1]; {
		case n == '$':
			b.WriteByte('$')
			i++
		case n == '&':
			b.WriteString(group(0))
			i++
		case n == '`':
			b.WriteString(src[:m[0]])
			i++
		case n == '\'':
			b.WriteString(src[m[1]:])
			i++
		case n == '_':
			b.WriteString(src)
			i++
		case n == '+':
			b.WriteString(group(re.NumSubexp()))
			i++
		case n == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			if g := groupIndex(re, tmpl[i+2:i+end]); g >= 0 {
				b.WriteString(group(g))
				i += end
			} else {
				b.WriteByte(c)
			}
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(tmpl) && tmpl[j] >= '0' && tmpl[j] <= '9' && j-i <= 9 {
				j++
			}
			// The longest run of digits that names a group.
			found := false
			for ; j > i+1 && !found; j-- {
				if g, _ := strconv.Atoi(tmpl[i+1 : j]); g <= re.NumSubexp() {
					b.WriteString(group(g))
					found = true
					i = j - 1
				}
			}
			if !found {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
}
