package mapping

import "testing"

const (
	benchJoin   = `Join(" ", [givenName], [surname])`
	benchSwitch = `Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", ` +
		`Switch([country], "Australia/Brisbane", "USA", IIF([active], "America/Brisbane", "Inactive"), "NZ", "Pacific/Auckland"), ` +
		`"SA", "Australia/Adelaide", "WA", "Australia/Perth", "TAS", "Australia/Hobart")`
)

func BenchmarkCompileJoin(b *testing.B) {
	for b.Loop() {
		if _, err := Compile(benchJoin); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalJoin(b *testing.B) {
	e := MustCompile(benchJoin)
	for b.Loop() {
		if _, err := e.Eval(person); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileNestedSwitch(b *testing.B) {
	for b.Loop() {
		if _, err := Compile(benchSwitch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalNestedSwitch(b *testing.B) {
	e := MustCompile(benchSwitch)
	if v, err := e.Eval(person); err != nil || v != "America/Brisbane" {
		b.Fatalf("nested Switch = %v, %v", v, err)
	}
	for b.Loop() {
		if _, err := e.Eval(person); err != nil {
			b.Fatal(err)
		}
	}
}
