package provisioning_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
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
	long := strings.Repeat("r", provisioning.MaxRoleLength+1)
	if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeUser, "bob", long, nil); !fault.Is(err, fault.InvalidValue) || !strings.Contains(err.Error(), "role") {
		t.Fatalf("over-long role: %v", err)
	}
}

// roleListWorld maps the whole roles list of users into a generic target
// with fn (AppRoleAssignmentsComplex or AssertiveAppRoleAssignmentsComplex).
func roleListWorld(t *testing.T, fn string) (*world, directory.Directory) {
	w := newWorld(t)
	gen, err := w.tgt.CreateDirectory(ctx, "gen", directory.ProfileRFC, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.tgt.CreateToken(ctx, gen, 0, "", nil)
	w.app("gen", func(n *provisioning.NewApp) { n.Token, n.TargetProfile = tok.Secret, provisioning.ProfileGeneric })
	if _, err := w.prov.SetMapping(ctx, "gen", provisioning.TypeUser, provisioning.Mapping{Target: "roles", Type: provisioning.MapExpression, Source: fn + "([appRoleAssignments])"}, nil); err != nil {
		t.Fatal(err)
	}
	return w, gen
}

// roleValues returns a target user's roles elements by value, and fails
// the test unless each has Entra's shape for the complex functions.
func roleValues(t *testing.T, u directory.User) []string {
	t.Helper()
	roles, _ := u.Attrs["roles"].([]any)
	var out []string
	for _, r := range roles {
		m, _ := r.(map[string]any)
		v := fmt.Sprint(m["value"])
		if v != "Auditor" && (m["display"] != v || m["type"] != provisioning.RoleElementType || m["primary"] != false) {
			t.Fatalf("%s: role element %#v is not {value, display, type %s, primary false}", u.UserName, m, provisioning.RoleElementType)
		}
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func rolesChange(entries []provisioning.LogEntry, name string) string {
	for _, e := range entries {
		if e.SourceName != name {
			continue
		}
		for _, m := range e.ModifiedText() {
			if strings.HasPrefix(m, "roles: ") {
				return m
			}
		}
	}
	return ""
}

// The whole list of app roles goes into roles: created with every role,
// then AppRoleAssignmentsComplex only adds (a role granted in the target,
// or one gone from the directory, stays) while
// AssertiveAppRoleAssignmentsComplex makes the target's roles equal the
// list. A target that already holds the roles gets no PATCH.
func TestAppRoleListIntoRoles(t *testing.T) {
	for _, tc := range []struct {
		fn          string
		changed     string // dry-run change of ann after the group's role changed and Auditor was granted in the target
		annAfter    string
		bobAfter    string
		updatesLast int // ann and bob updated by the role change
	}{
		{fn: "AppRoleAssignmentsComplex",
			changed:  "roles: [Admin Auditor Developer] -> [Admin Auditor Developer Reader]",
			annAfter: "[Admin Auditor Developer Reader]", bobAfter: "[Developer Reader]"},
		{fn: "AssertiveAppRoleAssignmentsComplex",
			changed:  "roles: [Admin Auditor Developer] -> [Admin Reader]",
			annAfter: "[Admin Reader]", bobAfter: "[Reader]"},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			w, gen := roleListWorld(t, tc.fn)
			ann := w.user("ann", "Ann", "A")
			bob := w.user("bob", "Bob", "B")
			w.group("eng", ann.ID, bob.ID)
			if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeUser, "ann", "Admin", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeGroup, "eng", "Developer", nil); err != nil {
				t.Fatal(err)
			}

			res := w.run("gen", func(o *provisioning.RunOptions) { o.DryRun = true })
			if got := rolesChange(res.Entries, "ann"); got != "roles: (none) -> [Admin Developer]" {
				t.Fatalf("dry-run create of ann: %q", got)
			}
			var body string
			for _, wr := range res.Writes {
				if wr.Op == "CreateUser" && strings.Contains(string(wr.Body), `"ann"`) {
					body = string(wr.Body)
				}
			}
			if !strings.Contains(body, `"roles":[{"display":"Admin","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"},{"display":"Developer"`) {
				t.Fatalf("dry-run POST of ann: %s", body)
			}

			w.run("gen")
			users := genUsers(t, w, gen)
			if got := fmt.Sprint(roleValues(t, users["ann"])); got != "[Admin Developer]" {
				t.Fatalf("ann created with roles %s", got)
			}
			if got := fmt.Sprint(roleValues(t, users["bob"])); got != "[Developer]" {
				t.Fatalf("bob created with roles %s", got)
			}

			// Granted in the application itself, not by Gatehouse.
			if _, _, err := w.tgt.PatchUser(ctx, gen, users["ann"].ID, []patch.Op{{Op: "add", Path: "roles", Value: []any{map[string]any{"value": "Auditor"}}, HasValue: true}}, "", nil); err != nil {
				t.Fatal(err)
			}
			// The group's role changes: the next cycle is a full one and
			// compares with the target as it is.
			if _, err := w.prov.Unassign(ctx, "gen", provisioning.TypeGroup, "eng", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.prov.AssignWithRole(ctx, "gen", provisioning.TypeGroup, "eng", "Reader", nil); err != nil {
				t.Fatal(err)
			}
			res = w.run("gen", func(o *provisioning.RunOptions) { o.DryRun = true })
			if got := rolesChange(res.Entries, "ann"); got != tc.changed {
				t.Fatalf("dry-run update of ann: %q, want %q", got, tc.changed)
			}
			res = w.run("gen")
			if res.Cycle.Kind != provisioning.KindFull {
				t.Fatalf("cycle after the role change: %s", res.Cycle.Kind)
			}
			users = genUsers(t, w, gen)
			if got := fmt.Sprint(roleValues(t, users["ann"])); got != tc.annAfter {
				t.Fatalf("ann after the role change: %s, want %s", got, tc.annAfter)
			}
			if got := fmt.Sprint(roleValues(t, users["bob"])); got != tc.bobAfter {
				t.Fatalf("bob after the role change: %s, want %s", got, tc.bobAfter)
			}
			// The log entry of the cycle shows the change.
			logs := w.logs("gen", provisioning.LogQuery{CycleID: res.Cycle.ID, Action: provisioning.ActionUpdate})
			if got := rolesChange(logs, "ann"); got != tc.changed {
				t.Fatalf("logged update of ann: %q, want %q", got, tc.changed)
			}

			// In line now: neither an incremental nor a full cycle (which
			// reads the target) sends anything.
			for _, full := range []bool{false, true} {
				if full {
					w.prov.FullSyncEvery = time.Nanosecond
				}
				var patches atomic.Int64
				w.setFault(func(_ http.ResponseWriter, r *http.Request) bool {
					if r.Method == http.MethodPatch {
						patches.Add(1)
					}
					return false
				})
				res = w.run("gen")
				w.setFault(nil)
				if n := res.Cycle.Counts[provisioning.ActionUpdate+"/"+provisioning.StatusSuccess]; n != 0 || patches.Load() != 0 {
					t.Fatalf("%s cycle in sync: %d updates, %d PATCH requests", res.Cycle.Kind, n, patches.Load())
				}
			}
		})
	}
}
