package mapping

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file implements the subset of .NET date and time formatting that
// FormatDateTime, CDate and NumFromDate need: custom format strings
// (https://learn.microsoft.com/dotnet/standard/base-types/custom-date-and-time-format-strings)
// and the invariant culture's standard format strings, both for formatting and
// for exact parsing (DateTime.ParseExact). Gatehouse's "local time" is UTC, as
// it is on Entra's servers.

// dtTok is one element of a format: a specifier letter repeated n times, or a
// literal (c == 0).
type dtTok struct {
	c   byte
	n   int
	lit string
}

type dtFormat []dtTok

// standardFormats are the invariant culture's single-letter formats.
var standardFormats = map[byte]string{
	'd': "MM/dd/yyyy",
	'D': "dddd, dd MMMM yyyy",
	'f': "dddd, dd MMMM yyyy HH:mm",
	'F': "dddd, dd MMMM yyyy HH:mm:ss",
	'g': "MM/dd/yyyy HH:mm",
	'G': "MM/dd/yyyy HH:mm:ss",
	'm': "MMMM dd",
	'M': "MMMM dd",
	'o': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'O': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'r': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	'R': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	's': "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	't': "HH:mm",
	'T': "HH:mm:ss",
	'u': "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	'U': "dddd, dd MMMM yyyy HH:mm:ss",
	'y': "yyyy MMMM",
	'Y': "yyyy MMMM",
}

const dtSpecifiers = "dfFghHKmMstyz"

// parseDateFormat compiles a .NET date format string, failing where .NET
// throws a FormatException.
func parseDateFormat(f string) (dtFormat, error) {
	if f == "" {
		return nil, errors.New("the date format is empty")
	}
	if utf8.RuneCountInString(f) == 1 {
		std, ok := standardFormats[f[0]]
		if !ok {
			return nil, errors.New(strconv.Quote(f) + " is not a .NET standard date format (d, D, f, F, g, G, M, O, R, s, t, T, u, U, Y); write %" + f + " for the custom specifier")
		}
		f = std
	}
	var out dtFormat
	addLit := func(s string) {
		if n := len(out); n > 0 && out[n-1].c == 0 {
			out[n-1].lit += s
			return
		}
		out = append(out, dtTok{lit: s})
	}
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case strings.IndexByte(dtSpecifiers, c) >= 0:
			n := 1
			for i+n < len(f) && f[i+n] == c {
				n++
			}
			if (c == 'f' || c == 'F') && n > 7 {
				return nil, errors.New("the date format has more than 7 " + string(c) + " (fraction) specifiers")
			}
			out = append(out, dtTok{c: c, n: n})
			i += n
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(f) && f[j] != c; j++ {
				if f[j] == '\\' {
					j++
					if j == len(f) {
						break
					}
				}
				b.WriteByte(f[j])
			}
			if j >= len(f) {
				return nil, errors.New("the date format has an unclosed quote " + string(c))
			}
			addLit(b.String())
			i = j + 1
		case c == '%':
			if i+1 >= len(f) || f[i+1] == '%' {
				return nil, errors.New("the date format has a % that is not followed by a specifier")
			}
			if strings.IndexByte(dtSpecifiers, f[i+1]) >= 0 {
				out = append(out, dtTok{c: f[i+1], n: 1})
				i += 2
			} else {
				i++
			}
		case c == '\\':
			if i+1 >= len(f) {
				return nil, errors.New("the date format ends with a backslash")
			}
			_, n := utf8.DecodeRuneInString(f[i+1:])
			addLit(f[i+1 : i+1+n])
			i += 1 + n
		default:
			_, n := utf8.DecodeRuneInString(f[i:])
			addLit(f[i : i+n])
			i += n
		}
	}
	return out, nil
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func pad(v, n int) string {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// format renders t (in UTC) with the invariant culture.
func (f dtFormat) format(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	for _, k := range f {
		n := k.n
		switch k.c {
		case 0:
			b.WriteString(k.lit)
		case 'd':
			switch {
			case n <= 2:
				b.WriteString(pad(t.Day(), n))
			case n == 3:
				b.WriteString(dayNames[t.Weekday()][:3])
			default:
				b.WriteString(dayNames[t.Weekday()])
			}
		case 'M':
			switch {
			case n <= 2:
				b.WriteString(pad(int(t.Month()), n))
			case n == 3:
				b.WriteString(monthNames[t.Month()-1][:3])
			default:
				b.WriteString(monthNames[t.Month()-1])
			}
		case 'y':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case 2:
				b.WriteString(pad(t.Year()%100, 2))
			default:
				b.WriteString(pad(t.Year(), n))
			}
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(pad(h, min(n, 2)))
		case 'H':
			b.WriteString(pad(t.Hour(), min(n, 2)))
		case 'm':
			b.WriteString(pad(t.Minute(), min(n, 2)))
		case 's':
			b.WriteString(pad(t.Second(), min(n, 2)))
		case 'f', 'F':
			frac := pad(t.Nanosecond(), 9)[:n]
			if k.c == 'F' {
				frac = strings.TrimRight(frac, "0")
				if s := b.String(); frac == "" && strings.HasSuffix(s, ".") {
					// .NET drops a '.' right before an empty F fraction.
					b.Reset()
					b.WriteString(s[:len(s)-1])
				}
			}
			b.WriteString(frac)
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			if n == 1 {
				ampm = ampm[:1]
			}
			b.WriteString(ampm)
		case 'z':
			// Times are UTC, so the offset is always zero.
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case 'K':
			b.WriteString("Z")
		case 'g':
			b.WriteString("A.D.")
		}
	}
	return b.String()
}

// dtStyles are the DateTimeStyles flags that change parsing here.
type dtStyles struct {
	leading, trailing, inner, noCurrentDate bool
}

var defaultStyles = dtStyles{leading: true, trailing: true}

// parseStyles reads a dateTimeStyles argument such as
// "AllowWhiteSpaces, AssumeUniversal". Names are those of .NET's
// DateTimeStyles; the ones about local time zones are accepted and have no
// effect because local time is UTC.
func parseStyles(s string) (dtStyles, error) {
	var st dtStyles
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || unicode.IsSpace(r) })
	if len(fields) == 0 {
		return defaultStyles, nil
	}
	for _, f := range fields {
		switch strings.ToLower(f) {
		case "none", "adjusttouniversal", "assumelocal", "assumeuniversal", "roundtripkind":
		case "allowleadingwhite":
			st.leading = true
		case "allowtrailingwhite":
			st.trailing = true
		case "allowinnerwhite":
			st.inner = true
		case "allowwhitespaces":
			st.leading, st.trailing, st.inner = true, true, true
		case "nocurrentdatedefault":
			st.noCurrentDate = true
		default:
			return st, errors.New(strconv.Quote(f) + " is not a DateTimeStyles value (None, AllowLeadingWhite, AllowTrailingWhite, AllowInnerWhite, AllowWhiteSpaces, NoCurrentDateDefault, AdjustToUniversal, AssumeLocal, AssumeUniversal, RoundtripKind)")
		}
	}
	return st, nil
}

type dtParser struct {
	s string
	i int
}

func (p *dtParser) digits(lo, hi int) (int, bool) {
	v, n := 0, 0
	for n < hi && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
		n++
	}
	return v, n >= lo
}

func (p *dtParser) word(words []string, abbr bool) (int, bool) {
	for idx, w := range words {
		if abbr {
			w = w[:3]
		}
		if len(p.s)-p.i >= len(w) && strings.EqualFold(p.s[p.i:p.i+len(w)], w) {
			p.i += len(w)
			return idx, true
		}
	}
	return 0, false
}

func (p *dtParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// offset reads +h, +hh, +hhmm, +hh:mm or Z.
func (p *dtParser) offset() (int, bool) {
	if p.i < len(p.s) && (p.s[p.i] == 'Z' || p.s[p.i] == 'z') {
		p.i++
		return 0, true
	}
	if p.i >= len(p.s) || (p.s[p.i] != '+' && p.s[p.i] != '-') {
		return 0, false
	}
	sign := 1
	if p.s[p.i] == '-' {
		sign = -1
	}
	p.i++
	h, ok := p.digits(1, 2)
	if !ok || h > 14 {
		return 0, false
	}
	m := 0
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		if m, ok = p.digits(2, 2); !ok {
			return 0, false
		}
	} else if v, ok := p.digits(2, 2); ok {
		m = v
	}
	if m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

var errNoMatch = errors.New("does not match the format")

// parse reads s exactly as DateTime.ParseExact would with the invariant
// culture, returning UTC. now supplies the date when the format has none.
func (f dtFormat) parse(s string, st dtStyles, now time.Time) (time.Time, error) {
	if st.leading {
		s = strings.TrimLeft(s, " \t\r\n")
	}
	if st.trailing {
		s = strings.TrimRight(s, " \t\r\n")
	}
	p := &dtParser{s: s}
	year, month, day := -1, -1, -1
	hour, minute, sec, nsec := 0, 0, 0, 0
	ampm, twelve := -1, false
	off, hasOff := 0, false
	for i := 0; i < len(f); i++ {
		k := f[i]
		if st.inner {
			p.skipSpace()
		}
		var ok bool
		switch k.c {
		case 0:
			lit := k.lit
			if st.inner {
				lit = strings.TrimLeft(lit, " \t")
			}
			rest := s[p.i:]
			if len(rest) >= len(lit) && strings.EqualFold(rest[:len(lit)], lit) {
				p.i += len(lit)
				ok = true
			} else if strings.HasSuffix(lit, ".") && i+1 < len(f) && f[i+1].c == 'F' &&
				strings.HasPrefix(rest, lit[:len(lit)-1]) && !strings.HasPrefix(rest[len(lit)-1:], ".") {
				// An optional fraction may go with its decimal point.
				p.i += len(lit) - 1
				i++
				ok = true
			}
		case 'y':
			switch {
			case k.n <= 2:
				year, ok = p.digits(k.n, 2)
				if year < 50 {
					year += 2000
				} else if year < 100 {
					year += 1900
				}
			case k.n == 3:
				year, ok = p.digits(3, 4)
			default:
				year, ok = p.digits(k.n, k.n)
			}
		case 'M':
			switch {
			case k.n <= 2:
				month, ok = p.digits(k.n, 2)
			default:
				month, ok = p.word(monthNames, k.n == 3)
				month++
			}
		case 'd':
			if k.n <= 2 {
				day, ok = p.digits(k.n, 2)
			} else {
				_, ok = p.word(dayNames, k.n == 3)
			}
		case 'h', 'H':
			hour, ok = p.digits(min(k.n, 2), 2)
			twelve = twelve || k.c == 'h'
		case 'm':
			minute, ok = p.digits(min(k.n, 2), 2)
		case 's':
			sec, ok = p.digits(min(k.n, 2), 2)
		case 'f', 'F':
			lo := k.n
			if k.c == 'F' {
				lo = 0
			}
			start := p.i
			var v int
			v, ok = p.digits(lo, k.n)
			for d := p.i - start; d < 9; d++ {
				v *= 10
			}
			nsec = v
		case 't':
			if p.i < len(s) {
				switch s[p.i] {
				case 'A', 'a':
					ampm, ok = 0, true
				case 'P', 'p':
					ampm, ok = 1, true
				}
				if ok {
					p.i++
					if k.n >= 2 {
						ok = p.i < len(s) && (s[p.i] == 'M' || s[p.i] == 'm')
						if ok {
							p.i++
						}
					}
				}
			}
		case 'z':
			off, ok = p.offset()
			hasOff = hasOff || ok
		case 'K':
			ok = true
			if v, got := p.offset(); got {
				off, hasOff = v, true
			}
		case 'g':
			p.word([]string{"A.D.", "AD"}, false) // the era is optional
			ok = true
		}
		if !ok {
			return time.Time{}, errNoMatch
		}
	}
	if p.i != len(s) {
		return time.Time{}, errNoMatch
	}
	if year < 0 && month < 0 && day < 0 {
		if st.noCurrentDate {
			year, month, day = 1, 1, 1
		} else {
			year, month, day = now.Year(), int(now.Month()), now.Day()
		}
	}
	if year < 0 {
		year = now.Year()
	}
	if month < 0 {
		month = 1
	}
	if day < 0 {
		day = 1
	}
	if ampm >= 0 || twelve {
		if hour < 1 || hour > 12 {
			if !(ampm < 0 && hour == 0) {
				return time.Time{}, errNoMatch
			}
		}
		if ampm == 1 && hour < 12 {
			hour += 12
		} else if ampm == 0 && hour == 12 {
			hour = 0
		}
	}
	if year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errors.New("is not a valid date")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if hasOff {
		t = t.Add(-time.Duration(off) * time.Second)
	}
	return t, nil
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// looseFormats are what CDate and the date parameters accept: ISO 8601 in
// its common shapes (with or without time, fraction and offset, including
// Workday's "2020-03-16-07:00"), Entra's own "M/d/yyyy h:mm:ss tt", AD's
// generalized time and RFC 1123.
var looseFormats = mustFormats(
	"yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
	"yyyy-MM-dd HH:mm:ss.FFFFFFFK",
	"yyyy-MM-dd'T'HH:mmK",
	"yyyy-MM-dd HH:mmK",
	"yyyy-MM-ddK",
	"M/d/yyyy h:mm:ss tt",
	"M/d/yyyy h:mm tt",
	"M/d/yyyy H:mm:ss.FFFFFFF",
	"M/d/yyyy H:mm",
	"M/d/yyyy",
	"yyyyMMddHHmmss.FFFFFFFK",
	"yyyy/M/d H:mm:ss",
	"yyyy/M/d",
	"ddd, d MMM yyyy HH:mm:ss 'GMT'",
	"d MMMM yyyy",
	"MMMM d, yyyy",
)

func mustFormats(fs ...string) []dtFormat {
	out := make([]dtFormat, len(fs))
	for i, f := range fs {
		p, err := parseDateFormat(f)
		if err != nil {
			panic(f + ": " + err.Error())
		}
		out[i] = p
	}
	return out
}

// parseLooseDate reads a date in any of looseFormats.
func parseLooseDate(s string) (time.Time, bool) {
	if len(s) > 64 {
		return time.Time{}, false
	}
	for _, f := range looseFormats {
		if t, err := f.parse(s, defaultStyles, time.Time{}); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fileTimeEpoch is 1601-01-01T00:00:00Z in Unix seconds: the origin of AD's
// 100-nanosecond "large integer" dates (accountExpires, lastLogonTimestamp).
const fileTimeEpoch = -11644473600

func fileTimeToTime(ticks int64) time.Time {
	sec := ticks / 10_000_000
	rem := ticks % 10_000_000
	return time.Unix(fileTimeEpoch+sec, rem*100).UTC()
}

func timeToFileTime(t time.Time) (int64, bool) {
	sec := t.Unix() - fileTimeEpoch
	if sec < 0 || sec > (1<<63-1)/10_000_000-1 {
		return 0, false
	}
	return sec*10_000_000 + int64(t.Nanosecond()/100), true
}
