package provisioning_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// roleWorld is an application into a generic (RFC) target whose users get
// roles[primary eq true].value from SingleAppRoleAssignment and title from
// every role (AppRoleAssignmentsComplex joined).
func roleWorld(t *testing.T) (*world, directory.Directory) {
	w := newWorld(t)
	gen, err := w.tgt.CreateDirectory(ctx, "gen", directory.ProfileRFC, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.tgt.CreateToken(ctx, gen, 0, "", nil)
	w.app("gen", func(n *provisioning.NewApp) { n.Token, n.TargetProfile = tok.Secret, provisioning.ProfileGeneric })
	for _, m := range []provisioning.Mapping{
		{Target: "roles[primary eq true].value", Type: provisioning.MapExpression, Source: `SingleAppRoleAssignment([appRoleAssignments])`},
		{Target: "title", Type: provisioning.MapExpression, Source: `Join(",", AppRoleAssignmentsComplex([appRoleAssignments]))`},
	} {
		if _, err := w.prov.SetMapping(ctx, "gen", provisioning.TypeUser, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	return w, gen
}

func genUsers(t *testing.T, w *world, d directory.Directory) map[string]directory.User {
	t.Helper()
	page, err := w.tgt.ListUsers(ctx, d, directory.Query{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]directory.User{}
	for _, u := range page.Items {
		out[u.UserName] = u
	}
	return out
}

func primaryRole(u directory.User) string {
	roles, _ := u.Attrs["roles"].([]any)
	for _, r := range roles {
		if m, ok := r.(map[string]any); ok && m["primary"] == true {
			return fmt.Sprint(m["value"])
		}
	}
	return ""
}

// App roles come from the assignments that bring a user into scope: its own
// (gatehouse app assign --role) and its groups' (members, nested too). A
// role change re-evaluates the users even though the directory did not
// change.
func TestAppRolesFromAssignments(t *testing.T) {
	w, gen := roleWorld(t)
	ann := w.user("ann", "Ann", "A")
	bob := w.user("bob", "Bob", "B")
	cat := w.user("cat", "Cat", "C")
	w.group("eng", ann.ID, w.group("platform", bob.ID).ID)
	if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeUser, "ann", "Admin", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeGroup, "eng", "Developer", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.prov.Assign(ctx, "gen", provisioning.TypeUser, cat.ID, nil); err != nil {
		t.Fatal(err)
	}

	// The dry run's plan already carries the roles.
	res := w.run("gen", func(o *provisioning.RunOptions) { o.DryRun = true })
	plan := map[string]string{}
	for _, e := range res.Entries {
		for _, m := range e.Modified {
			if m.Attribute == "title" {
				plan[e.SourceName] = fmt.Sprint(m.New)
			}
		}
	}
	if plan["ann"] != "Admin,Developer" || plan["bob"] != "Developer" || plan["cat"] != "" {
		t.Fatalf("dry-run titles: %v", plan)
	}

	w.run("gen")
	users := genUsers(t, w, gen)
	if primaryRole(users["ann"]) != "Admin" || users["ann"].Attrs["title"] != "Admin,Developer" {
		t.Fatalf("ann: %v", users["ann"].Attrs)
	}
	if primaryRole(users["bob"]) != "Developer" || users["bob"].Attrs["title"] != "Developer" {
		t.Fatalf("bob (nested member of eng): %v", users["bob"].Attrs)
	}
	if primaryRole(users["cat"]) != "" || users["cat"].Attrs["title"] != nil {
		t.Fatalf("cat (no role): %v", users["cat"].Attrs)
	}

	// The group's role changes: no directory change, yet the next cycle
	// re-evaluates everyone and sends the new roles.
	if _, err := w.prov.Unassign(ctx, "gen", provisioning.TypeGroup, "eng", nil); err != nil {
		t.Fatal(err)
	}
	as, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeGroup, "eng", "Reader", nil)
	if err != nil || as.Role != "Reader" {
		t.Fatalf("assign: %+v %v", as, err)
	}
	res = w.run("gen")
	if res.Cycle.Kind != provisioning.KindFull {
		t.Fatalf("cycle after a role change: %s", res.Cycle.Kind)
	}
	users = genUsers(t, w, gen)
	if primaryRole(users["bob"]) != "Reader" || users["ann"].Attrs["title"] != "Admin,Reader" {
		t.Fatalf("after the role change: ann %v, bob %v", users["ann"].Attrs, users["bob"].Attrs)
	}
	if res = w.run("gen"); res.Cycle.Kind != provisioning.KindIncremental {
		t.Fatalf("the cycle after that: %s", res.Cycle.Kind)
	}

	// Assignments list their roles; an object is assigned once.
	st, _ := w.prov.Status(ctx, "gen", 0)
	roles := map[string]string{}
	for _, a := range st.Assignments {
		roles[a.Display] = a.Role
	}
	if roles["ann"] != "Admin" || roles["eng"] != "Reader" || roles["cat"] != "" {
		t.Fatalf("assignments: %+v", st.Assignments)
	}
	if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeUser, "ann", "Other", nil); !fault.Is(err, fault.Uniqueness) || !strings.Contains(err.Error(), "unassign it and assign it again") {
		t.Fatalf("second assignment: %v", err)
	}
	if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeUser, "bob", "bad\x01role", nil); !fault.Is(err, fault.InvalidValue) {
		t.Fatalf("control character in a role: %v", err)
	}
}
