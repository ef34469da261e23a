package target

import (
	"context"
	"strings"
	"sync"
	"testing"
)

func TestDryRun(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS }, nil)
	var ops Operations = DryRun(c)
	d := ops.(*DryRunTarget)
	ctx := context.Background()

	// Reads pass through.
	if _, err := ops.FindUsers(ctx, "userName", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.GetUser(ctx, "real-id"); err != nil {
		t.Fatal(err)
	}
	// Writes are recorded, not sent.
	u, err := ops.CreateUser(ctx, Resource{"userName": "bob"})
	if err != nil || !strings.HasPrefix(u.ID(), DryRunIDPrefix) {
		t.Fatalf("CreateUser = %v, %v", u, err)
	}
	got, err := ops.GetUser(ctx, u.ID())
	if err != nil || got["userName"] != "bob" {
		t.Fatalf("GetUser(synthetic) = %v, %v", got, err)
	}
	g, _ := ops.CreateGroup(ctx, Resource{"displayName": "ops"})
	if err := ops.PatchGroup(ctx, g.ID(), append([]PatchOp{AddMembers(ids("m", 150)...)}, RemoveMembers("x")...)); err != nil {
		t.Fatal(err)
	}
	if err := ops.PatchUser(ctx, u.ID(), []PatchOp{{Op: "Replace", Path: "active", Value: false}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.ReplaceUser(ctx, "real-id", Resource{"userName": "bob2"}); err != nil {
		t.Fatal(err)
	}
	if err := ops.DeleteUser(ctx, "real-id"); err != nil {
		t.Fatal(err)
	}
	if err := ops.DeleteGroup(ctx, g.ID()); err != nil {
		t.Fatal(err)
	}
	// The profile's rules still apply.
	if err := ops.PatchGroup(ctx, g.ID(), []PatchOp{{Op: "replace", Path: "members", Value: []any{}}}); mustError(t, err).Code() != CodeInvalidRequest {
		t.Errorf("dry run accepted what AWS rejects: %v", err)
	}

	for _, cl := range f.Calls() {
		if cl.Method != "GET" {
			t.Errorf("dry run sent %s %s", cl.Method, cl.Path)
		}
	}
	if n := len(f.Calls()); n != 2 || ops.Stats().Requests != 2 {
		t.Errorf("%d requests sent, stats %+v; want the 2 reads", n, ops.Stats())
	}
	var plan []string
	for _, w := range d.Recorded() {
		plan = append(plan, w.Method+" "+w.Path)
	}
	want := []string{
		"POST /Users", "POST /Groups",
		"PATCH /Groups/dryrun-2", "PATCH /Groups/dryrun-2", // 151 changes: 100 + 51
		"PATCH /Users/dryrun-1", "PUT /Users/real-id", "DELETE /Users/real-id", "DELETE /Groups/dryrun-2",
	}
	if strings.Join(plan, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(plan, "\n"), strings.Join(want, "\n"))
	}
	rec := d.Recorded()
	if !strings.Contains(string(rec[4].Body), `"op":"replace"`) || !strings.Contains(rec[0].String(), `"userName":"bob"`) {
		t.Errorf("recorded bodies: %s / %s", rec[4].Body, rec[0])
	}
	if n, _ := memberCount(t, rec[2].Body); n != 100 {
		t.Errorf("first recorded batch has %d member changes", n)
	}
}

func TestDryRunConcurrent(t *testing.T) {
	f := newFake(t, nil)
	d := DryRun(newTestClient(t, f.URL(), nil, nil, nil))
	var wg sync.WaitGroup
	seen := sync.Map{}
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := d.CreateUser(context.Background(), Resource{"userName": "x"})
			if err != nil {
				t.Error(err)
				return
			}
			if _, dup := seen.LoadOrStore(u.ID(), true); dup {
				t.Errorf("synthetic id %s given twice", u.ID())
			}
		}()
	}
	wg.Wait()
	if len(d.Recorded()) != 50 || len(f.Calls()) != 0 {
		t.Fatalf("%d recorded, %d sent", len(d.Recorded()), len(f.Calls()))
	}
}
