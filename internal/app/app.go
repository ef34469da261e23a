// Package app is the composition root: it opens the store, builds the
// services, mounts every protocol's handlers and runs the server and its
// background jobs. Only this package sees every other one.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Version is set at build time with -ldflags "-X .../internal/app.Version=v1.2.3".
var Version = "dev"

// App is an opened Gatehouse: store and services, without a listener.
type App struct {
	Cfg   config.Config
	Log   *slog.Logger
	DB    *sqlstore.DB
	Dir   *directory.Service
	Audit *audit.Recorder
	Admin *admin.Tokens
	// Access is the access model: accounts, permission sets, assignments.
	Access *access.Service
	// Prov is the provisioning engine (applications, cycles, scheduler).
	Prov *provisioning.Service
}

// NewLogger builds the slog logger: text on a terminal, JSON otherwise.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToLower(level)))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Open opens and migrates the database and ensures the default directory.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	db, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log, DB: db, Dir: directory.NewService(db)}
	if _, err := a.Dir.EnsureDefault(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("default directory: %w", err)
	}
	a.Audit = audit.NewRecorder(db, log)
	a.Admin = &admin.Tokens{Store: db, Now: time.Now}
	a.Access = access.NewService(db, db)
	a.openProvisioning()
	return a, nil
}

// Close flushes buffered audit events and closes the database.
func (a *App) Close() error {
	a.Audit.Close()
	return a.DB.Close()
}

// Handler returns the whole HTTP surface.
func (a *App) Handler(m *httpx.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.DB.Ping(ctx); err != nil {
			a.Log.Warn("readiness: database unreachable", "err", err)
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", m.Handler())
	(&scim.Handler{Svc: a.Dir, Audit: a.Audit, Log: a.Log, BaseURL: a.Cfg.BaseURL(), MaxBody: a.Cfg.HTTP.MaxBodyBytes,
		RecordReads: a.Cfg.Audit.RecordReads()}).Routes(mux)
	adminAPI := &admin.API{Tokens: a.Admin, Audit: a.DB, Recorder: a.Audit, Log: a.Log, Directory: func(ctx context.Context, name string) (string, error) {
		d, err := a.Dir.Directory(ctx, name)
		return d.ID, err
	}}
	adminAPI.Routes(mux)
	(&admin.ProvisioningAPI{API: adminAPI, Prov: a.Prov, Recorder: a.Audit}).Routes(mux)
	(&admin.AccessAPI{API: adminAPI, Access: a.Access, Dir: a.Dir, Recorder: a.Audit}).Routes(mux)
	return httpx.Wrap(mux, a.Log, m, a.Cfg.HTTP.MaxBodyBytes)
}

// Serve listens until ctx is cancelled, then shuts down gracefully: stop
// accepting, let in-flight requests finish within the shutdown timeout,
// flush audit events, close the database.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	m := httpx.NewMetrics()
	pools := map[string]func() sql.DBStats{"writer": func() sql.DBStats { s, _ := a.DB.Stats(); return s }}
	if a.DB.Dialect() == sqlstore.SQLite {
		pools["reader"] = func() sql.DBStats { _, s := a.DB.Stats(); return s }
	}
	m.RegisterDBStats(pools)
	ln, err := net.Listen("tcp", a.Cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Cfg.Listen, err)
	}
	h := a.Cfg.HTTP
	srv := &http.Server{
		Handler:           a.Handler(m),
		ReadHeaderTimeout: time.Duration(h.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(h.ReadTimeout),
		WriteTimeout:      time.Duration(h.WriteTimeout),
		IdleTimeout:       time.Duration(h.IdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	jobs, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	jobsDone := make(chan struct{})
	go func() { a.runJobs(jobs); close(jobsDone) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Log.Info("gatehouse serving", "addr", ln.Addr().String(), "public_url", a.Cfg.BaseURL(), "db_dialect", a.DB.Dialect(), "version", Version)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "timeout", h.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(h.ShutdownTimeout))
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.Log.Warn("shutdown timeout: closing remaining connections")
		err = srv.Close()
	}
	stopJobs()
	<-jobsDone // provisioning cycles stop before the database closes
	return err
}

// runJobs runs background jobs until ctx ends: today, audit retention,
// once at start and then hourly. Every replica runs it; the store serialises
// pruning, so concurrent runs are harmless.
func (a *App) runJobs(ctx context.Context) {
	provDone := make(chan struct{})
	go func() { a.runProvisioning(ctx); close(provDone) }()
	defer func() { <-provDone }()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := a.PruneAudit(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("audit retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneAudit deletes audit events older than the retention period.
func (a *App) PruneAudit(ctx context.Context) (int64, error) {
	retention := time.Duration(a.Cfg.Audit.Retention)
	ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentitySystem, PrincipalID: "retention"}}.NewEvent(audit.SourceAdmin, "PruneEvents", false)
	ev.SetParameters(map[string]any{"retention": a.Cfg.Audit.Retention.String()})
	n, err := a.DB.PruneEvents(ctx, time.Now().Add(-retention), ev)
	if n > 0 {
		a.Log.Info("audit retention pruned events", "pruned", n, "retention", a.Cfg.Audit.Retention.String())
	}
	return n, err
}
