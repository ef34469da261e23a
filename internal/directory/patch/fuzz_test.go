package patch

import (
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// FuzzApply feeds arbitrary PatchOp bodies to a user and a group. Whatever
// the input: no panic, errors are classified (a 400, never a 500), the input
// document is untouched, the result is deterministic, and the document stays
// canonical with at most one primary value per attribute. The seed corpus is
// in testdata/fuzz/FuzzApply, crashers found so far included.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@example.com"}]}`))
	f.Add([]byte(`{"Operations":[{"op":"remove","path":"members[type eq \"Group\"]"},{"op":"add","path":"members","value":"id"}]}`))
	loader := func() ([]MemberRef, error) { return stored, nil }
	opts := []Options{{Members: loader}, {Members: loader, Strict: true, RFCNoTarget: true}}
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParseRequest(body)
		if err != nil {
			if fault.KindOf(err) == "" {
				t.Fatalf("unclassified parse error: %v", err)
			}
			return
		}
		for _, rt := range []*schema.ResourceType{schema.UserResource, schema.GroupResource} {
			fixture := userDoc
			if rt == schema.GroupResource {
				fixture = groupDoc
			}
			for _, opt := range opts {
				in := fixture()
				res, err := Apply(rt, in, ops, opt)
				if !reflect.DeepEqual(in, fixture()) {
					t.Fatalf("%s: input modified", rt.Name)
				}
				again, err2 := Apply(rt, fixture(), ops, opt)
				// Kinds, not messages: schema.Value names whichever bad key
				// map iteration meets first.
				if fault.KindOf(err) != fault.KindOf(err2) || (err == nil) != (err2 == nil) || !reflect.DeepEqual(res, again) {
					t.Fatalf("%s: not deterministic: %v / %v", rt.Name, err, err2)
				}
				if err != nil {
					if fault.KindOf(err) == "" {
						t.Fatalf("%s: unclassified error: %v", rt.Name, err)
					}
					continue
				}
				if _, ok := res.Doc["members"]; ok {
					t.Fatalf("%s: members in the document", rt.Name)
				}
				checkCanonical(t, res.Doc, "")
			}
		}
	})
}

// checkCanonical asserts that v holds only the types the store serialises
// and no attribute with two primary values.
func checkCanonical(t *testing.T, v any, at string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				t.Fatalf("null value at %s.%s", at, k)
			}
			checkCanonical(t, e, at+"."+k)
		}
	case []any:
		primaries := 0
		for _, e := range x {
			if isPrimary(e) {
				primaries++
			}
			checkCanonical(t, e, at+"[]")
		}
		if primaries > 1 {
			t.Fatalf("%d primary values at %s", primaries, at)
		}
	case string, bool, float64, int64:
	default:
		t.Fatalf("unexpected %T at %s", v, at)
	}
}
