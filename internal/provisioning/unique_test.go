package provisioning_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// uniqueUserName maps userName with SelectUniqueValue: first initial +
// family name, then given.family, then given.family.2 (lower case), and
// moves matching to externalId only (a SelectUniqueValue mapping cannot be
// a matching attribute).
func uniqueUserName(t *testing.T, w *world, app, apply string) {
	t.Helper()
	_, err := w.prov.SetMapping(ctx, app, provisioning.TypeUser, provisioning.Mapping{Target: "userName", Type: provisioning.MapExpression, Apply: apply,
		Source: `SelectUniqueValue(ToLower(Join("", Left([name.givenName], 1), [name.familyName])), ToLower(Join(".", [name.givenName], [name.familyName])), ToLower(Join(".", [name.givenName], [name.familyName], "2")))`}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// countFilters counts the target's GET /Users?filter=userName eq ... queries.
func countFilters(w *world) *atomic.Int64 {
	var n atomic.Int64
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Query().Get("filter"), "userName eq") {
			n.Add(1)
		}
		return false
	})
	return &n
}

func (w *world) targetUser(userName, given, family string) directory.User {
	w.t.Helper()
	u, err := w.tgt.CreateUser(ctx, w.tgtDir, map[string]any{"userName": userName, "displayName": given + " " + family,
		"name": map[string]any{"givenName": given, "familyName": family}}, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// SelectUniqueValue asks the target (through the client) whether each
// candidate is taken, in a dry run and in a real cycle: a value taken in the
// target is skipped, and so is a value another new user of the same cycle
// already chose. Objects that exist are not evaluated again (create only).
func TestSelectUniqueValueChecksTheTarget(t *testing.T) {
	w := newWorld(t)
	john := w.user("john", "John", "Doe")
	jack := w.user("jack", "Jack", "Doe") // also wants jdoe: the cycle's claim makes him jack.doe
	mary := w.user("mary", "Mary", "Doe") // mdoe is taken in the target
	mike := w.user("mike", "Mike", "Doe") // every candidate taken
	w.targetUser("mdoe", "Other", "Person")
	for _, n := range []string{"mike.doe", "mike.doe.2"} {
		w.targetUser(n, "X", "Y")
	}
	w.app("aws")
	uniqueUserName(t, w, "aws", provisioning.ApplyOnCreate)
	for _, u := range []directory.User{john, jack, mary, mike} {
		if _, err := w.prov.Assign(ctx, "aws", provisioning.TypeUser, u.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	filters := countFilters(w)

	// Dry run: the plan already shows the chosen names; nothing is written.
	res := w.run("aws", func(o *provisioning.RunOptions) { o.DryRun = true })
	planned := map[string]string{}
	for _, e := range res.Entries {
		for _, m := range e.Modified {
			if m.Attribute == "userName" {
				planned[e.SourceName] = m.New.(string)
			}
		}
	}
	if planned["john"] != "jdoe" || planned["jack"] != "jack.doe" || planned["mary"] != "mary.doe" {
		t.Fatalf("dry-run plan: %v", planned)
	}
	if filters.Load() == 0 {
		t.Fatal("the dry run did not ask the target")
	}
	if _, ok := w.targetUsers()["jdoe"]; ok {
		t.Fatal("the dry run wrote to the target")
	}

	res = w.run("aws")
	users := w.targetUsers()
	for name, want := range map[string]directory.User{"jdoe": john, "jack.doe": jack, "mary.doe": mary} {
		if users[name].ExternalID != want.ID {
			t.Fatalf("target user %s: %+v (all: %v)", name, users[name], keysOf(users))
		}
	}
	if users["mdoe"].ExternalID != "" {
		t.Fatal("mary was matched to or overwrote the existing mdoe")
	}
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].SourceName != "mike" || fails[0].ErrorCode != provisioning.CodeNoUniqueValue ||
		!strings.Contains(fails[0].Reason, `"mike.doe.2"`) || !strings.Contains(fails[0].Reason, "next retry") {
		t.Fatalf("mike: %+v", fails)
	}

	// An existing object is not evaluated again: a change to john sends his
	// new title and asks the target nothing about userName.
	before := filters.Load()
	w.dir.PatchUser(ctx, w.srcDir, john.ID, []patch.Op{{Op: "replace", Path: "title", Value: "CTO", HasValue: true}}, "", nil)
	w.run("aws")
	if n := filters.Load() - before; n != 0 {
		t.Fatalf("%d uniqueness queries for a linked user (on-create mapping)", n)
	}
	if u := w.targetUsers()["jdoe"]; u.Attrs["title"] != "CTO" {
		t.Fatalf("john after the update: %+v", u)
	}
}

// With apply: always the value is re-checked whenever the object is
// evaluated; the object's own target object does not count as a clash, so
// the value stays put instead of moving to the next candidate.
func TestSelectUniqueValueIgnoresTheObjectsOwnTargetObject(t *testing.T) {
	w := newWorld(t)
	john := w.user("john", "John", "Doe")
	w.app("aws")
	uniqueUserName(t, w, "aws", provisioning.ApplyAlways)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, john.ID, nil)
	w.run("aws")
	first := w.targetUsers()["jdoe"]
	if first.ExternalID != john.ID {
		t.Fatalf("target: %v", keysOf(w.targetUsers()))
	}
	filters := countFilters(w)
	w.dir.PatchUser(ctx, w.srcDir, john.ID, []patch.Op{{Op: "replace", Path: "title", Value: "CTO", HasValue: true}}, "", nil)
	w.run("aws")
	users := w.targetUsers()
	if users["jdoe"].ID != first.ID || users["jdoe"].Attrs["title"] != "CTO" || len(users) != 1 {
		t.Fatalf("after an update john's userName moved: %v", keysOf(users))
	}
	if filters.Load() == 0 {
		t.Fatal("apply: always did not re-check the value")
	}
}

func TestSelectUniqueValueCannotBeAMatchingAttribute(t *testing.T) {
	w := newWorld(t)
	w.app("aws")
	_, err := w.prov.SetMapping(ctx, "aws", provisioning.TypeUser, provisioning.Mapping{Target: "userName", Type: provisioning.MapExpression, Match: 2,
		Source: `SelectUniqueValue([userName], Join("", [userName], "1"))`}, nil)
	if !fault.Is(err, fault.InvalidValue) || !strings.Contains(err.Error(), "cannot be a matching attribute") {
		t.Fatalf("SelectUniqueValue as matching attribute: %v", err)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}
