package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

func newEvent(name string, at time.Time) *audit.Event {
	ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin, UserName: "alice"}}.NewEvent(audit.SourceDirectory, name, false)
	ev.EventTime = at.UTC().Truncate(time.Millisecond)
	return ev
}

func eachDialect(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newPostgres(t)) })
}

func TestAuditChainVerifyDetectsTampering(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Now()
		var evs []*audit.Event
		for i := 0; i < 5; i++ {
			evs = append(evs, newEvent("CreateUser", now.Add(time.Duration(i)*time.Second)))
		}
		if err := db.RecordEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		n, head, problem, err := verifyMain(db)
		if err != nil || problem != nil || n != 5 || head.Seq != 5 {
			t.Fatalf("intact chain: n=%d head=%v problem=%v err=%v", n, head, problem, err)
		}
		raw := sqlstore.RawDB(db)
		// An edited body is caught at that event.
		if _, err := raw.Exec(`UPDATE audit_events SET body = replace(body, 'alice', 'mallory') WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		_, _, problem, _ = verifyMain(db)
		if problem == nil || problem.Seq != 3 || problem.Kind != "modified" {
			t.Fatalf("edited body: problem = %+v", problem)
		}
		// An edited indexed column is caught too.
		raw.Exec(`UPDATE audit_events SET body = replace(body, 'mallory', 'alice') WHERE seq = 3`)
		raw.Exec(`UPDATE audit_events SET error_code = 'x' WHERE seq = 2`)
		_, _, problem, _ = verifyMain(db)
		if problem == nil || problem.Seq != 2 {
			t.Fatalf("edited column: problem = %+v", problem)
		}
		raw.Exec(`UPDATE audit_events SET error_code = NULL WHERE seq = 2`)
		// A deleted event is reported as missing.
		raw.Exec(`DELETE FROM audit_events WHERE seq = 4`)
		_, _, problem, _ = verifyMain(db)
		if problem == nil || problem.Seq != 4 || problem.Kind != "deleted" {
			t.Fatalf("deleted event: problem = %+v", problem)
		}
	})
}

func TestAuditRollbackLeavesNoEvent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		d := directory.Directory{ID: uuid.NewString(), Name: "d", Profile: "rfc", Created: time.Now(), Modified: time.Now()}
		if err := db.CreateDirectory(ctx, d, newEvent("CreateDirectory", time.Now())); err != nil {
			t.Fatal(err)
		}
		u := directory.User{ID: uuid.NewString(), DirectoryID: d.ID, UserName: "bob", Version: 1, Created: time.Now(), Modified: time.Now()}
		if err := db.CreateUser(ctx, u, newEvent("CreateUser", time.Now())); err != nil {
			t.Fatal(err)
		}
		dup := u
		dup.ID = uuid.NewString()
		if err := db.CreateUser(ctx, dup, newEvent("CreateUser", time.Now())); err == nil {
			t.Fatal("duplicate userName accepted")
		}
		boom := errors.New("boom")
		_, err := db.UpdateUser(ctx, d.ID, u.ID, func(*directory.User) error { return boom }, newEvent("PatchUser", time.Now()))
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		events, _, err := db.LookupEvents(ctx, audit.Query{MaxResults: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].EventName != "CreateUser" || events[1].EventName != "CreateDirectory" {
			t.Fatalf("events after one success and two rollbacks: %+v", names(events))
		}
		if n, _, problem, _ := verifyMain(db); problem != nil || n != 2 {
			t.Fatalf("chain after rollbacks: %d, %+v", n, problem)
		}
	})
}

// verifyMain verifies the store's chains and returns the main chain's
// result.
func verifyMain(db *sqlstore.DB) (int64, *audit.Stored, *audit.Problem, error) {
	reports, err := db.VerifyChains(context.Background())
	if err != nil {
		return 0, nil, nil, err
	}
	r := reports[0]
	return r.Checked, r.Head, r.Problem, nil
}

func names(evs []audit.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventName)
	}
	return out
}

func TestAuditLookupAndPaging(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		var evs []*audit.Event
		for i := 0; i < 30; i++ {
			name := "GetUser"
			if i%3 == 0 {
				name = "CreateUser"
			}
			ev := newEvent(name, base.Add(time.Duration(i)*time.Minute))
			ev.ResourceName = "bob"
			if i%5 == 0 {
				ev.ErrorCode, ev.ResourceName = audit.ErrValidation, "carol"
			}
			evs = append(evs, ev)
		}
		if err := db.RecordEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, _, _ := db.LookupEvents(ctx, audit.Query{EventName: "CreateUser", MaxResults: 100})
		if len(got) != 10 {
			t.Fatalf("by name: %d", len(got))
		}
		got, _, _ = db.LookupEvents(ctx, audit.Query{ErrorCode: audit.ErrValidation, MaxResults: 100})
		if len(got) != 6 {
			t.Fatalf("by error code: %d", len(got))
		}
		got, _, _ = db.LookupEvents(ctx, audit.Query{UserName: "carol", MaxResults: 100})
		if len(got) != 6 {
			t.Fatalf("by user name: %d", len(got))
		}
		got, _, _ = db.LookupEvents(ctx, audit.Query{Start: base.Add(10 * time.Minute), End: base.Add(19 * time.Minute), MaxResults: 100})
		if len(got) != 10 || !got[0].EventTime.Equal(base.Add(19*time.Minute)) {
			t.Fatalf("by time range: %d, first %v", len(got), got[0].EventTime)
		}
		// Newest first, paged with next tokens, no duplicates or gaps.
		seen := map[string]bool{}
		var last time.Time
		token := ""
		for pages := 0; ; pages++ {
			page, next, err := db.LookupEvents(ctx, audit.Query{MaxResults: 7, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				if seen[e.EventID] || (!last.IsZero() && e.EventTime.After(last)) {
					t.Fatalf("paging out of order or repeated at %v", e.EventTime)
				}
				seen[e.EventID], last = true, e.EventTime
			}
			if next == "" {
				break
			}
			token = next
		}
		if len(seen) != 30 {
			t.Fatalf("paging saw %d of 30", len(seen))
		}
		if _, _, err := db.LookupEvents(ctx, audit.Query{NextToken: "garbage"}); err == nil {
			t.Fatal("garbage next token accepted")
		}
	})
}

func TestAuditPruneKeepsChainVerifiable(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Now()
		var evs []*audit.Event
		for i := 0; i < 10; i++ {
			evs = append(evs, newEvent("GetUser", now.Add(-time.Duration(10-i)*24*time.Hour))) // 10..1 days old
		}
		if err := db.RecordEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentitySystem}}.NewEvent(audit.SourceAdmin, "PruneEvents", false)
		n, err := db.PruneEvents(ctx, now.Add(-5*24*time.Hour-time.Hour), ev)
		if err != nil || n != 5 {
			t.Fatalf("pruned %d, %v; want 5", n, err)
		}
		reports, _ := db.VerifyChains(ctx)
		cut := reports[0].Cut
		if cut == nil || cut.FirstSeq != 6 || cut.Pruned != 5 {
			t.Fatalf("cut = %+v", cut)
		}
		checked, head, problem, err := verifyMain(db)
		if err != nil || problem != nil || checked != 6 || head.Seq != 11 {
			t.Fatalf("after prune: checked %d head %+v problem %+v err %v", checked, head, problem, err)
		}
		// Deleting the first kept event is still detected.
		sqlstore.RawDB(db).Exec(`DELETE FROM audit_events WHERE seq = 6`)
		if _, _, problem, _ := verifyMain(db); problem == nil || problem.Seq != 6 {
			t.Fatalf("deletion after cut: %+v", problem)
		}
	})
}
