package mapping

import (
	"errors"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Seeds: Microsoft Learn's examples, every function, and inputs aimed at the
// lexer's and the checker's edges. testdata/fuzz holds more, including what
// earlier fuzzing runs found interesting.
var fuzzSeeds = []string{
	`Join(" ", [givenName], [surname])`,
	`Join(", ", "", [surname], [givenName])`,
	`Append([userPrincipalName], ".test")`,
	`IIF([country]="USA",[country],[department])`,
	`IIF([country]="USA",IIF([state]="CA","True","False"),"False")`,
	`Switch([country],[country],"","Other")`,
	`Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
	`Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")`,
	`Replace([mail], "@contoso.com", , ,"", ,)`,
	`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`,
	`Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )`,
	`Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`,
	`Replace([UserID],"<username>", , , , , "<username>@contoso.com")`,
	`FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
	`NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`,
	`DateAdd("d", 7, CDate([StatusHireDate]))`,
	`Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")`,
	`SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), Join("@", Mid([PreferredFirstName], 1, 1), "contoso.com"))`,
	`Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))`,
	`PCase([lastName]," '-")`, `Word("This,string!has&many separators",3,",!&#")`,
	`InStr("repEated","e",3,vbBinaryCompare)`, `BitAnd(&HF, &HF7)`, `RandomString(10,2,2,2,1,"?,")`,
	`Redact(RandomString(6,3,0,0,3))`, `IgnoreFlowIfNullOrEmpty([department])`, `Coalesce([mail],[userPrincipalName])`,
	`Item([proxyAddresses], 1)`, `Count([proxyAddresses])`, `RemoveDuplicates([proxyAddresses])`,
	`Split([extensionAttribute5], ",")`, `ConvertToBase64("Hello world!")`, `DateFromNum(129699324000000000)`,
	`SingleAppRoleAssignment([appRoleAssignments])`, `Guid()`, `Not(IsPresent([x]))`, `CBool([a] = [b])`,
	`And([x] >= 1, Or([y] < "b", [z] <> -1.5))`, `ToUpper([x], "tr-TR")`, `Left([x], -1)`, `Mid([x], 2, 3)`,
	`IsString([x])`, `IsNull([x])`, `IsNullOrEmpty([x])`, `CStr([x])`, `CDate([x])`, `DateDiff("ww", [x], Now())`,
	`[emails[type eq "work"].value]`, `[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager]`,
	``, `(`, `)`, `[`, `]`, `"`, `\`, `,`, `Join(`, `Join(,`, `Join(" ",,)`, `[a]=`, `&H`, `&`, `-`, `1.`,
	`"\"\\"`, `"\d"`, "\"\xff\"", `“x”`, `Zoë([x])`, `IIF([a]=[b]=[c],1,2)`, `Switch([a], "d", "k")`,
	`FormatDateTime([d], "AllowWhiteSpaces", "%d\\'x'\"y\"", "o")`, `Replace([a], , "(?<n>a)|(b)", "2", , [b], )`,
}

func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("Compile(%q) error is not classified: %v", src, err)
			}
			return
		}
		canon := e.String()
		again, err := Compile(canon)
		if err != nil {
			t.Fatalf("Compile(%q).String() = %q, which does not compile: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("String() is not stable:\n src   %q\n once  %q\n twice %q", src, canon, again.String())
		}
		if len(again.Attributes()) != len(e.Attributes()) {
			t.Fatalf("Attributes differ after a round trip: %q vs %q", e.Attributes(), again.Attributes())
		}
	})
}

// fuzzEnv is fixed apart from x, which the fuzzer chooses.
func fuzzEnv(x string) *testEnv {
	env := newEnv(Attrs{
		"x": x, "s": "John Doe", "n": 42, "f": 1.5, "b": true, "d": fixedNow, "l": []string{"a", x, "a"},
		"empty": "", "null": nil, "el": []string{}, "date": "2021-06-30+08:00",
	})
	env.taken["John Doe"] = true
	return env
}

func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "x")
	}
	f.Add(`FormatDateTime([x], , "yyyy-MM-dd HH:mm:ss.FFFK", "o")`, "2021-02-28 23:59:59.5+14:00")
	f.Add(`DateAdd("m", [x], [d])`, "-24000")
	f.Add(`Replace([x], , "(a+)(b)?", , "$2$1$$${x}$+$&", , )`, "aab aa")
	f.Add(`Left([x], 3)`, "Zoë\xff")
	f.Fuzz(func(t *testing.T, src, x string) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		v, err := e.Eval(fuzzEnv(x))
		if err != nil {
			if _, ok := fault.As(err); !ok && !errors.Is(err, ErrIgnoreFlow) {
				t.Fatalf("Eval(%q) with x=%q: unclassified error %v", src, x, err)
			}
			return
		}
		switch v := v.(type) {
		case nil, string, bool, []string:
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("Eval(%q) = %v", src, v)
			}
		case time.Time:
		default:
			t.Fatalf("Eval(%q) returned %T", src, v)
		}
		if s, ok := v.(string); ok && utf8.ValidString(src) && utf8.ValidString(x) && !utf8.ValidString(s) {
			t.Fatalf("Eval(%q) with x=%q produced invalid UTF-8 %q", src, x, s)
		}
		if e.Volatile() {
			return
		}
		// The canonical form means the same thing.
		w, err := MustCompile(e.String()).Eval(fuzzEnv(x))
		if err != nil || !sameValue(v, w) {
			t.Fatalf("%q evaluates to %#v but its String() %q to %#v, %v", src, v, e.String(), w, err)
		}
	})
}
