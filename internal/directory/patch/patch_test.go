package patch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

const ent = schema.EnterpriseUserURN

// userDoc is a canonical User document after RFC 7643 §8.2's full example.
func userDoc() map[string]any {
	return map[string]any{
		"userName":    "bjensen@example.com",
		"externalId":  "bjensen",
		"displayName": "Babs Jensen",
		"active":      true,
		"name":        map[string]any{"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"},
		},
		"addresses": []any{
			map[string]any{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "primary": true},
			map[string]any{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"},
		},
		ent: map[string]any{
			"employeeNumber": "701984",
			"department":     "Tour Operations",
			"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"},
		},
	}
}

func groupDoc() map[string]any {
	return map[string]any{"displayName": "Tour Guides", "externalId": "tour-guides"}
}

func body(ops ...string) []byte {
	return []byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`)
}

func apply(t *testing.T, rt *schema.ResourceType, doc map[string]any, opt Options, ops ...string) (Result, error) {
	t.Helper()
	parsed, err := ParseRequest(body(ops...))
	if err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return Apply(rt, doc, parsed, opt)
}

// docCase applies ops to a fixture; edit turns a fresh fixture into the
// expected document, kind is the expected error kind ("" for success).
type docCase struct {
	name    string
	ops     []string
	opt     Options
	edit    func(d map[string]any)
	kind    fault.Kind
	kindAny bool // any classified error will do
}

func runDocCases(t *testing.T, rt *schema.ResourceType, fixture func() map[string]any, cases []docCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture()
			res, err := apply(t, rt, in, tc.opt, tc.ops...)
			if !reflect.DeepEqual(in, fixture()) {
				t.Fatalf("Apply modified its input document:\n%s", dump(in))
			}
			if tc.kindAny {
				if fault.KindOf(err) == "" {
					t.Fatalf("error = %v, want a classified error", err)
				}
				return
			}
			if tc.kind != "" {
				if !fault.Is(err, tc.kind) {
					t.Fatalf("error = %v (kind %q), want kind %q", err, fault.KindOf(err), tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := fixture()
			if tc.edit != nil {
				tc.edit(want)
			}
			if !reflect.DeepEqual(res.Doc, want) {
				t.Fatalf("document:\n got %s\nwant %s", dump(res.Doc), dump(want))
			}
			if changed := !reflect.DeepEqual(want, fixture()); res.Changed != changed {
				t.Fatalf("Changed = %v, want %v", res.Changed, changed)
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func list(d map[string]any, attr string) []any { return d[attr].([]any) }

func elem(d map[string]any, attr string, i int) map[string]any {
	return d[attr].([]any)[i].(map[string]any)
}

func extOf(d map[string]any) map[string]any { return d[ent].(map[string]any) }

// TestRFCExamples replays the User examples of RFC 7644 §3.5.2 (the Group
// ones are in members_test.go).
func TestRFCExamples(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "add without path adds attributes and skips an identical email",
			ops:  []string{`{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`},
			edit: func(d map[string]any) { d["nickName"] = "Babs" }},
		{name: "add without path appends a new email",
			ops: []string{`{"op":"add","value":{"emails":[{"value":"babs@example.org","type":"other"}]}}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"value": "babs@example.org", "type": "other"})
			}},
		{name: "remove emails matching a complex filter",
			ops:  []string{`{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}`},
			edit: func(d map[string]any) { d["emails"] = list(d, "emails")[1:] }},
		{name: "replace a selected address as a whole",
			ops: []string{`{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","formatted":"911 Universal City Plaza\nHollywood, CA 91608 US","primary":true}}`},
			edit: func(d map[string]any) {
				list(d, "addresses")[0] = map[string]any{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}
			}},
		{name: "replace a sub-attribute of a selected address",
			ops:  []string{`{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}`},
			edit: func(d map[string]any) { elem(d, "addresses", 0)["streetAddress"] = "1010 Broadway Ave" }},
		{name: "replace without path replaces emails and sets nickName",
			ops:  []string{`{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`},
			edit: func(d map[string]any) { d["nickName"] = "Babs" }},
	})
}

func TestAdd(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "single-valued attribute is set",
			ops:  []string{`{"op":"add","path":"nickName","value":"Babs"}`},
			edit: func(d map[string]any) { d["nickName"] = "Babs" }},
		{name: "existing single-valued attribute is replaced",
			ops:  []string{`{"op":"add","path":"displayName","value":"Barbara"}`},
			edit: func(d map[string]any) { d["displayName"] = "Barbara" }},
		{name: "identical value changes nothing",
			ops: []string{`{"op":"add","path":"displayName","value":"Babs Jensen"}`}},
		{name: "complex attribute merges sub-attributes",
			ops: []string{`{"op":"add","path":"name","value":{"middleName":"Jane","givenName":"Babs"}}`},
			edit: func(d map[string]any) {
				d["name"].(map[string]any)["middleName"] = "Jane"
				d["name"].(map[string]any)["givenName"] = "Babs"
			}},
		{name: "sub-attribute of a complex attribute",
			ops:  []string{`{"op":"add","path":"name.honorificPrefix","value":"Ms."}`},
			edit: func(d map[string]any) { d["name"].(map[string]any)["honorificPrefix"] = "Ms." }},
		{name: "multi-valued attribute appends and skips duplicates",
			ops: []string{`{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"home"},{"value":"b@example.net","type":"other"},{"value":"b@example.net","type":"other"}]}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"value": "b@example.net", "type": "other"})
			}},
		{name: "lone object for a multi-valued attribute is one value",
			ops: []string{`{"op":"add","path":"phoneNumbers","value":{"value":"tel:+1-201-555-0123","type":"work"}}`},
			edit: func(d map[string]any) {
				d["phoneNumbers"] = []any{map[string]any{"value": "tel:+1-201-555-0123", "type": "work"}}
			}},
		{name: "extension attribute by URN path",
			ops:  []string{`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"4130"}`},
			edit: func(d map[string]any) { extOf(d)["costCenter"] = "4130" }},
		{name: "extension attribute creates the extension object",
			ops:  []string{`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`, `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division","value":"Theme Park"}`},
			edit: func(d map[string]any) { d[ent] = map[string]any{"division": "Theme Park"} }},
		{name: "null value adds nothing",
			ops: []string{`{"op":"add","path":"title","value":null}`}},
		{name: "missing value is invalid",
			ops: []string{`{"op":"add","path":"title"}`}, kind: fault.InvalidValue},
		{name: "value path with sub-attribute sets matching elements",
			ops:  []string{`{"op":"add","path":"emails[type eq \"home\"].display","value":"Home"}`},
			edit: func(d map[string]any) { elem(d, "emails", 1)["display"] = "Home" }},
		{name: "sub-attribute of a multi-valued attribute without filter appends a value",
			ops: []string{`{"op":"add","path":"emails.value","value":"new@example.com"}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"value": "new@example.com"})
			}},
		{name: "wrong type is invalid",
			ops: []string{`{"op":"add","path":"active","value":"maybe"}`}, kind: fault.InvalidValue},
		{name: "non-object value without path is invalid",
			ops: []string{`{"op":"add","value":"Babs"}`}, kind: fault.InvalidValue},
	})
}

func TestRemove(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "without path is noTarget",
			ops: []string{`{"op":"remove"}`}, kind: fault.NoTarget},
		{name: "single-valued attribute is unassigned",
			ops:  []string{`{"op":"remove","path":"displayName"}`},
			edit: func(d map[string]any) { delete(d, "displayName") }},
		{name: "absent attribute changes nothing",
			ops: []string{`{"op":"remove","path":"title"}`}},
		{name: "complex attribute is unassigned",
			ops:  []string{`{"op":"remove","path":"name"}`},
			edit: func(d map[string]any) { delete(d, "name") }},
		{name: "last sub-attribute removes the complex attribute",
			ops:  []string{`{"op":"remove","path":"name.givenName"}`, `{"op":"remove","path":"name.familyName"}`, `{"op":"remove","path":"name.formatted"}`},
			edit: func(d map[string]any) { delete(d, "name") }},
		{name: "multi-valued attribute without filter removes all values",
			ops:  []string{`{"op":"remove","path":"emails"}`},
			edit: func(d map[string]any) { delete(d, "emails") }},
		{name: "value path removes matching values",
			ops:  []string{`{"op":"remove","path":"emails[type eq \"home\"]"}`},
			edit: func(d map[string]any) { d["emails"] = list(d, "emails")[:1] }},
		{name: "removing the last value unassigns the attribute",
			ops:  []string{`{"op":"remove","path":"emails[type eq \"home\"]"}`, `{"op":"remove","path":"emails[type eq \"work\"]"}`},
			edit: func(d map[string]any) { delete(d, "emails") }},
		{name: "value path matching nothing changes nothing",
			ops: []string{`{"op":"remove","path":"emails[type eq \"other\"]"}`}},
		{name: "sub-attribute of selected values",
			ops:  []string{`{"op":"remove","path":"addresses[type eq \"work\"].locality"}`},
			edit: func(d map[string]any) { delete(elem(d, "addresses", 0), "locality") }},
		{name: "removing the value of an element removes the element",
			ops:  []string{`{"op":"remove","path":"emails[type eq \"home\"].value"}`},
			edit: func(d map[string]any) { d["emails"] = list(d, "emails")[:1] }},
		{name: "sub-attribute of every value",
			ops: []string{`{"op":"remove","path":"addresses.locality"}`},
			edit: func(d map[string]any) {
				delete(elem(d, "addresses", 0), "locality")
				delete(elem(d, "addresses", 1), "locality")
			}},
		{name: "listed values only when a value is given",
			ops:  []string{`{"op":"remove","path":"emails","value":[{"value":"babs@jensen.org"}]}`},
			edit: func(d map[string]any) { d["emails"] = list(d, "emails")[:1] }},
		{name: "extension attribute",
			ops:  []string{`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}`},
			edit: func(d map[string]any) { delete(extOf(d), "department") }},
		{name: "last extension attribute removes the extension object",
			ops: []string{`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}`,
				`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}`,
				`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`},
			edit: func(d map[string]any) { delete(d, ent) }},
		{name: "externalId",
			ops:  []string{`{"op":"remove","path":"externalId"}`},
			edit: func(d map[string]any) { delete(d, "externalId") }},
	})
}

func TestReplace(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "single-valued attribute",
			ops:  []string{`{"op":"replace","path":"userName","value":"ryan3"}`},
			edit: func(d map[string]any) { d["userName"] = "ryan3" }},
		{name: "missing attribute is added",
			ops:  []string{`{"op":"replace","path":"title","value":"Tour Guide"}`},
			edit: func(d map[string]any) { d["title"] = "Tour Guide" }},
		{name: "null unassigns",
			ops:  []string{`{"op":"replace","path":"displayName","value":null}`},
			edit: func(d map[string]any) { delete(d, "displayName") }},
		{name: "complex attribute leaves unnamed sub-attributes",
			ops:  []string{`{"op":"replace","path":"name","value":{"givenName":"Babs"}}`},
			edit: func(d map[string]any) { d["name"].(map[string]any)["givenName"] = "Babs" }},
		{name: "null sub-attribute in a complex value is unassigned",
			ops: []string{`{"op":"replace","path":"name","value":{"givenName":"Babs","formatted":null}}`},
			edit: func(d map[string]any) {
				d["name"].(map[string]any)["givenName"] = "Babs"
				delete(d["name"].(map[string]any), "formatted")
			}},
		{name: "multi-valued attribute without filter replaces all values",
			ops:  []string{`{"op":"replace","path":"emails","value":[{"value":"x@example.com","type":"work"}]}`},
			edit: func(d map[string]any) { d["emails"] = []any{map[string]any{"value": "x@example.com", "type": "work"}} }},
		{name: "empty list unassigns a multi-valued attribute",
			ops:  []string{`{"op":"replace","path":"emails","value":[]}`},
			edit: func(d map[string]any) { delete(d, "emails") }},
		{name: "value path merges into matching values",
			ops:  []string{`{"op":"replace","path":"emails[type eq \"home\"]","value":{"display":"Home"}}`},
			edit: func(d map[string]any) { elem(d, "emails", 1)["display"] = "Home" }},
		{name: "value path with sub-attribute",
			ops:  []string{`{"op":"replace","path":"emails[type eq \"work\"].value","value":"babs@example.com"}`},
			edit: func(d map[string]any) { elem(d, "emails", 0)["value"] = "babs@example.com" }},
		{name: "value path with null value removes the selection",
			ops:  []string{`{"op":"replace","path":"emails[type eq \"home\"]","value":null}`},
			edit: func(d map[string]any) { d["emails"] = list(d, "emails")[:1] }},
		{name: "unmatched value path is noTarget in RFC mode",
			ops: []string{`{"op":"replace","path":"emails[type eq \"other\"].value","value":"o@example.com"}`},
			opt: Options{RFCNoTarget: true}, kind: fault.NoTarget},
		{name: "unmatched value path adds by default",
			ops: []string{`{"op":"replace","path":"emails[type eq \"other\"].value","value":"o@example.com"}`},
			edit: func(d map[string]any) {
				d["emails"] = append(list(d, "emails"), map[string]any{"type": "other", "value": "o@example.com"})
			}},
		{name: "unmatched value path with a non-eq filter is noTarget",
			ops:  []string{`{"op":"replace","path":"emails[value co \"nowhere\"].type","value":"other"}`},
			kind: fault.NoTarget},
		{name: "extension attribute",
			ops:  []string{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Aklq"}`},
			edit: func(d map[string]any) { extOf(d)["employeeNumber"] = "Aklq" }},
		{name: "extension object by its URN merges attributes",
			ops:  []string{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"Sales"}}`},
			edit: func(d map[string]any) { extOf(d)["department"] = "Sales" }},
		{name: "URN-qualified core attribute",
			ops:  []string{`{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"B"}`},
			edit: func(d map[string]any) { d["displayName"] = "B" }},
		{name: "attribute names are case-insensitive",
			ops:  []string{`{"op":"replace","path":"NAME.GIVENNAME","value":"Babs"}`},
			edit: func(d map[string]any) { d["name"].(map[string]any)["givenName"] = "Babs" }},
		{name: "same value changes nothing",
			ops: []string{`{"op":"replace","path":"active","value":true}`, `{"op":"replace","path":"name.givenName","value":"Barbara"}`}},
	})
}

// TestPrimary: a multi-valued attribute keeps at most one primary value; the
// value an operation marks primary wins.
func TestPrimary(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "added primary value demotes the old one",
			ops: []string{`{"op":"add","path":"emails","value":[{"value":"n@example.com","type":"other","primary":true}]}`},
			edit: func(d map[string]any) {
				delete(elem(d, "emails", 0), "primary")
				d["emails"] = append(list(d, "emails"), map[string]any{"value": "n@example.com", "type": "other", "primary": true})
			}},
		{name: "primary set through a value path demotes the others",
			ops: []string{`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`},
			edit: func(d map[string]any) {
				delete(elem(d, "emails", 0), "primary")
				elem(d, "emails", 1)["primary"] = true
			}},
		{name: "primary in a merged element demotes the others",
			ops: []string{`{"op":"replace","path":"addresses[type eq \"home\"]","value":{"primary":"True"}}`},
			edit: func(d map[string]any) {
				delete(elem(d, "addresses", 0), "primary")
				elem(d, "addresses", 1)["primary"] = true
			}},
		{name: "two primaries in one value are invalid",
			ops:  []string{`{"op":"replace","path":"emails","value":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}`},
			kind: fault.InvalidValue},
		{name: "one operation marking two values primary is invalid",
			ops:  []string{`{"op":"replace","path":"emails.primary","value":true}`},
			kind: fault.InvalidValue},
		{name: "clearing primary leaves none",
			ops:  []string{`{"op":"replace","path":"emails[type eq \"work\"].primary","value":false}`},
			edit: func(d map[string]any) { elem(d, "emails", 0)["primary"] = false }},
	})
}

func TestMutability(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "id in a path", ops: []string{`{"op":"replace","path":"id","value":"x"}`}, kind: fault.Mutability},
		{name: "meta sub-attribute in a path", ops: []string{`{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}`}, kind: fault.Mutability},
		{name: "schemas in a path", ops: []string{`{"op":"add","path":"schemas","value":["urn:x"]}`}, kind: fault.Mutability},
		{name: "groups in a path", ops: []string{`{"op":"add","path":"groups","value":[{"value":"g1"}]}`}, kind: fault.Mutability},
		{name: "readOnly sub-attribute in a path", ops: []string{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName","value":"Boss"}`}, kind: fault.Mutability},
		{name: "remove required attribute", ops: []string{`{"op":"remove","path":"userName"}`}, kind: fault.Mutability},
		{name: "replace required attribute with null", ops: []string{`{"op":"replace","path":"userName","value":null}`}, kind: fault.Mutability},
		{name: "no-path replace of required attribute with null", ops: []string{`{"op":"replace","value":{"userName":null}}`}, kind: fault.Mutability},
		{name: "readOnly keys in a no-path value are ignored",
			ops:  []string{`{"op":"replace","value":{"id":"x","meta":{"version":"W/\"1\""},"schemas":["urn:x"],"groups":[{"value":"g"}],"title":"Boss"}}`},
			edit: func(d map[string]any) { d["title"] = "Boss" }},
	})
	runDocCases(t, schema.GroupResource, groupDoc, []docCase{
		{name: "readOnly member sub-attribute", ops: []string{`{"op":"replace","path":"members[value eq \"u1\"].display","value":"x"}`}, kind: fault.Mutability},
		{name: "immutable member sub-attribute", ops: []string{`{"op":"replace","path":"members[value eq \"u1\"].value","value":"u2"}`}, kind: fault.Mutability},
		{name: "remove immutable member sub-attribute", ops: []string{`{"op":"remove","path":"members[value eq \"u1\"].type"}`}, kind: fault.Mutability},
		{name: "remove required displayName", ops: []string{`{"op":"remove","path":"displayName"}`}, kind: fault.Mutability},
	})
}

func TestUnknownAttributes(t *testing.T) {
	runDocCases(t, schema.UserResource, userDoc, []docCase{
		{name: "unknown path is ignored", ops: []string{`{"op":"replace","path":"adreses","value":"x"}`}},
		{name: "unknown sub-attribute path is ignored", ops: []string{`{"op":"replace","path":"name.nick","value":"x"}`}},
		{name: "unknown extension path is ignored", ops: []string{`{"op":"add","path":"urn:example:ext:1.0:User:badge","value":"7"}`}},
		{name: "unknown key in a no-path value is ignored",
			ops:  []string{`{"op":"replace","value":{"adreses":"x","title":"T"}}`},
			edit: func(d map[string]any) { d["title"] = "T" }},
		{name: "unknown path is invalidPath when strict", ops: []string{`{"op":"replace","path":"adreses","value":"x"}`}, opt: Options{Strict: true}, kind: fault.InvalidPath},
		{name: "unknown key is invalid when strict", ops: []string{`{"op":"replace","value":{"adreses":"x"}}`}, opt: Options{Strict: true}, kind: fault.InvalidPath},
		{name: "unknown sub-attribute in a value is invalid when strict", ops: []string{`{"op":"replace","path":"name","value":{"nick":"x"}}`}, opt: Options{Strict: true}, kind: fault.InvalidValue},
		{name: "malformed filter is an error", ops: []string{`{"op":"replace","path":"emails[type eq ]","value":"x"}`}, kindAny: true},
	})
}

// TestAtomic: an error in any operation leaves the document as it was and
// returns no partial result.
func TestAtomic(t *testing.T) {
	in := userDoc()
	res, err := apply(t, schema.UserResource, in, Options{},
		`{"op":"replace","path":"displayName","value":"Changed"}`,
		`{"op":"remove","path":"emails"}`,
		`{"op":"replace","path":"id","value":"x"}`)
	if !fault.Is(err, fault.Mutability) {
		t.Fatalf("error = %v, want mutability", err)
	}
	if !strings.HasPrefix(err.Error(), "Operations[2]: ") {
		t.Errorf("error %q does not name the failing operation", err)
	}
	if res.Doc != nil || res.Changed {
		t.Errorf("result on error = %+v, want zero", res)
	}
	if !reflect.DeepEqual(in, userDoc()) {
		t.Errorf("input document modified: %s", dump(in))
	}
}

func TestOperationsApplyInOrder(t *testing.T) {
	res, err := apply(t, schema.UserResource, userDoc(), Options{},
		`{"op":"remove","path":"emails"}`,
		`{"op":"add","path":"emails","value":[{"value":"a@example.com","type":"work"}]}`,
		`{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@example.com"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"value": "b@example.com", "type": "work"}}
	if !reflect.DeepEqual(res.Doc["emails"], want) {
		t.Fatalf("emails = %s, want %s", dump(res.Doc["emails"]), dump(want))
	}
}

func TestCreatedPrimaryElementDemotesOthers(t *testing.T) {
	res, err := apply(t, schema.UserResource, userDoc(), Options{},
		`{"op":"add","path":"emails[type eq \"other\" and primary eq true].value","value":"o@example.com"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"value": "bjensen@example.com", "type": "work"},
		map[string]any{"value": "babs@jensen.org", "type": "home"},
		map[string]any{"value": "o@example.com", "type": "other", "primary": true},
	}
	if !reflect.DeepEqual(res.Doc["emails"], want) {
		t.Fatalf("emails = %s, want %s", dump(res.Doc["emails"]), dump(want))
	}
}
