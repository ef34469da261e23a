package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func scratchDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.w.Exec(`CREATE TABLE t (x INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func rowsOf(t *testing.T, db *DB) map[int]bool {
	t.Helper()
	rows, err := db.w.Query(`SELECT x FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var x int
		rows.Scan(&x)
		got[x] = true
	}
	return got
}

// TestBatchWriterIsolatesFailures: many concurrent transactions share
// commits; a body that fails or panics rolls back only its own writes, and
// its caller sees its own error (or panic).
func TestBatchWriterIsolatesFailures(t *testing.T) {
	db := scratchDB(t)
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 120)
	panics := make([]any, 120)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = db.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`INSERT INTO t (x) VALUES ($1)`, i); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return boom
				case 2:
					if i%8 == 2 {
						panic(fmt.Sprint("body ", i))
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	got := rowsOf(t, db)
	for i := range errs {
		failed, panicked := i%4 == 1, i%8 == 2
		switch {
		case failed && !errors.Is(errs[i], boom):
			t.Errorf("body %d: error %v, want boom", i, errs[i])
		case panicked && panics[i] != fmt.Sprint("body ", i):
			t.Errorf("body %d: panic %v did not reach its caller", i, panics[i])
		case !failed && !panicked && errs[i] != nil:
			t.Errorf("body %d: %v", i, errs[i])
		}
		if got[i] != (!failed && !panicked) {
			t.Errorf("row %d present = %v", i, got[i])
		}
	}
}

// TestBatchWriterTransactionEndedUnderIt: when SQLite ends the batch's
// transaction (here a body rolls it back, as an interrupted write does),
// the bodies already run are answered with errBatchAborted and their writes
// are gone, and the bodies not yet run go into a new transaction.
func TestBatchWriterTransactionEndedUnderIt(t *testing.T) {
	db := scratchDB(t)
	ctx := context.Background()
	req := func(fn func(*sql.Tx) error) *writeReq {
		return &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	}
	insert := func(x int) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO t (x) VALUES ($1)`, x)
			return err
		}
	}
	r1 := req(insert(1))
	r2 := req(func(tx *sql.Tx) error {
		if err := insert(2)(tx); err != nil {
			return err
		}
		_, err := tx.Exec(`ROLLBACK`)
		return err
	})
	r3 := req(insert(3))
	rest := db.runBatch([]*writeReq{r1, r2, r3})
	if len(rest) != 1 || rest[0] != r3 {
		t.Fatalf("rest = %v, want r3", rest)
	}
	if err := <-r1.done; !errors.Is(err, errBatchAborted) {
		t.Fatalf("r1: %v", err)
	}
	if err := <-r2.done; !errors.Is(err, errBatchAborted) {
		t.Fatalf("r2: %v", err)
	}
	if rest := db.runBatch(rest); len(rest) != 0 {
		t.Fatalf("second run left %d", len(rest))
	}
	if err := <-r3.done; err != nil {
		t.Fatalf("r3: %v", err)
	}
	if got := rowsOf(t, db); len(got) != 1 || !got[3] {
		t.Fatalf("rows %v, want only 3", got)
	}
	// The writer still works, and a cancelled caller's body never runs.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := db.tx(cctx, func(*sql.Tx) error { ran = true; return nil }); err == nil || ran {
		t.Fatalf("cancelled: err %v, ran %v", err, ran)
	}
	if err := db.tx(ctx, insert(4)); err != nil || !rowsOf(t, db)[4] {
		t.Fatalf("after: %v", err)
	}
}

// TestCloseAnswersWaitingWriters: Close does not strand callers.
func TestCloseAnswersWaitingWriters(t *testing.T) {
	db := scratchDB(t)
	db.Close()
	if err := db.tx(context.Background(), func(*sql.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("tx after Close: %v", err)
	}
}

// TestWriterStatementsArePreparedBetweenTransactions: a statement a body
// runs is prepared on the writer before the next transaction (never while
// one holds the only connection) and then used.
func TestWriterStatementsArePreparedBetweenTransactions(t *testing.T) {
	db := scratchDB(t)
	ctx := context.Background()
	const q = `INSERT INTO t (x) VALUES ($1)`
	for i := 1; i <= 3; i++ {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			_, err := db.exec(ctx, tx, q, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.ws.mu.Lock()
	prepared := db.ws.stmts[q] != nil
	db.ws.mu.Unlock()
	if !prepared {
		t.Fatal("the statement was not prepared")
	}
	if got := rowsOf(t, db); len(got) != 3 || !got[1] || !got[2] || !got[3] {
		t.Fatalf("rows %v", got)
	}
}
