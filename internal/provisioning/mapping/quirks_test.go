package mapping

import (
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Entra quirk: "If the source attribute used within the IIF function is
// empty or null, the condition check fails", so Microsoft Learn lists these
// three as unsupported. Here a null or empty condition is false and a
// comparison with null treats null as "".
func TestQuirkIIFOnNullOrEmpty(t *testing.T) {
	for _, country := range []Value{nil, "", []string{}} {
		env := Attrs{"country": country, "department": "Sales"}
		for src, want := range map[string]Value{
			`IIF([country]="","Other",[country])`:             "Other",
			`IIF(IsNullOrEmpty([country]),"Other",[country])`: "Other",
			`IIF(IsPresent([country]),[country],"Other")`:     "Other",
			`IIF([country]="USA",[country],[department])`:     "Sales",
			`IIF([country]<>"USA","not USA","USA")`:           "not USA",
			`IIF([country],"yes","no")`:                       "no",
			`IIF(Not(IsNull([country])),"yes","no")`:          map[bool]Value{true: "yes", false: "no"}[country == ""],
		} {
			got, err := MustCompile(src).Eval(env)
			if err != nil || !sameValue(got, want) {
				t.Errorf("country=%#v: %s = %#v, %v; want %#v", country, src, got, err, want)
			}
		}
	}
	// A condition that is text but not a boolean is an error, not false.
	_, err := MustCompile(`IIF([country], "a", "b")`).Eval(Attrs{"country": "USA"})
	if !fault.Is(err, fault.InvalidValue) {
		t.Fatalf("IIF on \"USA\": err = %v, want InvalidValue", err)
	}
}

// Entra quirk: "if there is an attribute mapping that uses a switch
// statement and there is no change to the attribute in the source tenant,
// but there is a change to another attribute in the mappings, the switch
// statement is evaluated as null" and the target is blanked. Here an Expr is
// a pure function of the full object it is given: changing an unrelated
// attribute cannot change its value, and it does not depend on evaluation
// order or on what was evaluated before.
func TestQuirkSwitchNotBlankedByUnrelatedUpdate(t *testing.T) {
	sw := MustCompile(`Switch([companyName], "External", "Company A", "A", "Company B", "B")`)
	direct := MustCompile(`[displayName]`)
	before := Attrs{"displayName": "Ann", "companyName": "Company A"}
	after := Attrs{"displayName": "Ann Smith", "companyName": "Company A"} // only displayName changed
	for _, env := range []Attrs{before, after, before} {
		if _, err := direct.Eval(env); err != nil {
			t.Fatal(err)
		}
		got, err := sw.Eval(env)
		if err != nil || got != "A" {
			t.Fatalf("Switch after an unrelated update = %#v, %v; want \"A\"", got, err)
		}
	}
	if got := sw.Attributes(); len(got) != 1 || got[0] != "companyName" {
		t.Fatalf("Attributes() = %v; the engine re-evaluates the mapping from the full object, never from a delta", got)
	}
	// Concurrent evaluation of one Expr gives the same answer every time.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := before
			if i%2 == 1 {
				env = after
			}
			if got, err := sw.Eval(env); err != nil || got != "A" {
				t.Errorf("concurrent Switch = %#v, %v", got, err)
			}
		}()
	}
	wg.Wait()
}

// Entra quirk: no AND/OR operators (Microsoft Learn's workaround is nested
// IIF). And and Or are functions here, short-circuiting and null-safe.
func TestQuirkAndOr(t *testing.T) {
	runEval(t, []caseRow{
		{src: `IIF(And([country]="USA", [state]="QLD"), "True", "False")`, want: "True"},
		{src: `IIF(And([country]="USA", [state]="CA"), "True", "False")`, want: "False"},
		{src: `IIF(Or([country]="NZ", [state]="QLD"), "True", "False")`, want: "True"},
		{src: `Or([null], [empty], [missing]="x")`, want: false},
		{src: `And(IsPresent([givenName]), IsPresent([surname]), [active])`, want: true},
		{src: `Or([active], CBool([givenName]))`, want: true}, // short-circuit: CBool("John") is never evaluated
		{src: `And([IsSoftDeleted], CBool([givenName]))`, want: false},
		{src: `And([active], CBool([givenName]))`, kind: fault.InvalidValue, msg: "CBool expects a condition"},
	})
}

// Entra cautions against IsPresent, IsNull and IsNullOrEmpty as Switch's
// source; here their booleans match the keys "True"/"False".
func TestQuirkPredicatesInSwitch(t *testing.T) {
	runEval(t, []caseRow{
		{src: `Switch(IsPresent([givenName]), "no", "True", "yes")`, want: "yes"},
		{src: `Switch(IsPresent([missing]), "no", "True", "yes")`, want: "no"},
		{src: `Switch(IsNullOrEmpty([empty]), "?", "true", "empty", "false", "set")`, want: "empty"},
		{src: `Switch(IsNull([givenName]), "?", "True", "null", "False", "set")`, want: "set"},
	})
}

func TestComparisons(t *testing.T) {
	runEval(t, []caseRow{
		{src: `[country] = "USA"`, want: true},
		{src: `[country] = "usa"`, want: false},
		{src: `[employeeId] > 1000`, want: true},
		{src: `[employeeId] >= 1500`, want: true},
		{src: `[employeeId] < 2000`, want: true},
		{src: `[employeeId] <= 1499`, want: false},
		{src: `[count] = "42"`, want: true},
		{src: `[count] = "42.0"`, want: true},
		{src: `"9" > "10"`, want: true}, // two strings compare as text, as in VBA
		{src: `9 > "10"`, want: false},
		{src: `[null] = ""`, want: true},
		{src: `[null] = [missing]`, want: true},
		{src: `[null] <> "x"`, want: true},
		{src: `[null] > 1`, want: false},
		{src: `[null] < 1`, want: false},
		{src: `[null] <= [null]`, want: false},
		{src: `[emptyList] = ""`, want: true},
		{src: `[proxyAddresses] = "smtp:b@x.com"`, want: true},
		{src: `[proxyAddresses] <> "smtp:b@x.com"`, want: false},
		{src: `[proxyAddresses] <> "zzz"`, want: true},
		{src: `"zzz" = [proxyAddresses]`, want: false},
		{src: `[active] = "true"`, want: true},
		{src: `[active] = "True"`, want: true},
		{src: `[active] = true`, want: true},
		{src: `[active] <> false`, want: true},
		{src: `CDate([hire]) < Now()`, want: true},
		{src: `[hireDate] = "2012-03-16T07:00:00Z"`, want: true},
		{src: `[hireDate] > "2012-03-16"`, want: true},
		{src: `DateDiff("d", Now(), CDate([hire])) > 5`, want: false},
		{src: `CBool([givenName] = [givenName])`, want: true},
		{src: `&HF = 15`, want: true},
		{src: `-1.5 < 0`, want: true},
	})
}

func TestNullInNullOut(t *testing.T) {
	// String transformations pass null through, so IgnoreFlowIfNullOrEmpty
	// and the mapping's default value still see it; Left and Word follow
	// Microsoft Learn and return "".
	for src, want := range map[string]Value{
		`Append([x], "s")`: nil, `ToLower([x])`: nil, `ToUpper([x])`: nil, `PCase([x])`: nil,
		`StripSpaces([x])`: nil, `NormalizeDiacritics([x])`: nil, `Mid([x], 1, 1)`: nil, `CStr([x])`: nil,
		`Replace([x], "a", , , "b", , )`: nil, `Split([x], ",")`: nil, `CDate([x])`: nil,
		`ConvertToBase64([x])`: nil, `ConvertToUTF8Hex([x])`: nil, `FormatDateTime([x], , "d", "d")`: nil,
		`NumFromDate([x])`: nil, `DateFromNum([x])`: nil, `BitAnd([x], 1)`: nil, `Item([x], 1)`: nil,
		`Left([x], 1)`: "", `Word([x], 1, " ")`: "", `Join(" ", [x])`: "", `Count([x])`: float64(0),
		`IsNull([x])`: true, `Not([x])`: true, `CBool([x])`: false, `InStr([x], "a")`: float64(0),
		`Switch([x], "d", "a", "b")`: "d", `Coalesce([x], "c")`: "c",
	} {
		got, err := MustCompile(src).Eval(Attrs{})
		if err != nil || !sameValue(got, want) {
			t.Errorf("%s with [x] absent = %#v, %v; want %#v", src, got, err, want)
		}
	}
}
