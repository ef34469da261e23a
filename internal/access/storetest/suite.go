// Package storetest is the contract suite every access.Store backend must
// pass, on every dialect. The backend also implements directory.Store (users
// and groups are what assignments name, and deleting them is where
// reference protection hooks in) and LookupEvents (the suite checks the
// audit events each change writes). Service-level behaviour that depends on
// the backend (reference protection, entitlement resolution through nested
// groups and cycles, isolation of directories) is tested here too, so that it
// holds on every dialect.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Backend is what the suite needs of a store.
type Backend interface {
	access.Store
	directory.Store
	LookupEvents(ctx context.Context, q audit.Query) ([]audit.Event, string, error)
}

// Run runs the contract suite. newStore must return an empty, migrated
// store that the suite may use until the test ends.
func Run(t *testing.T, newStore func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"AccountCRUD", testAccountCRUD},
		{"AccountUniqueness", testAccountUniqueness},
		{"PermissionSetRoundTrip", testPermissionSetRoundTrip},
		{"PermissionSetUpdate", testPermissionSetUpdate},
		{"PermissionSetRules", testPermissionSetRules},
		{"Assignments", testAssignments},
		{"AssignmentForeignKeys", testAssignmentForeignKeys},
		{"DeleteAccountRefusesOrCascades", testDeleteAccount},
		{"DeletePermissionSetRefusesOrCascades", testDeletePermissionSet},
		{"DeleteUserRefusesOrCascades", testDeleteUser},
		{"DeleteGroupRefusesOrCascades", testDeleteGroup},
		{"EntitlementsThroughNestedGroups", testNestedEntitlements},
		{"CyclesInNestingTerminate", testCycles},
		{"MembershipChangesAreImmediate", testImmediate},
		{"WhoCanReachAnAccount", testWho},
		{"DirectoriesAreIsolated", testIsolation},
		{"DeleteDirectoryWithAssignments", testDeleteDirectory},
		{"ConcurrentAssignments", testConcurrentAssignments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, newStore(t))) })
	}
}

var ctx = context.Background()

// env is a backend with services and one directory, "acme".
type env struct {
	t   *testing.T
	b   Backend
	dir *directory.Service
	acc *access.Service
	d   directory.Directory
}

func newEnv(t *testing.T, b Backend) *env {
	e := &env{t: t, b: b, dir: directory.NewService(b), acc: access.NewService(b, b)}
	e.d = e.directory("acme")
	return e
}

func (e *env) directory(name string) directory.Directory {
	e.t.Helper()
	d, err := e.dir.CreateDirectory(ctx, name, directory.ProfileRFC, nil)
	if err != nil {
		e.t.Fatalf("CreateDirectory(%s): %v", name, err)
	}
	return d
}

func event(name string) *audit.Event {
	return audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin, PrincipalID: "storetest", UserName: "tester"}, RequestID: "req-" + name}.
		NewEvent(audit.SourceAccess, name, false)
}

func (e *env) user(d directory.Directory, name string) directory.User {
	e.t.Helper()
	u, err := e.dir.CreateUser(ctx, d, map[string]any{"userName": name}, nil)
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func (e *env) group(d directory.Directory, name string) directory.Group {
	e.t.Helper()
	g, err := e.dir.CreateGroup(ctx, d, map[string]any{"displayName": name}, nil)
	if err != nil {
		e.t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

// member puts a user or group into a group (store level, so that the suite
// can build cycles).
func (e *env) member(d directory.Directory, groupID, memberID, memberType string) {
	e.t.Helper()
	_, err := e.b.UpdateGroup(ctx, d.ID, groupID, func(g *directory.Group, m directory.MemberEditor) error {
		return m.Add([]directory.Member{{ID: memberID, Type: memberType}})
	}, nil)
	if err != nil {
		e.t.Fatalf("add member: %v", err)
	}
}

func (e *env) unmember(d directory.Directory, groupID, memberID string) {
	e.t.Helper()
	if _, err := e.b.UpdateGroup(ctx, d.ID, groupID, func(g *directory.Group, m directory.MemberEditor) error {
		return m.Remove([]string{memberID})
	}, nil); err != nil {
		e.t.Fatalf("remove member: %v", err)
	}
}

func (e *env) account(d directory.Directory, id, name string) access.Account {
	e.t.Helper()
	a, err := e.acc.CreateAccount(ctx, d, access.Account{ID: id, Name: name}, event("CreateAccount"))
	if err != nil {
		e.t.Fatalf("CreateAccount(%s): %v", id, err)
	}
	return a
}

func (e *env) permissionSet(d directory.Directory, name string, managed ...string) access.PermissionSet {
	e.t.Helper()
	p, err := e.acc.CreatePermissionSet(ctx, d, access.PermissionSet{Name: name, ManagedPolicies: managed}, event("CreatePermissionSet"))
	if err != nil {
		e.t.Fatalf("CreatePermissionSet(%s): %v", name, err)
	}
	return p
}

func (e *env) assign(d directory.Directory, a access.Account, p access.PermissionSet, typ, principal string) access.Assignment {
	e.t.Helper()
	as, err := e.acc.CreateAssignment(ctx, d, access.AssignmentInput{AccountID: a.ID, PermissionSetID: p.ID, PrincipalType: typ, PrincipalID: principal}, event("CreateAccountAssignment"))
	if err != nil {
		e.t.Fatalf("CreateAssignment(%s on %s to %s): %v", p.Name, a.ID, principal, err)
	}
	return as
}

func (e *env) events(name string, d directory.Directory) []audit.Event {
	e.t.Helper()
	evs, _, err := e.b.LookupEvents(ctx, audit.Query{EventName: name, Directory: d.ID, MaxResults: audit.MaxMaxResults})
	if err != nil {
		e.t.Fatalf("LookupEvents: %v", err)
	}
	return evs
}

// paths renders a user's entitlements as "account/permission set: path | path".
func paths(ents []access.Entitlement) []string {
	var out []string
	for _, en := range ents {
		var ps []string
		for _, r := range en.Via {
			ps = append(ps, r.Path)
		}
		out = append(out, en.AccountID+"/"+en.PermissionSetName+": "+strings.Join(ps, " | "))
	}
	return out
}

func same(got, want []string) bool { return fmt.Sprint(got) == fmt.Sprint(want) }

const viewOnly = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"

func testAccountCRUD(t *testing.T, e *env) {
	a, err := e.acc.CreateAccount(ctx, e.d, access.Account{ID: "111122223333", Name: "Production", Description: "prod", Email: "aws-prod@example.com",
		Tags: map[string]string{"env": "prod", "Kostenstelle": "Über 42"}}, event("CreateAccount"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != access.TargetAWSAccount {
		t.Fatalf("default type = %q", a.Type)
	}
	got, err := e.b.GetAccount(ctx, e.d.ID, "111122223333")
	if err != nil || got.Name != "Production" || got.Description != "prod" || got.Email != "aws-prod@example.com" || got.Tags["Kostenstelle"] != "Über 42" ||
		!got.Created.Equal(a.Created) || got.DirectoryID != e.d.ID {
		t.Fatalf("GetAccount = %+v, %v", got, err)
	}
	other, err := e.acc.CreateAccount(ctx, e.d, access.Account{ID: "eks-prod-eu1", Type: "other", Name: "EKS prod"}, nil)
	if err != nil || other.Type != access.TargetOther {
		t.Fatalf("OTHER account: %+v, %v", other, err)
	}
	byName, err := e.acc.Account(ctx, e.d, "production")
	if err != nil || byName.ID != a.ID {
		t.Fatalf("Account by name regardless of case: %+v, %v", byName, err)
	}
	list, err := e.acc.ListAccounts(ctx, e.d)
	if err != nil || len(list) != 2 || list[0].ID != "111122223333" || list[1].ID != "eks-prod-eu1" {
		t.Fatalf("ListAccounts = %+v, %v", list, err)
	}
	if _, err := e.acc.DeleteAccount(ctx, e.d, a, false, event("DeleteAccount")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.GetAccount(ctx, e.d.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := e.acc.Account(ctx, e.d, a.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Account after delete: %v", err)
	}
	if _, err := e.b.DeleteAccount(ctx, e.d.ID, a.ID, false, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if evs := e.events("CreateAccount", e.d); len(evs) != 1 || evs[0].ResourceID != "111122223333" || evs[0].ResourceName != "Production" {
		t.Fatalf("CreateAccount events: %+v", evs)
	}
	if evs := e.events("DeleteAccount", e.d); len(evs) != 1 || evs[0].EventSource != audit.SourceAccess {
		t.Fatalf("DeleteAccount events: %+v", evs)
	}
}

func testAccountUniqueness(t *testing.T, e *env) {
	e.account(e.d, "111122223333", "Production")
	_, err := e.acc.CreateAccount(ctx, e.d, access.Account{ID: "111122223333", Name: "Other"}, nil)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Uniqueness || fe.Field != "id" {
		t.Fatalf("duplicate id: %v", err)
	}
	_, err = e.acc.CreateAccount(ctx, e.d, access.Account{ID: "444455556666", Name: "PRODUCTION"}, nil)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Uniqueness || fe.Field != "name" {
		t.Fatalf("duplicate name in another case: %v", err)
	}
	if err := e.b.CreateAccount(ctx, access.Account{DirectoryID: e.d.ID, ID: "444455556666", Type: access.TargetAWSAccount, Name: "production"}, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("store: duplicate name: %v", err)
	}
	// Another directory may register the same account under the same name.
	d2 := e.directory("other")
	e.account(d2, "111122223333", "Production")
}

func testPermissionSetRoundTrip(t *testing.T, e *env) {
	inline := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"s3:DeleteBucket\", \"Resource\": \"*\"}]\n}\n"
	in := access.PermissionSet{
		Name: "ViewOnlyAccess", Description: "Read-only access\nfor auditors", SessionDuration: "PT8H", RelayState: "https://console.aws.amazon.com/s3/home?region=eu-west-1",
		ManagedPolicies:         []string{viewOnly, "arn:aws:iam::111122223333:policy/team/ReadBuckets"},
		CustomerManagedPolicies: []access.PolicyReference{{Name: "ReadLogs", Path: "/ops/"}, {Name: "Base"}},
		InlinePolicy:            inline,
		PermissionsBoundary:     &access.Boundary{CustomerManagedPolicyReference: &access.PolicyReference{Name: "Boundary"}},
		Tags:                    map[string]string{"team": "platform", "empty": ""},
	}
	p, err := e.acc.CreatePermissionSet(ctx, e.d, in, event("CreatePermissionSet"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.ID, "ps-") || len(p.ID) != 19 || p.Version != 1 {
		t.Fatalf("id %q version %d", p.ID, p.Version)
	}
	got, err := e.b.GetPermissionSet(ctx, e.d.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.InlinePolicy != inline {
		t.Fatalf("inline policy not kept exactly:\n%q\n%q", got.InlinePolicy, inline)
	}
	if got.Name != "ViewOnlyAccess" || got.Description != in.Description || got.SessionDuration != "PT8H" || got.RelayState != in.RelayState ||
		!same(got.ManagedPolicies, in.ManagedPolicies) || fmt.Sprint(got.CustomerManagedPolicies) != "[/ops/ReadLogs /Base]" ||
		got.PermissionsBoundary == nil || got.PermissionsBoundary.String() != "/Boundary" || got.Tags["team"] != "platform" || len(got.Tags) != 2 ||
		!got.Created.Equal(p.Created) || !got.Modified.Equal(p.Modified) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
	}
	bare := e.permissionSet(e.d, "Bare")
	got, _ = e.b.GetPermissionSet(ctx, e.d.ID, bare.ID)
	if got.SessionDuration != "PT1H" || got.ManagedPolicies == nil || got.CustomerManagedPolicies == nil || got.PermissionsBoundary != nil || got.Tags != nil || got.InlinePolicy != "" {
		t.Fatalf("defaults: %+v", got)
	}
	byName, err := e.acc.PermissionSet(ctx, e.d, "viewonlyaccess")
	if err != nil || byName.ID != p.ID {
		t.Fatalf("by name: %v %v", byName.ID, err)
	}
	list, _ := e.acc.ListPermissionSets(ctx, e.d)
	if len(list) != 2 || list[0].Name != "Bare" || list[1].Name != "ViewOnlyAccess" {
		t.Fatalf("list: %+v", list)
	}
	_, err = e.acc.CreatePermissionSet(ctx, e.d, access.PermissionSet{Name: "VIEWONLYACCESS"}, nil)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Uniqueness || fe.Field != "name" {
		t.Fatalf("duplicate name regardless of case: %v", err)
	}
}

func testPermissionSetUpdate(t *testing.T, e *env) {
	p := e.permissionSet(e.d, "Dev")
	desc, dur := "Developers", "PT90M"
	u, err := e.acc.UpdatePermissionSet(ctx, e.d, p, access.PermissionSetUpdate{Description: &desc, SessionDuration: &dur}, event("UpdatePermissionSet"))
	if err != nil || u.Version != 2 || u.Description != "Developers" || u.SessionDuration != "PT1H30M" {
		t.Fatalf("update: %+v, %v", u, err)
	}
	u, err = e.acc.AttachManagedPolicy(ctx, e.d, p, viewOnly, event("AttachManagedPolicyToPermissionSet"))
	if err != nil || u.Version != 3 || !same(u.ManagedPolicies, []string{viewOnly}) {
		t.Fatalf("attach: %+v, %v", u, err)
	}
	_, err = e.acc.AttachManagedPolicy(ctx, e.d, p, viewOnly, event("AttachManagedPolicyToPermissionSet"))
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Uniqueness || fe.Field != "managedPolicyArn" {
		t.Fatalf("attach twice: %v", err)
	}
	// A closure error rolls back: nothing written, no event.
	before := len(e.events("UpdatePermissionSet", e.d))
	boom := errors.New("boom")
	if _, err := e.b.UpdatePermissionSet(ctx, e.d.ID, p.ID, func(p *access.PermissionSet) error { p.Description = "x"; return boom }, event("UpdatePermissionSet")); !errors.Is(err, boom) {
		t.Fatalf("closure error: %v", err)
	}
	got, _ := e.b.GetPermissionSet(ctx, e.d.ID, p.ID)
	if got.Description != "Developers" || got.Version != 3 || len(e.events("UpdatePermissionSet", e.d)) != before {
		t.Fatalf("rolled-back update leaked: %+v", got)
	}
	if _, err := e.b.UpdatePermissionSet(ctx, e.d.ID, "ps-0000000000000000", func(*access.PermissionSet) error { return nil }, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	u, err = e.acc.DetachManagedPolicy(ctx, e.d, p, viewOnly, event("DetachManagedPolicyFromPermissionSet"))
	if err != nil || len(u.ManagedPolicies) != 0 {
		t.Fatalf("detach: %+v, %v", u, err)
	}
	if _, err := e.acc.DetachManagedPolicy(ctx, e.d, p, viewOnly, nil); !fault.Is(err, fault.NotFound) {
		t.Fatalf("detach twice: %v", err)
	}
	ref := access.PolicyReference{Name: "ReadLogs", Path: "/ops/"}
	if u, err = e.acc.AttachCustomerManagedPolicy(ctx, e.d, p, ref, event("AttachCustomerManagedPolicyReferenceToPermissionSet")); err != nil || len(u.CustomerManagedPolicies) != 1 {
		t.Fatalf("attach customer: %+v, %v", u, err)
	}
	if u, err = e.acc.DetachCustomerManagedPolicy(ctx, e.d, p, ref, event("DetachCustomerManagedPolicyReferenceFromPermissionSet")); err != nil || len(u.CustomerManagedPolicies) != 0 {
		t.Fatalf("detach customer: %+v, %v", u, err)
	}
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:List*","Resource":"*"}}`
	if u, err = e.acc.PutInlinePolicy(ctx, e.d, p, doc, event("PutInlinePolicyToPermissionSet")); err != nil || u.InlinePolicy != doc {
		t.Fatalf("put inline: %+v, %v", u, err)
	}
	if u, err = e.acc.DeleteInlinePolicy(ctx, e.d, p, event("DeleteInlinePolicyFromPermissionSet")); err != nil || u.InlinePolicy != "" {
		t.Fatalf("delete inline: %+v, %v", u, err)
	}
	if u, err = e.acc.PutPermissionsBoundary(ctx, e.d, p, access.Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/PowerUserAccess"}, event("PutPermissionsBoundaryToPermissionSet")); err != nil ||
		u.PermissionsBoundary == nil || u.PermissionsBoundary.ManagedPolicyARN == "" {
		t.Fatalf("put boundary: %+v, %v", u, err)
	}
	if u, err = e.acc.DeletePermissionsBoundary(ctx, e.d, p, event("DeletePermissionsBoundaryFromPermissionSet")); err != nil || u.PermissionsBoundary != nil {
		t.Fatalf("delete boundary: %+v, %v", u, err)
	}
	for _, name := range []string{"UpdatePermissionSet", "AttachManagedPolicyToPermissionSet", "DetachManagedPolicyFromPermissionSet",
		"AttachCustomerManagedPolicyReferenceToPermissionSet", "DetachCustomerManagedPolicyReferenceFromPermissionSet",
		"PutInlinePolicyToPermissionSet", "DeleteInlinePolicyFromPermissionSet", "PutPermissionsBoundaryToPermissionSet", "DeletePermissionsBoundaryFromPermissionSet"} {
		evs := e.events(name, e.d)
		if len(evs) != 1 || evs[0].ResourceID != p.ID || evs[0].ResourceName != "Dev" {
			t.Errorf("%s: %d events %+v", name, len(evs), evs)
		}
	}
}

func testPermissionSetRules(t *testing.T, e *env) {
	p := e.permissionSet(e.d, "Many")
	for i := 0; i < access.MaxPolicies; i++ {
		var err error
		if i%2 == 0 {
			p, err = e.acc.AttachManagedPolicy(ctx, e.d, p, fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i), nil)
		} else {
			p, err = e.acc.AttachCustomerManagedPolicy(ctx, e.d, p, access.PolicyReference{Name: fmt.Sprintf("C%d", i)}, nil)
		}
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
	}
	_, err := e.acc.AttachManagedPolicy(ctx, e.d, p, "arn:aws:iam::aws:policy/OneTooMany", nil)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Limit || fe.Field != "managedPolicies" {
		t.Fatalf("21st policy: %v", err)
	}
	_, err = e.acc.PutInlinePolicy(ctx, e.d, p, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"allow","Action":"*","Resource":"*"}]}`, nil)
	if fe, ok := fault.As(err); !ok || fe.Field != "inlinePolicy.Statement[1].Effect" {
		t.Fatalf("bad inline policy: %v", err)
	}
	bad := "PT13H"
	if _, err := e.acc.UpdatePermissionSet(ctx, e.d, p, access.PermissionSetUpdate{SessionDuration: &bad}, nil); !fault.Is(err, fault.InvalidValue) {
		t.Fatalf("13h: %v", err)
	}
	got, _ := e.b.GetPermissionSet(ctx, e.d.ID, p.ID)
	if got.SessionDuration != "PT1H" || len(got.ManagedPolicies) != 10 {
		t.Fatalf("a refused change was stored: %+v", got)
	}
}

func testAssignments(t *testing.T, e *env) {
	bob, alice := e.user(e.d, "bob"), e.user(e.d, "alice")
	ro := e.group(e.d, "aws-sso-read-only")
	prod, dev := e.account(e.d, "111122223333", "Production"), e.account(e.d, "444455556666", "Development")
	view, admin := e.permissionSet(e.d, "ViewOnlyAccess", viewOnly), e.permissionSet(e.d, "AdministratorAccess")
	a1 := e.assign(e.d, prod, view, access.PrincipalGroup, ro.ID)
	e.assign(e.d, dev, admin, "user", bob.ID)
	e.assign(e.d, prod, admin, access.PrincipalUser, alice.ID)
	if a1.AccountName != "Production" || a1.PermissionSetName != "ViewOnlyAccess" || a1.PrincipalName != "aws-sso-read-only" || a1.String() != "ViewOnlyAccess on 111122223333 to GROUP aws-sso-read-only" {
		t.Fatalf("assignment: %+v %s", a1, a1)
	}
	_, err := e.acc.CreateAssignment(ctx, e.d, access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "GROUP", PrincipalID: ro.ID}, nil)
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Uniqueness {
		t.Fatalf("duplicate assignment: %v", err)
	}
	count := func(f access.AssignmentFilter) int {
		list, err := e.acc.ListAssignments(ctx, e.d, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	checks := []struct {
		name string
		f    access.AssignmentFilter
		want int
	}{
		{"all", access.AssignmentFilter{}, 3},
		{"by account", access.AssignmentFilter{AccountID: prod.ID}, 2},
		{"by permission set", access.AssignmentFilter{PermissionSetID: admin.ID}, 2},
		{"by principal", access.AssignmentFilter{PrincipalType: "user", PrincipalID: bob.ID}, 1},
		{"by group", access.AssignmentFilter{PrincipalType: access.PrincipalGroup, PrincipalID: ro.ID}, 1},
		{"by account and permission set", access.AssignmentFilter{AccountID: dev.ID, PermissionSetID: view.ID}, 0},
	}
	for _, c := range checks {
		if got := count(c.f); got != c.want {
			t.Errorf("%s: %d assignments, want %d", c.name, got, c.want)
		}
	}
	found, err := e.acc.FindAssignment(ctx, e.d, access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "GROUP", PrincipalID: ro.ID})
	if err != nil || found.ID != a1.ID {
		t.Fatalf("FindAssignment: %+v %v", found, err)
	}
	if _, err := e.acc.DeleteAssignment(ctx, e.d, a1, event("DeleteAccountAssignment")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.acc.DeleteAssignment(ctx, e.d, a1, nil); !fault.Is(err, fault.NotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if evs := e.events("CreateAccountAssignment", e.d); len(evs) != 3 {
		t.Fatalf("CreateAccountAssignment events: %d", len(evs))
	}
	evs := e.events("DeleteAccountAssignment", e.d)
	if len(evs) != 1 || evs[0].ResourceID != a1.ID || evs[0].ResourceName != "aws-sso-read-only" {
		t.Fatalf("DeleteAccountAssignment events: %+v", evs)
	}
	// Rules the service checks, each naming the field.
	bad := []struct {
		in    access.AssignmentInput
		field string
	}{
		{access.AssignmentInput{AccountID: "999999999999", PermissionSetID: view.ID, PrincipalType: "USER", PrincipalID: bob.ID}, "accountId"},
		{access.AssignmentInput{AccountID: prod.ID, PermissionSetID: "ps-nope", PrincipalType: "USER", PrincipalID: bob.ID}, "permissionSetId"},
		{access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "ROLE", PrincipalID: bob.ID}, "principalType"},
		{access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "GROUP", PrincipalID: bob.ID}, "principalId"},
		{access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "USER", PrincipalID: "nobody"}, "principalId"},
	}
	for _, c := range bad {
		_, err := e.acc.CreateAssignment(ctx, e.d, c.in, nil)
		if fe, ok := fault.As(err); !ok || fe.Field != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c.in, err, c.field)
		}
	}
}

func testAssignmentForeignKeys(t *testing.T, e *env) {
	bob := e.user(e.d, "bob")
	prod, view := e.account(e.d, "111122223333", "Production"), e.permissionSet(e.d, "ViewOnlyAccess")
	base := access.Assignment{ID: "as-1", DirectoryID: e.d.ID, AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: access.PrincipalUser, PrincipalID: bob.ID, Created: time.Now().UTC()}
	for name, mut := range map[string]func(a *access.Assignment){
		"missing user":           func(a *access.Assignment) { a.PrincipalID = "no-such-user" },
		"missing group":          func(a *access.Assignment) { a.PrincipalType, a.PrincipalID = access.PrincipalGroup, "no-such-group" },
		"missing account":        func(a *access.Assignment) { a.AccountID = "999999999999" },
		"missing permission set": func(a *access.Assignment) { a.PermissionSetID = "ps-nope" },
	} {
		a := base
		mut(&a)
		if err := e.b.CreateAssignment(ctx, a, event("CreateAccountAssignment")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if evs := e.events("CreateAccountAssignment", e.d); len(evs) != 0 {
		t.Fatalf("events for refused inserts: %d", len(evs))
	}
	if err := e.b.CreateAssignment(ctx, base, nil); err != nil {
		t.Fatal(err)
	}
	dup := base
	dup.ID = "as-2"
	if err := e.b.CreateAssignment(ctx, dup, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
}

// fixture: bob in aws-sso-read-only, assigned ViewOnlyAccess on prod, and
// directly AdministratorAccess on prod and dev.
type fixture struct {
	bob         directory.User
	ro          directory.Group
	prod, dev   access.Account
	view, admin access.PermissionSet
}

func (e *env) fixture() fixture {
	f := fixture{bob: e.user(e.d, "bob"), ro: e.group(e.d, "aws-sso-read-only")}
	e.member(e.d, f.ro.ID, f.bob.ID, directory.MemberUser)
	f.prod, f.dev = e.account(e.d, "111122223333", "Production"), e.account(e.d, "444455556666", "Development")
	f.view, f.admin = e.permissionSet(e.d, "ViewOnlyAccess", viewOnly), e.permissionSet(e.d, "AdministratorAccess")
	e.assign(e.d, f.prod, f.view, access.PrincipalGroup, f.ro.ID)
	e.assign(e.d, f.prod, f.admin, access.PrincipalUser, f.bob.ID)
	e.assign(e.d, f.dev, f.admin, access.PrincipalUser, f.bob.ID)
	return f
}

func checkCascadeEvents(t *testing.T, e *env, cause string, want int) {
	t.Helper()
	evs := e.events("DeleteAccountAssignment", e.d)
	if len(evs) != want {
		t.Fatalf("%d DeleteAccountAssignment events, want %d", len(evs), want)
	}
	parent := e.events(cause, e.d)
	if len(parent) != 1 {
		t.Fatalf("%d %s events, want 1", len(parent), cause)
	}
	for _, ev := range evs {
		if ev.EventSource != audit.SourceAccess || ev.UserIdentity.UserName != "tester" || ev.RequestID != parent[0].RequestID ||
			!strings.Contains(string(ev.AdditionalEventData), parent[0].EventID) || !strings.Contains(string(ev.RequestParameters), `"accountId"`) {
			t.Errorf("cascade event does not point at its cause: %+v", ev)
		}
		if ev.Sequence >= parent[0].Sequence {
			t.Errorf("cascade event %d written after its cause %d", ev.Sequence, parent[0].Sequence)
		}
	}
}

func testDeleteAccount(t *testing.T, e *env) {
	f := e.fixture()
	_, err := e.acc.DeleteAccount(ctx, e.d, f.prod, false, event("DeleteAccount"))
	var re *directory.ReferencedError
	if !errors.As(err, &re) || re.Count != 2 || len(re.First) != 2 {
		t.Fatalf("refusal: %v", err)
	}
	fe, ok := fault.As(err)
	if !ok || fe.Field != "cascade" || !strings.Contains(fe.Message, "account 111122223333 (Production) is still used by 2 account assignments") ||
		!strings.Contains(fe.Message, "ViewOnlyAccess on 111122223333 to GROUP aws-sso-read-only") {
		t.Fatalf("refusal message: %v", err)
	}
	if _, err := e.b.GetAccount(ctx, e.d.ID, f.prod.ID); err != nil {
		t.Fatalf("refused delete removed the account: %v", err)
	}
	if n := len(e.events("DeleteAccount", e.d)) + len(e.events("DeleteAccountAssignment", e.d)); n != 0 {
		t.Fatalf("refused delete wrote %d events", n)
	}
	removed, err := e.acc.DeleteAccount(ctx, e.d, f.prod, true, event("DeleteAccount"))
	if err != nil || len(removed) != 2 {
		t.Fatalf("cascade: %d removed, %v", len(removed), err)
	}
	left, _ := e.acc.ListAssignments(ctx, e.d, access.AssignmentFilter{})
	if len(left) != 1 || left[0].AccountID != f.dev.ID {
		t.Fatalf("left: %+v", left)
	}
	checkCascadeEvents(t, e, "DeleteAccount", 2)
}

func testDeletePermissionSet(t *testing.T, e *env) {
	f := e.fixture()
	extra := e.user(e.d, "extra")
	for i := 0; i < directory.MaxListedReferences+2; i++ {
		acct := e.account(e.d, fmt.Sprintf("%012d", 900000000000+i), fmt.Sprintf("acct-%d", i))
		e.assign(e.d, acct, f.admin, access.PrincipalUser, extra.ID)
	}
	_, err := e.acc.DeletePermissionSet(ctx, e.d, f.admin, false, event("DeletePermissionSet"))
	var re *directory.ReferencedError
	if !errors.As(err, &re) || re.Count != 9 || len(re.First) != directory.MaxListedReferences || !strings.Contains(err.Error(), "and 4 more") {
		t.Fatalf("refusal: %v", err)
	}
	removed, err := e.acc.DeletePermissionSet(ctx, e.d, f.admin, true, event("DeletePermissionSet"))
	if err != nil || len(removed) != 9 {
		t.Fatalf("cascade: %d, %v", len(removed), err)
	}
	if _, err := e.b.GetPermissionSet(ctx, e.d.ID, f.admin.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("permission set survived: %v", err)
	}
	checkCascadeEvents(t, e, "DeletePermissionSet", 9)
	// A set without assignments goes without cascade.
	if _, err := e.acc.DeletePermissionSet(ctx, e.d, e.permissionSet(e.d, "Unused"), false, nil); err != nil {
		t.Fatal(err)
	}
}

func testDeleteUser(t *testing.T, e *env) {
	f := e.fixture()
	err := e.dir.DeleteUser(ctx, e.d, f.bob.ID, "", event("DeleteUser"), directory.DeleteOptions{RefuseReferenced: true})
	var re *directory.ReferencedError
	if !errors.As(err, &re) || re.Count != 2 || !strings.HasPrefix(err.Error(), `user "bob" is still used by 2 account assignments`) {
		t.Fatalf("refusal: %v", err)
	}
	if fe, ok := fault.As(err); !ok || fe.Field != "cascade" {
		t.Fatalf("refusal is not a fault naming cascade: %v", err)
	}
	if _, err := e.b.GetUser(ctx, e.d.ID, f.bob.ID); err != nil {
		t.Fatalf("refused delete removed the user: %v", err)
	}
	if ms, _ := e.b.Members(ctx, e.d.ID, f.ro.ID); len(ms) != 1 {
		t.Fatalf("refused delete removed memberships: %v", ms)
	}
	// The default (what SCIM does) cascades, atomically with the delete.
	if err := e.dir.DeleteUser(ctx, e.d, f.bob.ID, "", event("DeleteUser")); err != nil {
		t.Fatal(err)
	}
	left, _ := e.acc.ListAssignments(ctx, e.d, access.AssignmentFilter{})
	if len(left) != 1 || left[0].PrincipalType != access.PrincipalGroup {
		t.Fatalf("left: %+v", left)
	}
	checkCascadeEvents(t, e, "DeleteUser", 2)
	// A user without assignments is deleted under either option.
	carol := e.user(e.d, "carol")
	if err := e.dir.DeleteUser(ctx, e.d, carol.ID, "", nil, directory.DeleteOptions{RefuseReferenced: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.b.DeleteUser(ctx, e.d.ID, "missing", nil, directory.DeleteOptions{RefuseReferenced: true}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

func testDeleteGroup(t *testing.T, e *env) {
	f := e.fixture()
	outer := e.group(e.d, "all-staff")
	e.member(e.d, outer.ID, f.ro.ID, directory.MemberGroup)
	err := e.dir.DeleteGroup(ctx, e.d, f.ro.ID, "", event("DeleteGroup"), directory.DeleteOptions{RefuseReferenced: true})
	if !strings.HasPrefix(fmt.Sprint(err), `group "aws-sso-read-only" is still used by 1 account assignment (ViewOnlyAccess on 111122223333 to GROUP aws-sso-read-only)`) {
		t.Fatalf("refusal: %v", err)
	}
	if ms, _ := e.b.Members(ctx, e.d.ID, outer.ID); len(ms) != 1 {
		t.Fatalf("refused delete changed memberships: %v", ms)
	}
	if err := e.dir.DeleteGroup(ctx, e.d, f.ro.ID, "", event("DeleteGroup")); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.acc.ListAssignments(ctx, e.d, access.AssignmentFilter{PrincipalType: "GROUP"}); len(left) != 0 {
		t.Fatalf("group assignments left: %+v", left)
	}
	checkCascadeEvents(t, e, "DeleteGroup", 1)
	ua, err := e.acc.UserEntitlements(ctx, e.d, f.bob.ID)
	if err != nil || !same(paths(ua.Entitlements), []string{
		"111122223333/AdministratorAccess: bob -> AdministratorAccess on 111122223333",
		"444455556666/AdministratorAccess: bob -> AdministratorAccess on 444455556666",
	}) {
		t.Fatalf("after group delete: %v %v", paths(ua.Entitlements), err)
	}
}

func testNestedEntitlements(t *testing.T, e *env) {
	bob, alice := e.user(e.d, "bob"), e.user(e.d, "alice")
	teamA, eng, ro := e.group(e.d, "team-a"), e.group(e.d, "all-engineers"), e.group(e.d, "aws-sso-read-only")
	e.member(e.d, teamA.ID, bob.ID, directory.MemberUser)
	e.member(e.d, eng.ID, teamA.ID, directory.MemberGroup)
	e.member(e.d, ro.ID, bob.ID, directory.MemberUser)
	e.member(e.d, ro.ID, eng.ID, directory.MemberGroup) // a second, longer way to aws-sso-read-only
	prod, dev := e.account(e.d, "111122223333", "Production"), e.account(e.d, "444455556666", "Development")
	view, power := e.permissionSet(e.d, "ViewOnlyAccess", viewOnly), e.permissionSet(e.d, "PowerUserAccess")
	e.assign(e.d, prod, view, access.PrincipalGroup, ro.ID)
	e.assign(e.d, dev, power, access.PrincipalGroup, eng.ID)
	e.assign(e.d, dev, power, access.PrincipalUser, bob.ID)
	e.assign(e.d, prod, power, access.PrincipalUser, alice.ID)

	ua, err := e.acc.UserEntitlements(ctx, e.d, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"111122223333/ViewOnlyAccess: bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333",
		"444455556666/PowerUserAccess: bob -> PowerUserAccess on 444455556666 | bob -> team-a -> all-engineers -> PowerUserAccess on 444455556666",
	}
	if got := paths(ua.Entitlements); !same(got, want) {
		t.Fatalf("bob's entitlements:\n got %q\nwant %q", got, want)
	}
	if ua.UserName != "bob" || !ua.Active || ua.Entitlements[0].AccountName != "Production" {
		t.Fatalf("user access: %+v", ua)
	}
	r := ua.Entitlements[1].Via[1]
	if r.Direct || len(r.Groups) != 2 || r.Groups[0].ID != teamA.ID || r.Groups[1].ID != eng.ID {
		t.Fatalf("reason: %+v", r)
	}
	ua, _ = e.acc.UserEntitlements(ctx, e.d, alice.ID)
	if got := paths(ua.Entitlements); !same(got, []string{"111122223333/PowerUserAccess: alice -> PowerUserAccess on 111122223333"}) {
		t.Fatalf("alice: %q", got)
	}
	loner := e.user(e.d, "loner")
	if ua, err = e.acc.UserEntitlements(ctx, e.d, loner.ID); err != nil || ua.Entitlements == nil || len(ua.Entitlements) != 0 {
		t.Fatalf("no entitlements: %+v, %v", ua, err)
	}
	if _, err := e.acc.UserEntitlements(ctx, e.d, "nobody"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func testCycles(t *testing.T, e *env) {
	bob := e.user(e.d, "bob")
	a, b, c := e.group(e.d, "a"), e.group(e.d, "b"), e.group(e.d, "c")
	e.member(e.d, a.ID, bob.ID, directory.MemberUser)
	e.member(e.d, b.ID, a.ID, directory.MemberGroup)
	e.member(e.d, c.ID, b.ID, directory.MemberGroup)
	e.member(e.d, a.ID, c.ID, directory.MemberGroup) // a -> b -> c -> a
	e.member(e.d, b.ID, b.ID, directory.MemberGroup) // and a self-loop, which only the store allows
	prod, view := e.account(e.d, "111122223333", "Production"), e.permissionSet(e.d, "ViewOnlyAccess")
	e.assign(e.d, prod, view, access.PrincipalGroup, c.ID)
	done := make(chan struct{})
	var ua access.UserAccess
	var aa access.AccountAccess
	var err1, err2 error
	go func() {
		defer close(done)
		ua, err1 = e.acc.UserEntitlements(ctx, e.d, bob.ID)
		aa, err2 = e.acc.AccountAccess(ctx, e.d, prod, nil)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("entitlement resolution does not terminate on a cycle")
	}
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if got := paths(ua.Entitlements); !same(got, []string{"111122223333/ViewOnlyAccess: bob -> a -> b -> c -> ViewOnlyAccess on 111122223333"}) {
		t.Fatalf("show: %q", got)
	}
	if got := paths(aa.Entitlements); !same(got, []string{"111122223333/ViewOnlyAccess: bob -> a -> b -> c -> ViewOnlyAccess on 111122223333"}) {
		t.Fatalf("who: %q", got)
	}
}

func testImmediate(t *testing.T, e *env) {
	f := e.fixture()
	has := func(want int) {
		t.Helper()
		ua, err := e.acc.UserEntitlements(ctx, e.d, f.bob.ID)
		if err != nil || len(ua.Entitlements) != want {
			t.Fatalf("%d entitlements, want %d: %v %v", len(ua.Entitlements), want, paths(ua.Entitlements), err)
		}
	}
	has(3)
	e.unmember(e.d, f.ro.ID, f.bob.ID)
	has(2)
	e.member(e.d, f.ro.ID, f.bob.ID, directory.MemberUser)
	has(3)
	a, _ := e.acc.FindAssignment(ctx, e.d, access.AssignmentInput{AccountID: f.dev.ID, PermissionSetID: f.admin.ID, PrincipalType: "USER", PrincipalID: f.bob.ID})
	if _, err := e.acc.DeleteAssignment(ctx, e.d, a, nil); err != nil {
		t.Fatal(err)
	}
	has(2)
}

func testWho(t *testing.T, e *env) {
	f := e.fixture()
	carol := e.user(e.d, "carol")
	e.user(e.d, "dave") // in no group: not listed
	sub := e.group(e.d, "contractors")
	e.member(e.d, sub.ID, carol.ID, directory.MemberUser)
	e.member(e.d, f.ro.ID, sub.ID, directory.MemberGroup)
	e.member(e.d, sub.ID, f.bob.ID, directory.MemberUser) // bob reaches ro two ways; the shortest is shown
	aa, err := e.acc.AccountAccess(ctx, e.d, f.prod, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"111122223333/AdministratorAccess: bob -> AdministratorAccess on 111122223333",
		"111122223333/ViewOnlyAccess: bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333",
		"111122223333/ViewOnlyAccess: carol -> contractors -> aws-sso-read-only -> ViewOnlyAccess on 111122223333",
	}
	if got := paths(aa.Entitlements); !same(got, want) {
		t.Fatalf("who:\n got %q\nwant %q", got, want)
	}
	aa, _ = e.acc.AccountAccess(ctx, e.d, f.prod, &f.view)
	if len(aa.Entitlements) != 2 || aa.PermissionSet == nil {
		t.Fatalf("who with permission set: %q", paths(aa.Entitlements))
	}
	aa, _ = e.acc.AccountAccess(ctx, e.d, e.account(e.d, "777788889999", "Empty"), nil)
	if aa.Entitlements == nil || len(aa.Entitlements) != 0 {
		t.Fatalf("empty account: %+v", aa)
	}
}

func testIsolation(t *testing.T, e *env) {
	f := e.fixture()
	d2 := e.directory("other")
	eve := e.user(d2, "eve")
	// A principal of another directory cannot be assigned.
	_, err := e.acc.CreateAssignment(ctx, e.d, access.AssignmentInput{AccountID: f.prod.ID, PermissionSetID: f.view.ID, PrincipalType: "USER", PrincipalID: eve.ID}, nil)
	if fe, ok := fault.As(err); !ok || fe.Field != "principalId" {
		t.Fatalf("cross-directory principal: %v", err)
	}
	// Nor an account or permission set of another directory.
	_, err = e.acc.CreateAssignment(ctx, d2, access.AssignmentInput{AccountID: f.prod.ID, PermissionSetID: f.view.ID, PrincipalType: "USER", PrincipalID: eve.ID}, nil)
	if fe, ok := fault.As(err); !ok || fe.Field != "accountId" {
		t.Fatalf("cross-directory account: %v", err)
	}
	if _, err := e.acc.PermissionSet(ctx, d2, f.view.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("permission set visible from another directory: %v", err)
	}
	if _, err := e.acc.UserEntitlements(ctx, d2, f.bob.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("user visible from another directory: %v", err)
	}
	if list, _ := e.acc.ListAssignments(ctx, d2, access.AssignmentFilter{}); len(list) != 0 {
		t.Fatalf("assignments visible from another directory: %+v", list)
	}
}

func testDeleteDirectory(t *testing.T, e *env) {
	e.fixture()
	keep := e.directory("keep")
	k := e.fixture2(keep)
	if err := e.b.DeleteDirectory(ctx, e.d.ID, nil); err != nil {
		t.Fatalf("DeleteDirectory with assignments: %v", err)
	}
	if list, _ := e.b.ListAssignments(ctx, e.d.ID, access.AssignmentFilter{}); len(list) != 0 {
		t.Fatalf("assignments survived their directory: %+v", list)
	}
	if accts, _ := e.b.ListAccounts(ctx, e.d.ID); len(accts) != 0 {
		t.Fatalf("accounts survived their directory: %+v", accts)
	}
	if list, _ := e.b.ListAssignments(ctx, keep.ID, access.AssignmentFilter{}); len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("other directory's assignments: %+v", list)
	}
}

func (e *env) fixture2(d directory.Directory) access.Assignment {
	u := e.user(d, "bob")
	return e.assign(d, e.account(d, "111122223333", "Production"), e.permissionSet(d, "ViewOnlyAccess"), access.PrincipalUser, u.ID)
}

func testConcurrentAssignments(t *testing.T, e *env) {
	bob := e.user(e.d, "bob")
	prod, view := e.account(e.d, "111122223333", "Production"), e.permissionSet(e.d, "ViewOnlyAccess")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.acc.CreateAssignment(ctx, e.d, access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "USER", PrincipalID: bob.ID}, event("CreateAccountAssignment"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !fault.Is(err, fault.Uniqueness):
			t.Errorf("concurrent create: %v", err)
		}
	}
	if ok != 1 || len(e.events("CreateAccountAssignment", e.d)) != 1 {
		t.Fatalf("%d concurrent creates succeeded, want 1", ok)
	}
	// Users deleted while assignments to them are created: whatever wins,
	// no assignment is left naming a user that does not exist.
	for i := range 5 {
		u := e.user(e.d, fmt.Sprintf("racer%d", i))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.acc.CreateAssignment(ctx, e.d, access.AssignmentInput{AccountID: prod.ID, PermissionSetID: view.ID, PrincipalType: "USER", PrincipalID: u.ID}, nil)
		}()
		go func() {
			defer wg.Done()
			if err := e.dir.DeleteUser(ctx, e.d, u.ID, "", nil); err != nil {
				t.Errorf("delete racer: %v", err)
			}
		}()
		wg.Wait()
		if list, _ := e.acc.ListAssignments(ctx, e.d, access.AssignmentFilter{PrincipalID: u.ID}); len(list) != 0 {
			t.Fatalf("dangling assignment to a deleted user: %+v", list)
		}
	}
}
