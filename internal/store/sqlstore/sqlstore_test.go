package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/storetest"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// PostgresEnv names the variable holding a PostgreSQL DSN for the contract
// suite; .ci/run sets it.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES"

// newSQLite opens a fresh migrated SQLite store in a temp dir.
func newSQLite(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// newPostgres creates a fresh database on the server named by
// GATEHOUSE_TEST_POSTGRES so that every test starts empty.
func newPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "gh_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	db, err := sqlstore.Open(context.Background(), withDatabase(t, dsn, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func withDatabase(t *testing.T, dsn, name string) string {
	i := strings.LastIndex(dsn, "/")
	q := ""
	if j := strings.Index(dsn[i:], "?"); j >= 0 {
		q = dsn[i+j:]
	}
	return fmt.Sprintf("%s/%s%s", dsn[:i], name, q)
}

func TestDirectoryStoreSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store { return newSQLite(t) })
}

func TestDirectoryStorePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store { return newPostgres(t) })
}

// TestDialectsReachSameVersion guards against a migration added to one
// dialect only.
func TestDialectsReachSameVersion(t *testing.T) {
	lite := newSQLite(t)
	v, err := lite.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := lite.LatestVersion()
	if v != latest || v == 0 {
		t.Fatalf("SQLite at %d, latest embedded %d", v, latest)
	}
	sqliteFiles, _ := filepath.Glob("migrations/sqlite/*.sql")
	pgFiles, _ := filepath.Glob("migrations/postgres/*.sql")
	if len(sqliteFiles) != len(pgFiles) {
		t.Fatalf("%d SQLite migrations vs %d PostgreSQL migrations", len(sqliteFiles), len(pgFiles))
	}
	for i := range sqliteFiles {
		if filepath.Base(sqliteFiles[i]) != filepath.Base(pgFiles[i]) {
			t.Fatalf("migration %s has no PostgreSQL twin (%s)", filepath.Base(sqliteFiles[i]), filepath.Base(pgFiles[i]))
		}
	}
	if os.Getenv(PostgresEnv) != "" {
		pg := newPostgres(t)
		pv, err := pg.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pv != v {
			t.Fatalf("PostgreSQL at %d, SQLite at %d", pv, v)
		}
	}
}
