package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

func readEvent(name string, at time.Time) *audit.Event {
	ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityScimToken, PrincipalID: "tok"}}.NewEvent(audit.SourceSCIM, name, true)
	ev.EventTime = at.UTC().Truncate(time.Millisecond)
	return ev
}

// TestReadEventsLeaveTheDirectoryFileAlone is the property the separate
// read-event chain exists for: recording read events is no commit to the
// directory's file, so its readers keep their page caches. SQLite's
// data_version changes on a connection whenever another connection commits
// to the file.
func TestReadEventsLeaveTheDirectoryFileAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	db, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-audit-reads.db")); err != nil {
		t.Fatalf("read-event file: %v", err)
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	conn, err := reader.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	version := func() int64 {
		var v int64
		if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version()
	var evs []*audit.Event
	for i := 0; i < 100; i++ {
		evs = append(evs, readEvent("GetUser", time.Now()))
	}
	if err := db.RecordEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if after := version(); after != before {
		t.Fatalf("recording read events committed to the directory file (data_version %d -> %d)", before, after)
	}
	// A mutation's event does go to the directory file: the check above
	// would have seen it.
	if err := db.RecordEvents(ctx, []*audit.Event{newEvent("CreateUser", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if after := version(); after == before {
		t.Fatal("data_version did not move after a main-chain write; the check proves nothing")
	}
}

// TestReadChainLookupExportVerifyPrune: lookups, export, verification and
// retention span both chains as if they were one trail.
func TestReadChainLookupExportVerifyPrune(t *testing.T) {
	db := newSQLite(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	base := now.Add(-10 * 24 * time.Hour)
	// 40 events, alternating chains, with pairs sharing a timestamp so that
	// the cross-chain tie-break is exercised; recorded in one call, as the
	// recorder does.
	var evs []*audit.Event
	for i := 0; i < 40; i++ {
		at := base.Add(time.Duration(i/2) * 12 * time.Hour)
		if i%2 == 0 {
			evs = append(evs, readEvent("GetUser", at))
		} else {
			evs = append(evs, newEvent("PatchUser", at))
		}
	}
	if err := db.RecordEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	count := func(raw *sql.DB) (n int) {
		raw.QueryRow(`SELECT count(*) FROM audit_events`).Scan(&n)
		return n
	}
	if m, r := count(sqlstore.RawDB(db)), count(sqlstore.RawReadsDB(db)); m != 20 || r != 20 {
		t.Fatalf("main chain %d events, read chain %d; want 20 and 20", m, r)
	}

	t.Run("lookup pages across both chains, newest first", func(t *testing.T) {
		seen := map[string]bool{}
		var prev *audit.Event
		token := ""
		for {
			page, next, err := db.LookupEvents(ctx, audit.Query{MaxResults: 3, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for i := range page {
				e := page[i]
				if seen[e.EventID] {
					t.Fatalf("event %s seen twice", e.EventID)
				}
				if prev != nil && e.EventTime.After(prev.EventTime) {
					t.Fatalf("out of order: %v after %v", e.EventTime, prev.EventTime)
				}
				seen[e.EventID], prev = true, &e
			}
			if next == "" {
				break
			}
			token = next
		}
		if len(seen) != 40 {
			t.Fatalf("paging saw %d of 40 events", len(seen))
		}
		got, _, err := db.LookupEvents(ctx, audit.Query{EventName: "GetUser", MaxResults: 100})
		if err != nil || len(got) != 20 || got[0].Chain != audit.ChainReads {
			t.Fatalf("GetUser lookup: %d events, %v", len(got), err)
		}
	})

	t.Run("export merges the chains by time", func(t *testing.T) {
		var got []audit.Event
		err := db.ExportEvents(ctx, time.Time{}, func(e audit.Event) error { got = append(got, e); return nil })
		if err != nil || len(got) != 40 {
			t.Fatalf("exported %d, %v", len(got), err)
		}
		for i := 1; i < len(got); i++ {
			if got[i].EventTime.Before(got[i-1].EventTime) {
				t.Fatalf("export out of time order at %d", i)
			}
		}
	})

	t.Run("verify reports each chain and catches tampering in the read chain", func(t *testing.T) {
		reports, err := db.VerifyChains(ctx)
		if err != nil || len(reports) != 2 {
			t.Fatalf("%d reports, %v", len(reports), err)
		}
		for _, r := range reports {
			if !r.Intact || r.Checked != 20 || r.Head == nil || r.Head.Seq != 20 {
				t.Fatalf("%s chain: %+v", r.Chain, r)
			}
		}
		raw := sqlstore.RawReadsDB(db)
		raw.Exec(`UPDATE audit_events SET body = replace(body, 'GetUser', 'GetGroup'), event_name = 'GetGroup' WHERE seq = 7`)
		reports, _ = db.VerifyChains(ctx)
		if !reports[0].Intact || reports[1].Intact || reports[1].Problem.Seq != 7 || reports[1].Chain != "reads" {
			t.Fatalf("after editing read event 7: %+v / %+v", reports[0], reports[1].Problem)
		}
		raw.Exec(`UPDATE audit_events SET body = replace(body, 'GetGroup', 'GetUser'), event_name = 'GetUser' WHERE seq = 7`)
		if reports, _ = db.VerifyChains(ctx); !reports[1].Intact {
			t.Fatalf("restored read chain: %+v", reports[1].Problem)
		}
	})

	t.Run("retention prunes both chains and both still verify", func(t *testing.T) {
		ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentitySystem}}.NewEvent(audit.SourceAdmin, "PruneEvents", false)
		// Events at base+0, +12h, ... ; the cut at base+5d-1h removes the
		// first 10 timestamps: 10 events from each chain.
		n, err := db.PruneEvents(ctx, base.Add(5*24*time.Hour-time.Hour), ev)
		if err != nil || n != 20 {
			t.Fatalf("pruned %d, %v; want 20", n, err)
		}
		reports, err := db.VerifyChains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reports {
			if !r.Intact || r.Cut == nil || r.Cut.Pruned != 10 || r.Cut.FirstSeq != 11 {
				t.Fatalf("%s chain after prune: %+v cut %+v", r.Chain, r.Problem, r.Cut)
			}
		}
		if reports[0].Checked != 11 || reports[1].Checked != 10 { // the main chain also holds the PruneEvents event
			t.Fatalf("after prune: main %d, reads %d", reports[0].Checked, reports[1].Checked)
		}
		got, _, _ := db.LookupEvents(ctx, audit.Query{EventName: "PruneEvents"})
		if len(got) != 1 || len(got[0].ResponseElements) == 0 {
			t.Fatalf("PruneEvents event: %+v", got)
		}
	})
}
