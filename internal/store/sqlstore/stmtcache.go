package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStmts bounds the statement cache. Query texts are fixed strings
// or filter shapes with every value bound as a parameter, so real workloads
// have a few dozen; the bound only guards against a client that sends
// endlessly different filter shapes.
const maxCachedStmts = 512

// readPool is the reader pool with a prepared-statement cache: the pure-Go
// SQLite spends a fifth of a point query parsing and planning its SQL
// (BenchmarkGetUser: 39 µs ad hoc vs 29 µs prepared), and database/sql
// prepares an ad hoc query anew on every call. A *sql.Stmt prepares itself
// once per connection of the pool and is safe for concurrent use.
// PostgreSQL's pgx driver already caches statements per connection, so the
// cache is off there.
type readPool struct {
	*sql.DB
	cache bool
	stmts sync.Map // query text -> *sql.Stmt
	n     atomic.Int32
	mu    sync.Mutex // serialises preparing, so one text is prepared once
}

func newReadPool(db *sql.DB, cache bool) *readPool { return &readPool{DB: db, cache: cache} }

// stmt returns the cached statement for query, preparing it on first use;
// nil when the cache is off or full (the caller then runs the query ad hoc).
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	if !p.cache {
		return nil
	}
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if p.n.Load() >= maxCachedStmts {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil // the ad hoc query reports the error
	}
	p.stmts.Store(query, st)
	p.n.Add(1)
	return st
}

// QueryContext runs query through its cached statement.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query through its cached statement.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the cached statements and the pool.
func (p *readPool) Close() error {
	p.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return p.DB.Close()
}

// writeStmts caches prepared statements on the SQLite writer connection
// for the statements transaction bodies run most (creating users, member
// edges, audit events, the change counter). A statement cannot be prepared
// on the pool while a transaction holds its only connection, so a body
// that meets a text not prepared yet runs it ad hoc and leaves it wanted;
// the writer prepares what is wanted before it begins its next transaction
// (prepareWanted), when the connection is free.
type writeStmts struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
}

func newWriteStmts() *writeStmts {
	return &writeStmts{stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns the prepared statement for query, or nil (and remembers that
// it is wanted).
func (w *writeStmts) get(query string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.stmts[query]; st != nil {
		return st
	}
	if len(w.stmts)+len(w.wanted) < maxCachedStmts {
		w.wanted[query] = true
	}
	return nil
}

// prepareWanted prepares the wanted statements on db.w. Call it only when
// no transaction holds the writer connection.
func (db *DB) prepareWanted(ctx context.Context) {
	w := db.ws
	if w == nil {
		return
	}
	w.mu.Lock()
	var queries []string
	for q := range w.wanted {
		queries = append(queries, q)
	}
	clear(w.wanted)
	w.mu.Unlock()
	// Prepared without the lock: preparing waits for the connection, which
	// a transaction body calling get may hold.
	for _, q := range queries {
		st, err := db.w.PrepareContext(ctx, q)
		if err != nil {
			continue // the ad hoc path reports the error
		}
		w.mu.Lock()
		if w.stmts[q] == nil {
			w.stmts[q] = st
			st = nil
		}
		w.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

// exec runs query inside tx through its prepared statement when there is one.
func (db *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if db.ws != nil {
		if st := db.ws.get(query); st != nil {
			return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRow is exec for a single-row query.
func (db *DB) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if db.ws != nil {
		if st := db.ws.get(query); st != nil {
			return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		}
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// stmt returns a statement for query inside tx, for a body that runs it many
// times: the cached one, or one prepared on tx.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if db.ws != nil {
		if st := db.ws.get(query); st != nil {
			return tx.StmtContext(ctx, st), nil
		}
	}
	return tx.PrepareContext(ctx, query)
}

func (w *writeStmts) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.stmts {
		st.Close()
	}
}
