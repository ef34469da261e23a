package mapping

import (
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// fixedNow is the clock of testEnv.
var fixedNow = time.Date(2021, 8, 25, 17, 41, 18, 0, time.UTC)

// person is the object most tests evaluate against.
var person = Attrs{
	"givenName":          "John",
	"surname":            "Doe",
	"mail":               "john.doe@contoso.com",
	"country":            "USA",
	"state":              "QLD",
	"empty":              "",
	"null":               nil,
	"proxyAddresses":     []string{"SMTP:a@x.com", "smtp:b@x.com", "SMTP:a@x.com"},
	"single":             []string{"only"},
	"emptyList":          []string{},
	"active":             true,
	"IsSoftDeleted":      false,
	"employeeId":         "1500",
	"count":              42,
	"ratio":              1.5,
	"hire":               "2012-03-16-07:00",
	"hireDate":           time.Date(2012, 3, 16, 7, 0, 0, 0, time.UTC),
	"telephone":          "",
	"mobile":             "+91 8887779999",
	"phone":              "+1 (999) 888-7777",
	"uac":                514,
	"uacText":            "&H202",
	"title":              "PABLO GONSALVES (SECOND)",
	"lastName":           "PINTO-DE'SILVA",
	"adDate":             "129699324000000000",
	"upn":                "John.Doe@contoso.com",
	"flag":               "TRUE",
	"weird":              map[string]any{"x": 1},
	"appRoleAssignments": []string{"Writer", "Admin"},
}

// testEnv is person with every Env extension: a fixed clock, seeded
// randomness, a uniqueness check against taken, and app roles.
type testEnv struct {
	Attrs
	rnd   io.Reader
	taken map[string]bool
	fail  error
}

func newEnv(attrs Attrs) *testEnv {
	if attrs == nil {
		attrs = person
	}
	return &testEnv{Attrs: attrs, rnd: rand.NewChaCha8([32]byte{1}), taken: map[string]bool{}}
}

func (e *testEnv) Now() time.Time    { return fixedNow }
func (e *testEnv) Random() io.Reader { return e.rnd }
func (e *testEnv) IsUnique(v string) (bool, error) {
	if e.fail != nil {
		return false, e.fail
	}
	return !e.taken[v], nil
}

// rolesEnv adds the AppRoles extension.
type rolesEnv struct {
	Attrs
	roles []string
}

func (e rolesEnv) AppRoles() []string { return e.roles }

// caseRow is one row of an evaluation table. With kind set, Eval must fail
// with that kind and a message containing msg.
type caseRow struct {
	src  string
	want Value
	kind fault.Kind
	msg  string
	env  Env
}

func runEval(t *testing.T, cases []caseRow) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			e, err := Compile(c.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			env := c.env
			if env == nil {
				env = newEnv(nil)
			}
			got, err := e.Eval(env)
			if c.kind != "" || c.msg != "" {
				if err == nil {
					t.Fatalf("Eval = %#v, want an error containing %q", got, c.msg)
				}
				if c.kind != "" && !fault.Is(err, c.kind) {
					t.Fatalf("Eval error kind = %q, want %q (%v)", fault.KindOf(err), c.kind, err)
				}
				if !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("Eval error = %q, want it to contain %q", err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if !sameValue(got, c.want) {
				t.Fatalf("Eval = %#v, want %#v", got, c.want)
			}
			// Whatever it evaluates to, the canonical form evaluates the same.
			again, err := MustCompile(e.String()).Eval(newEnv(nil))
			if err == nil && c.env == nil && !e.Volatile() && !sameValue(again, got) {
				t.Fatalf("String() %s evaluates to %#v, not %#v", e, again, got)
			}
		})
	}
}

func sameValue(a, b Value) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.DeepEqual(a, b)
}

var errBoom = errors.New("target unreachable")

func date(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}
