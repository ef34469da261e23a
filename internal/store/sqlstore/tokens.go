package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const tokenCols = `id, directory_id, secret_hash, description, created_at, expires_at, revoked_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (directory.Token, error) {
	var t directory.Token
	var created, expires int64
	var revoked, used sql.NullInt64
	if err := row.Scan(&t.ID, &t.DirectoryID, &t.Hash, &t.Description, &created, &expires, &revoked, &used); err != nil {
		return t, mapErr(err)
	}
	t.Created, t.Expires = fromMicros(created), fromMicros(expires)
	t.Revoked, t.LastUsed = timePtr(revoked), timePtr(used)
	return t, nil
}

// Token tables share one shape: SCIM tokens (per directory) and admin API
// tokens. The table name is one of these constants, never input.
const (
	scimTokens  = "scim_tokens"
	adminTokens = "admin_tokens"
)

// CreateToken implements directory.Store.
func (db *DB) CreateToken(ctx context.Context, t directory.Token, ev *audit.Event) error {
	return db.createToken(ctx, scimTokens, t, ev)
}

// TokenByHash implements directory.Store.
func (db *DB) TokenByHash(ctx context.Context, hash string) (directory.Token, error) {
	return db.tokenByHash(ctx, scimTokens, hash)
}

// TokenDirectory implements directory.Store.
func (db *DB) TokenDirectory(ctx context.Context, hash string) (directory.Token, directory.Directory, error) {
	var t directory.Token
	var d directory.Directory
	var created, expires, dcreated, dmodified int64
	var revoked, used sql.NullInt64
	var settings []byte
	err := db.r.QueryRowContext(ctx, `SELECT t.id, t.directory_id, t.secret_hash, t.description, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
		d.id, d.name, d.profile, d.settings, d.created_at, d.modified_at
		FROM scim_tokens t JOIN directories d ON d.id = t.directory_id WHERE t.secret_hash = $1`, hash).Scan(
		&t.ID, &t.DirectoryID, &t.Hash, &t.Description, &created, &expires, &revoked, &used,
		&d.ID, &d.Name, &d.Profile, &settings, &dcreated, &dmodified)
	if err != nil {
		return t, d, mapErr(err)
	}
	t.Created, t.Expires, t.Revoked, t.LastUsed = fromMicros(created), fromMicros(expires), timePtr(revoked), timePtr(used)
	d.Created, d.Modified = fromMicros(dcreated), fromMicros(dmodified)
	if err := json.Unmarshal(settings, &d.Settings); err != nil {
		return t, d, fmt.Errorf("directory %s settings: %w", d.ID, err)
	}
	return t, d, nil
}

// ListTokens implements directory.Store.
func (db *DB) ListTokens(ctx context.Context, directoryID string) ([]directory.Token, error) {
	return db.listTokens(ctx, scimTokens, `WHERE directory_id = $1`, directoryID)
}

// RevokeToken implements directory.Store.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time, ev *audit.Event) (directory.Token, error) {
	return db.revokeToken(ctx, scimTokens, id, at, ev)
}

// TouchToken implements directory.Store.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	return db.touchToken(ctx, scimTokens, id, at)
}

// CreateAdminToken implements admin.Store.
func (db *DB) CreateAdminToken(ctx context.Context, t directory.Token, ev *audit.Event) error {
	return db.createToken(ctx, adminTokens, t, ev)
}

// AdminTokenByHash implements admin.Store.
func (db *DB) AdminTokenByHash(ctx context.Context, hash string) (directory.Token, error) {
	return db.tokenByHash(ctx, adminTokens, hash)
}

// ListAdminTokens implements admin.Store.
func (db *DB) ListAdminTokens(ctx context.Context) ([]directory.Token, error) {
	return db.listTokens(ctx, adminTokens, ``)
}

// RevokeAdminToken implements admin.Store.
func (db *DB) RevokeAdminToken(ctx context.Context, id string, at time.Time, ev *audit.Event) (directory.Token, error) {
	return db.revokeToken(ctx, adminTokens, id, at, ev)
}

// TouchAdminToken implements admin.Store.
func (db *DB) TouchAdminToken(ctx context.Context, id string, at time.Time) error {
	return db.touchToken(ctx, adminTokens, id, at)
}

func (db *DB) createToken(ctx context.Context, table string, t directory.Token, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.DirectoryID, t.Hash, t.Description, micros(t.Created), micros(t.Expires), nullMicros(t.Revoked), nullMicros(t.LastUsed)); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

func (db *DB) tokenByHash(ctx context.Context, table, hash string) (directory.Token, error) {
	return scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM `+table+` WHERE secret_hash = $1`, hash))
}

func (db *DB) listTokens(ctx context.Context, table, where string, args ...any) ([]directory.Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM `+table+` `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// revokeToken revokes; revoking twice keeps the first time.
func (db *DB) revokeToken(ctx context.Context, table, id string, at time.Time, ev *audit.Event) (directory.Token, error) {
	var t directory.Token
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, micros(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM `+table+` WHERE id = $1`, id)); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return t, err
}

func (db *DB) touchToken(ctx context.Context, table, id string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `UPDATE `+table+` SET last_used_at = $2 WHERE id = $1`, id, micros(at))
	return err
}
