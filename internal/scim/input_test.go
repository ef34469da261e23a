package scim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func TestCheckJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"a plain object", `{"userName":"a","name":{"givenName":"b"},"emails":[{"value":"x"},{"value":"y"}]}`, true},
		{"the same name in sibling objects", `{"emails":[{"value":"x","type":"work"},{"value":"y","type":"home"}]}`, true},
		{"the same name at different levels", `{"value":{"value":{"value":1}}}`, true},
		{"names that look alike inside string values", `{"a":"\"a\":1","b":"a"}`, true},
		{"escaped names that differ", `{"a\u0062":1,"ab2":2}`, true},
		{"32 levels", deep(32), true},
		{"many distinct members", "{" + members(200) + "}", true},
		{"a duplicate member", `{"userName":"a","userName":"b"}`, false},
		{"a duplicate differing in case", `{"userName":"a","USERNAME":"b"}`, false},
		{"a duplicate written with an escape", `{"userName":"a","user\u004eame":"b"}`, false},
		{"a duplicate in a nested object", `{"name":{"givenName":"a","givenName":"b"}}`, false},
		{"a duplicate after a nested value", `{"a":{"x":[1,{"y":2}]},"b":1,"a":2}`, false},
		{"a duplicate among many members", "{" + members(200) + `,"m7":1}`, false},
		{"33 levels", deep(33), false},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", false},
		{"malformed JSON is left to the parser", `{"a":`, true},
		{"an unterminated string is left to the parser", `{"a":"b`, true},
		{"stray closers are left to the parser", `]]]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSON([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("checkJSON = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !fault.Is(err, fault.InvalidSyntax) {
				t.Errorf("error kind %q, want invalidSyntax", fault.KindOf(err))
			}
		})
	}
}

func members(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"m%d":%d`, i, i)
	}
	return strings.Join(parts, ",")
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[1,2,{"c":"\""}]}}`, `[[[[`, `"\\"`, `{"\u0061":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkJSON(b) // must not panic or loop
	})
}

func BenchmarkCheckJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`)
	for i := range 10000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"op":"add","path":"members","value":[{"value":"%08d-aaaa-bbbb-cccc-dddddddddddd"}]}`, i)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
