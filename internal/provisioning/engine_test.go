package provisioning_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/seal"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

var ctx = context.Background()

// world is a source Gatehouse database with the engine on it, and a second
// Gatehouse (its own database, an aws-identity-center directory) serving
// SCIM as the target.
type world struct {
	t       *testing.T
	src     *sqlstore.DB
	dir     *directory.Service
	srcDir  directory.Directory
	tgt     *directory.Service
	tgtDir  directory.Directory
	srv     *httptest.Server
	token   string
	prov    *provisioning.Service
	reqs    atomic.Int64
	fault   func(w http.ResponseWriter, r *http.Request) bool // return true when handled
	faultMu sync.Mutex
}

func openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newWorld(t *testing.T) *world { t.Helper(); return newWorldOn(t, openDB(t)) }

// openPostgres creates a fresh database on GATEHOUSE_TEST_POSTGRES.
func openPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES not set; skipping PostgreSQL")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "ghprov_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("pgx", dsn); err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sqlstore.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newWorldOn(t *testing.T, src *sqlstore.DB) *world {
	t.Helper()
	w := &world{t: t, src: src}
	w.dir = directory.NewService(w.src)
	var err error
	if w.srcDir, err = w.dir.CreateDirectory(ctx, "corp", directory.ProfileRFC, nil); err != nil {
		t.Fatal(err)
	}
	tdb := openDB(t)
	w.tgt = directory.NewService(tdb)
	if w.tgtDir, err = w.tgt.CreateDirectory(ctx, "idc", directory.ProfileAWS, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := w.tgt.CreateToken(ctx, w.tgtDir, 0, "engine test", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.token = tok.Secret
	rec := audit.NewRecorder(tdb, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	mux := http.NewServeMux()
	h := &scim.Handler{Svc: w.tgt, Audit: rec, Log: slog.New(slog.DiscardHandler), MaxBody: 1 << 20}
	h.Routes(mux)
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.reqs.Add(1)
		w.faultMu.Lock()
		f := w.fault
		w.faultMu.Unlock()
		if f != nil && f(rw, r) {
			return
		}
		mux.ServeHTTP(rw, r)
	}))
	h.BaseURL = w.srv.URL
	t.Cleanup(w.srv.Close)
	key, _, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	p := provisioning.NewService()
	p.Store, p.Dir = w.src, w.dir
	p.Key = func() (*seal.Key, error) { return key, nil }
	p.HTTP = httpx.NewClient(httpx.ClientOptions{})
	p.LeaseTTL = 30 * time.Second
	w.prov = p
	return w
}

func (w *world) setFault(f func(http.ResponseWriter, *http.Request) bool) {
	w.faultMu.Lock()
	w.fault = f
	w.faultMu.Unlock()
}

func (w *world) user(name, given, family string, extra ...func(map[string]any)) directory.User {
	w.t.Helper()
	obj := map[string]any{"userName": name, "displayName": strings.TrimSpace(given + " " + family),
		"emails": []any{map[string]any{"value": name + "@corp.example", "type": "work", "primary": true}}}
	if obj["displayName"] == "" {
		obj["displayName"] = name
	}
	if given != "" || family != "" {
		obj["name"] = map[string]any{"givenName": given, "familyName": family}
	}
	for _, f := range extra {
		f(obj)
	}
	u, err := w.dir.CreateUser(ctx, w.srcDir, obj, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) group(name string, members ...string) directory.Group {
	w.t.Helper()
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	g, err := w.dir.CreateGroup(ctx, w.srcDir, map[string]any{"displayName": name, "members": ms}, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func (w *world) addMember(g directory.Group, id string) {
	w.t.Helper()
	if _, _, err := w.dir.PatchGroup(ctx, w.srcDir, g.ID, []patch.Op{{Op: "add", Path: "members", Value: []any{map[string]any{"value": id}}, HasValue: true}}, "", nil); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) app(name string, mut ...func(*provisioning.NewApp)) provisioning.Application {
	w.t.Helper()
	n := provisioning.NewApp{Name: name, Directory: "corp", TargetURL: w.srv.URL + "/scim/v2", Token: w.token, TargetProfile: provisioning.ProfileAWS}
	for _, f := range mut {
		f(&n)
	}
	a, err := w.prov.CreateApp(ctx, n, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) run(name string, opts ...func(*provisioning.RunOptions)) *provisioning.Result {
	w.t.Helper()
	o := provisioning.RunOptions{Trigger: "test"}
	for _, f := range opts {
		f(&o)
	}
	res, err := w.prov.Provision(ctx, name, o)
	if err != nil {
		w.t.Fatalf("cycle: %v", err)
	}
	return res
}

// targetUsers lists the target's users by userName.
func (w *world) targetUsers() map[string]directory.User {
	w.t.Helper()
	page, err := w.tgt.ListUsers(ctx, w.tgtDir, directory.Query{Count: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]directory.User{}
	for _, u := range page.Items {
		out[u.UserName] = u
	}
	return out
}

func (w *world) targetGroup(name string) (directory.Group, []string) {
	w.t.Helper()
	page, err := w.tgt.ListGroups(ctx, w.tgtDir, directory.Query{Count: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, g := range page.Items {
		if g.DisplayName == name {
			ms, _ := w.tgt.Members(ctx, w.tgtDir, g.ID)
			var names []string
			users := w.targetUsers()
			for _, m := range ms {
				for n, u := range users {
					if u.ID == m.ID {
						names = append(names, n)
					}
				}
			}
			return g, sortStrings(names)
		}
	}
	w.t.Fatalf("target has no group %s", name)
	return directory.Group{}, nil
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func (w *world) logs(app string, q provisioning.LogQuery) []provisioning.LogEntry {
	w.t.Helper()
	a, _ := w.prov.App(ctx, app)
	q.AppID = a.ID
	out, _, err := w.src.Logs(ctx, q)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func TestCycleProvisionsAssignedGroupWithNestedMembers(t *testing.T) {
	cycleScenario(t, newWorld(t))
}

// The same scenario with the engine's database on PostgreSQL.
func TestCycleOnPostgres(t *testing.T) {
	cycleScenario(t, newWorldOn(t, openPostgres(t)))
}

func cycleScenario(t *testing.T, w *world) {
	alice := w.user("alice", "Alice", "Archer", func(o map[string]any) { o["title"] = "Engineer" })
	bob := w.user("bob", "", "") // no given/family name: AWS requires them
	carol := w.user("carol", "Carol", "Cooper")
	w.user("outsider", "Out", "Sider")
	sub := w.group("platform", carol.ID)
	eng := w.group("engineering", alice.ID, bob.ID, sub.ID)
	w.app("aws")
	if _, err := w.prov.Assign(ctx, "aws", provisioning.TypeGroup, "engineering", nil); err != nil {
		t.Fatal(err)
	}
	res := w.run("aws")
	if res.Cycle.Kind != provisioning.KindInitial || res.Cycle.Status != provisioning.CycleWarnings {
		t.Fatalf("cycle %+v", res.Cycle)
	}
	users := w.targetUsers()
	if len(users) != 2 || users["alice"].ExternalID != alice.ID || users["carol"].ExternalID != carol.ID {
		t.Fatalf("target users: %v", users)
	}
	if _, ok := users["outsider"]; ok {
		t.Fatal("an unassigned user was provisioned")
	}
	if users["alice"].Attrs["title"] != "Engineer" {
		t.Fatalf("alice: %v", users["alice"].Attrs)
	}
	g, members := w.targetGroup("engineering")
	if g.ExternalID != eng.ID || fmt.Sprint(members) != "[alice carol]" {
		t.Fatalf("group %s members %v (externalId %s)", g.DisplayName, members, g.ExternalID)
	}
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].SourceName != "bob" || fails[0].ErrorCode != provisioning.CodePresend ||
		!strings.Contains(fails[0].Reason, "name.givenName") || !strings.Contains(fails[0].Reason, "give the mapping a default value") {
		t.Fatalf("failures: %+v", fails)
	}

	// Incremental: a new member of the nested group is picked up, with few requests.
	dave := w.user("dave", "Dave", "Doe")
	w.addMember(sub, dave.ID)
	before := w.reqs.Load()
	res = w.run("aws")
	if res.Cycle.Kind != provisioning.KindIncremental {
		t.Fatalf("kind %s", res.Cycle.Kind)
	}
	if _, members = w.targetGroup("engineering"); fmt.Sprint(members) != "[alice carol dave]" {
		t.Fatalf("after adding dave: %v", members)
	}
	if n := w.reqs.Load() - before; n > 5 {
		t.Fatalf("incremental cycle sent %d requests for one new member", n)
	}

	// An attribute change is one PATCH with old -> new in the log.
	if _, _, err := w.dir.PatchUser(ctx, w.srcDir, alice.ID, []patch.Op{{Op: "replace", Path: "title", Value: "Manager", HasValue: true}}, "", nil); err != nil {
		t.Fatal(err)
	}
	before = w.reqs.Load()
	w.run("aws")
	if n := w.reqs.Load() - before; n != 1 {
		t.Fatalf("one attribute change sent %d requests", n)
	}
	if w.targetUsers()["alice"].Attrs["title"] != "Manager" {
		t.Fatal("title not updated")
	}
	upd := w.logs("aws", provisioning.LogQuery{Action: provisioning.ActionUpdate, Source: "alice"})
	if len(upd) == 0 || len(upd[0].Modified) != 1 || upd[0].Modified[0].Old != "Engineer" || upd[0].Modified[0].New != "Manager" {
		t.Fatalf("update log: %+v", upd)
	}

	// Nothing changed: nothing sent.
	before = w.reqs.Load()
	w.run("aws")
	if n := w.reqs.Load() - before; n != 0 {
		t.Fatalf("an idle cycle sent %d requests", n)
	}
}

func TestPresendValidationOffLogsTheTargetsOwnError(t *testing.T) {
	w := newWorld(t)
	bob := w.user("bob", "", "")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, bob.ID, nil)
	off := true
	if _, err := w.prov.UpdateApp(ctx, "aws", provisioning.Update{Settings: func(s *provisioning.Settings) { s.NoPresendValidation = off }}, nil); err != nil {
		t.Fatal(err)
	}
	w.run("aws")
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].Response == nil || fails[0].Response.Status != 400 ||
		!strings.Contains(fails[0].Response.Detail, "name.givenName is required") || fails[0].ErrorCode != "SCIM_400_INVALID_VALUE" || fails[0].Recommendation == "" {
		t.Fatalf("failure: %+v %+v", fails, fails[0].Response)
	}
	es, _ := w.src.Escrows(ctx, fails[0].AppID)
	if len(es) != 1 || es[0].Attempts != 1 || es[0].NextRetry.Before(time.Now()) {
		t.Fatalf("escrow: %+v", es)
	}
}

func TestDeprovisioningAndDeletionThreshold(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := range 4 {
		ids = append(ids, w.user(fmt.Sprintf("u%d", i), "U", fmt.Sprint(i)).ID)
	}
	g := w.group("staff", ids...)
	w.app("aws", func(n *provisioning.NewApp) { n.Settings.DeleteThreshold = 2; n.Settings.DeleteThresholdPercent = -1 })
	w.prov.Assign(ctx, "aws", provisioning.TypeGroup, "staff", nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ids[0], nil)
	w.run("aws")
	if n := len(w.targetUsers()); n != 4 {
		t.Fatalf("%d users provisioned", n)
	}
	// Unassigning the group takes 3 users out of scope: over the threshold of 2.
	if _, err := w.prov.Unassign(ctx, "aws", provisioning.TypeGroup, "staff", nil); err != nil {
		t.Fatal(err)
	}
	res := w.run("aws")
	if res.Cycle.Status != provisioning.CycleStaged || res.Staged != 4 { // 3 users + the group
		t.Fatalf("cycle %+v staged %d", res.Cycle, res.Staged)
	}
	for n, u := range w.targetUsers() {
		if !u.Active {
			t.Fatalf("%s disabled despite the threshold", n)
		}
	}
	st, _ := w.prov.Status(ctx, "aws", 5)
	if len(st.Staged) != 4 {
		t.Fatalf("staged: %+v", st.Staged)
	}
	if _, err := w.prov.ApproveDeletes(ctx, "aws", nil); err != nil {
		t.Fatal(err)
	}
	res = w.run("aws")
	if res.Cycle.Status != provisioning.CycleSucceeded {
		t.Fatalf("after approval: %+v", res.Cycle)
	}
	users := w.targetUsers()
	if !users["u0"].Active || users["u1"].Active || users["u2"].Active || users["u3"].Active {
		t.Fatalf("after approval: u0 %v u1 %v", users["u0"].Active, users["u1"].Active)
	}
	if _, members := w.targetGroup("staff"); len(members) != 0 {
		t.Fatalf("group out of scope keeps members %v", members)
	}
	if st, _ := w.prov.Status(ctx, "aws", 1); len(st.Staged) != 0 {
		t.Fatal("staged deletes survived the approved cycle")
	}
	// Deleted in the source: DELETE in the target.
	if err := w.dir.DeleteUser(ctx, w.srcDir, ids[0], "", nil); err != nil {
		t.Fatal(err)
	}
	w.run("aws")
	if _, ok := w.targetUsers()["u0"]; ok {
		t.Fatal("user deleted in the source still in the target")
	}
	_ = g
}

func TestSuspiciouslyEmptySourceNeverDeprovisions(t *testing.T) {
	w := newWorld(t)
	a := w.user("a", "A", "A")
	b := w.user("b", "B", "B")
	g := w.group("team", a.ID, b.ID)
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeGroup, "team", nil)
	w.run("aws")
	// The assigned group's membership reads back empty.
	if _, _, err := w.dir.PatchGroup(ctx, w.srcDir, g.ID, []patch.Op{{Op: "remove", Path: "members"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	res := w.run("aws")
	if !strings.Contains(res.Cycle.Error, provisioning.CodeSuspiciousSource) {
		t.Fatalf("cycle: %+v", res.Cycle)
	}
	for n, u := range w.targetUsers() {
		if !u.Active {
			t.Fatalf("%s disabled on an empty read", n)
		}
	}
}

func TestMatchingAdoptsExistingAndRefusesToGuess(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	dup := w.user("dup", "Dup", "Licate")
	// ann exists in the target already (created by hand): matched by userName.
	pre, err := w.tgt.CreateUser(ctx, w.tgtDir, map[string]any{"userName": "ann", "displayName": "Ann S", "name": map[string]any{"givenName": "Ann", "familyName": "Smith"},
		"emails": []any{map[string]any{"value": "ann@old.example", "primary": true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two target users carry dup's externalId: matching must not guess.
	for _, n := range []string{"dup1", "dup2"} {
		if _, err := w.tgt.CreateUser(ctx, w.tgtDir, map[string]any{"userName": n, "externalId": dup.ID, "displayName": n, "name": map[string]any{"givenName": "D", "familyName": "D"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, dup.ID, nil)
	w.run("aws")
	users := w.targetUsers()
	if len(users) != 3 || users["ann"].ID != pre.ID || users["ann"].ExternalID != ann.ID || users["ann"].DisplayName != "Ann Smith" {
		t.Fatalf("ann: %+v (%d users)", users["ann"], len(users))
	}
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].ErrorCode != provisioning.CodeDuplicateTarget || !strings.Contains(fails[0].Reason, users["dup1"].ID) || !strings.Contains(fails[0].Reason, users["dup2"].ID) {
		t.Fatalf("duplicate: %+v", fails)
	}
	l, err := w.src.GetLink(ctx, fails[0].AppID, ann.ID)
	if err != nil || l.Origin != provisioning.OriginMatched || l.TargetID != pre.ID {
		t.Fatalf("link: %+v %v", l, err)
	}
}

func TestConflictOnCreateLinksInsteadOfDuplicating(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	// The matching query misses (as if the object appeared in between), the
	// create answers 409: the engine looks up again and links.
	var once sync.Once
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		handled := false
		if r.Method == http.MethodGet && strings.Contains(r.URL.RawQuery, "userName") {
			once.Do(func() {
				w.tgt.CreateUser(ctx, w.tgtDir, map[string]any{"userName": "ann", "displayName": "A", "name": map[string]any{"givenName": "A", "familyName": "S"}}, nil)
				rw.Header().Set("Content-Type", "application/scim+json")
				rw.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`))
				handled = true
			})
		}
		return handled
	})
	w.run("aws")
	users := w.targetUsers()
	if len(users) != 1 || users["ann"].ExternalID != ann.ID {
		t.Fatalf("users: %+v", users)
	}
}

func TestOutOfBandDeleteIsRecreated(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	w.run("aws")
	gone := w.targetUsers()["ann"]
	if err := w.tgt.DeleteUser(ctx, w.tgtDir, gone.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	w.dir.PatchUser(ctx, w.srcDir, ann.ID, []patch.Op{{Op: "replace", Path: "title", Value: "CEO", HasValue: true}}, "", nil)
	w.run("aws")
	back, ok := w.targetUsers()["ann"]
	if !ok || back.ID == gone.ID || back.Attrs["title"] != "CEO" {
		t.Fatalf("after out-of-band delete: %+v", back)
	}
}

func TestDryRunSendsNothingAndStoresNothing(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	res := w.run("aws", func(o *provisioning.RunOptions) { o.DryRun = true })
	if len(w.targetUsers()) != 0 {
		t.Fatal("dry run wrote to the target")
	}
	if len(res.Entries) != 1 || res.Entries[0].Action != provisioning.ActionCreate || len(res.Writes) != 1 {
		t.Fatalf("dry run: %+v writes %v", res.Entries, res.Writes)
	}
	a, _ := w.prov.App(ctx, "aws")
	if ls, _ := w.src.Links(ctx, a.ID); len(ls) != 0 {
		t.Fatal("dry run stored links")
	}
	if st, _ := w.src.State(ctx, a.ID); st.Watermark != 0 {
		t.Fatal("dry run moved the watermark")
	}
}

func TestOneCyclePerApplication(t *testing.T) {
	w := newWorld(t)
	w.app("aws")
	release := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		once.Do(func() { close(started); <-release })
		return false
	})
	errc := make(chan error, 1)
	go func() { _, err := w.prov.Provision(ctx, "aws", provisioning.RunOptions{}); errc <- err }()
	<-started
	other := provisioning.NewService()
	other.Store, other.Dir, other.Key, other.HTTP, other.LeaseTTL = w.prov.Store, w.prov.Dir, w.prov.Key, w.prov.HTTP, w.prov.LeaseTTL
	other.Owner = "replica-2"
	_, err := other.Provision(ctx, "aws", provisioning.RunOptions{})
	close(release)
	if !errors.Is(err, provisioning.ErrBusy) {
		t.Fatalf("second cycle: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestAuthFailureQuarantinesAndSuccessReleases(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.app("aws", func(n *provisioning.NewApp) { n.Token = "wrong" })
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	_, err := w.prov.Provision(ctx, "aws", provisioning.RunOptions{})
	if err == nil {
		t.Fatal("cycle with a bad token succeeded")
	}
	st, _ := w.prov.Status(ctx, "aws", 1)
	if st.State.Quarantine == nil || st.State.Quarantine.Reason != provisioning.QuarantineAuth || !st.State.NextRun.After(time.Now().Add(5*time.Minute)) {
		t.Fatalf("state %+v quarantine %+v", st.State, st.State.Quarantine)
	}
	tok := w.token
	if _, err := w.prov.UpdateApp(ctx, "aws", provisioning.Update{Token: &tok}, nil); err != nil {
		t.Fatal(err)
	}
	w.run("aws")
	if st, _ = w.prov.Status(ctx, "aws", 1); st.State.Quarantine != nil {
		t.Fatalf("still quarantined: %+v", st.State.Quarantine)
	}
}

func TestOnDemandProvisionsOneUserWithSteps(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.user("ben", "Ben", "B")
	w.app("aws", func(n *provisioning.NewApp) { n.Scope = provisioning.ScopeAll })
	res := w.run("aws", func(o *provisioning.RunOptions) { o.User = "ann" })
	if len(res.Entries) != 1 || res.Entries[0].SourceID != ann.ID || res.Entries[0].Action != provisioning.ActionCreate {
		t.Fatalf("entries %+v", res.Entries)
	}
	var names []string
	for _, s := range res.Entries[0].Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "import,scope,match,export" {
		t.Fatalf("steps %s", got)
	}
	if n := len(w.targetUsers()); n != 1 {
		t.Fatalf("on-demand provisioned %d users", n)
	}
	b, _ := json.Marshal(res.Entries[0])
	if !strings.Contains(string(b), `"modifiedProperties"`) {
		t.Fatalf("entry %s", b)
	}
}

func dumpLogs(t *testing.T, w *world, app string) {
	for _, e := range w.logs(app, provisioning.LogQuery{}) {
		b, _ := json.MarshalIndent(e, "", " ")
		t.Log(string(b))
	}
}

func TestLargeInitialCycleMatchesFromOneListing(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := range 120 {
		ids = append(ids, w.user(fmt.Sprintf("user%03d", i), "G", fmt.Sprint(i)).ID)
	}
	// Ten of them exist in the target already (brownfield): adopted, not duplicated.
	for i := range 10 {
		n := fmt.Sprintf("USER%03d", i) // userName matches case-insensitively
		if _, err := w.tgt.CreateUser(ctx, w.tgtDir, map[string]any{"userName": n, "displayName": n, "name": map[string]any{"givenName": "G", "familyName": fmt.Sprint(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w.group("all", ids...)
	w.app("aws", func(n *provisioning.NewApp) { n.Settings.RateLimit = -1 })
	w.prov.Assign(ctx, "aws", provisioning.TypeGroup, "all", nil)
	var gets atomic.Int64
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Users") && strings.Contains(r.URL.RawQuery, "filter=") {
			gets.Add(1)
		}
		return false
	})
	res := w.run("aws")
	users := w.targetUsers()
	if len(users) != 120 {
		t.Fatalf("%d target users", len(users))
	}
	if n := gets.Load(); n != 0 {
		t.Fatalf("%d per-object matching queries despite the listing", n)
	}
	// 110 creates + 10 adopting PATCHes + 1 group create (members inline up to 100) + 1 member PATCH
	// + 2 listing pages of users + 2 discovery requests + 2 group matching queries.
	if res.Cycle.Requests > 130 {
		t.Fatalf("%d requests: %+v", res.Cycle.Requests, res.Cycle.Counts)
	}
	if _, members := w.targetGroup("all"); len(members) != 120 {
		t.Fatalf("group has %d members", len(members))
	}
	if users["user003"].ExternalID != ids[3] { // adopted, then its userName's case follows the source
		t.Fatalf("adopted user: %+v", users["user003"])
	}
}

func TestFullCycleFindsOutOfBandDeletesAndDrift(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	bea := w.user("bea", "Bea", "Jones")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, bea.ID, nil)
	w.run("aws")
	users := w.targetUsers()
	// Out of band: ann deleted, bea's displayName changed in the target.
	w.tgt.DeleteUser(ctx, w.tgtDir, users["ann"].ID, "", nil)
	if _, _, err := w.tgt.PatchUser(ctx, w.tgtDir, users["bea"].ID, []patch.Op{{Op: "replace", Path: "displayName", Value: "Changed", HasValue: true}}, "", nil); err != nil {
		t.Fatal(err)
	}
	// An incremental cycle sees no source change: nothing happens.
	w.run("aws")
	if _, ok := w.targetUsers()["ann"]; ok {
		t.Fatal("incremental cycle recreated ann without a reason")
	}
	// The periodic full reconciliation reads the target and repairs both.
	w.prov.FullSyncEvery = time.Nanosecond
	res := w.run("aws")
	if res.Cycle.Kind != provisioning.KindFull {
		t.Fatalf("kind %s", res.Cycle.Kind)
	}
	users = w.targetUsers()
	if users["ann"].ExternalID != ann.ID || users["bea"].DisplayName != "Bea Jones" {
		t.Fatalf("after reconciliation: ann %+v bea %+v", users["ann"], users["bea"])
	}
}

// fastRetries makes the target client back off in milliseconds.
func fastRetries(w *world, timeout time.Duration) {
	w.prov.NewTarget = func(cfg target.Config, hc *http.Client) (target.Operations, error) {
		cfg.BackoffBase, cfg.BackoffMax, cfg.RateLimit = time.Millisecond, 5*time.Millisecond, -1
		if timeout > 0 {
			hc = httpx.NewClient(httpx.ClientOptions{ResponseHeaderTimeout: timeout, Timeout: timeout})
		}
		return target.New(cfg, hc)
	}
}

func TestThrottlingIsHonouredAndServerErrorsEscrowedThenRetried(t *testing.T) {
	w := newWorld(t)
	fastRetries(w, 0)
	var ids []string
	for _, n := range []string{"ann", "bea", "eve"} {
		ids = append(ids, w.user(n, "G", n).ID)
	}
	clock := time.Now()
	w.prov.Now = func() time.Time { return clock }
	w.app("aws")
	for _, id := range ids {
		w.prov.Assign(ctx, "aws", provisioning.TypeUser, id, nil)
	}
	var throttled atomic.Int64
	var eveBroken atomic.Bool
	eveBroken.Store(true)
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		if throttled.Add(1) <= 2 {
			rw.Header().Set("Retry-After", "1")
			rw.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if eveBroken.Load() && strings.Contains(string(b), `"userName":"eve"`) {
			rw.Header().Set("Content-Type", "application/scim+json")
			rw.WriteHeader(http.StatusInternalServerError)
			rw.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"database on fire"}`))
			return true
		}
		return false
	})
	start := time.Now()
	res := w.run("aws")
	if time.Since(start) < time.Second {
		t.Fatal("Retry-After was not honoured")
	}
	users := w.targetUsers()
	if users["ann"].ID == "" || users["bea"].ID == "" || users["eve"].ID != "" || res.Cycle.Status != provisioning.CycleWarnings {
		t.Fatalf("after throttling: %v, status %s", len(users), res.Cycle.Status)
	}
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].ErrorCode != "SCIM_5XX" || fails[0].Response.Detail != "database on fire" || !strings.Contains(fails[0].Reason, "next retry after") {
		t.Fatalf("eve: %+v", fails)
	}
	// Before the escrow is due nothing is retried; after it, eve is created.
	eveBroken.Store(false)
	w.run("aws")
	if _, ok := w.targetUsers()["eve"]; ok {
		t.Fatal("retried before the escrow was due")
	}
	clock = clock.Add(2 * time.Minute)
	w.run("aws")
	if _, ok := w.targetUsers()["eve"]; !ok {
		t.Fatal("escrowed eve not retried when due")
	}
	a, _ := w.prov.App(ctx, "aws")
	if es, _ := w.src.Escrows(ctx, a.ID); len(es) != 0 {
		t.Fatalf("escrow not cleared: %+v", es)
	}
}

func TestTimeoutsAreTransientFailures(t *testing.T) {
	w := newWorld(t)
	fastRetries(w, 200*time.Millisecond)
	slow := w.user("slow", "S", "Low")
	fast := w.user("fast", "F", "Ast")
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, slow.ID, nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, fast.ID, nil)
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if strings.Contains(string(b), `"userName":"slow"`) {
				time.Sleep(400 * time.Millisecond)
			}
		}
		return false
	})
	w.run("aws")
	fails := w.logs("aws", provisioning.LogQuery{Status: provisioning.StatusFailure})
	if len(fails) != 1 || fails[0].SourceName != "slow" || fails[0].ErrorCode != "NETWORK_TIMEOUT" {
		t.Fatalf("failures: %+v", fails)
	}
	if _, ok := w.targetUsers()["fast"]; !ok {
		t.Fatal("a slow object blocked the others")
	}
}

// failingReads makes the source reads of users fail.
type failingReads struct {
	provisioning.Store
	fail atomic.Bool
}

func (f *failingReads) SourceUsers(ctx context.Context, dir string, ids []string) ([]directory.User, error) {
	if f.fail.Load() {
		return nil, errors.New("disk I/O error")
	}
	return f.Store.SourceUsers(ctx, dir, ids)
}

func TestFailingSourceReadNeverDeprovisions(t *testing.T) {
	w := newWorld(t)
	fr := &failingReads{Store: w.src}
	w.prov.Store = fr
	a := w.user("a", "A", "A")
	b := w.user("b", "B", "B")
	w.app("aws", func(n *provisioning.NewApp) { n.Settings.DeleteThreshold, n.Settings.DeleteThresholdPercent = -1, -1 })
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, a.ID, nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, b.ID, nil)
	w.run("aws")
	w.prov.Unassign(ctx, "aws", provisioning.TypeUser, b.ID, nil)
	w.dir.DeleteUser(ctx, w.srcDir, a.ID, "", nil)
	fr.fail.Store(true)
	before := w.reqs.Load()
	if _, err := w.prov.Provision(ctx, "aws", provisioning.RunOptions{}); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
		t.Fatalf("cycle with a failing read: %v", err)
	}
	for n, u := range w.targetUsers() {
		if !u.Active {
			t.Fatalf("%s disabled on a failed read", n)
		}
	}
	if len(w.targetUsers()) != 2 {
		t.Fatal("a user was deleted on a failed read")
	}
	if n := w.reqs.Load() - before; n > 2 {
		t.Fatalf("%d requests on a failed read", n)
	}
	st, _ := w.prov.Status(ctx, "aws", 1)
	if st.Cycles[0].Status != provisioning.CycleFailed || st.State.Watermark == 0 {
		t.Fatalf("cycle %+v state %+v", st.Cycles[0], st.State)
	}
	wm := st.State.Watermark
	// When the source reads again, the same changes are applied.
	fr.fail.Store(false)
	w.run("aws")
	users := w.targetUsers()
	if _, ok := users["a"]; ok || users["b"].Active {
		t.Fatalf("after recovery: %+v", users)
	}
	if st, _ = w.prov.Status(ctx, "aws", 1); st.State.Watermark <= wm {
		t.Fatal("watermark did not move after recovery")
	}
}

func TestManagerReferenceResolvedAfterBothEndsExist(t *testing.T) {
	w := newWorld(t)
	// The report is created first (ids sort by creation), so its manager is
	// not linked yet when the report is planned.
	rep := w.user("rep", "Re", "Port")
	boss := w.user("boss", "Big", "Boss")
	if _, _, err := w.dir.PatchUser(ctx, w.srcDir, rep.ID, []patch.Op{{Op: "add", Path: provisioning.EnterpriseURN + ":manager.value", Value: boss.ID, HasValue: true}}, "", nil); err != nil {
		t.Fatal(err)
	}
	w.app("aws")
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, rep.ID, nil)
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, boss.ID, nil)
	w.run("aws")
	users := w.targetUsers()
	ext, _ := users["rep"].Attrs[provisioning.EnterpriseURN].(map[string]any)
	mgr, _ := ext["manager"].(map[string]any)
	if mgr == nil || mgr["value"] != users["boss"].ID {
		t.Fatalf("rep's manager in the target: %v (boss is %s)", users["rep"].Attrs, users["boss"].ID)
	}
	refs := w.logs("aws", provisioning.LogQuery{Source: "rep", Action: provisioning.ActionUpdate})
	if len(refs) != 1 || refs[0].Steps[1].Name != provisioning.StepReference {
		t.Fatalf("reference pass entry: %+v", refs)
	}
	// Nothing changed: the next cycle sends nothing (the shadow has the reference).
	before := w.reqs.Load()
	w.run("aws")
	if n := w.reqs.Load() - before; n != 0 {
		t.Fatalf("idle cycle after a reference sent %d requests", n)
	}
}

func TestGenericTargetGetsNestedGroups(t *testing.T) {
	w := newWorld(t)
	gen, err := w.tgt.CreateDirectory(ctx, "gen", directory.ProfileRFC, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := w.tgt.CreateToken(ctx, gen, 0, "", nil)
	alice := w.user("alice", "A", "A")
	carol := w.user("carol", "C", "C")
	sub := w.group("platform", carol.ID)
	w.group("engineering", alice.ID, sub.ID)
	w.app("gen", func(n *provisioning.NewApp) { n.Token, n.TargetProfile = tok.Secret, provisioning.ProfileGeneric })
	w.prov.Assign(ctx, "gen", provisioning.TypeGroup, "engineering", nil)
	w.run("gen")
	page, _ := w.tgt.ListGroups(ctx, gen, directory.Query{Count: 10})
	byName := map[string]directory.Group{}
	for _, g := range page.Items {
		byName[g.DisplayName] = g
	}
	eng, plat := byName["engineering"], byName["platform"]
	if eng.ID == "" || plat.ID == "" {
		t.Fatalf("groups in the generic target: %v", byName)
	}
	ms, _ := w.tgt.Members(ctx, gen, eng.ID)
	types := map[string]string{}
	for _, m := range ms {
		types[m.ID] = m.Type
	}
	if len(ms) != 2 || types[plat.ID] != directory.MemberGroup {
		t.Fatalf("engineering's members: %+v (platform is %s)", ms, plat.ID)
	}
	if ms, _ := w.tgt.Members(ctx, gen, plat.ID); len(ms) != 1 {
		t.Fatalf("platform's members: %+v", ms)
	}
}
