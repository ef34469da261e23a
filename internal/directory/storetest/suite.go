// Package storetest is the contract suite every directory.Store backend must
// pass. Backends call Run from their own tests with a constructor that returns
// an empty, migrated store; the same assertions then hold on every dialect.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Run runs the contract suite. newStore must return an empty, migrated store
// that the suite may use until the test ends.
func Run(t *testing.T, newStore func(t *testing.T) directory.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s directory.Store)
	}{
		{"DirectoryCRUD", testDirectoryCRUD},
		{"UserCRUD", testUserCRUD},
		{"UserNameUniqueCaseInsensitive", testUserNameUnique},
		{"NotFound", testNotFound},
		{"UpdateIsSerialisedNoLostUpdates", testNoLostUpdates},
		{"UpdateClosureErrorRollsBack", testClosureRollback},
		{"StablePagination", testPagination},
		{"FilterInDatabase", testFilters},
		{"GroupMembers", testGroupMembers},
		{"ConcurrentMemberAdds", testConcurrentMemberAdds},
		{"NestedGroupsAndCycles", testNestedGroups},
		{"TimestampsRoundTrip", testTimestamps},
		{"Tokens", testTokens},
		{"DirectoriesAreIsolated", testIsolation},
		{"ChangeSequence", testChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

// now is truncated to microseconds, the resolution every backend keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newDirectory(t *testing.T, s directory.Store, name string) directory.Directory {
	t.Helper()
	d := directory.Directory{ID: uuid.NewString(), Name: name, Profile: directory.ProfileRFC, Created: now(), Modified: now()}
	if err := s.CreateDirectory(ctx, d, nil); err != nil {
		t.Fatalf("CreateDirectory: %v", err)
	}
	return d
}

func newUser(dir, userName string) directory.User {
	id, _ := uuid.NewV7()
	return directory.User{
		ID: id.String(), DirectoryID: dir, UserName: userName, Active: true, Version: 1, Created: now(), Modified: now(),
		Attrs: map[string]any{"userName": userName, "active": true, "name": map[string]any{"givenName": "Given " + userName},
			"emails": []any{map[string]any{"value": userName + "@Example.com", "type": "work", "primary": true}}},
	}
}

func mustCreateUser(t *testing.T, s directory.Store, u directory.User) directory.User {
	t.Helper()
	if err := s.CreateUser(ctx, u, nil); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.UserName, err)
	}
	return u
}

func newGroup(dir, name string) directory.Group {
	id, _ := uuid.NewV7()
	return directory.Group{ID: id.String(), DirectoryID: dir, DisplayName: name, Version: 1, Created: now(), Modified: now(),
		Attrs: map[string]any{"displayName": name}}
}

func testDirectoryCRUD(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "acme")
	got, err := s.GetDirectoryByName(ctx, "acme")
	if err != nil || got.ID != d.ID || got.Profile != directory.ProfileRFC {
		t.Fatalf("GetDirectoryByName = %+v, %v", got, err)
	}
	if err := s.CreateDirectory(ctx, directory.Directory{ID: uuid.NewString(), Name: "acme", Profile: "rfc", Created: now(), Modified: now()}, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate directory name: err = %v, want ErrAlreadyExists", err)
	}
	upd, err := s.UpdateDirectory(ctx, d.ID, func(d *directory.Directory) error {
		d.Profile = directory.ProfileAWS
		d.Settings.PatchReturns204 = true
		return nil
	}, nil)
	if err != nil || upd.Profile != directory.ProfileAWS {
		t.Fatalf("UpdateDirectory = %+v, %v", upd, err)
	}
	got, _ = s.GetDirectory(ctx, d.ID)
	if !got.Settings.PatchReturns204 || got.Profile != directory.ProfileAWS {
		t.Fatalf("settings not persisted: %+v", got)
	}
	u := mustCreateUser(t, s, newUser(d.ID, "alice"))
	if err := s.DeleteDirectory(ctx, d.ID, nil); err != nil {
		t.Fatalf("DeleteDirectory: %v", err)
	}
	if _, err := s.GetUser(ctx, d.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user survived its directory: %v", err)
	}
	if err := s.DeleteDirectory(ctx, d.ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func testUserCRUD(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u := newUser(d.ID, "bjensen")
	u.ExternalID = "ext-1"
	u.DisplayName = "Babs Jensen"
	u.PasswordHash = "hash"
	mustCreateUser(t, s, u)
	got, err := s.GetUser(ctx, d.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserName != "bjensen" || got.ExternalID != "ext-1" || got.DisplayName != "Babs Jensen" || !got.Active || got.Version != 1 || got.PasswordHash != "hash" {
		t.Fatalf("GetUser = %+v", got)
	}
	if gn := got.Attrs["name"].(map[string]any)["givenName"]; gn != "Given bjensen" {
		t.Fatalf("attrs round trip: %v", got.Attrs)
	}
	upd, err := s.UpdateUser(ctx, d.ID, u.ID, func(u *directory.User) error {
		u.Active = false
		u.Attrs["active"] = false
		u.UserName = "babs"
		return nil
	}, nil)
	if err != nil || upd.Version != 2 || upd.Active || upd.UserName != "babs" {
		t.Fatalf("UpdateUser = %+v, %v", upd, err)
	}
	if err := s.DeleteUser(ctx, d.ID, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, d.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func testUserNameUnique(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	mustCreateUser(t, s, newUser(d.ID, "Alice"))
	for _, variant := range []string{"alice", "ALICE", "aLiCe"} {
		if err := s.CreateUser(ctx, newUser(d.ID, variant), nil); !errors.Is(err, store.ErrAlreadyExists) {
			t.Errorf("CreateUser(%q) = %v, want ErrAlreadyExists", variant, err)
		}
	}
	b := mustCreateUser(t, s, newUser(d.ID, "bob"))
	_, err := s.UpdateUser(ctx, d.ID, b.ID, func(u *directory.User) error { u.UserName = "ALICE"; return nil }, nil)
	if !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("rename onto a taken userName: %v, want ErrAlreadyExists", err)
	}
	g := newGroup(d.ID, "Admins")
	if err := s.CreateGroup(ctx, g, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, newGroup(d.ID, "admins"), nil, nil); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("duplicate group displayName: %v, want ErrAlreadyExists", err)
	}
}

func testNotFound(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	missing := uuid.NewString()
	checks := map[string]error{}
	_, checks["GetUser"] = s.GetUser(ctx, d.ID, missing)
	_, checks["UpdateUser"] = s.UpdateUser(ctx, d.ID, missing, func(*directory.User) error { return nil }, nil)
	checks["DeleteUser"] = s.DeleteUser(ctx, d.ID, missing, nil)
	_, checks["GetGroup"] = s.GetGroup(ctx, d.ID, missing)
	_, checks["UpdateGroup"] = s.UpdateGroup(ctx, d.ID, missing, func(*directory.Group, directory.MemberEditor) error { return nil }, nil)
	checks["DeleteGroup"] = s.DeleteGroup(ctx, d.ID, missing, nil)
	_, checks["GetDirectory"] = s.GetDirectory(ctx, missing)
	_, checks["TokenByHash"] = s.TokenByHash(ctx, "nope")
	_, checks["RevokeToken"] = s.RevokeToken(ctx, missing, now(), nil)
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

// testNoLostUpdates runs concurrent read-modify-write updates; each must see
// the previous one's result (the closure runs inside the transaction).
func testNoLostUpdates(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u := mustCreateUser(t, s, newUser(d.ID, "counter"))
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.UpdateUser(ctx, d.ID, u.ID, func(u *directory.User) error {
				list, _ := u.Attrs["roles"].([]any)
				u.Attrs["roles"] = append(list, map[string]any{"value": fmt.Sprint(i)})
				return nil
			}, nil)
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.GetUser(ctx, d.ID, u.ID)
	if roles := got.Attrs["roles"].([]any); len(roles) != n || got.Version != n+1 {
		t.Fatalf("after %d concurrent updates: %d roles, version %d", n, len(roles), got.Version)
	}
}

func testClosureRollback(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u := mustCreateUser(t, s, newUser(d.ID, "carol"))
	boom := errors.New("boom")
	ev := &audit.Event{EventID: uuid.NewString(), EventTime: now(), EventSource: audit.SourceSCIM, EventName: "PutUser"}
	_, err := s.UpdateUser(ctx, d.ID, u.ID, func(u *directory.User) error {
		u.UserName = "changed"
		return boom
	}, ev)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the closure's error", err)
	}
	got, _ := s.GetUser(ctx, d.ID, u.ID)
	if got.UserName != "carol" || got.Version != 1 {
		t.Fatalf("rolled-back update leaked: %+v", got)
	}
	// Optimistic concurrency as the service uses it: If-Match compares the
	// version inside the closure.
	_, err = s.UpdateUser(ctx, d.ID, u.ID, func(u *directory.User) error {
		if u.Version != 7 {
			return store.ErrVersionMismatch
		}
		return nil
	}, nil)
	if !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("stale version: %v", err)
	}
}

func testPagination(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	for i := 0; i < 25; i++ {
		mustCreateUser(t, s, newUser(d.ID, fmt.Sprintf("user%02d", (i*7)%25)))
	}
	seen := map[string]bool{}
	var order []string
	for start := 1; start <= 25; start += 10 {
		p, err := s.ListUsers(ctx, d.ID, directory.Query{StartIndex: start, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 25 {
			t.Fatalf("total = %d", p.Total)
		}
		for _, u := range p.Items {
			if seen[u.ID] {
				t.Fatalf("user %s on two pages", u.UserName)
			}
			seen[u.ID] = true
			order = append(order, u.ID)
		}
	}
	if len(seen) != 25 {
		t.Fatalf("offset paging saw %d of 25", len(seen))
	}
	// Cursor paging yields the same order.
	var cursorOrder []string
	cursor := ""
	for {
		p, err := s.ListUsers(ctx, d.ID, directory.Query{Count: 7, UseCursor: true, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Items {
			cursorOrder = append(cursorOrder, u.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if fmt.Sprint(cursorOrder) != fmt.Sprint(order) {
		t.Fatalf("cursor order differs from offset order")
	}
	// Sorting by userName descending.
	by, _ := schema.UserResource.Resolve("userName")
	p, err := s.ListUsers(ctx, d.ID, directory.Query{Count: 3, Sort: directory.Sort{By: by, Descending: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 3 || p.Items[0].UserName != "user24" || p.Items[2].UserName != "user22" {
		t.Fatalf("sort desc: %v", names(p.Items))
	}
	// count=0 returns only the total.
	p, _ = s.ListUsers(ctx, d.ID, directory.Query{Count: 0, StartIndex: 1})
	if p.Total != 25 || len(p.Items) != 0 {
		t.Fatalf("count=0: %d items, total %d", len(p.Items), p.Total)
	}
}

func names(us []directory.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.UserName)
	}
	return out
}

func compare(path string, op filter.Op, v any) filter.Expr {
	p, ok := schema.UserResource.Resolve(path)
	if !ok {
		panic(path)
	}
	return filter.Compare{Path: p, Op: op, Value: v}
}

// testFilters uses hand-built ASTs so the store contract does not depend on
// the parser; the SCIM tests cover parse-and-run end to end.
func testFilters(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	a := newUser(d.ID, "Alice")
	a.ExternalID = "EXT-a"
	a.Attrs["title"] = "Engineer"
	mustCreateUser(t, s, a)
	b := newUser(d.ID, "bob")
	b.Active = false
	b.Attrs["emails"] = []any{map[string]any{"value": "bob@corp.example", "type": "home"}}
	mustCreateUser(t, s, b)
	emails, _ := schema.UserResource.Resolve("emails")
	cases := []struct {
		name string
		f    filter.Expr
		want []string
	}{
		{"userName eq is case-insensitive", compare("userName", filter.Eq, "ALICE"), []string{"Alice"}},
		{"externalId eq is case-exact", compare("externalId", filter.Eq, "ext-a"), nil},
		{"externalId eq exact", compare("externalId", filter.Eq, "EXT-a"), []string{"Alice"}},
		{"emails.value eq uses the email index", compare("emails.value", filter.Eq, "alice@example.COM"), []string{"Alice"}},
		{"active eq false", compare("active", filter.Eq, false), []string{"bob"}},
		{"title pr", compare("title", filter.Pr, nil), []string{"Alice"}},
		{"not title pr", filter.Not{X: compare("title", filter.Pr, nil)}, []string{"bob"}},
		{"title ne matches missing", compare("title", filter.Ne, "Engineer"), []string{"bob"}},
		{"userName sw", compare("userName", filter.Sw, "AL"), []string{"Alice"}},
		{"name.givenName co", compare("name.givenName", filter.Co, "ven b"), []string{"bob"}},
		{"emails co targets value", compare("emails.value", filter.Co, "corp"), []string{"bob"}},
		{"or", filter.Or{Left: compare("userName", filter.Eq, "alice"), Right: compare("userName", filter.Eq, "bob")}, []string{"Alice", "bob"}},
		{"value path", filter.ValuePath{Attr: emails, Filter: filter.And{
			Left:  filter.Compare{Path: schema.Path{Schema: schema.User, Attr: emails.Attr, Sub: emails.Attr.Sub("type")}, Op: filter.Eq, Value: "work"},
			Right: filter.Compare{Path: schema.Path{Schema: schema.User, Attr: emails.Attr, Sub: emails.Attr.Sub("value")}, Op: filter.Co, Value: "@example"}}},
			[]string{"Alice"}},
		{"meta.created gt past", compare("meta.created", filter.Gt, time.Now().Add(-time.Hour)), []string{"Alice", "bob"}},
		{"injection attempt is just a value", compare("userName", filter.Eq, `x' OR '1'='1`), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListUsers(ctx, d.ID, directory.Query{Filter: tc.f, Count: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := names(p.Items)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if p.Total != len(tc.want) {
				t.Fatalf("total %d, want %d", p.Total, len(tc.want))
			}
		})
	}
}

func testGroupMembers(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u1 := mustCreateUser(t, s, newUser(d.ID, "u1"))
	u2 := mustCreateUser(t, s, newUser(d.ID, "u2"))
	g := newGroup(d.ID, "g")
	if err := s.CreateGroup(ctx, g, []directory.Member{{ID: u1.ID, Type: directory.MemberUser}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateGroup(ctx, d.ID, g.ID, func(g *directory.Group, m directory.MemberEditor) error {
		return m.Add([]directory.Member{{ID: u2.ID, Type: directory.MemberUser}, {ID: u1.ID, Type: directory.MemberUser}})
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx, d.ID, g.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("members = %v, %v", ms, err)
	}
	types, _ := s.ResolveMembers(ctx, d.ID, []string{u1.ID, g.ID, "nope"})
	if types[u1.ID] != directory.MemberUser || types[g.ID] != directory.MemberGroup || len(types) != 2 {
		t.Fatalf("ResolveMembers = %v", types)
	}
	// members.value filter on groups, groups.value on users.
	mv, _ := schema.GroupResource.Resolve("members.value")
	gp, _ := s.ListGroups(ctx, d.ID, directory.Query{Filter: filter.Compare{Path: mv, Op: filter.Eq, Value: u2.ID}, Count: 10})
	if gp.Total != 1 {
		t.Fatalf("members.value filter: %d", gp.Total)
	}
	if err := s.DeleteUser(ctx, d.ID, u1.ID, nil); err != nil {
		t.Fatal(err)
	}
	ms, _ = s.Members(ctx, d.ID, g.ID)
	if len(ms) != 1 || ms[0].ID != u2.ID {
		t.Fatalf("deleting a user must remove its memberships: %v", ms)
	}
	_, err = s.UpdateGroup(ctx, d.ID, g.ID, func(g *directory.Group, m directory.MemberEditor) error { return m.Clear() }, nil)
	if ms, _ = s.Members(ctx, d.ID, g.ID); err != nil || len(ms) != 0 {
		t.Fatalf("Clear: %v %v", ms, err)
	}
}

func testConcurrentMemberAdds(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	g := newGroup(d.ID, "big")
	if err := s.CreateGroup(ctx, g, nil, nil); err != nil {
		t.Fatal(err)
	}
	const writers = 50
	users := make([]directory.User, writers)
	for i := range users {
		users[i] = mustCreateUser(t, s, newUser(d.ID, fmt.Sprintf("m%02d", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(u directory.User) {
			defer wg.Done()
			_, err := s.UpdateGroup(ctx, d.ID, g.ID, func(g *directory.Group, m directory.MemberEditor) error {
				return m.Add([]directory.Member{{ID: u.ID, Type: directory.MemberUser}})
			}, nil)
			errs <- err
		}(users[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, _ := s.Members(ctx, d.ID, g.ID)
	got, _ := s.GetGroup(ctx, d.ID, g.ID)
	if len(ms) != writers || got.Version != writers+1 {
		t.Fatalf("%d members, version %d after %d concurrent adds", len(ms), got.Version, writers)
	}
}

func testNestedGroups(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u := mustCreateUser(t, s, newUser(d.ID, "bob"))
	inner, outer := newGroup(d.ID, "inner"), newGroup(d.ID, "outer")
	if err := s.CreateGroup(ctx, inner, []directory.Member{{ID: u.ID, Type: directory.MemberUser}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, outer, []directory.Member{{ID: inner.ID, Type: directory.MemberGroup}}, nil); err != nil {
		t.Fatal(err)
	}
	// A cycle: inner contains outer contains inner.
	if _, err := s.UpdateGroup(ctx, d.ID, inner.ID, func(g *directory.Group, m directory.MemberEditor) error {
		return m.Add([]directory.Member{{ID: outer.ID, Type: directory.MemberGroup}})
	}, nil); err != nil {
		t.Fatal(err)
	}
	refs, err := s.UserGroups(ctx, d.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(refs) != fmt.Sprint([]directory.GroupRef{{ID: inner.ID, Display: "inner", Type: "direct"}, {ID: outer.ID, Display: "outer", Type: "indirect"}}) {
		t.Fatalf("UserGroups = %+v", refs)
	}
}

func testTimestamps(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	u := newUser(d.ID, "ts")
	u.Created = time.Date(2026, 11, 28, 12, 34, 56, 123456000, time.UTC)
	u.Modified = u.Created.Add(1500 * time.Microsecond)
	mustCreateUser(t, s, u)
	got, _ := s.GetUser(ctx, d.ID, u.ID)
	if !got.Created.Equal(u.Created) || !got.Modified.Equal(u.Modified) || got.Created.Location() != time.UTC {
		t.Fatalf("timestamps: got %v/%v want %v/%v", got.Created, got.Modified, u.Created, u.Modified)
	}
}

func testTokens(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	tok := directory.Token{ID: uuid.NewString(), DirectoryID: d.ID, Hash: "h1", Description: "entra", Created: now(), Expires: now().Add(time.Hour)}
	if err := s.CreateToken(ctx, tok, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, "h1")
	if err != nil || got.ID != tok.ID || !got.Active(time.Now()) {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	jt, jd, err := s.TokenDirectory(ctx, "h1")
	if err != nil || jt.ID != tok.ID || jd.ID != d.ID || jd.Name != d.Name {
		t.Fatalf("TokenDirectory = %+v, %+v, %v", jt, jd, err)
	}
	if _, _, err := s.TokenDirectory(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenDirectory(unknown) = %v", err)
	}
	if err := s.TouchToken(ctx, tok.ID, now()); err != nil {
		t.Fatal(err)
	}
	rev, err := s.RevokeToken(ctx, tok.ID, now(), nil)
	if err != nil || rev.Revoked == nil || rev.Active(time.Now()) {
		t.Fatalf("RevokeToken = %+v, %v", rev, err)
	}
	list, _ := s.ListTokens(ctx, d.ID)
	if len(list) != 1 || list[0].LastUsed == nil {
		t.Fatalf("ListTokens = %+v", list)
	}
}

func testIsolation(t *testing.T, s directory.Store) {
	d1, d2 := newDirectory(t, s, "one"), newDirectory(t, s, "two")
	u := mustCreateUser(t, s, newUser(d1.ID, "same"))
	mustCreateUser(t, s, newUser(d2.ID, "same")) // same userName in another directory is fine
	if _, err := s.GetUser(ctx, d2.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user visible across directories: %v", err)
	}
	p, _ := s.ListUsers(ctx, d2.ID, directory.Query{Count: 10})
	if p.Total != 1 {
		t.Fatalf("directory two lists %d users", p.Total)
	}
}

// testChanges checks the incremental feed: every write takes a new, higher
// sequence value, a watermark returns only later changes, deletions appear.
func testChanges(t *testing.T, s directory.Store) {
	d := newDirectory(t, s, "d")
	start, err := s.ChangeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreateUser(t, s, newUser(d.ID, "a"))
	b := mustCreateUser(t, s, newUser(d.ID, "b"))
	g := newGroup(d.ID, "g")
	if err := s.CreateGroup(ctx, g, nil, nil); err != nil {
		t.Fatal(err)
	}
	mark, _ := s.ChangeHead(ctx)
	if _, err := s.UpdateUser(ctx, d.ID, a.ID, func(u *directory.User) error { u.DisplayName = "A"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateGroup(ctx, d.ID, g.ID, func(g *directory.Group, m directory.MemberEditor) error {
		return m.Add([]directory.Member{{ID: b.ID, Type: directory.MemberUser}})
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, d.ID, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.Changes(ctx, d.ID, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	// a and g keep only their latest sequence value; b appears once, deleted.
	if len(all) != 3 {
		t.Fatalf("changes since start: %+v", all)
	}
	since, _ := s.Changes(ctx, d.ID, mark, 100)
	want := []directory.Change{{Type: directory.MemberUser, ID: a.ID}, {Type: directory.MemberGroup, ID: g.ID}, {Type: directory.MemberUser, ID: b.ID, Deleted: true}}
	if len(since) != 3 {
		t.Fatalf("changes since watermark: %+v", since)
	}
	for i, c := range since {
		if c.Type != want[i].Type || c.ID != want[i].ID || c.Deleted != want[i].Deleted || c.Seq <= mark || (i > 0 && c.Seq <= since[i-1].Seq) {
			t.Fatalf("change %d = %+v, want %+v after %d in order", i, c, want[i], mark)
		}
	}
	head, _ := s.ChangeHead(ctx)
	if head != since[2].Seq {
		t.Fatalf("head %d, last change %d", head, since[2].Seq)
	}
	if rest, _ := s.Changes(ctx, d.ID, head, 100); len(rest) != 0 {
		t.Fatalf("changes after head: %+v", rest)
	}
}
