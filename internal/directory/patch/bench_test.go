package patch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// storedUser is a canonical document as Normalize stores an Entra user.
func storedUser() map[string]any {
	return map[string]any{
		"userName": "bjensen@example.com", "externalId": "bjensen", "displayName": "Babs Jensen", "active": true,
		"title": "Engineer", "preferredLanguage": "en-US",
		"name":   map[string]any{"formatted": "Barbara Jensen", "familyName": "Jensen", "givenName": "Barbara"},
		"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
		ent:      map[string]any{"employeeNumber": "701984", "department": "Tour Operations"},
	}
}

// entraUserPatch is Entra's default-dialect update of several attributes:
// one Replace per attribute (scim-server.md §2.1).
const entraUserPatch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
 {"op":"Replace","path":"displayName","value":"Bjfe"},
 {"op":"Replace","path":"emails[type eq \"work\"].value","value":"bjfe@example.com"},
 {"op":"Replace","path":"name.givenName","value":"Kkom"},
 {"op":"Replace","path":"name.familyName","value":"Unua"},
 {"op":"Replace","path":"externalId","value":"bjfe"},
 {"op":"Replace","path":"active","value":"False"},
 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Aklq"}]}`

func BenchmarkParseRequestEntraUser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := patch.ParseRequest([]byte(entraUserPatch)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyEntraUser(b *testing.B) {
	ops, err := patch.ParseRequest([]byte(entraUserPatch))
	if err != nil {
		b.Fatal(err)
	}
	doc := storedUser()
	b.ReportAllocs()
	for b.Loop() {
		res, err := patch.Apply(schema.UserResource, doc, ops, patch.Options{})
		if err != nil || !res.Changed {
			b.Fatal(err)
		}
	}
}

// entraMembersPatch adds n members in Entra's dialect.
func entraMembersPatch(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf(`{"$ref":null,"value":"0198c2a4-0000-7000-8000-%012d"}`, i)
	}
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[` + strings.Join(vals, ",") + `]}]}`
}

// BenchmarkApplyAdd100Members is the pure part of adding 100 members to a
// group: it never loads the group's members, so group size does not matter.
func BenchmarkApplyAdd100Members(b *testing.B) {
	body := []byte(entraMembersPatch(100))
	doc := map[string]any{"displayName": "big", "externalId": "big"}
	b.ReportAllocs()
	for b.Loop() {
		ops, err := patch.ParseRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		res, err := patch.Apply(schema.GroupResource, doc, ops, patch.Options{Members: func() ([]patch.MemberRef, error) {
			b.Fatal("members loaded")
			return nil, nil
		}})
		if err != nil || len(res.Members.Add) != 100 {
			b.Fatal(err)
		}
	}
}
