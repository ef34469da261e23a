package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// entraUser is the body Entra ID POSTs to /Users (scim-server.md §2.1,
// "Create user"), with the enterprise attributes a typical mapping adds and
// the nulls older tenants send.
const entraUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa00aa@contoso.com","active":true,
 "displayName":"Test User","title":"Engineer","preferredLanguage":"en-US",
 "emails":[{"primary":true,"type":"work","value":"Test_User_00aa00aa@contoso.com"}],
 "meta":{"resourceType":"User"},
 "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},
 "addresses":null,"phoneNumbers":[{"type":"work","value":"+1 555 0100","primary":true}],"roles":[],
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Tour Operations","costCenter":"CC-7",
   "manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`

func decode(b *testing.B, s string) map[string]any {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkNormalizeEntraUser(b *testing.B) {
	raw := decode(b, entraUser)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schema.Normalize(schema.UserResource, raw, schema.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAndNormalizeEntraUser adds the JSON decoding the SCIM
// handler does first, for scale.
func BenchmarkDecodeAndNormalizeEntraUser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schema.Normalize(schema.UserResource, decode(b, entraUser), schema.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
