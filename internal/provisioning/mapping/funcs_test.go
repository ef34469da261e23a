package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Each function: Entra's documented examples, null inputs, multi-valued
// inputs and wrong types at run time.

func TestAppend(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Append([upn], ".test")`, want: "John.Doe@contoso.com.test"},
		{src: `Append([null], ".test")`, want: nil},
		{src: `Append([missing], ".test")`, want: nil},
		{src: `Append([empty], ".test")`, want: ".test"},
		{src: `Append([givenName], [null])`, want: "John"},
		{src: `Append([single], "!")`, want: "only!"},
		{src: `Append([count], "x")`, want: "42x"},
		{src: `Append([proxyAddresses], "x")`, kind: fault.InvalidValue, msg: "position 8: Append expects a single value as source, but [proxyAddresses] has 3 values"},
		{src: `Append([weird], "x")`, kind: fault.InvalidValue, msg: "[weird] has a value of type map[string]interface {}"},
	})
}

func TestJoin(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Join(" ", [givenName], [surname])`, want: "John Doe"},
		{src: `Join(", ", "", [surname], [givenName])`, want: "Doe, John"},
		{src: `Join("", 1000, "x")`, want: "1000x"},
		{src: `Join(";", [proxyAddresses], [givenName])`, want: "SMTP:a@x.com;smtp:b@x.com;SMTP:a@x.com;John"},
		{src: `Join(" ", [null], [missing], [empty])`, want: ""},
		{src: `Join([null], [givenName], [surname])`, want: "JohnDoe"},
		{src: `Join("-", Split("a,b", ","), [active])`, want: "a-b-True"},
	})
}

func TestLeftMidWord(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Left("John Doe", 3)`, want: "Joh"},
		{src: `Left("John Doe", 0)`, want: ""},
		{src: `Left("John Doe", -1)`, want: "John Doe"},
		{src: `Left("Jo", 5)`, want: "Jo"},
		{src: `Left([null], 2)`, want: ""},
		{src: `Left("Zoë", 3)`, want: "Zoë"},
		{src: `Left("abc", "2")`, want: "ab"},
		{src: `Left("abc", [givenName])`, kind: fault.InvalidValue, msg: `Left expects a number as NumChars, but [givenName] is "John"`},
		{src: `Left("abc", [null])`, kind: fault.InvalidValue, msg: "Left needs a number as NumChars, but [null] is null"},
		{src: `Left("abc", [ratio])`, kind: fault.InvalidValue, msg: "Left expects a whole number as NumChars, got 1.5"},
		{src: `Mid([givenName], 1, 3)`, want: "Joh"},
		{src: `Mid("John", 2, 100)`, want: "ohn"},
		{src: `Mid("John", 5, 1)`, want: ""},
		{src: `Mid("John", 2, 0)`, want: ""},
		{src: `Mid("Zoë Ä", 3, 3)`, want: "ë Ä"},
		{src: `Mid([null], 1, 3)`, want: nil},
		{src: `Mid("John", [count], 1)`, want: ""},
		{src: `Mid("John", Count([emptyList]), 1)`, kind: fault.InvalidValue, msg: "Mid expects start to be at least 1, got 0"},
		{src: `Mid("John", 1, BitAnd(-1, -1))`, kind: fault.InvalidValue, msg: "Mid expects length to be at least 0, got -1"},
		{src: `Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))`, want: "JohDoe"},
		{src: `Word("The quick brown fox", 3, " ")`, want: "brown"},
		{src: `Word("This,string!has&many separators", 3, ",!&#")`, want: "has"},
		{src: `Word("a,,b", 2, ",")`, want: "b"},
		{src: `Word("a b", 0, " ")`, want: ""},
		{src: `Word("a b", 3, " ")`, want: ""},
		{src: `Word([null], 1, " ")`, want: ""},
		{src: `Word("a b", 1, "")`, want: "a b"},
	})
}

func TestCase(t *testing.T) {
	runEval(t, []caseRow{
		{src: `ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", "Jöhn ", "Smith"))), "contoso.com"))`, want: "john.smith@contoso.com"},
		{src: `ToUpper("straße")`, want: "STRAßE"}, // invariant culture: ß has no single upper case
		{src: `ToUpper("istanbul", "tr-TR")`, want: "İSTANBUL"},
		{src: `ToLower("ISTANBUL", "tr-TR")`, want: "ıstanbul"},
		{src: `ToLower("ISTANBUL", "en-US")`, want: "istanbul"},
		{src: `ToLower([null])`, want: nil},
		{src: `ToUpper([active])`, want: "TRUE"},
		{src: `PCase([title])`, want: "Pablo Gonsalves (Second)"},
		{src: `PCase([lastName], " '-")`, want: "Pinto-De'Silva"},
		{src: `PCase(Join(" ", "GREGORY", "JAMES"))`, want: "Gregory James"},
		{src: `PCase("o'neil mcDONALD-smith")`, want: "O'neil Mcdonald-Smith"},
		{src: `PCase("ǆemal")`, want: "ǅemal"},
		{src: `PCase("abc def", "")`, want: "Abc def"},
		{src: `PCase([null])`, want: nil},
		{src: `StripSpaces(" a b\tc ")`, want: `ab\tc`}, // only U+0020 goes; "\t" is not an escape
		{src: `StripSpaces([null])`, want: nil},
		{src: `NormalizeDiacritics("Zoë")`, want: "Zoe"},
		{src: `NormalizeDiacritics("Æsa Øre Łódź Straße İğdır Ā́ e̊̄ ḗ œ̄")`, want: "AEsa OEre Lodz Strasse Igdir A e e oe"},
		{src: `NormalizeDiacritics("Nguyễn Đức")`, want: "Nguyen Duc"},
		{src: `NormalizeDiacritics("नमस्ते")`, want: "नमस्ते"},
		{src: `NormalizeDiacritics([null])`, want: nil},
	})
}

func TestReplace(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Replace("Product Developer", "Product Developer", , , "Software Engineer", , )`, want: "Software Engineer"},
		{src: `Replace([mail], "@contoso.com", , , "", , )`, want: "john.doe"},
		{src: `Replace("a.b.c", ".", , , "", , )`, want: "abc"},
		{src: `Replace("jsmith", "<username>", , , , , "<username>@contoso.com")`, want: "jsmith@contoso.com"},
		{src: `Replace("+91 9998887777", , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`, want: "9998887777"},
		{src: `Replace([phone], , "[()\\s-]+", , "", , )`, want: "+19998887777"},
		{src: `Replace("545 Tremont Street", , "(?<streetNumber>^\\d*)", "streetNumber", "888", , )`, want: "888 Tremont Street"},
		{src: `Replace("jsmith@contoso.com", , "(?<Suffix>@(.)*)", "Suffix", "", , )`, want: "jsmith"},
		{src: `Replace([telephone], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber", , [mobile], )`, want: "8887779999"},
		{src: `Replace("0123", , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber", , [mobile], )`, want: "0123"},
		{src: `Replace([null], , "(?<d>\\d+)", "d", , "no digits", )`, want: nil},
		{src: `Replace("john_doe72", , "[a-zA-Z_]*", , "", , )`, want: "72"},
		{src: `Replace("a1b2", , "(\\d)", , "<$1$$$&>", , )`, want: "a<1$1>b<2$2>"},
		{src: `Replace("ab", , "(?<x>a)", , "${nope}", , )`, want: "${nope}b"},
		{src: `Replace("ab", , "a", , "[$` + "`" + `|$'|$_]", , )`, want: "[|b|ab]b"},
		{src: `Replace("ab", , "(a)(b)", , "$+$2$1$3", , )`, want: "bba$3"},
		{src: `Replace([null], "a", , , "b", , )`, want: nil},
		{src: `Replace("abc", [empty], , , "b", , )`, kind: fault.InvalidValue, msg: "Replace expects a non-empty oldValue, but [empty] is empty"},
		{src: `Replace([proxyAddresses], "a", , , "b", , )`, kind: fault.InvalidValue, msg: "has 3 values"},
		{src: `Join(Replace("x", "x", , , [givenName], , ), "a", "b")`, want: "aJohnb"},
	})
}

func TestSplitItemCountRemoveDuplicates(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Split("PermissionSetOne, PermissionSetTwo", ",")`, want: []string{"PermissionSetOne", "PermissionSetTwo"}},
		{src: `Split("a,,b,", ",")`, want: []string{"a", "b"}},
		{src: `Split("a--b", "--")`, want: []string{"a", "b"}},
		{src: `Split(",", ",")`, want: nil},
		{src: `Split([null], ",")`, want: nil},
		{src: `Split("a", [empty])`, kind: fault.InvalidValue, msg: "Split expects a non-empty delimiter"},
		{src: `Item([proxyAddresses], 1)`, want: "SMTP:a@x.com"},
		{src: `Item([proxyAddresses], 3)`, want: "SMTP:a@x.com"},
		{src: `Item([proxyAddresses], 4)`, want: nil},
		{src: `Item([givenName], 1)`, want: "John"},
		{src: `Item([null], 1)`, want: nil},
		{src: `Item(Split("a b c", " "), 2)`, want: "b"},
		{src: `Item([proxyAddresses], Count([emptyList]))`, kind: fault.InvalidValue, msg: "Item expects index to be at least 1"},
		{src: `Count([proxyAddresses])`, want: float64(3)},
		{src: `Count([givenName])`, want: float64(1)},
		{src: `Count([empty])`, want: float64(0)},
		{src: `Count([null])`, want: float64(0)},
		{src: `Count([emptyList])`, want: float64(0)},
		{src: `RemoveDuplicates([proxyAddresses])`, want: []string{"SMTP:a@x.com", "smtp:b@x.com"}},
		{src: `RemoveDuplicates([givenName])`, want: []string{"John"}},
		{src: `RemoveDuplicates([null])`, want: nil},
	})
}

func TestConversions(t *testing.T) {
	runEval(t, []caseRow{
		{src: `ConvertToBase64("Hello world!")`, want: "SABlAGwAbABvACAAdwBvAHIAbABkACEA"},
		{src: `ConvertToBase64("😀")`, want: "PdgA3g=="},
		{src: `ConvertToBase64([null])`, want: nil},
		{src: `ConvertToUTF8Hex("Hello world!")`, want: "48656C6C6F20776F726C6421"},
		{src: `ConvertToUTF8Hex("é")`, want: "C3A9"},
		{src: `ConvertToUTF8Hex([null])`, want: nil},
		{src: `CStr([count])`, want: "42"},
		{src: `CStr([ratio])`, want: "1.5"},
		{src: `CStr([active])`, want: "True"},
		{src: `CStr([hireDate])`, want: "3/16/2012 7:00:00 AM"},
		{src: `CStr("cn=Joe,dc=contoso,dc=com")`, want: "cn=Joe,dc=contoso,dc=com"},
		{src: `CStr([null])`, want: nil},
		{src: `CStr([proxyAddresses])`, kind: fault.InvalidValue, msg: "CStr expects a single value"},
		{src: `CBool([givenName] = [givenName])`, want: true},
		{src: `CBool([givenName] = [surname])`, want: false},
		{src: `CBool("True")`, want: true},
		{src: `CBool("false")`, want: false},
		{src: `CBool(2)`, want: true},
		{src: `CBool("0")`, want: false},
		{src: `CBool([null])`, want: false},
		{src: `CBool([empty])`, want: false},
		{src: `CBool([givenName])`, kind: fault.InvalidValue, msg: `CBool expects a condition (True or False), but [givenName] is "John"`},
		{src: `CBool([hireDate])`, kind: fault.InvalidValue, msg: "is the date 3/16/2012 7:00:00 AM"},
		{src: `BitAnd(&HF, &HF7)`, want: float64(7)},
		{src: `BitAnd([uac], 2)`, want: float64(2)},
		{src: `BitAnd([uacText], 512)`, want: float64(512)},
		{src: `BitAnd([uac], 1)`, want: float64(0)},
		{src: `BitAnd([null], 1)`, want: nil},
		{src: `BitAnd([givenName], 1)`, kind: fault.InvalidValue, msg: "BitAnd expects a number as value1"},
		{src: `BitAnd([ratio], 1)`, kind: fault.InvalidValue, msg: "whole number"},
		{src: `BitAnd([active], 1)`, kind: fault.InvalidValue, msg: "is a boolean"},
		{src: `InStr("The quick brown fox", "quick")`, want: float64(5)},
		{src: `InStr("repEated", "e", 3, vbBinaryCompare)`, want: float64(7)},
		{src: `InStr("repEated", "e", 3, vbTextCompare)`, want: float64(4)},
		{src: `InStr("repEated", "E", 1, 1)`, want: float64(2)},
		{src: `InStr("abc", "z")`, want: float64(0)},
		{src: `InStr("abc", "")`, want: float64(1)},
		{src: `InStr("abc", "c", 4)`, want: float64(0)},
		{src: `InStr("abc", "c", 9)`, want: float64(0)},
		{src: `InStr("Zoë x", "x")`, want: float64(5)},
		{src: `InStr([null], "x")`, want: float64(0)},
		{src: `InStr("abc", "c", [null])`, want: float64(3)},
		{src: `InStr("abc", "c", Count([emptyList]))`, kind: fault.InvalidValue, msg: "InStr expects start to be at least 1"},
	})
}

func TestPredicates(t *testing.T) {
	runEval(t, []caseRow{
		{src: `IsNull([displayName])`, want: true},
		{src: `IsNull([null])`, want: true},
		{src: `IsNull([empty])`, want: false},
		{src: `IsNull([emptyList])`, want: true},
		{src: `IsNull([givenName])`, want: false},
		{src: `IsNullOrEmpty([empty])`, want: true},
		{src: `IsNullOrEmpty([missing])`, want: true},
		{src: `IsNullOrEmpty([emptyList])`, want: true},
		{src: `IsNullOrEmpty([proxyAddresses])`, want: false},
		{src: `IsNullOrEmpty([active])`, want: false},
		{src: `IsPresent([givenName])`, want: true},
		{src: `IsPresent([empty])`, want: false},
		{src: `IsPresent([count])`, want: true},
		{src: `IsString([givenName])`, want: true},
		{src: `IsString([empty])`, want: true},
		{src: `IsString([count])`, want: false},
		{src: `IsString([active])`, want: false},
		{src: `IsString([null])`, want: false},
		{src: `IsString([proxyAddresses])`, want: false},
		{src: `Not("True")`, want: false},
		{src: `Not("true")`, want: false},
		{src: `Not("False")`, want: true},
		{src: `Not([active])`, want: false},
		{src: `Not([null])`, want: true},
		{src: `Not("anything")`, want: true},
		{src: `Not(IsPresent([givenName]))`, want: false},
		{src: `Not([proxyAddresses])`, kind: fault.InvalidValue, msg: "Not expects a single value"},
		{src: `Coalesce([mail], [upn])`, want: "john.doe@contoso.com"},
		{src: `Coalesce([null], [missing], [upn])`, want: "John.Doe@contoso.com"},
		{src: `Coalesce([null], [missing], "default")`, want: "default"},
		{src: `Coalesce([null], [missing])`, want: nil},
		{src: `Coalesce([empty], "x")`, want: ""},
		{src: `Coalesce([emptyList], [proxyAddresses])`, want: []string{"SMTP:a@x.com", "smtp:b@x.com", "SMTP:a@x.com"}},
		{src: `Redact([upn])`, want: "John.Doe@contoso.com"},
		{src: `Redact("StringToBeRedacted")`, want: "StringToBeRedacted"},
	})
}

func TestIgnoreFlow(t *testing.T) {
	for _, src := range []string{
		`IgnoreFlowIfNullOrEmpty([department])`,
		`IgnoreFlowIfNullOrEmpty([empty])`,
		`IgnoreFlowIfNullOrEmpty([emptyList])`,
		`IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))`,
		`Join(" ", IgnoreFlowIfNullOrEmpty([null]), [givenName])`,
	} {
		_, err := MustCompile(src).Eval(person)
		if !errors.Is(err, ErrIgnoreFlow) {
			t.Errorf("%s: err = %v, want ErrIgnoreFlow", src, err)
		}
	}
	runEval(t, []caseRow{
		{src: `IgnoreFlowIfNullOrEmpty([givenName])`, want: "John"},
		{src: `IgnoreFlowIfNullOrEmpty([active])`, want: true},
		{src: `IIF(IsPresent([null]), IgnoreFlowIfNullOrEmpty([null]), "kept")`, want: "kept"},
	})
}

func TestSwitch(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")`, want: "Australia/Brisbane"},
		{src: `Switch("WA", "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane")`, want: "Australia/Sydney"},
		{src: `Switch("qld", "default", "QLD", "x")`, want: "default"},
		{src: `Switch(ToLower("TRUE"), "0", "true", "1", "false", "0")`, want: "1"},
		{src: `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, want: "True"},
		{src: `Switch([active], , "false", "no", "true", "yes")`, want: "yes"},
		{src: `Switch([missing], , "a", "b")`, want: nil},
		{src: `Switch([null], "Default Value", "true", "1", "", "0")`, want: "0"},
		{src: `Switch([empty], "Default Value", "true", "1", "", "0")`, want: "0"},
		{src: `Switch([count], "other", "42", "answer")`, want: "answer"},
		{src: `Switch([single], "other", "only", "one")`, want: "one"},
		{src: `Switch([proxyAddresses], "x", "a", "b")`, kind: fault.InvalidValue, msg: "Switch expects a single value as source"},
		{src: `Switch("b", "d", "a", IgnoreFlowIfNullOrEmpty([null]), "b", "ok")`, want: "ok"},
	})
}

func TestRolesAndUnique(t *testing.T) {
	runEval(t, []caseRow{
		{src: `SingleAppRoleAssignment([appRoleAssignments])`, want: "Admin"},
		{src: `SingleAppRoleAssignment([appRoleAssignments])`, env: rolesEnv{roles: []string{"Zed", "Beta", "Beta"}}, want: "Beta"},
		{src: `SingleAppRoleAssignment([appRoleAssignments])`, env: rolesEnv{}, want: nil},
		{src: `SingleAppRoleAssignment([appRoleAssignments])`, env: Attrs{}, want: nil},
		{src: `AppRoleAssignmentsComplex([appRoleAssignments])`, env: rolesEnv{roles: []string{"b", "a", "", "b"}}, want: []string{"a", "b"}},
		{src: `AssertiveAppRoleAssignmentsComplex([appRoleAssignments])`, want: []string{"Admin", "Writer"}},
	})
	const rule = `SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), ` +
		`Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"), ` +
		`Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com"))`
	e := MustCompile(rule)
	if !e.SelectsUniqueValue() {
		t.Fatal("SelectsUniqueValue() = false")
	}
	env := newEnv(Attrs{"PreferredFirstName": "Jéssica", "PreferredLastName": "Smith"})
	for _, want := range []string{"Jessica.Smith@contoso.com", "J.Smith@contoso.com", "Je.Smith@contoso.com"} {
		got, err := e.Eval(env)
		if err != nil || got != want {
			t.Fatalf("SelectUniqueValue = %v, %v; want %q", got, err, want)
		}
		env.taken[want] = true
	}
	if _, err := e.Eval(env); !fault.Is(err, fault.Uniqueness) {
		t.Fatalf("all taken: err = %v, want fault.Uniqueness", err)
	}
	env.fail = errBoom
	if _, err := e.Eval(env); !errors.Is(err, errBoom) {
		t.Fatalf("checker failure: err = %v, want errBoom wrapped", err)
	}
	if _, err := e.Eval(Attrs{"PreferredFirstName": "A", "PreferredLastName": "B"}); !fault.Is(err, fault.Unsupported) {
		t.Fatalf("no checker: err = %v, want fault.Unsupported", err)
	}
	if got, err := e.Eval(newEnv(Attrs{})); err != nil || got != "contoso.com" {
		// Join skips the empty name parts, so every rule yields the same
		// candidate, which is checked once.
		t.Fatalf("empty names: %v, %v", got, err)
	}
	if got, err := MustCompile(`SelectUniqueValue([a], [b])`).Eval(newEnv(Attrs{})); err != nil || got != nil {
		t.Fatalf("no candidates: %v, %v; want null", got, err)
	}
}

func TestGuidAndRandomString(t *testing.T) {
	g1, err := MustCompile(`Guid()`).Eval(newEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := MustCompile(`Guid()`).Eval(newEnv(nil))
	if g1 != g2 {
		t.Fatalf("Guid with the same seed differs: %v, %v", g1, g2)
	}
	if s := g1.(string); len(s) != 36 || s[14] != '4' || s[8] != '-' || !containsAny(s[19:20], "89ab") {
		t.Fatalf("Guid = %q, not a version 4 GUID", s)
	}
	if g3, _ := MustCompile(`Guid()`).Eval(person); g3 == g1 {
		t.Fatal("crypto/rand Guid equals the seeded one")
	}

	for _, c := range []struct {
		src                        string
		length, num, spec, up, low int
		avoid                      string
	}{
		{`RandomString(6, 3, 0, 0, 3)`, 6, 3, 0, 0, 3, ""},
		{`RandomString(10, 2, 2, 2, 1, "?,")`, 10, 2, 2, 2, 1, "?,"},
		{`RandomString(256, 0, 0, 0, 0)`, 256, 0, 0, 0, 0, ""},
		{`RandomString(8, 8, 0, 0, 0, "0123456")`, 8, 8, 0, 0, 0, "0123456"},
	} {
		v, err := MustCompile(c.src).Eval(newEnv(nil))
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		s := v.(string)
		if len(s) != c.length || countIn(s, rsDigits) < c.num || countIn(s, rsSpecial) < c.spec ||
			countIn(s, rsUpper) < c.up || countIn(s, rsLower) < c.low || containsAny(s, c.avoid) {
			t.Errorf("%s = %q violates its conditions", c.src, s)
		}
		again, _ := MustCompile(c.src).Eval(newEnv(nil))
		if again != v {
			t.Errorf("%s is not deterministic with a seeded source: %q, %q", c.src, v, again)
		}
	}
	runEval(t, []caseRow{
		{src: `RandomString([uac], 0, 0, 0, 0)`, kind: fault.InvalidValue, msg: "RandomString expects a Length from 1 to 256, got 514"},
		{src: `RandomString(4, 1, 1, 0, 0, "0123456789")`, kind: fault.InvalidValue, msg: "CharactersToAvoid excludes every character MinimumNumbers could use"},
		{src: `RandomString(4, [count], 0, 0, 0)`, kind: fault.InvalidValue, msg: "minimums add up to 42"},
	})
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, r := range s {
			if r == c {
				return true
			}
		}
	}
	return false
}

func countIn(s, set string) int {
	n := 0
	for _, r := range s {
		if containsAny(string(r), set) {
			n++
		}
	}
	return n
}

func TestValueLimit(t *testing.T) {
	big := `ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex("abcd")))))))))))))))))))))`
	if _, err := MustCompile(big).Eval(person); !fault.Is(err, fault.Limit) {
		t.Fatalf("err = %v, want fault.Limit", err)
	}
	// Each value stays under MaxValueBytes, but together they exceed
	// MaxWorkBytes.
	work := strings.Repeat("ToLower(", 40) + strings.Repeat("ConvertToUTF8Hex(", 19) + `"a"` + strings.Repeat(")", 59)
	if _, err := MustCompile(work).Eval(person); !fault.Is(err, fault.Limit) || !strings.Contains(err.Error(), "intermediate values") {
		t.Fatalf("work budget: err = %v, want fault.Limit", err)
	}
	rep := `Replace(Replace(Replace(Replace("` + string(make([]byte, 0)) + `aaaaaaaaaaaaaaaaaaaa", "a", , , "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", , ), "a", , , "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", , )`
	if _, err := MustCompile(rep).Eval(person); !fault.Is(err, fault.Limit) {
		t.Fatalf("Replace growth: err = %v, want fault.Limit", err)
	}
}
