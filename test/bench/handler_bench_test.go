// Package bench holds Gatehouse's load tooling (run.sh, scim.lua, seed,
// patchbench, profserve) and in-process benchmarks of the whole HTTP
// handler (middleware, SCIM, directory service, SQLite store, audit) without
// the network and the load generator competing for the two cores:
//
//	go test ./test/bench -run '^$' -bench . -benchtime 3s -cpuprofile cpu.pprof
//
// The data set is the (10k users, 1k groups) from benchdata. Set
// GATEHOUSE_BENCH_DB to a main.db written by test/bench/seed (from the same
// schema version) to skip seeding; it is copied, never modified. The working copy lives in TMPDIR
// (a real disk), so writes pay for their fsync as in production.
package bench

import (
	"context"
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

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/test/bench/benchdata"
)

type server struct {
	a       *app.App
	token   string
	users   []benchdata.Ref
	handler map[bool]http.Handler // by audit.read_events
	err     error
}

var (
	srvOnce sync.Once
	srv     server
)

func benchServer(b *testing.B) *server {
	b.Helper()
	srvOnce.Do(func() { srv.err = srv.open() })
	if srv.err != nil {
		b.Fatal(srv.err)
	}
	return &srv
}

func (s *server) open() error {
	ctx := context.Background()
	dir, err := benchdata.TempDir("gatehouse-handler-bench")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "main.db")
	start := time.Now()
	if src := os.Getenv("GATEHOUSE_BENCH_DB"); src != "" {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	} else {
		// Seed on tmpfs (no fsync cost), then copy to the real disk.
		shm, err := os.MkdirTemp("/dev/shm", "gatehouse-handler-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(shm)
		cfg := config.Default()
		cfg.DB = filepath.Join(shm, "main.db")
		a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return err
		}
		spec := benchdata.DefaultSpec()
		spec.BigMembers, spec.SpareUsers = 0, 0
		_, err = benchdata.Seed(ctx, a.Dir, spec)
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		b, err := os.ReadFile(cfg.DB)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	cfg := config.Default()
	cfg.DB = path
	// The access log is formatted as in production (JSON, info) but discarded.
	log := app.NewLogger(io.Discard, "info", "json")
	if s.a, err = app.Open(ctx, cfg, log); err != nil {
		return err
	}
	d, err := s.a.Dir.EnsureDefault(ctx)
	if err != nil {
		return err
	}
	tok, err := s.a.Dir.CreateToken(ctx, d, 0, "handler bench", nil)
	if err != nil {
		return err
	}
	s.token = tok.Secret
	page, err := s.a.DB.ListUsers(ctx, d.ID, directoryQuery(10_000))
	if err != nil {
		return err
	}
	for _, u := range page.Items {
		s.users = append(s.users, benchdata.Ref{ID: u.ID, Name: u.UserName})
	}
	if len(s.users) == 0 {
		return fmt.Errorf("no users in %s", path)
	}
	s.handler = map[bool]http.Handler{}
	for _, reads := range []bool{true, false} {
		a := *s.a
		a.Cfg.Audit.ReadEvents = &reads
		s.handler[reads] = a.Handler(httpx.NewMetrics())
	}
	fmt.Fprintf(os.Stderr, "handler bench: %d users ready in %s\n", len(s.users), time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *server) do(b *testing.B, h http.Handler, method, target, body string, want int) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
	}
}

// run measures fn serially (ns/op ~ CPU per request on one core) and with
// 16 goroutines (throughput of both cores; the audit writer competes).
func run(b *testing.B, fn func(b *testing.B, i int)) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			fn(b, i)
		}
	})
	b.Run("parallel16", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				fn(b, int(n.Add(1)))
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

func BenchmarkGetUser(b *testing.B) {
	s := benchServer(b)
	for _, reads := range []bool{true, false} {
		b.Run(fmt.Sprintf("audit-reads=%v", reads), func(b *testing.B) {
			run(b, func(b *testing.B, i int) {
				s.do(b, s.handler[reads], http.MethodGet, "/scim/v2/Users/"+s.users[i%len(s.users)].ID, "", http.StatusOK)
			})
		})
	}
}

func BenchmarkFilterUserName(b *testing.B) {
	s := benchServer(b)
	for _, reads := range []bool{true, false} {
		b.Run(fmt.Sprintf("audit-reads=%v", reads), func(b *testing.B) {
			run(b, func(b *testing.B, i int) {
				f := url.QueryEscape(`userName eq "` + s.users[i%len(s.users)].Name + `"`)
				s.do(b, s.handler[reads], http.MethodGet, "/scim/v2/Users?filter="+f, "", http.StatusOK)
			})
		})
	}
}

func BenchmarkCreateUser(b *testing.B) {
	s := benchServer(b)
	tag := fmt.Sprint(time.Now().UnixNano())
	var seq atomic.Int64
	run(b, func(b *testing.B, _ int) {
		i := int(seq.Add(1))
		name := fmt.Sprintf("handler-%s-%d@bench.example.com", tag, i)
		s.do(b, s.handler[true], http.MethodPost, "/scim/v2/Users", string(benchdata.UserBody(name, i)), http.StatusCreated)
	})
}

func directoryQuery(n int) directory.Query { return directory.Query{StartIndex: 1, Count: n} }
