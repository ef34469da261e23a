package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mapErr translates driver errors into the store sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s", store.ErrAlreadyExists, pg.ConstraintName)
	}
	// modernc.org/sqlite reports "constraint failed: UNIQUE constraint failed: ..." (code 2067).
	if msg := err.Error(); strings.Contains(msg, "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %s", store.ErrAlreadyExists, msg[strings.Index(msg, "UNIQUE"):])
	}
	return err
}
