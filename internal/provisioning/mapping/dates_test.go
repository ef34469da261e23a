package mapping

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func TestDateFunctions(t *testing.T) {
	runEval(t, []caseRow{
		// CDate: Microsoft Learn's three examples, then other shapes.
		{src: `CDate([hire])`, want: date(2012, 3, 16, 7, 0, 0)},
		{src: `CDate("2020-03-16-07:00")`, want: date(2020, 3, 16, 7, 0, 0)},
		{src: `CDate("2021-06-30+08:00")`, want: date(2021, 6, 29, 16, 0, 0)},
		{src: `CDate("2009-06-15T01:45:30-07:00")`, want: date(2009, 6, 15, 8, 45, 30)},
		{src: `CStr(CDate("2009-06-15T01:45:30-07:00"))`, want: "6/15/2009 8:45:30 AM"},
		{src: `CDate("2009-06-15T01:45:30.1234567Z")`, want: time.Date(2009, 6, 15, 1, 45, 30, 123456700, time.UTC)},
		{src: `CDate("2009-06-15 01:45:30")`, want: date(2009, 6, 15, 1, 45, 30)},
		{src: `CDate("2021-08-24")`, want: date(2021, 8, 24, 0, 0, 0)},
		{src: `CDate("8/25/2021 5:41:18 PM")`, want: date(2021, 8, 25, 17, 41, 18)},
		{src: `CDate("12/31/2021 12:00:00 AM")`, want: date(2021, 12, 31, 0, 0, 0)},
		{src: `CDate("20150123105347.0Z")`, want: date(2015, 1, 23, 10, 53, 47)},
		{src: `CDate("Tue, 15 Jun 2009 01:45:30 GMT")`, want: date(2009, 6, 15, 1, 45, 30)},
		{src: `CDate(" 2021-08-24 ")`, want: date(2021, 8, 24, 0, 0, 0)},
		{src: `CDate([hireDate])`, want: date(2012, 3, 16, 7, 0, 0)},
		{src: `CDate([null])`, want: nil},
		{src: `CDate([empty])`, want: nil},
		{src: `CDate([givenName])`, kind: fault.InvalidValue, msg: `CDate expects a date as expression, but [givenName] is "John", which is not a date`},
		{src: `CDate([count])`, kind: fault.InvalidValue, msg: "is a number"},
		{src: `CDate(Join("", "2021-02-30"))`, kind: fault.InvalidValue, msg: "not a date"},
		{src: `Now()`, want: fixedNow},
		{src: `CStr(Now())`, want: "8/25/2021 5:41:18 PM"},

		// DateAdd: Microsoft Learn's table.
		{src: `DateAdd("d", 7, CDate([hire]))`, want: date(2012, 3, 23, 7, 0, 0)},
		{src: `DateAdd("d", -10, CDate([hire]))`, want: date(2012, 3, 6, 7, 0, 0)},
		{src: `DateAdd("ww", 2, CDate([hire]))`, want: date(2012, 3, 30, 7, 0, 0)},
		{src: `DateAdd("m", 10, CDate([hire]))`, want: date(2013, 1, 16, 7, 0, 0)},
		{src: `DateAdd("yyyy", 2, CDate([hire]))`, want: date(2014, 3, 16, 7, 0, 0)},
		{src: `DateAdd("m", 1, "2021-01-31")`, want: date(2021, 2, 28, 0, 0, 0)},
		{src: `DateAdd("m", -11, "2024-01-31")`, want: date(2023, 2, 28, 0, 0, 0)},
		{src: `DateAdd("yyyy", 1, "2024-02-29")`, want: date(2025, 2, 28, 0, 0, 0)},
		{src: `DateAdd("h", 25, "2021-08-24")`, want: date(2021, 8, 25, 1, 0, 0)},
		{src: `DateAdd("n", -1, "2021-08-24")`, want: date(2021, 8, 23, 23, 59, 0)},
		{src: `DateAdd("s", 86400, "2021-08-24")`, want: date(2021, 8, 25, 0, 0, 0)},
		{src: `DateAdd("D", 1, "2021-08-24")`, want: date(2021, 8, 25, 0, 0, 0)},
		{src: `DateAdd("d", [null], Now())`, want: nil},
		{src: `DateAdd("d", 1, [null])`, want: nil},
		{src: `DateAdd("yyyy", 8000, Now())`, kind: fault.InvalidValue, msg: "leaves the years 1 to 9999"},
		{src: `DateAdd("d", [ratio], Now())`, kind: fault.InvalidValue, msg: "whole number"},

		// DateDiff: Microsoft Learn's table.
		{src: `DateDiff("d", "2021-08-18+08:00", "2021-08-31+08:00")`, want: float64(13)},
		{src: `DateDiff("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, want: float64(-3449)},
		{src: `DateDiff("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, want: float64(-493)},
		{src: `DateDiff("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, want: float64(-113)},
		{src: `DateDiff("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, want: float64(-9)},
		{src: `DateDiff("d", "2021-08-31+08:00", "2021-08-31+08:00")`, want: float64(0)},
		{src: `DateDiff("h", "2021-08-24", "2021-08-25")`, want: float64(24)},
		{src: `DateDiff("n", "2021-08-24", "2021-08-25")`, want: float64(1440)},
		{src: `DateDiff("s", "2021-08-24", "2021-08-25")`, want: float64(86400)},
		{src: `DateDiff("d", Now(), CDate([hire]))`, want: float64(-3449)},
		{src: `DateDiff("s", "2021-08-24T00:00:00.9Z", "2021-08-24T00:00:02.1Z")`, want: float64(1)},
		{src: `DateDiff("s", "2021-08-24T00:00:02.1Z", "2021-08-24T00:00:00.9Z")`, want: float64(-1)},
		{src: `DateDiff("d", "0001-01-01", "9999-12-31")`, want: float64(3652058)},
		{src: `DateDiff("d", [null], Now())`, want: nil},
		{src: `IIF(DateDiff("d", Now(), CDate([hire])) > 5, "False", "True")`, want: "True"},

		// DateFromNum and NumFromDate.
		{src: `DateFromNum(129699324000000000)`, want: date(2012, 1, 1, 23, 0, 0)},
		{src: `DateFromNum([adDate])`, want: date(2012, 1, 1, 23, 0, 0)},
		{src: `DateFromNum(0)`, want: date(1601, 1, 1, 0, 0, 0)},
		{src: `DateFromNum("9223372036854775807")`, want: time.Date(30828, 9, 14, 2, 48, 5, 477580700, time.UTC)},
		{src: `DateFromNum([null])`, want: nil},
		{src: `DateFromNum([givenName])`, kind: fault.InvalidValue, msg: `DateFromNum expects a whole number of 100-nanosecond ticks, but [givenName] is "John"`},
		{src: `DateFromNum([ratio])`, kind: fault.InvalidValue, msg: "DateFromNum expects a whole"},
		{src: `NumFromDate("2012-01-01T23:00:00Z")`, want: "129699324000000000"},
		{src: `NumFromDate(Join("", FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`, want: "132539615990000000"},
		{src: `NumFromDate(Join("", FormatDateTime("12/31/2020 10:00:00 AM", , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd"), " 23:59:59-08:00"))`, want: "132539615990000000"},
		{src: `NumFromDate(DateFromNum("132539615991234567"))`, want: "132539615991234567"},
		{src: `NumFromDate([null])`, want: nil},
		{src: `NumFromDate("1600-12-31")`, kind: fault.InvalidValue, msg: "before 1601-01-01"},

		// FormatDateTime.
		{src: `FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`, want: "2015-01-23"},
		{src: `FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd'T'HH:mm:ssK")`, want: "2020-12-31T08:00:00Z"},
		{src: `FormatDateTime("  2021-08-24  ", , "yyyy-MM-dd", "dddd, MMMM d, yyyy")`, want: "Tuesday, August 24, 2021"},
		{src: `FormatDateTime("  2021-08-24", "None", "yyyy-MM-dd", "d")`, kind: fault.InvalidValue, msg: "does not match the inputFormat"},
		{src: `FormatDateTime("2021 - 08 - 24", "AllowWhiteSpaces", "yyyy-MM-dd", "d")`, want: "08/24/2021"},
		{src: `FormatDateTime("24 Aug 21 3:04 pm", , "d MMM yy h:mm tt", "o")`, want: "2021-08-24T15:04:00.0000000Z"},
		{src: `FormatDateTime("13:05", , "HH:mm", "yyyy-MM-dd HH:mm")`, want: "2021-08-25 13:05"},
		{src: `FormatDateTime("13:05", "NoCurrentDateDefault", "HH:mm", "yyyy-MM-dd HH:mm")`, want: "0001-01-01 13:05"},
		{src: `FormatDateTime(Now(), , "ignored", "yyyyMMddHHmmss.0Z")`, want: "20210825174118.0Z"},
		{src: `FormatDateTime([hireDate], , "yyyy", "%d/%M/yy h:m:s t")`, want: "16/3/12 7:0:0 A"},
		{src: `FormatDateTime([hireDate], , "yyyy", "s")`, want: "2012-03-16T07:00:00"},
		{src: `FormatDateTime([hireDate], , "yyyy", "u")`, want: "2012-03-16 07:00:00Z"},
		{src: `FormatDateTime([hireDate], , "yyyy", "R")`, want: "Fri, 16 Mar 2012 07:00:00 GMT"},
		{src: `FormatDateTime([hireDate], , "yyyy", "yyyy-MM-dd HH:mm:ss.FFF \"lit\" \\z zzz")`, want: "2012-03-16 07:00:00 lit z +00:00"},
		{src: `FormatDateTime("2021-02-29", , "yyyy-MM-dd", "d")`, kind: fault.InvalidValue, msg: `FormatDateTime: the value is "2021-02-29", which does not match the inputFormat "yyyy-MM-dd"`},
		{src: `FormatDateTime([givenName], , "yyyy-MM-dd", "d")`, kind: fault.InvalidValue, msg: `[givenName] is "John"`},
		{src: `FormatDateTime([null], , "yyyy-MM-dd", "d")`, want: nil},
		{src: `FormatDateTime([count], , "yyyy-MM-dd", "d")`, kind: fault.InvalidValue, msg: "FormatDateTime expects a date string as source, but [count] is a number"},
	})
}

func TestDotNetFormatErrors(t *testing.T) {
	for _, f := range []string{"", "Q", "yyyy'", `yyyy"`, "%", "yyyy\\", "ffffffff", "%%"} {
		if _, err := parseDateFormat(f); err == nil {
			t.Errorf("parseDateFormat(%q) succeeded; .NET throws a FormatException", f)
		}
	}
	for _, f := range []string{"d", "yyyy-MM-dd", "'T'", "%d", "\\d", "ffffffff"[:7], "dddd MMMM yyyyy gg K"} {
		if _, err := parseDateFormat(f); err != nil {
			t.Errorf("parseDateFormat(%q): %v", f, err)
		}
	}
}
