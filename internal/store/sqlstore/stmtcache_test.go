package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestReadPoolCachesBoundedAndFallsBack(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < maxCachedStmts+50; i++ {
		var got int
		if err := db.r.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + $1", i), 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query %d: %d, %v", i, got, err)
		}
	}
	if n := db.r.n.Load(); n != maxCachedStmts {
		t.Fatalf("%d cached statements, want the bound %d", n, maxCachedStmts)
	}
	// A text that does not prepare is not cached; its error comes back.
	if err := db.r.QueryRowContext(ctx, "SELEKT 1").Scan(new(int)); err == nil {
		t.Fatal("a syntax error was not reported")
	}
	// The same text again reuses the statement: still right.
	var got int
	if err := db.r.QueryRowContext(ctx, "SELECT 7 + $1", 1).Scan(&got); err != nil || got != 8 {
		t.Fatalf("cached statement: %d, %v", got, err)
	}
}
