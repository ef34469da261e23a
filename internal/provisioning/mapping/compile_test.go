package mapping

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		src string
		msg string // the whole message after "expression: "
	}{
		// Arity and unknown functions.
		{`Join([givenName])`, `position 1: Join expects at least 2 arguments, got 1; its form is Join(separator, source, …)`},
		{`IIF([a]="x", "y")`, `position 1: IIF expects 3 arguments, got 2; its form is IIF(condition, valueIfTrue, valueIfFalse)`},
		{`Now(1)`, `position 1: Now expects 0 arguments, got 1; its form is Now()`},
		{`Replace([a])`, `position 1: Replace expects from 3 to 7 arguments, got 1`},
		{`Switch([a], "d")`, `position 1: Switch expects at least 4 arguments, got 2`},
		{`Switch([a], "d", "k", "v", "k2")`, `position 1: Switch expects key/value pairs after the source and the default value, so an even number of arguments; got 5`},
		{`SelectUniqueValue([a])`, `position 1: SelectUniqueValue expects at least 2 arguments, got 1`},
		{`Jion(" ", [a])`, `position 1: unknown function Jion; did you mean Join?`},
		{`Join(" ", Coalese([a], [b]))`, `position 11: unknown function Coalese; did you mean Coalesce?`},
		{`Concat([a], [b])`, `position 1: unknown function Concat; did you mean Join?`},
		{`Frobnicate([a])`, `position 1: unknown function Frobnicate`},
		{`givenName`, `position 1: unknown name givenName; attribute references are written in brackets, as in [givenName], and function calls need parentheses`},

		// Literal argument types.
		{`Join(" ", [givenName], Left([surname], "abc"))`, `position 40: Left expects a number as NumChars, got "abc"`},
		{`Join(1, [givenName])`, `position 6: Join expects a separator string as its first argument; write Join(" ", [givenName], [surname])`},
		{`Join(Split([a], ","), [b])`, `position 6: Join expects a single value as separator, got Split(…), which returns a list`},
		{`BitAnd("x", 1)`, `position 8: BitAnd expects a number as value1, got "x"`},
		{`DateAdd("d", true, Now())`, `position 14: DateAdd expects a number as value, got a boolean`},
		{`DateAdd("d", 1.5, Now())`, `position 14: DateAdd expects a whole number as value, got 1.5`},
		{`DateAdd("q", 1, Now())`, `position 9: DateAdd expects an interval of "yyyy" (years), "m" (months), "d" (days), "ww" (weeks), "h" (hours), "n" (minutes) or "s" (seconds), got "q"`},
		{`DateDiff("d", 5, Now())`, `position 15: DateDiff expects a date as date1, got a number; convert it with CDate or DateFromNum`},
		{`CDate("not a date")`, `position 7: CDate expects a date as expression, but "not a date" is not a date`},
		{`IIF("maybe", "a", "b")`, `position 5: IIF expects a condition (True or False) as its first argument, got "maybe"`},
		{`ToLower(Split([a], ","))`, `position 9: ToLower expects a single value as source, got Split(…), which returns a list`},
		{`Item([a], 0)`, `position 11: Item expects index to be at least 1, got 0`},
		{`Left([a], 1.5)`, `position 11: Left expects a whole number as NumChars, got 1.5`},
		{`Left([a], )`, `position 11: Left needs a value for NumChars (its second argument); it cannot be left empty`},
		{`Mid([a], 0, 2)`, `position 10: Mid expects start to be at least 1, got 0`},
		{`InStr([a], "b", 0)`, `position 17: InStr expects start to be at least 1, got 0`},
		{`InStr([a], "b", 1, "x")`, `position 20: InStr expects vbBinaryCompare or vbTextCompare as compareType`},
		{`Join(" ", vbTextCompare)`, `position 11: vbTextCompare can only be used as the compareType of InStr`},
		{`Split([a], "")`, `position 12: Split expects a non-empty delimiter`},
		{`RandomString(300, 0, 0, 0, 0)`, `position 14: RandomString expects a Length from 1 to 256, got 300`},
		{`RandomString(4, 2, 2, 2, 0)`, `position 1: RandomString: the minimums add up to 6, more than the Length 4`},
		{`ToLower([a], "en_US")`, `position 14: ToLower expects a culture name such as "en-US" or "tr-TR", got "en_US"`},
		{`SingleAppRoleAssignment("x")`, `position 25: SingleAppRoleAssignment expects an attribute reference such as [appRoleAssignments] as appRoleAssignments`},
		{`Join(" ", SelectUniqueValue([a], [b]))`, `position 11: SelectUniqueValue must be the whole expression; it cannot be nested in another function`},

		// .NET date formats and regular expressions.
		{`FormatDateTime([d], , "yyyy-MM-dd'", "yyyy")`, `position 23: FormatDateTime: the inputFormat "yyyy-MM-dd'" is not a valid .NET date format: the date format has an unclosed quote '`},
		{`FormatDateTime([d], , "yyyy", "ffffffffff")`, `position 31: FormatDateTime: the outputFormat "ffffffffff" is not a valid .NET date format: the date format has more than 7 f (fraction) specifiers`},
		{`FormatDateTime([d], , "Q", "yyyy")`, `position 23: FormatDateTime: the inputFormat "Q" is not a valid .NET date format: "Q" is not a .NET standard date format`},
		{`FormatDateTime([d], "Bogus", "yyyy", "yyyy")`, `position 21: FormatDateTime: "Bogus" is not a DateTimeStyles value`},
		{`FormatDateTime([d], , [f], "yyyy")`, `position 23: FormatDateTime expects a string constant in double quotes as inputFormat`},
		{`Replace([a], , "(", , "x", , )`, `position 16: Replace: the regexPattern "(" is not a valid regular expression: missing closing ): ` + "`(`"},
		{`Replace([a], , "(?=x)", , "x", , )`, `position 16: Replace: the regexPattern "(?=x)" is not a valid regular expression: invalid or unsupported Perl syntax`},
		{`Replace([a], , "(?<n>x)", "m", "y", , )`, `position 27: Replace: the regexPattern has no group named "m"; name one with (?<m>...)`},
		{`Replace([a], "x", , , , , )`, `position 1: Replace needs one of these argument combinations`},
		{`Replace([a], "x", "y", , "z", , )`, `position 1: Replace needs one of these argument combinations`},
		{`Replace([a], "", , , "y", , )`, `position 14: Replace expects a non-empty oldValue`},

		// Syntax.
		{``, `position 1: the expression is empty`},
		{`   `, `position 1: the expression is empty`},
		{`[givenName`, `position 1: the attribute reference is not closed with ]`},
		{`[]`, `position 1: the attribute name between [ and ] is empty`},
		{`Join(" ", "abc`, `position 11: the string constant is not closed with "`},
		{`Join(" ", [a]`, `position 1: the call to Join is not closed with )`},
		{`Join(" " [a])`, `position 10: unexpected '[' in the arguments of Join; expected , or )`},
		{`Guid()x`, `position 7: unexpected 'x' after the end of the expression`},
		{`Join(" ", ([a]))`, `position 11: unexpected '('; expected a function call, an [attribute], a "string" or a number`},
		{`IIF([a] =, "x", "y")`, `position 10: expected a value after =`},
		{`IIF([a] == "b", "x", "y")`, `position 9: use = to compare (there is no ==)`},
		{`IIF([a] != "b", "x", "y")`, `position 9: use <> for not equal`},
		{`IIF([a] = [b] = [c], "x", "y")`, `position 9: comparisons cannot be chained; nest them with IIF, And or Or`},
		{`Join(" ", “x”)`, `position 11: unexpected '“': string constants use straight double quotes (")`},
		{`Join(" ", 'x')`, `position 11: unexpected ': string constants use double quotes (")`},
		{`&HZZ`, `position 1: expected hex digits after &H`},
		{`&H40000000000000`, `position 1: the hexadecimal number &H40000000000000 is larger than &H20000000000000`},
		{`1e5`, `position 2: unexpected 'e' in a number`},
		{`Left("x", 1.)`, `position 11: expected digits after the decimal point`},
		{"Join(\"x\",\n  [a],\n  [b] [c])", `position 24: unexpected '[' in the arguments of Join; expected , or )`},
		{`Join("é", "ü", Zoë(1))`, `position 16: unknown function Zoë`},
		{`Left(` + strings.Repeat(`ToLower(`, 120) + `"x"` + strings.Repeat(`)`, 120) + `, 1)`, `functions are nested more than 100 deep`},
	} {
		_, err := Compile(c.src)
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.InvalidValue || fe.Field != DefaultField {
			t.Errorf("Compile(%q) = %v; want a fault.InvalidValue on %q", c.src, err, DefaultField)
			continue
		}
		if !strings.HasPrefix(fe.Message, "expression: ") || !strings.Contains(fe.Message, c.msg) {
			t.Errorf("Compile(%q):\n got  %s\n want expression: %s", c.src, fe.Message, c.msg)
		}
	}
}

func TestCompileLimits(t *testing.T) {
	if _, err := Compile(`"` + strings.Repeat("x", MaxLength) + `"`); err == nil || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("overlong expression: %v", err)
	}
	if _, err := Compile(`"` + strings.Repeat("é", MaxLength-2) + `"`); err != nil {
		t.Errorf("10000 characters (more bytes) must compile: %v", err)
	}
	if _, err := Compile("\"\xff\""); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	_, err := CompileField("mappings[3].expression", `Left([a], "x")`)
	if fe, ok := fault.As(err); !ok || fe.Field != "mappings[3].expression" {
		t.Errorf("CompileField: %#v", err)
	}
	e, _ := CompileField("mappings[3].expression", `Left([a], [b])`)
	_, err = e.Eval(Attrs{"a": "x", "b": "y"})
	if fe, ok := fault.As(err); !ok || fe.Field != "mappings[3].expression" || !strings.HasPrefix(fe.Message, "expression: position 11: ") {
		t.Errorf("Eval error from CompileField: %#v", err)
	}
}

func TestCanonicalString(t *testing.T) {
	for src, want := range map[string]string{
		`join(" ",[givenName],[surname])`:                                              `Join(" ", [givenName], [surname])`,
		`  IIF( [country]="USA" ,[country] , [department] )  `:                         `IIF([country] = "USA", [country], [department])`,
		`Switch([IsSoftDeleted], , "False", "True", "True", "False")`:                  `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
		`Replace([mail], "@contoso.com", , ,"", ,)`:                                    `Replace([mail], "@contoso.com", , , "", , )`,
		`Replace([n], , "\\d+", , "x", , )`:                                            `Replace([n], , "\\d+", , "x", , )`,
		`Replace([n], , "\d+", , "x", , )`:                                             `Replace([n], , "\\d+", , "x", , )`,
		`Join("", "say \"hi\"", "C:\\")`:                                               `Join("", "say \"hi\"", "C:\\")`,
		`BitAnd(&hf, &HF7)`:                                                            `BitAnd(&HF, &HF7)`,
		`InStr("a", "b", 1, VBTEXTCOMPARE)`:                                            `InStr("a", "b", 1, vbTextCompare)`,
		`IIF(TRUE, 1.50, -0)`:                                                          `IIF(true, 1.5, -0)`,
		`[ emails[type eq "work"].value ]`:                                             `[emails[type eq "work"].value]`,
		`[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]`:      `[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]`,
		"SelectUniqueValue(\n\tJoin(\"@\", [a], \"x\"),\n\tJoin(\"@\", [b], \"x\")\n)": `SelectUniqueValue(Join("@", [a], "x"), Join("@", [b], "x"))`,
		`[a]<>[b]`: `[a] <> [b]`,
		`Guid( )`:  `Guid()`,
	} {
		e, err := Compile(src)
		if err != nil {
			t.Errorf("Compile(%q): %v", src, err)
			continue
		}
		if e.String() != want {
			t.Errorf("Compile(%q).String() = %s, want %s", src, e, want)
		}
		again, err := Compile(e.String())
		if err != nil || again.String() != e.String() {
			t.Errorf("%s does not round-trip: %v, %v", e, again, err)
		}
	}
}

func TestAttributesAndFlags(t *testing.T) {
	e := MustCompile(`Join(" ", [givenName], [GivenName], IIF([country]="USA", [emails[type eq "work"].value], Redact([ssn])), [surname])`)
	if got, want := e.Attributes(), []string{"givenName", "country", `emails[type eq "work"].value`, "ssn", "surname"}; !slices.Equal(got, want) {
		t.Errorf("Attributes() = %q, want %q", got, want)
	}
	e.Attributes()[0] = "changed"
	if e.Attributes()[0] != "givenName" {
		t.Error("Attributes() exposes internal state")
	}
	if !e.Redacted() || e.Volatile() || e.SelectsUniqueValue() {
		t.Errorf("flags = redacted %v, volatile %v, unique %v", e.Redacted(), e.Volatile(), e.SelectsUniqueValue())
	}
	for _, src := range []string{`Guid()`, `Join("", "x", RandomString(4, 1, 1, 1, 1))`, `DateDiff("d", Now(), [d])`} {
		if !MustCompile(src).Volatile() {
			t.Errorf("%s: Volatile() = false", src)
		}
	}
	if len(MustCompile(`Now()`).Attributes()) != 0 {
		t.Error("Now() references attributes")
	}
	if len(Functions()) != 46 { // the 42 of the issue, two role functions, And, Or
		t.Errorf("Functions() has %d names: %v", len(Functions()), Functions())
	}
}

func TestEntraFunctionSet(t *testing.T) {
	// Every function the issue lists, plus Entra's role functions and the
	// And/Or extension.
	want := strings.Fields(`Append BitAnd CBool CDate Coalesce ConvertToBase64 ConvertToUTF8Hex Count CStr DateAdd
		DateDiff DateFromNum FormatDateTime Guid IgnoreFlowIfNullOrEmpty IIF InStr IsNull IsNullOrEmpty IsPresent
		IsString Item Join Left Mid NormalizeDiacritics Not Now NumFromDate PCase RandomString Redact
		RemoveDuplicates Replace SelectUniqueValue SingleAppRoleAssignment Split StripSpaces Switch ToLower
		ToUpper Word AppRoleAssignmentsComplex AssertiveAppRoleAssignmentsComplex And Or`)
	have := Functions()
	for _, name := range want {
		if !slices.Contains(have, name) {
			t.Errorf("missing function %s", name)
		}
	}
}

func TestFunction(t *testing.T) {
	for src, want := range map[string]string{
		`appRoleAssignmentsComplex([appRoleAssignments])`:            "AppRoleAssignmentsComplex",
		`AssertiveAppRoleAssignmentsComplex([appRoleAssignments])`:   "AssertiveAppRoleAssignmentsComplex",
		`Join(",", AppRoleAssignmentsComplex([appRoleAssignments]))`: "Join",
		`[appRoleAssignments]`: "",
		`"Admin"`:              "",
	} {
		if got := MustCompile(src).Function(); got != want {
			t.Errorf("%s: Function() = %q, want %q", src, got, want)
		}
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustCompile of an invalid expression did not panic")
		}
	}()
	MustCompile(`Join(`)
}
