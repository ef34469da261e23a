package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const directoryCols = `id, name, profile, settings, created_at, modified_at`

func scanDirectory(row interface{ Scan(...any) error }) (directory.Directory, error) {
	var d directory.Directory
	var settings []byte
	var created, modified int64
	if err := row.Scan(&d.ID, &d.Name, &d.Profile, &settings, &created, &modified); err != nil {
		return d, mapErr(err)
	}
	if err := json.Unmarshal(settings, &d.Settings); err != nil {
		return d, fmt.Errorf("directory %s settings: %w", d.ID, err)
	}
	d.Created, d.Modified = fromMicros(created), fromMicros(modified)
	return d, nil
}

// CreateDirectory implements directory.Store.
func (db *DB) CreateDirectory(ctx context.Context, d directory.Directory, ev *audit.Event) error {
	settings, err := json.Marshal(d.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO directories (`+directoryCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ID, d.Name, d.Profile, string(settings), micros(d.Created), micros(d.Modified)); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetDirectory implements directory.Store.
func (db *DB) GetDirectory(ctx context.Context, id string) (directory.Directory, error) {
	return scanDirectory(db.r.QueryRowContext(ctx, `SELECT `+directoryCols+` FROM directories WHERE id = $1`, id))
}

// GetDirectoryByName implements directory.Store.
func (db *DB) GetDirectoryByName(ctx context.Context, name string) (directory.Directory, error) {
	return scanDirectory(db.r.QueryRowContext(ctx, `SELECT `+directoryCols+` FROM directories WHERE name = $1`, name))
}

// ListDirectories implements directory.Store.
func (db *DB) ListDirectories(ctx context.Context) ([]directory.Directory, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+directoryCols+` FROM directories ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.Directory
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// UpdateDirectory implements directory.Store.
func (db *DB) UpdateDirectory(ctx context.Context, id string, fn func(d *directory.Directory) error, ev *audit.Event) (directory.Directory, error) {
	var d directory.Directory
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = scanDirectory(tx.QueryRowContext(ctx, `SELECT `+directoryCols+` FROM directories WHERE id = $1`+db.forUpdate(), id)); err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
		settings, err := json.Marshal(d.Settings)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE directories SET name = $2, profile = $3, settings = $4, modified_at = $5 WHERE id = $1`,
			d.ID, d.Name, d.Profile, string(settings), micros(d.Modified)); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return d, err
}

// DeleteDirectory implements directory.Store.
func (db *DB) DeleteDirectory(ctx context.Context, id string, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		// Memberships have no foreign key to their group's directory row, so
		// they go first; users, groups and tokens cascade.
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE directory_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM directories WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// forUpdate locks the selected row on PostgreSQL; SQLite's IMMEDIATE
// transactions already hold the write lock.
func (db *DB) forUpdate() string {
	if db.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}
