package filter_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// Filters as IdPs send them: Entra's matching queries, Okta's import
// queries, a compound one, and PATCH paths.
var benchFilters = []struct{ name, filter string }{
	{"userName-eq", `userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com"`},
	{"externalId-eq", `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`},
	{"email-value-path", `emails[type eq "work"].value eq "bjensen@example.com"`},
	{"compound", `userName sw "j" and (emails.type eq "work" or not (title pr)) and meta.lastModified gt "2011-05-13T04:42:34Z"`},
}

func BenchmarkParse(b *testing.B) {
	for _, f := range benchFilters {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filter.Parse(schema.UserResource, f.filter); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParsePath(b *testing.B) {
	for _, p := range []string{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, `emails[type eq "work"].value`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filter.ParsePath(schema.UserResource, p); err != nil {
					if _, err := filter.ParsePath(schema.GroupResource, p); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
