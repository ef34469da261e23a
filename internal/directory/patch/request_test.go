package patch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []Op
		kind fault.Kind
	}{
		{name: "RFC body",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"Babs"}]}`,
			want: []Op{{Op: "add", Path: "nickName", Value: "Babs", HasValue: true}}},
		{name: "op names are case-insensitive",
			body: `{"Operations":[{"op":"Add","path":"a","value":1},{"op":"REPLACE","path":"b","value":true},{"op":"Remove","path":"c"}]}`,
			want: []Op{{Op: "add", Path: "a", Value: json.Number("1"), HasValue: true}, {Op: "replace", Path: "b", Value: true, HasValue: true}, {Op: "remove", Path: "c"}}},
		{name: "member names are case-insensitive",
			body: `{"operations":[{"OP":"add","Path":"a","Value":"x"}]}`,
			want: []Op{{Op: "add", Path: "a", Value: "x", HasValue: true}}},
		{name: "missing schemas is tolerated",
			body: `{"Operations":[{"op":"remove","path":"title"}]}`,
			want: []Op{{Op: "remove", Path: "title"}}},
		{name: "odd schemas is tolerated",
			body: `{"schemas":"urn:whatever","Operations":[{"op":"remove","path":"title"}]}`,
			want: []Op{{Op: "remove", Path: "title"}}},
		{name: "null value is a value",
			body: `{"Operations":[{"op":"replace","path":"title","value":null}]}`,
			want: []Op{{Op: "replace", Path: "title", HasValue: true}}},
		{name: "null and empty paths mean no path",
			body: `{"Operations":[{"op":"add","path":null,"value":{}},{"op":"add","path":" ","value":{}}]}`,
			want: []Op{{Op: "add", Value: map[string]any{}, HasValue: true}, {Op: "add", Value: map[string]any{}, HasValue: true}}},
		{name: "extra members such as Microsoft's name are ignored",
			body: `{"Operations":[{"name":"addMember","op":"add","path":"members","value":[{"value":"u1"}]}]}`,
			want: []Op{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "u1"}}, HasValue: true}}},
		{name: "large numbers keep their digits",
			body: `{"Operations":[{"op":"add","path":"x","value":12345678901234567890}]}`,
			want: []Op{{Op: "add", Path: "x", Value: json.Number("12345678901234567890"), HasValue: true}}},
		{name: "not JSON", body: `{"Operations":[`, kind: fault.InvalidSyntax},
		{name: "not an object", body: `[{"op":"add"}]`, kind: fault.InvalidSyntax},
		{name: "null body", body: `null`, kind: fault.InvalidSyntax},
		{name: "trailing data", body: `{"Operations":[{"op":"remove","path":"a"}]} {}`, kind: fault.InvalidSyntax},
		{name: "missing Operations", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, kind: fault.InvalidSyntax},
		{name: "empty Operations", body: `{"Operations":[]}`, kind: fault.InvalidSyntax},
		{name: "Operations not an array", body: `{"Operations":{"op":"add"}}`, kind: fault.InvalidSyntax},
		{name: "operation not an object", body: `{"Operations":["add"]}`, kind: fault.InvalidSyntax},
		{name: "missing op", body: `{"Operations":[{"path":"a"}]}`, kind: fault.InvalidSyntax},
		{name: "unknown op", body: `{"Operations":[{"op":"remove","path":"a"},{"op":"move","path":"a"}]}`, kind: fault.InvalidSyntax},
		{name: "path not a string", body: `{"Operations":[{"op":"remove","path":7}]}`, kind: fault.InvalidSyntax},
		{name: "too many operations", body: `{"Operations":[` + strings.Repeat(`{"op":"remove","path":"a"},`, MaxOperations) + `{"op":"remove","path":"a"}]}`, kind: fault.InvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.body))
			if tc.kind != "" {
				if !fault.Is(err, tc.kind) {
					t.Fatalf("error = %v, want kind %q", err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestParseRequestNamesTheOperation(t *testing.T) {
	_, err := ParseRequest([]byte(`{"Operations":[{"op":"remove","path":"a"},{"op":"move","path":"a"}]}`))
	if err == nil || !strings.Contains(err.Error(), "Operations[1]") || !strings.Contains(err.Error(), `"move"`) {
		t.Fatalf("error %v should name Operations[1] and the op", err)
	}
}

func TestMaxOperationsIsAccepted(t *testing.T) {
	ops, err := ParseRequest([]byte(`{"Operations":[` + strings.Repeat(`{"op":"remove","path":"a"},`, MaxOperations-1) + `{"op":"remove","path":"a"}]}`))
	if err != nil || len(ops) != MaxOperations {
		t.Fatalf("got %d ops, %v", len(ops), err)
	}
}
