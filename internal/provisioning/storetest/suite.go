// Package storetest is the contract suite every provisioning.Store backend
// must pass, on every dialect. Backends call Run with a constructor that
// returns an empty, migrated store that also holds directories (applications
// reference their source directory).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Backend is a store holding both contracts.
type Backend struct {
	Prov provisioning.Store
	Dir  directory.Store
}

// Run runs the contract suite.
func Run(t *testing.T, newStore func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"AppCRUD", testAppCRUD},
		{"AppNameUnique", testAppNameUnique},
		{"DeleteAppCascades", testDeleteCascades},
		{"Assignments", testAssignments},
		{"DirectoryObjectIDs", testDirectoryObjectIDs},
		{"StateRoundTrip", testState},
		{"SetAppEnabled", testSetAppEnabled},
		{"LeaseIsSingleFlight", testLease},
		{"LeaseRaceHasOneWinner", testLeaseRace},
		{"ApplyBatch", testApply},
		{"ApplyIsAtomic", testApplyAtomic},
		{"Cycles", testCycles},
		{"LogQueries", testLogs},
		{"JournalIntents", testIntents},
		{"ResetApp", testReset},
		{"PruneLogs", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newDirectory(t *testing.T, b Backend) directory.Directory {
	t.Helper()
	d := directory.Directory{ID: uuid.NewString(), Name: "src-" + uuid.NewString()[:8], Profile: directory.ProfileRFC, Created: now(), Modified: now()}
	if err := b.Dir.CreateDirectory(ctx, d, nil); err != nil {
		t.Fatalf("CreateDirectory: %v", err)
	}
	return d
}

func newApp(t *testing.T, b Backend, name string) provisioning.Application {
	t.Helper()
	d := newDirectory(t, b)
	a := provisioning.Application{
		ID: uuid.NewString(), Name: name, DirectoryID: d.ID, TargetURL: "https://scim.example.com/scim/v2", TargetProfile: provisioning.ProfileAWS,
		SealedToken: "v1:abcd:sealed", Scope: provisioning.ScopeAssigned, Interval: 5 * time.Minute, Enabled: true,
		Settings: provisioning.Settings{DeleteThreshold: 10}, Schema: provisioning.DefaultSchema(provisioning.ProfileAWS),
		SchemaVersion: 1, Version: 1, Created: now(), Modified: now(),
	}
	if err := b.Prov.CreateApp(ctx, a, event("CreateApplication")); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	return a
}

func event(name string) *audit.Event {
	return audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentitySystem, PrincipalID: "storetest"}}.NewEvent(audit.SourceProvisioning, name, false)
}

func testAppCRUD(t *testing.T, b Backend) {
	a := newApp(t, b, "aws")
	got, err := b.Prov.GetApp(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "aws" || got.Interval != 5*time.Minute || got.Settings.DeleteThreshold != 10 || !got.Created.Equal(a.Created) ||
		len(got.Schema.Users.Mappings) != len(a.Schema.Users.Mappings) || got.Schema.Users.Mappings[0].Match != 1 || got.SealedToken != a.SealedToken {
		t.Fatalf("round trip: %+v", got)
	}
	byName, err := b.Prov.GetAppByName(ctx, "aws")
	if err != nil || byName.ID != a.ID {
		t.Fatalf("GetAppByName: %v %v", byName.ID, err)
	}
	upd, err := b.Prov.UpdateApp(ctx, a.ID, func(x *provisioning.Application) error {
		x.Scope = provisioning.ScopeAll
		x.Schema.Users.Scoping = []provisioning.ScopingFilter{{Name: "sales", Clauses: []provisioning.ScopingClause{{Attribute: "department", Operator: "EQUALS", Value: "Sales"}}}}
		return nil
	}, event("UpdateApplication"))
	if err != nil || upd.Version != 2 || upd.Scope != provisioning.ScopeAll {
		t.Fatalf("UpdateApp: %+v %v", upd, err)
	}
	got, _ = b.Prov.GetApp(ctx, a.ID)
	if got.Version != 2 || len(got.Schema.Users.Scoping) != 1 || got.Schema.Users.Scoping[0].Clauses[0].Value != "Sales" {
		t.Fatalf("after update: %+v", got)
	}
	boom := errors.New("boom")
	if _, err := b.Prov.UpdateApp(ctx, a.ID, func(x *provisioning.Application) error { x.Scope = "x"; return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("closure error: %v", err)
	}
	if got, _ := b.Prov.GetApp(ctx, a.ID); got.Scope != provisioning.ScopeAll {
		t.Fatal("failed update was written")
	}
	list, err := b.Prov.ListApps(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListApps: %d %v", len(list), err)
	}
	for _, fn := range []func() error{
		func() error { _, err := b.Prov.GetApp(ctx, "nope"); return err },
		func() error { _, err := b.Prov.GetAppByName(ctx, "nope"); return err },
		func() error { return b.Prov.DeleteApp(ctx, "nope", nil) },
		func() error {
			_, err := b.Prov.UpdateApp(ctx, "nope", func(*provisioning.Application) error { return nil }, nil)
			return err
		},
	} {
		if err := fn(); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing app: %v, want ErrNotFound", err)
		}
	}
}

func testAppNameUnique(t *testing.T, b Backend) {
	a := newApp(t, b, "dup")
	a2 := a
	a2.ID = uuid.NewString()
	if err := b.Prov.CreateApp(ctx, a2, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
}

func testDeleteCascades(t *testing.T, b Backend) {
	a := newApp(t, b, "gone")
	if err := b.Prov.Assign(ctx, provisioning.Assignment{AppID: a.ID, ObjectType: provisioning.TypeUser, ObjectID: "u1", Display: "bob", Created: now()}, nil); err != nil {
		t.Fatal(err)
	}
	c := provisioning.Cycle{ID: uuid.NewString(), AppID: a.ID, Kind: provisioning.KindInitial, Trigger: "cli", Status: provisioning.CycleRunning, Started: now()}
	if err := b.Prov.StartCycle(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	batch := &provisioning.Batch{
		Links: []provisioning.Link{{ObjectType: provisioning.TypeUser, SourceID: "u1", TargetID: "t1", Display: "bob", Origin: provisioning.OriginCreated, Active: true, Synced: now()}},
		Logs:  []provisioning.LogEntry{logEntry(a.ID, c.ID, "u1", "bob", provisioning.ActionCreate, provisioning.StatusSuccess)},
	}
	if err := b.Prov.Apply(ctx, a.ID, batch); err != nil {
		t.Fatal(err)
	}
	if err := b.Prov.DeleteApp(ctx, a.ID, event("DeleteApplication")); err != nil {
		t.Fatal(err)
	}
	if as, _ := b.Prov.Assignments(ctx, a.ID); len(as) != 0 {
		t.Fatal("assignments survived")
	}
	if ls, _ := b.Prov.Links(ctx, a.ID); len(ls) != 0 {
		t.Fatal("links survived")
	}
	if logs, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID}); len(logs) != 0 {
		t.Fatal("logs survived")
	}
	if _, err := b.Prov.State(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state survived: %v", err)
	}
}

func testAssignments(t *testing.T, b Backend) {
	a := newApp(t, b, "assign")
	as := provisioning.Assignment{AppID: a.ID, ObjectType: provisioning.TypeGroup, ObjectID: "g1", Display: "engineering", Created: now()}
	if err := b.Prov.Assign(ctx, as, event("AssignToApplication")); err != nil {
		t.Fatal(err)
	}
	if err := b.Prov.Assign(ctx, as, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("second assign: %v", err)
	}
	if err := b.Prov.Assign(ctx, provisioning.Assignment{AppID: a.ID, ObjectType: provisioning.TypeUser, ObjectID: "u1", Display: "bob", Role: "Admin", Created: now()}, nil); err != nil {
		t.Fatal(err)
	}
	list, err := b.Prov.Assignments(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].ObjectType != provisioning.TypeUser || list[1].Display != "engineering" || list[0].Role != "Admin" || list[1].Role != "" {
		t.Fatalf("Assignments: %+v %v", list, err)
	}
	if err := b.Prov.Unassign(ctx, a.ID, "g1", event("UnassignFromApplication")); err != nil {
		t.Fatal(err)
	}
	if err := b.Prov.Unassign(ctx, a.ID, "g1", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second unassign: %v", err)
	}
}

func testDirectoryObjectIDs(t *testing.T, b Backend) {
	d := newDirectory(t, b)
	other := newDirectory(t, b)
	var want []string
	for i := range 3 {
		u := directory.User{ID: uuid.NewString(), DirectoryID: d.ID, UserName: fmt.Sprintf("u%d", i), Active: true, Version: 1, Created: now(), Modified: now(),
			Attrs: map[string]any{"userName": fmt.Sprintf("u%d", i)}}
		if err := b.Dir.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	g := directory.Group{ID: uuid.NewString(), DirectoryID: d.ID, DisplayName: "g", Version: 1, Created: now(), Modified: now(), Attrs: map[string]any{"displayName": "g"}}
	if err := b.Dir.CreateGroup(ctx, g, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Dir.CreateUser(ctx, directory.User{ID: uuid.NewString(), DirectoryID: other.ID, UserName: "x", Active: true, Version: 1, Created: now(), Modified: now(), Attrs: map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.Prov.SourceUsers(ctx, d.ID, append([]string{"missing"}, want...))
	if err != nil || len(got) != 3 || got[0].Attrs["userName"] == nil {
		t.Fatalf("SourceUsers: %d %v", len(got), err)
	}
	gs, err := b.Prov.SourceGroups(ctx, d.ID, []string{g.ID})
	if err != nil || len(gs) != 1 || gs[0].DisplayName != "g" {
		t.Fatalf("SourceGroups: %+v %v", gs, err)
	}
	if other, _ := b.Prov.SourceUsers(ctx, other.ID, want); len(other) != 0 {
		t.Fatal("SourceUsers crossed directories")
	}
	g2 := directory.Group{ID: uuid.NewString(), DirectoryID: d.ID, DisplayName: "g2", Version: 1, Created: now(), Modified: now(), Attrs: map[string]any{"displayName": "g2"}}
	if err := b.Dir.CreateGroup(ctx, g2, []directory.Member{{ID: want[0], Type: directory.MemberUser}, {ID: g.ID, Type: directory.MemberGroup}}, nil); err != nil {
		t.Fatal(err)
	}
	ms, err := b.Prov.DirectoryMembers(ctx, d.ID)
	if err != nil || len(ms) != 1 || len(ms[g2.ID]) != 2 {
		t.Fatalf("DirectoryMembers: %+v %v", ms, err)
	}
	users, groups, err := b.Prov.DirectoryObjectIDs(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(users)
	sort.Strings(want)
	if fmt.Sprint(users) != fmt.Sprint(want) || len(groups) != 2 {
		t.Fatalf("users %v groups %v", users, groups)
	}
}

func testState(t *testing.T, b Backend) {
	a := newApp(t, b, "state")
	s, err := b.Prov.State(ctx, a.ID)
	if err != nil || s.Watermark != 0 || s.Quarantine != nil || !s.NextRun.IsZero() {
		t.Fatalf("fresh state: %+v %v", s, err)
	}
	at := now()
	_, err = b.Prov.UpdateState(ctx, a.ID, func(s *provisioning.State) error {
		s.Watermark, s.SchemaVersion, s.NextRun, s.LastFull, s.RunRequested = 42, 3, at.Add(time.Minute), at, true
		s.Quarantine = &provisioning.Quarantine{Reason: provisioning.QuarantineAuth, Detail: "401", Since: at, SeriesSince: at.Add(-time.Hour), Cycles: 2}
		s.Disabled = &provisioning.Disabled{Reason: provisioning.DisabledPaused, Detail: "paused", At: at}
		s.LastCycleID = "c1"
		return nil
	}, event("QuarantineApplication"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ = b.Prov.State(ctx, a.ID)
	if s.Watermark != 42 || s.SchemaVersion != 3 || !s.NextRun.Equal(at.Add(time.Minute)) || !s.LastFull.Equal(at) || !s.RunRequested ||
		s.Quarantine == nil || s.Quarantine.Reason != provisioning.QuarantineAuth || !s.Quarantine.Since.Equal(at) || !s.Quarantine.Began().Equal(at.Add(-time.Hour)) ||
		s.LastCycleID != "c1" || s.Disabled == nil || s.Disabled.Reason != provisioning.DisabledPaused || !s.Disabled.At.Equal(at) {
		t.Fatalf("state round trip: %+v %+v %+v", s, s.Quarantine, s.Disabled)
	}
	b.Prov.UpdateState(ctx, a.ID, func(s *provisioning.State) error { s.Quarantine, s.Disabled = nil, nil; return nil }, nil)
	if s, _ = b.Prov.State(ctx, a.ID); s.Quarantine != nil || s.Disabled != nil {
		t.Fatal("quarantine or disabled record not cleared")
	}
}

// SetAppEnabled changes the application and its state in one transaction;
// an error from the callback (ErrSkip) changes neither.
func testSetAppEnabled(t *testing.T, b Backend) {
	a := newApp(t, b, "enable")
	at := now().Add(time.Hour)
	got, err := b.Prov.SetAppEnabled(ctx, a.ID, false, at, func(cur provisioning.Application, s *provisioning.State) error {
		if !cur.Enabled {
			t.Error("the callback saw the application disabled already")
		}
		s.Disabled = &provisioning.Disabled{Reason: provisioning.DisabledQuarantine, Detail: "too long", At: at}
		return nil
	}, event("DisableApplication"))
	if err != nil || got.Enabled || got.Version != a.Version+1 || !got.Modified.Equal(at) {
		t.Fatalf("SetAppEnabled: %+v %v", got, err)
	}
	stored, _ := b.Prov.GetApp(ctx, a.ID)
	st, _ := b.Prov.State(ctx, a.ID)
	if stored.Enabled || stored.Version != a.Version+1 || st.Disabled == nil || st.Disabled.Reason != provisioning.DisabledQuarantine {
		t.Fatalf("stored: %+v state %+v", stored, st)
	}
	_, err = b.Prov.SetAppEnabled(ctx, a.ID, true, at, func(provisioning.Application, *provisioning.State) error { return provisioning.ErrSkip }, event("EnableApplication"))
	if !errors.Is(err, provisioning.ErrSkip) {
		t.Fatalf("skip: %v", err)
	}
	if stored, _ = b.Prov.GetApp(ctx, a.ID); stored.Enabled {
		t.Fatal("a skipped SetAppEnabled enabled the application")
	}
	if _, err := b.Prov.SetAppEnabled(ctx, "missing", true, at, func(provisioning.Application, *provisioning.State) error { return nil }, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing application: %v", err)
	}
}

func testLease(t *testing.T, b Backend) {
	a := newApp(t, b, "lease")
	t0 := now()
	if ok, err := b.Prov.AcquireLease(ctx, a.ID, "A", t0, t0.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("A acquire: %v %v", ok, err)
	}
	if ok, _ := b.Prov.AcquireLease(ctx, a.ID, "B", t0.Add(30*time.Second), t0.Add(2*time.Minute)); ok {
		t.Fatal("B acquired a held lease")
	}
	if ok, _ := b.Prov.RenewLease(ctx, a.ID, "A", t0.Add(90*time.Second)); !ok {
		t.Fatal("A could not renew")
	}
	// A crashed: its lease expires and B takes over.
	if ok, _ := b.Prov.AcquireLease(ctx, a.ID, "B", t0.Add(2*time.Minute), t0.Add(3*time.Minute)); !ok {
		t.Fatal("B could not take an expired lease")
	}
	if ok, _ := b.Prov.RenewLease(ctx, a.ID, "A", t0.Add(4*time.Minute)); ok {
		t.Fatal("A renewed a lease it lost")
	}
	b.Prov.ReleaseLease(ctx, a.ID, "A") // not the holder: no effect
	if s, _ := b.Prov.State(ctx, a.ID); s.LeaseOwner != "B" {
		t.Fatalf("owner %q after a foreign release", s.LeaseOwner)
	}
	if ok, _ := b.Prov.TakeLease(ctx, a.ID, "A", "D", t0.Add(time.Hour)); ok {
		t.Fatal("took a lease from an owner that no longer holds it")
	}
	if ok, _ := b.Prov.TakeLease(ctx, a.ID, "B", "B2", t0.Add(3*time.Minute)); !ok {
		t.Fatal("could not take the lease of a dead holder")
	}
	if ok, _ := b.Prov.RenewLease(ctx, a.ID, "B2", t0.Add(3*time.Minute)); !ok {
		t.Fatal("B2 does not hold the lease it took")
	}
	b.Prov.TakeLease(ctx, a.ID, "B2", "B", t0.Add(3*time.Minute))
	if err := b.Prov.ReleaseLease(ctx, a.ID, "B"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Prov.AcquireLease(ctx, a.ID, "C", t0, t0.Add(time.Minute)); !ok {
		t.Fatal("C could not take a released lease")
	}
	// Engine state writes never touch the lease.
	b.Prov.UpdateState(ctx, a.ID, func(s *provisioning.State) error { s.Watermark = 7; return nil }, nil)
	if s, _ := b.Prov.State(ctx, a.ID); s.LeaseOwner != "C" {
		t.Fatal("UpdateState cleared the lease")
	}
}

func testLeaseRace(t *testing.T, b Backend) {
	a := newApp(t, b, "race")
	t0 := now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := b.Prov.AcquireLease(ctx, a.ID, fmt.Sprintf("owner-%d", i), t0, t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d owners acquired the lease at once", winners)
	}
}

func logEntry(appID, cycleID, sourceID, name, action, status string) provisioning.LogEntry {
	return provisioning.LogEntry{ID: uuid.NewString(), AppID: appID, CycleID: cycleID, Time: now(), ObjectType: provisioning.TypeUser,
		SourceID: sourceID, SourceName: name, Action: action, Status: status,
		Steps: []provisioning.Step{{Name: provisioning.StepImport, Status: provisioning.StatusSuccess, Detail: "read"}}}
}

func testApply(t *testing.T, b Backend) {
	a := newApp(t, b, "apply")
	at := now()
	batch := &provisioning.Batch{
		Links: []provisioning.Link{
			{ObjectType: provisioning.TypeUser, SourceID: "u1", TargetID: "t1", Display: "bob", Origin: provisioning.OriginCreated, Active: true,
				Exported: map[string]any{"userName": "bob", "active": true}, Synced: at},
			{ObjectType: provisioning.TypeGroup, SourceID: "g1", TargetID: "tg1", Display: "eng", Origin: provisioning.OriginMatched, Active: true, Synced: at},
		},
		Members: []provisioning.MemberDelta{{GroupID: "g1", Add: []string{"u1", "u2", "u3"}}},
		Escrow:  []provisioning.Escrow{{ObjectType: provisioning.TypeUser, SourceID: "u9", Attempts: 1, FirstFailed: at, NextRetry: at.Add(time.Minute), Code: "SCIM_5XX", Error: "boom"}},
		Staged:  []provisioning.Staged{{ObjectType: provisioning.TypeUser, SourceID: "u8", TargetID: "t8", Display: "eve", Action: provisioning.ActionDelete, Reason: "deleted in source", CycleID: "c", Staged: at}},
		Logs:    []provisioning.LogEntry{logEntry(a.ID, "c", "u1", "bob", provisioning.ActionCreate, provisioning.StatusSuccess)},
		Events:  []*audit.Event{event("ProvisionObject")},
	}
	if err := b.Prov.Apply(ctx, a.ID, batch); err != nil {
		t.Fatal(err)
	}
	l, err := b.Prov.GetLink(ctx, a.ID, "u1")
	if err != nil || l.TargetID != "t1" || l.Exported["userName"] != "bob" || l.Exported["active"] != true || !l.Synced.Equal(at) || !l.Active {
		t.Fatalf("link: %+v %v", l, err)
	}
	// Upsert changes the link in place.
	if err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{
		Links:       []provisioning.Link{{ObjectType: provisioning.TypeUser, SourceID: "u1", TargetID: "t1", Display: "bob", Origin: provisioning.OriginCreated, Active: false, Synced: at}},
		Members:     []provisioning.MemberDelta{{GroupID: "g1", Remove: []string{"u2"}, Add: []string{"u1"}}},
		ClearEscrow: []string{"u9"}, ClearStaged: []string{"u8"},
	}); err != nil {
		t.Fatal(err)
	}
	if l, _ := b.Prov.GetLink(ctx, a.ID, "u1"); l.Active {
		t.Fatal("link not updated")
	}
	m, err := b.Prov.LinkedMembers(ctx, a.ID, []string{"g1", "g-none"})
	sort.Strings(m["g1"])
	if err != nil || fmt.Sprint(m["g1"]) != "[u1 u3]" || len(m["g-none"]) != 0 {
		t.Fatalf("members: %v %v", m, err)
	}
	if es, _ := b.Prov.Escrows(ctx, a.ID); len(es) != 0 {
		t.Fatalf("escrow not cleared: %+v", es)
	}
	if st, _ := b.Prov.Staged(ctx, a.ID); len(st) != 0 {
		t.Fatalf("staged not cleared: %+v", st)
	}
	// Unlink drops the link and the membership shadow on both sides.
	if err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{Unlink: []string{"g1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prov.GetLink(ctx, a.ID, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unlinked: %v", err)
	}
	if m, _ := b.Prov.LinkedMembers(ctx, a.ID, []string{"g1"}); len(m["g1"]) != 0 {
		t.Fatal("membership shadow survived unlink")
	}
	links, _ := b.Prov.Links(ctx, a.ID)
	if len(links) != 1 {
		t.Fatalf("links: %+v", links)
	}
	idx, err := b.Prov.LinkIndex(ctx, a.ID)
	if err != nil || len(idx) != 1 || idx[0].SourceID != "u1" || idx[0].TargetID != "t1" || idx[0].Active {
		t.Fatalf("LinkIndex: %+v %v", idx, err)
	}
	got, err := b.Prov.GetLinks(ctx, a.ID, []string{"u1", "missing"})
	if err != nil || len(got) != 1 || got["u1"].TargetID != "t1" {
		t.Fatalf("GetLinks: %+v %v", got, err)
	}
	if err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{Escrow: []provisioning.Escrow{{ObjectType: provisioning.TypeUser, SourceID: "u7", Attempts: 3, FirstFailed: at, NextRetry: at, Code: "X"}}}); err != nil {
		t.Fatal(err)
	}
	if es, _ := b.Prov.Escrows(ctx, a.ID); len(es) != 1 || es[0].Attempts != 3 {
		t.Fatalf("escrow: %+v", es)
	}
}

func testApplyAtomic(t *testing.T, b Backend) {
	a := newApp(t, b, "atomic")
	dup := logEntry(a.ID, "c", "u1", "bob", provisioning.ActionCreate, provisioning.StatusSuccess)
	if err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{Logs: []provisioning.LogEntry{dup}}); err != nil {
		t.Fatal(err)
	}
	err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{
		Links: []provisioning.Link{{ObjectType: provisioning.TypeUser, SourceID: "u2", TargetID: "t2", Origin: provisioning.OriginCreated, Synced: now()}},
		Logs:  []provisioning.LogEntry{dup}, // same change id: the batch fails
	})
	if err == nil {
		t.Fatal("duplicate log id accepted")
	}
	if _, err := b.Prov.GetLink(ctx, a.ID, "u2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a failed batch wrote its link")
	}
}

func testCycles(t *testing.T, b Backend) {
	a := newApp(t, b, "cycles")
	t0 := now()
	var ids []string
	for i := range 3 {
		c := provisioning.Cycle{ID: uuid.NewString(), AppID: a.ID, Kind: provisioning.KindIncremental, Trigger: "schedule", Status: provisioning.CycleRunning,
			Started: t0.Add(time.Duration(i) * time.Second), WatermarkFrom: int64(i)}
		if err := b.Prov.StartCycle(ctx, c, event("StartProvisioningCycle")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	c, err := b.Prov.GetCycle(ctx, ids[2])
	if err != nil || c.Status != provisioning.CycleRunning || c.WatermarkFrom != 2 {
		t.Fatalf("GetCycle: %+v %v", c, err)
	}
	c.Progress, c.Requests = "users 10/100", 12
	c.Counts = map[string]int{"Create/Success": 10}
	if err := b.Prov.SaveCycle(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Status, c.Ended, c.WatermarkTo, c.Progress = provisioning.CycleSucceeded, t0.Add(time.Minute), 99, ""
	if err := b.Prov.EndCycle(ctx, c, func(s *provisioning.State) error { s.Watermark, s.LastCycleID = 99, c.ID; return nil }, event("EndProvisioningCycle")); err != nil {
		t.Fatal(err)
	}
	list, err := b.Prov.Cycles(ctx, a.ID, 2)
	if err != nil || len(list) != 2 || list[0].ID != ids[2] || list[0].Counts["Create/Success"] != 10 || list[0].Requests != 12 ||
		!list[0].Ended.Equal(t0.Add(time.Minute)) || list[0].WatermarkTo != 99 || list[1].ID != ids[1] {
		t.Fatalf("Cycles: %+v %v", list, err)
	}
	if s, _ := b.Prov.State(ctx, a.ID); s.Watermark != 99 || s.LastCycleID != c.ID {
		t.Fatalf("EndCycle state: %+v", s)
	}
	if err := b.Prov.DeleteCycle(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prov.GetCycle(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted cycle: %v", err)
	}
	if _, err := b.Prov.GetCycle(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing cycle: %v", err)
	}
}

func testLogs(t *testing.T, b Backend) {
	a := newApp(t, b, "logs")
	other := newApp(t, b, "logs2")
	var batch provisioning.Batch
	for i := range 25 {
		status := provisioning.StatusSuccess
		if i%5 == 0 {
			status = provisioning.StatusFailure
		}
		cycle := "c1"
		if i >= 20 {
			cycle = "c2"
		}
		e := logEntry(a.ID, cycle, fmt.Sprintf("u%d", i%10), fmt.Sprintf("User%d", i%10), provisioning.ActionUpdate, status)
		e.Modified = []provisioning.Modification{{Attribute: "title", Old: "a", New: "b"}}
		e.Response = &provisioning.Response{Status: 400, ScimType: "invalidValue", Detail: "name.givenName is required"}
		e.ErrorCode, e.Recommendation = "SCIM_400_INVALID_VALUE", "fix it"
		batch.Logs = append(batch.Logs, e)
	}
	if err := b.Prov.Apply(ctx, a.ID, &batch); err != nil {
		t.Fatal(err)
	}
	b.Prov.Apply(ctx, other.ID, &provisioning.Batch{Logs: []provisioning.LogEntry{logEntry(other.ID, "c9", "u1", "User1", provisioning.ActionCreate, provisioning.StatusFailure)}})

	all, next, err := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, Limit: 10})
	if err != nil || len(all) != 10 || next == "" || all[0].SourceName != "User4" {
		t.Fatalf("page 1: %d %q %v (first %+v)", len(all), next, err, all[0].SourceName)
	}
	seen := len(all)
	for next != "" {
		var page []provisioning.LogEntry
		page, next, err = b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, Limit: 10, NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		seen += len(page)
	}
	if seen != 25 {
		t.Fatalf("paged through %d entries, want 25", seen)
	}
	fails, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, Status: provisioning.StatusFailure})
	if len(fails) != 5 || fails[0].Response == nil || fails[0].Response.Detail != "name.givenName is required" || fails[0].Modified[0].New != "b" {
		t.Fatalf("failures: %d %+v", len(fails), fails)
	}
	byName, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, Source: "user3"})
	byID, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, Source: "u3"})
	if len(byName) != 3 || len(byID) != 3 {
		t.Fatalf("by source: name %d id %d", len(byName), len(byID))
	}
	cyc, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, CycleID: "c2"})
	if len(cyc) != 5 {
		t.Fatalf("by cycle: %d", len(cyc))
	}
	if _, _, err := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID, NextToken: "garbage"}); err == nil {
		t.Fatal("bad token accepted")
	}
}

func testIntents(t *testing.T, b Backend) {
	a := newApp(t, b, "journal")
	in := []provisioning.Intent{
		{ID: uuid.NewString(), AppID: a.ID, CycleID: "c", ObjectType: provisioning.TypeUser, SourceID: "u1", Op: "create", Created: now()},
		{ID: uuid.NewString(), AppID: a.ID, CycleID: "c", ObjectType: provisioning.TypeUser, SourceID: "u2", Op: "create", Created: now()},
	}
	if err := b.Prov.AddIntents(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := b.Prov.Apply(ctx, a.ID, &provisioning.Batch{DoneIntents: []string{in[0].ID}}); err != nil {
		t.Fatal(err)
	}
	left, err := b.Prov.Intents(ctx, a.ID)
	if err != nil || len(left) != 1 || left[0].SourceID != "u2" || left[0].Op != "create" {
		t.Fatalf("intents: %+v %v", left, err)
	}
}

func testReset(t *testing.T, b Backend) {
	a := newApp(t, b, "reset")
	b.Prov.UpdateState(ctx, a.ID, func(s *provisioning.State) error {
		s.Watermark, s.SchemaVersion = 10, 1
		s.Quarantine = &provisioning.Quarantine{Reason: provisioning.QuarantineAuth}
		return nil
	}, nil)
	b.Prov.Apply(ctx, a.ID, &provisioning.Batch{
		Links:  []provisioning.Link{{ObjectType: provisioning.TypeUser, SourceID: "u1", TargetID: "t1", Origin: provisioning.OriginCreated, Synced: now()}},
		Escrow: []provisioning.Escrow{{ObjectType: provisioning.TypeUser, SourceID: "u2", FirstFailed: now(), NextRetry: now()}},
	})
	if err := b.Prov.ResetApp(ctx, a.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	s, _ := b.Prov.State(ctx, a.ID)
	if s.Watermark != 0 || s.Quarantine != nil || !s.RunRequested {
		t.Fatalf("state after reset: %+v", s)
	}
	if es, _ := b.Prov.Escrows(ctx, a.ID); len(es) != 0 {
		t.Fatal("escrows survived a reset")
	}
	if ls, _ := b.Prov.Links(ctx, a.ID); len(ls) != 1 {
		t.Fatal("a reset without links dropped the links")
	}
	if err := b.Prov.ResetApp(ctx, a.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	if ls, _ := b.Prov.Links(ctx, a.ID); len(ls) != 0 {
		t.Fatal("links survived a full reset")
	}
}

func testPrune(t *testing.T, b Backend) {
	a := newApp(t, b, "prune")
	old := logEntry(a.ID, "c", "u1", "bob", provisioning.ActionCreate, provisioning.StatusSuccess)
	old.Time = now().Add(-40 * 24 * time.Hour)
	recent := logEntry(a.ID, "c", "u1", "bob", provisioning.ActionUpdate, provisioning.StatusSuccess)
	b.Prov.Apply(ctx, a.ID, &provisioning.Batch{Logs: []provisioning.LogEntry{old, recent}})
	c := provisioning.Cycle{ID: uuid.NewString(), AppID: a.ID, Kind: provisioning.KindInitial, Trigger: "cli", Status: provisioning.CycleSucceeded,
		Started: old.Time, Ended: old.Time}
	b.Prov.StartCycle(ctx, c, nil)
	n, err := b.Prov.PruneLogs(ctx, now().Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneLogs: %d %v", n, err)
	}
	if logs, _, _ := b.Prov.Logs(ctx, provisioning.LogQuery{AppID: a.ID}); len(logs) != 1 || logs[0].ID != recent.ID {
		t.Fatalf("left: %+v", logs)
	}
	if _, err := b.Prov.GetCycle(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old cycle kept: %v", err)
	}
}
