package mapping

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// intervals are DateAdd's and DateDiff's interval strings.
var intervals = map[string]string{
	"yyyy": "yyyy", "m": "m", "d": "d", "ww": "ww", "h": "h", "n": "n", "s": "s",
}

func checkInterval(_ *checker, c *call) *syntaxError {
	lit := c.args[0].(*strLit)
	iv, ok := intervals[strings.ToLower(lit.v)]
	if !ok {
		return errAt(lit, "%s expects an interval of \"yyyy\" (years), \"m\" (months), \"d\" (days), \"ww\" (weeks), \"h\" (hours), \"n\" (minutes) or \"s\" (seconds), got %q", c.fn.name, lit.v)
	}
	c.aux = iv
	return nil
}

func checkDateAdd(ck *checker, c *call) *syntaxError {
	if err := checkInterval(ck, c); err != nil {
		return err
	}
	return checkWhole(c, minInt, 1)
}

func evalCDate(x *evalCtx, c *call) (Value, error) {
	t, null, err := x.date(c.args[0], "CDate", "expression")
	if err != nil || null {
		return nil, err
	}
	return t, nil
}

func evalNow(x *evalCtx, _ *call) (Value, error) { return x.clock(), nil }

// evalDateAdd adds value intervals to dateTime. Months and years clamp the day
// to the end of the month, as .NET's AddMonths does (January 31 + 1 month is
// February 28 or 29).
func evalDateAdd(x *evalCtx, c *call) (Value, error) {
	n, null, err := x.integer(c.args[1], "DateAdd", "value")
	if err != nil || null {
		return nil, err
	}
	t, null, err := x.date(c.args[2], "DateAdd", "dateTime")
	if err != nil || null {
		return nil, err
	}
	out, ok := addInterval(t, c.aux.(string), n)
	if !ok {
		return nil, x.fail(c, "DateAdd: adding %d %q to %s leaves the years 1 to 9999", n, c.aux.(string), Text(t))
	}
	return out, nil
}

func addInterval(t time.Time, iv string, n int64) (time.Time, bool) {
	const maxUnits = 400_000_000_000 // more seconds than 9999 years hold
	if n > maxUnits || n < -maxUnits {
		return time.Time{}, false
	}
	var out time.Time
	switch iv {
	case "yyyy", "m":
		if iv == "yyyy" {
			n *= 12
		}
		if n > 12*10000 || n < -12*10000 {
			return time.Time{}, false
		}
		y, m, d := t.Date()
		total := int64(y)*12 + int64(m) - 1 + n
		ny, nm := floorDiv(total, 12), time.Month(total-floorDiv(total, 12)*12+1)
		if ny < 1 || ny > 9999 {
			return time.Time{}, false
		}
		d = min(d, daysIn(int(ny), nm))
		out = time.Date(int(ny), nm, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	case "d", "ww":
		if iv == "ww" {
			n *= 7
		}
		if n > 4_000_000 || n < -4_000_000 {
			return time.Time{}, false
		}
		out = t.AddDate(0, 0, int(n))
	default:
		unit := map[string]int64{"h": 3600, "n": 60, "s": 1}[iv]
		out = time.Unix(t.Unix()+n*unit, int64(t.Nanosecond())).UTC()
	}
	if out.Year() < 1 || out.Year() > 9999 {
		return time.Time{}, false
	}
	return out, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// evalDateDiff counts intervals from date1 to date2 as VB's DateDiff does:
// years and months by calendar boundaries, weeks ("ww") by Sunday-aligned
// calendar weeks, days, hours, minutes and seconds by truncating the elapsed
// time. Entra's examples agree: from 8/25/2021 5:41:18 PM to 2012-03-16-07:00
// is -3449 days, -493 weeks, -113 months, -9 years.
func evalDateDiff(x *evalCtx, c *call) (Value, error) {
	t1, null, err := x.date(c.args[1], "DateDiff", "date1")
	if err != nil || null {
		return nil, err
	}
	t2, null, err := x.date(c.args[2], "DateDiff", "date2")
	if err != nil || null {
		return nil, err
	}
	return float64(dateDiff(c.aux.(string), t1.UTC(), t2.UTC())), nil
}

func dateDiff(iv string, t1, t2 time.Time) int64 {
	switch iv {
	case "yyyy":
		return int64(t2.Year() - t1.Year())
	case "m":
		return int64(t2.Year()-t1.Year())*12 + int64(t2.Month()-t1.Month())
	case "ww":
		s1 := dayStart(t1).AddDate(0, 0, -int(t1.Weekday()))
		s2 := dayStart(t2).AddDate(0, 0, -int(t2.Weekday()))
		return (s2.Unix() - s1.Unix()) / (7 * 86400)
	}
	// Whole seconds, truncated toward zero.
	sec := t2.Unix() - t1.Unix()
	ns := t2.Nanosecond() - t1.Nanosecond()
	if sec > 0 && ns < 0 {
		sec--
	} else if sec < 0 && ns > 0 {
		sec++
	}
	switch iv {
	case "d":
		return sec / 86400
	case "h":
		return sec / 3600
	case "n":
		return sec / 60
	}
	return sec
}

func dayStart(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// evalDateFromNum converts an AD large-integer date (100 ns ticks since
// 1601-01-01 UTC) to a date. 129699324000000000 is 1/1/2012 11:00:00 PM.
func evalDateFromNum(x *evalCtx, c *call) (Value, error) {
	v, err := x.scalar(c.args[0], "DateFromNum", "value")
	if err != nil || v == nil {
		return nil, err
	}
	var ticks int64
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, ok := parseNumber(s)
			if !ok || f != math.Trunc(f) || f < 0 || f >= 1<<63 {
				return nil, x.fail(c.args[0], "DateFromNum expects a whole number of 100-nanosecond ticks, but %s is %q", describe(c.args[0]), v)
			}
			n = int64(f)
		}
		ticks = n
	case float64:
		if v != math.Trunc(v) || v < 0 || v >= 1<<63 {
			return nil, x.fail(c.args[0], "DateFromNum expects a whole, non-negative number of ticks, got %s", formatNumber(v))
		}
		ticks = int64(v)
	default:
		return nil, x.fail(c.args[0], "DateFromNum expects a number, but %s is %s", describe(c.args[0]), typeName(v))
	}
	if ticks < 0 {
		return nil, x.fail(c.args[0], "DateFromNum expects a non-negative number of ticks, got %d", ticks)
	}
	return fileTimeToTime(ticks), nil
}

// evalNumFromDate converts a date to AD's large-integer format. The result is
// text, because ticks exceed what a float64 holds exactly.
func evalNumFromDate(x *evalCtx, c *call) (Value, error) {
	t, null, err := x.date(c.args[0], "NumFromDate", "value")
	if err != nil || null {
		return nil, err
	}
	n, ok := timeToFileTime(t)
	if !ok {
		return nil, x.fail(c.args[0], "NumFromDate: %s is before 1601-01-01, which AD dates cannot express", Text(t))
	}
	return strconv.FormatInt(n, 10), nil
}

type formatAux struct {
	styles  dtStyles
	in, out dtFormat
}

func checkFormatDateTime(_ *checker, c *call) *syntaxError {
	aux := &formatAux{styles: defaultStyles}
	if !isOmitted(c, 1) {
		lit := c.args[1].(*strLit)
		st, err := parseStyles(lit.v)
		if err != nil {
			return errAt(lit, "FormatDateTime: %s", err.Error())
		}
		aux.styles = st
	}
	for i, dst := range []*dtFormat{&aux.in, &aux.out} {
		lit := c.args[2+i].(*strLit)
		f, err := parseDateFormat(lit.v)
		if err != nil {
			return errAt(lit, "FormatDateTime: the %s %q is not a valid .NET date format: %s", c.fn.params[2+i].name, lit.v, err.Error())
		}
		*dst = f
	}
	c.aux = aux
	return nil
}

// evalFormatDateTime parses source with inputFormat (a date value, from CDate
// or Now, is taken as it is) and renders it with outputFormat. Offsets in the
// input are converted to UTC.
func evalFormatDateTime(x *evalCtx, c *call) (Value, error) {
	aux := c.aux.(*formatAux)
	v, err := x.scalar(c.args[0], "FormatDateTime", "source")
	if err != nil {
		return nil, err
	}
	var t time.Time
	switch v := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t = v
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		if t, err = aux.in.parse(v, aux.styles, x.clock()); err != nil {
			return nil, x.fail(c.args[0], "FormatDateTime: %s is %q, which does not match the inputFormat %q", describe(c.args[0]), v, c.args[2].(*strLit).v)
		}
	default:
		return nil, x.fail(c.args[0], "FormatDateTime expects a date string as source, but %s is %s", describe(c.args[0]), typeName(v))
	}
	return aux.out.format(t), nil
}
