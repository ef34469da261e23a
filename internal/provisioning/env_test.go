package provisioning

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
)

// fixedEnv is a source Env with its own clock and randomness.
type fixedEnv struct {
	mapping.Attrs
	now  time.Time
	rand []byte
}

func (e fixedEnv) Now() time.Time    { return e.now }
func (e fixedEnv) Random() io.Reader { return bytes.NewReader(e.rand) }

// The cycle's wrapper adds roles and the uniqueness check but keeps the
// source Env's clock and randomness: Now, Guid and RandomString answer the
// same through it as without it.
func TestEvaluateWithForwardsClockAndRandomness(t *testing.T) {
	sc := Schema{Users: ObjectSchema{Mappings: []Mapping{
		{Target: "externalId", Type: MapDirect, Source: "id", Match: 1},
		{Target: "title", Type: MapExpression, Source: `Now()`},
		{Target: "nickName", Type: MapExpression, Source: `Guid()`},
		{Target: "userType", Type: MapExpression, Source: `SingleAppRoleAssignment([appRoleAssignments])`},
		{Target: "userName", Type: MapExpression, Apply: ApplyOnCreate, Source: `SelectUniqueValue([userName], Join("", [userName], "2"))`},
	}}, Groups: ObjectSchema{Disabled: true}}
	c, err := CompileSchema(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := fixedEnv{Attrs: mapping.Attrs{"id": "s1", "userName": "ann"}, now: time.Date(2031, 5, 6, 7, 8, 0, 0, time.UTC), rand: bytes.Repeat([]byte{0xab}, 64)}
	if _, err := c.Users.Evaluate(env); !fault.Is(err, fault.Unsupported) {
		t.Fatalf("SelectUniqueValue without a check: %v", err)
	}
	var checked []string
	unique := func(m *CompiledMapping, v string) (bool, error) {
		checked = append(checked, m.Target+"="+v)
		return v != "ann", nil
	}
	d, err := c.Users.EvaluateWith(env, EvalOptions{Roles: []string{"Writer", "Admin"}, Unique: unique})
	if err != nil {
		t.Fatal(err)
	}
	if d.Values["title"] != "5/6/2031 7:08:00 AM" {
		t.Errorf("Now() through the wrapper: %v", d.Values["title"])
	}
	if g := d.Values["nickName"]; g != "abababab-abab-4bab-abab-abababababab" {
		t.Errorf("Guid() through the wrapper: %v", g)
	}
	if d.Values["userType"] != "Admin" {
		t.Errorf("SingleAppRoleAssignment: %v (roles sorted, first wins)", d.Values["userType"])
	}
	if d.Values["userName"] != "ann2" || len(checked) != 2 || checked[0] != "userName=ann" {
		t.Errorf("SelectUniqueValue: %v after %v", d.Values["userName"], checked)
	}
	// A linked object does not evaluate a create-only SelectUniqueValue.
	checked = nil
	d, err = c.Users.EvaluateWith(env, EvalOptions{Unique: unique, Linked: true})
	if err != nil || len(checked) != 0 || !d.OnCreate["userName"] {
		t.Errorf("linked: %v checked %v onCreate %v", err, checked, d.OnCreate)
	}
	if _, ok := d.Values["userType"]; ok {
		t.Errorf("no roles, yet userType %v", d.Values["userType"])
	}
}

// An on-create mapping whose value is empty now leaves the existing
// object's attribute alone instead of removing it.
func TestEmptyOnCreateMappingIsNotRemovedOnUpdate(t *testing.T) {
	sc := Schema{Users: ObjectSchema{Mappings: []Mapping{
		{Target: "externalId", Type: MapDirect, Source: "id", Match: 1},
		{Target: "title", Type: MapDirect, Source: "title", Apply: ApplyOnCreate},
	}}, Groups: ObjectSchema{Disabled: true}}
	c, err := CompileSchema(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Users.Evaluate(mapping.Attrs{"id": "s1"})
	if err != nil {
		t.Fatal(err)
	}
	ops, mods, _ := Diff(d, map[string]any{"externalId": "s1", "title": "Set at create"})
	if len(ops) != 0 || len(mods) != 0 {
		t.Fatalf("update of an on-create attribute: %v %v", ops, mods)
	}
}
