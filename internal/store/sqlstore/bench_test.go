package sqlstore

// Benchmarks of the store's hot paths on SQLite with the data set
// (10k users, 1k groups, 5 memberships per user, built by test/bench/benchdata
// through directory.Service) and a 100k-member group. Fixtures are built once
// per process in a temp dir on the real disk (TMPDIR), with synchronous=OFF
// while seeding only; every measured write commits with synchronous=FULL.
//
//	go test ./internal/store/sqlstore -run '^$' -bench . -benchtime 2s
//
// The *Prepared and *Flat variants measure alternatives to the current
// queries (statement reuse; a non-recursive groups query), as evidence for
// docs/benchmarks.md; they do not change the store.

import (
	"context"
	"database/sql"
	"fmt"
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
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/test/bench/benchdata"
)

type benchFixture struct {
	db     *DB
	svc    *directory.Service
	dir    directory.Directory
	users  []benchdata.Ref
	token  string // secret of a SCIM token of dir
	err    error
	dirTmp string
}

var (
	mainOnce, largeOnce sync.Once
	mainFix, largeFix   benchFixture
)

func openBenchDB(path string) (*DB, error) {
	db, err := Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// setSync switches the writer connection's durability (the writer pool has
// exactly one connection that lives as long as the pool).
func (db *DB) setSync(mode string) error {
	_, err := db.w.Exec("PRAGMA synchronous=" + mode)
	return err
}

func mainFixture(b *testing.B) *benchFixture {
	b.Helper()
	mainOnce.Do(func() {
		f := &mainFix
		start := time.Now()
		if f.dirTmp, f.err = benchdata.TempDir("gatehouse-sqlstore-bench"); f.err != nil {
			return
		}
		if f.db, f.err = openBenchDB(filepath.Join(f.dirTmp, "main.db")); f.err != nil {
			return
		}
		f.svc = directory.NewService(f.db)
		if f.err = f.db.setSync("OFF"); f.err != nil {
			return
		}
		spec := benchdata.DefaultSpec()
		spec.BigMembers, spec.SpareUsers = 0, 0
		m, err := benchdata.Seed(context.Background(), f.svc, spec)
		if f.err = err; err != nil {
			return
		}
		f.users = m.Users
		if f.dir, f.err = f.svc.EnsureDefault(context.Background()); f.err != nil {
			return
		}
		tok, err := f.svc.CreateToken(context.Background(), f.dir, 0, "bench", nil)
		if f.err = err; err != nil {
			return
		}
		f.token = tok.Secret
		f.err = f.db.setSync("FULL")
		fmt.Fprintf(os.Stderr, "sqlstore bench: 10k/1k fixture in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if mainFix.err != nil {
		b.Fatal(mainFix.err)
	}
	return &mainFix
}

// largeFixture is a directory with a group "big" of 100k users and 50k spare
// users. Users are bulk-inserted in one transaction (their documents are
// small; only the membership table's size matters here), the group's members
// go through CreateGroup.
func largeFixture(b *testing.B) *benchFixture {
	b.Helper()
	largeOnce.Do(func() {
		f := &largeFix
		start := time.Now()
		ctx := context.Background()
		if f.dirTmp, f.err = benchdata.TempDir("gatehouse-sqlstore-bench"); f.err != nil {
			return
		}
		if f.db, f.err = openBenchDB(filepath.Join(f.dirTmp, "large.db")); f.err != nil {
			return
		}
		f.svc = directory.NewService(f.db)
		if f.dir, f.err = f.svc.EnsureDefault(ctx); f.err != nil {
			return
		}
		if f.err = f.db.setSync("OFF"); f.err != nil {
			return
		}
		const n = 150_000
		f.users = make([]benchdata.Ref, n)
		now := time.Now()
		f.err = f.db.tx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT INTO users (id, directory_id, user_name, user_name_ci, active, attrs, version, created_at, modified_at)
				VALUES ($1, $2, $3, $3, 1, $4, 1, $5, $5)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for i := range f.users {
				id := uuid.Must(uuid.NewV7()).String()
				name := benchdata.UserName("large", i)
				if _, err := st.ExecContext(ctx, id, f.dir.ID, name, `{"userName":"`+name+`"}`, micros(now)); err != nil {
					return err
				}
				f.users[i] = benchdata.Ref{ID: id, Name: name}
			}
			return nil
		})
		if f.err != nil {
			return
		}
		members := make([]directory.Member, 100_000)
		for i := range members {
			members[i] = directory.Member{ID: f.users[i].ID, Type: directory.MemberUser}
		}
		g := directory.Group{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: f.dir.ID, DisplayName: "big", Attrs: map[string]any{"displayName": "big"}, Version: 1, Created: now, Modified: now}
		if f.err = f.db.CreateGroup(ctx, g, members, nil); f.err != nil {
			return
		}
		f.users = append([]benchdata.Ref{{ID: g.ID, Name: "big"}}, f.users...)
		f.err = f.db.setSync("FULL")
		fmt.Fprintf(os.Stderr, "sqlstore bench: 100k-member group fixture in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if largeFix.err != nil {
		b.Fatal(largeFix.err)
	}
	return &largeFix
}

func scimEvent(name string, readOnly bool) *audit.Event {
	actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityScimToken, PrincipalID: "bench"}, SourceIP: "127.0.0.1", UserAgent: "bench"}
	ev := actor.NewEvent(audit.SourceSCIM, name, readOnly)
	ev.SetParameters(map[string]any{"method": "GET", "path": "/scim/v2/Users/x"})
	return ev
}

// BenchmarkGetUser is one GET /Users/{id} row read.
func BenchmarkGetUser(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.db.GetUser(ctx, f.dir.ID, f.users[i%len(f.users)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1))
				if _, err := f.db.GetUser(ctx, f.dir.ID, f.users[i%len(f.users)].ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// The same query through a statement prepared once: what a statement
	// cache would save per call (SQL parsing and planning).
	b.Run("prepared", func(b *testing.B) {
		st, err := f.db.r.PrepareContext(ctx, `SELECT `+userCols+` FROM users WHERE directory_id = $1 AND id = $2`)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for i := 0; b.Loop(); i++ {
			if _, err := scanUser(st.QueryRowContext(ctx, f.dir.ID, f.users[i%len(f.users)].ID)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUserGroups is the groups attribute every rendered user carries
// (5 direct groups per user in the fixture).
func BenchmarkUserGroups(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	b.Run("recursive", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			gs, err := f.db.UserGroups(ctx, f.dir.ID, f.users[i%len(f.users)].ID)
			if err != nil || len(gs) != 5 {
				b.Fatal(len(gs), err)
			}
		}
	})
	b.Run("recursive-parallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(n.Add(1))
				if _, err := f.db.UserGroups(ctx, f.dir.ID, f.users[i%len(f.users)].ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A flat join for the direct groups: the answer whenever no group of the
	// directory has a group member (Entra never provisions nested groups).
	b.Run("flat", func(b *testing.B) {
		const q = `SELECT g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id
			WHERE gm.member_id = $2 AND gm.directory_id = $1 ORDER BY g.display_name_ci, g.id`
		for i := 0; b.Loop(); i++ {
			rows, err := f.db.r.QueryContext(ctx, q, f.dir.ID, f.users[i%len(f.users)].ID)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id, name string
				if err := rows.Scan(&id, &name); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != 5 {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkAuthenticate is the per-request token lookup: hash, TokenByHash,
// GetDirectory (TouchToken at most once a minute).
func BenchmarkAuthenticate(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := f.svc.Authenticate(ctx, f.token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListUsersUserNameEq is GET /Users?filter=userName eq "..." (the
// count query plus the page query).
func BenchmarkListUsersUserNameEq(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	exprs := make([]filter.Expr, 1000)
	for i := range exprs {
		e, err := filter.Parse(schema.UserResource, `userName eq "`+strings.ToUpper(f.users[i*7%len(f.users)].Name)+`"`)
		if err != nil {
			b.Fatal(err)
		}
		exprs[i] = e
	}
	b.Run("store", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			page, err := f.db.ListUsers(ctx, f.dir.ID, directory.Query{Filter: exprs[i%len(exprs)], StartIndex: 1, Count: 100})
			if err != nil || page.Total != 1 || len(page.Items) != 1 {
				b.Fatal(page.Total, err)
			}
		}
	})
	// The same two queries with the comparison written so that SQLite can
	// use the users_user_name index (no COALESCE around the equality): what
	// the filter compiler would cost if it emitted COALESCE only under NOT.
	b.Run("indexable-sql", func(b *testing.B) {
		where := `users.directory_id = $1 AND users.user_name_ci = $2`
		for i := 0; b.Loop(); i++ {
			name := fold(f.users[i*7%len(f.users)].Name)
			var total int
			if err := f.db.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+where, f.dir.ID, name).Scan(&total); err != nil || total != 1 {
				b.Fatal(total, err)
			}
			rows, err := f.db.r.QueryContext(ctx, `SELECT `+prefixCols(userTable)+` FROM users WHERE `+where+` ORDER BY users.id LIMIT $3 OFFSET $4`, f.dir.ID, name, 101, 0)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				if _, err := scanUser(rows); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != 1 {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkCreateUser is POST /Users' store write: user row, email row and
// audit event in one durable (synchronous=FULL) transaction.
func BenchmarkCreateUser(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	var seq atomic.Int64
	tag := uuid.NewString()[:8]
	create := func() error {
		n := int(seq.Add(1))
		name := fmt.Sprintf("create-%s-%d@bench.example.com", tag, n)
		body, err := benchdata.Decode(benchdata.UserBody(name, n))
		if err != nil {
			return err
		}
		_, err = f.svc.CreateUser(ctx, f.dir, body, scimEvent("CreateUser", false))
		return err
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := create(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("16-clients", func(b *testing.B) {
		b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := create(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("serial-sync-off", func(b *testing.B) { // the same without the fsync, to split CPU from disk
		if err := f.db.setSync("OFF"); err != nil {
			b.Fatal(err)
		}
		defer f.db.setSync("FULL")
		for b.Loop() {
			if err := create(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecordEvents is the audit recorder's batch write of read events
// (as audit.Recorder batches them) into the read-event chain's file; ns/event
// is per event. Each event names a random user, like a GET of that user.
func BenchmarkRecordEvents(b *testing.B) {
	f := mainFixture(b)
	ctx := context.Background()
	for _, batch := range []int{512} {
		for _, kind := range []string{"get", "list"} {
			b.Run(fmt.Sprintf("batch=%d/%s", batch, kind), func(b *testing.B) {
				evs := make([]*audit.Event, batch)
				n := 0
				for b.Loop() {
					b.StopTimer()
					for i := range evs {
						u := f.users[n%len(f.users)]
						n++
						evs[i] = scimEvent("GetUser", true)
						evs[i].Directory = f.dir.ID
						if kind == "get" {
							evs[i].ResourceID, evs[i].ResourceName = u.ID, u.Name
						}
					}
					b.StartTimer()
					if err := f.db.RecordEvents(ctx, evs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
			})
		}
	}
}

// BenchmarkGroupAdd100Members is PATCH /Groups/{id} adding 100 new members to
// a group of 100k: UpdateGroup with Resolve and Add of 100 ids, one durable
// commit with its audit event. Members come from a pool of 50k spare users;
// when the pool is used up, the chunk is removed again (untimed) first.
func BenchmarkGroupAdd100Members(b *testing.B) {
	f := largeFixture(b)
	ctx := context.Background()
	group, spare := f.users[0].ID, f.users[1+100_000:]
	const per = 100
	chunks := len(spare) / per
	var used int
	for i := 0; b.Loop(); i++ {
		c := i % chunks
		ids := make([]string, per)
		for j := range ids {
			ids[j] = spare[c*per+j].ID
		}
		if used > c || i >= chunks {
			b.StopTimer()
			if _, err := f.db.UpdateGroup(ctx, f.dir.ID, group, func(g *directory.Group, m directory.MemberEditor) error { return m.Remove(ids) }, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		used = max(used, c+1)
		_, err := f.db.UpdateGroup(ctx, f.dir.ID, group, func(g *directory.Group, m directory.MemberEditor) error {
			types, err := m.Resolve(ids)
			if err != nil {
				return err
			}
			add := make([]directory.Member, 0, len(ids))
			for _, id := range ids {
				add = append(add, directory.Member{ID: id, Type: types[id]})
			}
			g.Modified = time.Now()
			return m.Add(add)
		}, scimEvent("PatchGroup", false))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMembers100k is rendering the members of the 100k group, which a
// PATCH answered with 200 and the resource does on every request.
func BenchmarkMembers100k(b *testing.B) {
	f := largeFixture(b)
	ctx := context.Background()
	for b.Loop() {
		ms, err := f.db.Members(ctx, f.dir.ID, f.users[0].ID)
		if err != nil || len(ms) < 100_000 {
			b.Fatal(len(ms), err)
		}
	}
}
