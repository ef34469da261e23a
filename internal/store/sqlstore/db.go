// Package sqlstore is Gatehouse's one SQL implementation of every domain
// Store contract, for SQLite (modernc.org/sqlite, the default) and PostgreSQL
// (pgx). Queries are written once with $N placeholders, which both drivers
// bind by number; where the dialects differ (JSON access, booleans), a small
// dialect value produces the fragment instead of rewriting SQL text.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL backend.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open store. For SQLite it holds two pools on the same file: one
// writer connection (SQLite allows one writer; a single connection turns lock
// contention into queueing in Go) whose transactions begin IMMEDIATE, and a
// reader pool for concurrent reads under WAL. PostgreSQL uses one pool.
//
// On SQLite, read-only audit events live in a second file with its own hash
// chain (reads; see ReadEventsPath and ADR 0003): every commit to a SQLite
// file makes all other connections drop their page caches, so batches of
// read events written into the directory's file would cost every reader its
// cache several times a second.
type DB struct {
	dialect    Dialect
	w          *sql.DB
	r          *readPool
	ws         *writeStmts // SQLite: prepared statements on the writer
	migrations string      // embedded migrations directory
	reads      *DB         // SQLite only: the read-event chain's own file

	// The batch writer (SQLite main file only; nil otherwise).
	batch      chan *writeReq
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

// IsPostgresDSN reports whether dsn selects PostgreSQL.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL
// selects PostgreSQL, anything else is a SQLite file path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if IsPostgresDSN(dsn) {
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		p.SetMaxOpenConns(32)
		p.SetMaxIdleConns(32)
		db := &DB{dialect: Postgres, w: p, r: newReadPool(p, false), migrations: "postgres"}
		if err := db.Ping(ctx); err != nil {
			p.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		return db, nil
	}
	return openSQLite(ctx, dsn)
}

// ReadEventsPath is the SQLite file that holds the read-event audit chain
// of the database at path: gatehouse.db -> gatehouse-audit-reads.db. It is
// part of the database (back both files up together).
func ReadEventsPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-audit-reads" + ext
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	db, err := openSQLiteFile(ctx, path, "sqlite", "synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	// Read events wait up to a second in the recorder's buffer before they
	// are written, so a power loss can already cost the last second of
	// them; an fsync per batch would buy nothing. synchronous=NORMAL in WAL
	// mode syncs at checkpoints and never corrupts the file. Every batch
	// rewrites the same index tail pages, so checkpointing every 8,192 WAL
	// pages instead of 1,000 copies each of them back far less often
	// (BenchmarkRecordEvents: 8-12 % less per event).
	db.startBatchWriter()
	if db.reads, err = openSQLiteFile(ctx, ReadEventsPath(path), "sqlite-audit-reads", "synchronous(NORMAL)&_pragma=wal_autocheckpoint(8192)"); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openSQLiteFile opens one SQLite file; pragmas are the durability settings
// (_pragma values) that differ between the directory's file and the
// read-event file.
func openSQLiteFile(ctx context.Context, path, migrations, pragmas string) (*DB, error) {
	if path == "" {
		return nil, errors.New("empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("SQLite database directory %s: %w", dir, err)
		}
	}
	// synchronous=FULL: a commit acknowledged to a SCIM client survives power
	// loss. busy_timeout covers a CLI process writing while a server runs.
	// A 32 MiB page cache per connection (the default is 2 MiB): the writer
	// keeps the audit trail's index pages hot, readers a directory's working
	// set; memory-mapped reads avoid a pread per page.
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=" + pragmas + "&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)" +
		"&_pragma=cache_size(-32768)&_pragma=mmap_size(268435456)&_pragma=temp_store(MEMORY)"
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Readers share the file through WAL snapshots; query_only guards against
	// an accidental write on a reader connection.
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	n := max(4, 2*runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{dialect: SQLite, w: w, r: newReadPool(r, true), ws: newWriteStmts(), migrations: migrations}
	// The writer must connect first: it creates the file and switches it to WAL.
	if err := db.w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return db, nil
}

// Dialect returns the backend's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return err
	}
	if db.reads != nil {
		if err := db.reads.Ping(ctx); err != nil {
			return err
		}
	}
	return db.r.PingContext(ctx)
}

// Close stops the batch writer (after the batch it is running) and closes
// the pools (and the read-event file's).
func (db *DB) Close() error {
	if db.quit != nil {
		db.closeOnce.Do(func() { close(db.quit) })
		<-db.writerDone
	}
	if db.ws != nil {
		db.ws.close()
	}
	err := db.w.Close()
	if db.r.DB != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.reads != nil {
		err = errors.Join(err, db.reads.Close())
	}
	return err
}

// Stats returns pool statistics for metrics: writer and reader pools (the
// same pool on PostgreSQL).
func (db *DB) Stats() (writer, reader sql.DBStats) { return db.w.Stats(), db.r.Stats() }

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.migrations)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Several replicas may start at once: an advisory lock serialises them.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, db.w, sub, opts...)
}

// Migrate applies every pending migration and returns the resulting version.
func (db *DB) Migrate(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	if db.reads != nil {
		if _, err := db.reads.Migrate(ctx); err != nil {
			return 0, fmt.Errorf("read-event audit file: %w", err)
		}
	}
	return p.GetDBVersion(ctx)
}

// LatestVersion is the newest migration version embedded for the dialect.
func (db *DB) LatestVersion() (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	srcs := p.ListSources()
	if len(srcs) == 0 {
		return 0, nil
	}
	return srcs[len(srcs)-1].Version, nil
}

// tx runs fn in a write transaction, committing when fn returns nil. On
// SQLite the call goes through the batch writer (see commitLoop); the
// caller still returns only once its writes are durable or rolled back.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.batch == nil {
		return db.txOne(ctx, fn)
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.batch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return errClosed
	}
	// Once handed over, wait for the answer whatever ctx does: the batch
	// may already have committed this request's writes.
	err := <-req.done
	var p *txPanic
	if errors.As(err, &p) {
		panic(p.value) // where it would have surfaced without batching
	}
	return err
}

// txOne runs fn in a transaction of its own.
func (db *DB) txOne(ctx context.Context, fn func(tx *sql.Tx) error) error {
	db.prepareWanted(ctx)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// Group commit. SQLite has one writer and synchronous=FULL makes every
// commit an fsync, so concurrent writers queue behind one another's fsyncs
// (POST /Users peaked at ~550/s with 16 clients, 60 % of its time in the
// commit). The batch writer takes every transaction body waiting for the
// writer (up to maxBatch), runs them one after the other in one IMMEDIATE
// transaction, each inside a SAVEPOINT so that a body that fails rolls back
// only itself, and commits once: one fsync for the batch. A caller is
// answered after the commit, so acknowledged writes are as durable as
// before. There is no waiting for a batch to fill: a lone writer commits at
// once.

// maxBatch bounds how many transaction bodies share one commit.
const maxBatch = 64

var errClosed = errors.New("database is closed")

// errBatchAborted answers the requests of a batch whose transaction SQLite
// rolled back under them (a write statement interrupted by a cancelled
// context rolls back the whole transaction). Their writes are gone and
// were never acknowledged; the client can retry.
var errBatchAborted = errors.New("the write was rolled back with the other writes of its commit batch, because one of them was interrupted; retry")

type writeReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error // buffered: the writer never blocks on an answer
}

// txPanic carries a panic from a transaction body back to its caller.
type txPanic struct{ value any }

func (p *txPanic) Error() string { return fmt.Sprintf("panic in transaction: %v", p.value) }

// startBatchWriter starts the batch writer goroutine (SQLite main file).
func (db *DB) startBatchWriter() {
	db.batch, db.quit = make(chan *writeReq), make(chan struct{})
	db.writerDone = make(chan struct{})
	go db.commitLoop()
}

func (db *DB) commitLoop() {
	defer close(db.writerDone)
	for {
		var first *writeReq
		select {
		case first = <-db.batch:
		case <-db.quit:
			return
		}
		batch := append(make([]*writeReq, 0, 8), first)
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-db.batch:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		for len(batch) > 0 {
			batch = db.runBatch(batch)
		}
	}
}

// runBatch runs batch in one transaction and answers every request it ran.
// When SQLite ends the transaction early, the requests not yet run are
// returned, to go into a new transaction.
func (db *DB) runBatch(batch []*writeReq) (rest []*writeReq) {
	db.prepareWanted(context.Background())
	tx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.done <- fmt.Errorf("begin: %w", err)
		}
		return nil
	}
	var ran []*writeReq
	abort := func(r *writeReq, err error, i int) []*writeReq {
		tx.Rollback()
		r.done <- err
		for _, o := range ran {
			o.done <- errBatchAborted
		}
		return batch[i+1:]
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		if _, err := db.exec(context.Background(), tx, `SAVEPOINT gh_write`); err != nil {
			return abort(r, fmt.Errorf("begin: %w", err), i)
		}
		if err := runBody(r.fn, tx); err != nil {
			_, e1 := db.exec(context.Background(), tx, `ROLLBACK TO gh_write`)
			_, e2 := db.exec(context.Background(), tx, `RELEASE gh_write`)
			if e1 != nil || e2 != nil {
				return abort(r, err, i)
			}
			r.done <- err
			continue
		}
		if _, err := db.exec(context.Background(), tx, `RELEASE gh_write`); err != nil {
			return abort(r, errBatchAborted, i)
		}
		ran = append(ran, r)
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("commit: %w", mapErr(err))
	}
	for _, r := range ran {
		r.done <- err
	}
	return nil
}

// runBody runs one transaction body, turning a panic into an error that tx
// re-panics in the caller's goroutine (the writer goroutine must survive).
func runBody(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &txPanic{value: v}
		}
	}()
	return fn(tx)
}
