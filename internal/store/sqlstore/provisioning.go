package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// This file implements provisioning.Store's applications, assignments,
// state and lease; provisioning_engine.go holds the cycle-time tables.

var _ provisioning.Store = (*DB)(nil)

const appCols = `id, name, directory_id, target_url, target_profile, token_sealed, scope, interval_ms, enabled, settings, schema_doc, schema_version, version, created_at, modified_at`

func scanApp(row interface{ Scan(...any) error }) (provisioning.Application, error) {
	var a provisioning.Application
	var interval, created, modified int64
	var settings, schemaDoc []byte
	if err := row.Scan(&a.ID, &a.Name, &a.DirectoryID, &a.TargetURL, &a.TargetProfile, &a.SealedToken, &a.Scope, &interval, &a.Enabled,
		&settings, &schemaDoc, &a.SchemaVersion, &a.Version, &created, &modified); err != nil {
		return a, mapErr(err)
	}
	a.Interval = time.Duration(interval) * time.Millisecond
	a.Created, a.Modified = fromMicros(created), fromMicros(modified)
	if err := json.Unmarshal(settings, &a.Settings); err != nil {
		return a, fmt.Errorf("application %s settings: %w", a.ID, err)
	}
	if err := json.Unmarshal(schemaDoc, &a.Schema); err != nil {
		return a, fmt.Errorf("application %s schema: %w", a.ID, err)
	}
	return a, nil
}

func appArgs(a provisioning.Application) ([]any, error) {
	settings, err := json.Marshal(a.Settings)
	if err != nil {
		return nil, err
	}
	schemaDoc, err := json.Marshal(a.Schema)
	if err != nil {
		return nil, err
	}
	return []any{a.ID, a.Name, a.DirectoryID, a.TargetURL, a.TargetProfile, a.SealedToken, a.Scope, a.Interval.Milliseconds(), a.Enabled,
		string(settings), string(schemaDoc), a.SchemaVersion, a.Version, micros(a.Created), micros(a.Modified)}, nil
}

// CreateApp implements provisioning.Store; it also creates the state row.
func (db *DB) CreateApp(ctx context.Context, a provisioning.Application, ev *audit.Event) error {
	args, err := appArgs(a)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO prov_apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, args...); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO prov_state (app_id) VALUES ($1)`, a.ID); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetApp implements provisioning.Store.
func (db *DB) GetApp(ctx context.Context, id string) (provisioning.Application, error) {
	return scanApp(db.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM prov_apps WHERE id = $1`, id))
}

// GetAppByName implements provisioning.Store.
func (db *DB) GetAppByName(ctx context.Context, name string) (provisioning.Application, error) {
	return scanApp(db.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM prov_apps WHERE name = $1`, name))
}

// ListApps implements provisioning.Store.
func (db *DB) ListApps(ctx context.Context) ([]provisioning.Application, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+appCols+` FROM prov_apps ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Application
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateApp implements provisioning.Store.
func (db *DB) UpdateApp(ctx context.Context, id string, fn func(a *provisioning.Application) error, ev *audit.Event) (provisioning.Application, error) {
	var a provisioning.Application
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM prov_apps WHERE id = $1`+db.forUpdate(), id)); err != nil {
			return err
		}
		before := a.Version
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.Version = id, before+1
		args, err := appArgs(a)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE prov_apps SET name = $2, directory_id = $3, target_url = $4, target_profile = $5, token_sealed = $6,
			scope = $7, interval_ms = $8, enabled = $9, settings = $10, schema_doc = $11, schema_version = $12, version = $13, created_at = $14, modified_at = $15
			WHERE id = $1 AND version = $16`, append(args, before)...)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrVersionMismatch
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return a, err
}

// DeleteApp implements provisioning.Store. Child rows go with the
// application (ON DELETE CASCADE; SQLite runs with foreign_keys on).
func (db *DB) DeleteApp(ctx context.Context, id string, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM prov_apps WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// Assign implements provisioning.Store.
func (db *DB) Assign(ctx context.Context, a provisioning.Assignment, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO prov_assignments (app_id, object_id, object_type, display, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.AppID, a.ObjectID, a.ObjectType, a.Display, a.Role, micros(a.Created)); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// Unassign implements provisioning.Store.
func (db *DB) Unassign(ctx context.Context, appID, objectID string, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM prov_assignments WHERE app_id = $1 AND object_id = $2`, appID, objectID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// Assignments implements provisioning.Store.
func (db *DB) Assignments(ctx context.Context, appID string) ([]provisioning.Assignment, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT app_id, object_id, object_type, display, role, created_at FROM prov_assignments WHERE app_id = $1 ORDER BY object_type DESC, display, object_id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Assignment
	for rows.Next() {
		var a provisioning.Assignment
		var created int64
		if err := rows.Scan(&a.AppID, &a.ObjectID, &a.ObjectType, &a.Display, &a.Role, &created); err != nil {
			return nil, err
		}
		a.Created = fromMicros(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SourceUsers implements provisioning.Store.
func (db *DB) SourceUsers(ctx context.Context, directoryID string, ids []string) ([]directory.User, error) {
	out := make([]directory.User, 0, len(ids))
	err := db.byIDs(ctx, `SELECT `+userCols+` FROM users WHERE directory_id = $1 AND id IN `, directoryID, ids, func(rows *sql.Rows) error {
		u, err := scanUser(rows)
		out = append(out, u)
		return err
	})
	return out, err
}

// SourceGroups implements provisioning.Store.
func (db *DB) SourceGroups(ctx context.Context, directoryID string, ids []string) ([]directory.Group, error) {
	out := make([]directory.Group, 0, len(ids))
	err := db.byIDs(ctx, `SELECT `+groupCols+` FROM groups WHERE directory_id = $1 AND id IN `, directoryID, ids, func(rows *sql.Rows) error {
		g, err := scanGroup(rows)
		out = append(out, g)
		return err
	})
	return out, err
}

// byIDs runs query (ending in "IN ") for ids in batches of 500.
func (db *DB) byIDs(ctx context.Context, query, first string, ids []string, scan func(*sql.Rows) error) error {
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		args := []any{first}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = "$" + itoa(i+2)
		}
		rows, err := db.r.QueryContext(ctx, query+"("+strings.Join(ph, ", ")+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// DirectoryMembers implements provisioning.Store.
func (db *DB) DirectoryMembers(ctx context.Context, directoryID string) (map[string][]directory.Member, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT group_id, member_id, member_type FROM group_members WHERE directory_id = $1`, directoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]directory.Member{}
	for rows.Next() {
		var g string
		var m directory.Member
		if err := rows.Scan(&g, &m.ID, &m.Type); err != nil {
			return nil, err
		}
		out[g] = append(out[g], m)
	}
	return out, rows.Err()
}

// DirectoryObjectIDs implements provisioning.Store.
func (db *DB) DirectoryObjectIDs(ctx context.Context, directoryID string) (users, groups []string, err error) {
	rows, err := db.r.QueryContext(ctx, `SELECT 'User', id FROM users WHERE directory_id = $1 UNION ALL SELECT 'Group', id FROM groups WHERE directory_id = $1`, directoryID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ, id string
		if err := rows.Scan(&typ, &id); err != nil {
			return nil, nil, err
		}
		if typ == provisioning.TypeUser {
			users = append(users, id)
		} else {
			groups = append(groups, id)
		}
	}
	return users, groups, rows.Err()
}

const stateCols = `app_id, watermark, schema_version, last_full_at, next_run_at, run_requested, quarantine, deletes_approved, last_cycle_id, lease_owner, lease_expires, disabled`

func scanState(row interface{ Scan(...any) error }) (provisioning.State, error) {
	var s provisioning.State
	var lastFull, nextRun, leaseExp sql.NullInt64
	var quarantine, lastCycle, owner, disabled sql.NullString
	if err := row.Scan(&s.AppID, &s.Watermark, &s.SchemaVersion, &lastFull, &nextRun, &s.RunRequested, &quarantine, &s.DeletesApproved,
		&lastCycle, &owner, &leaseExp, &disabled); err != nil {
		return s, mapErr(err)
	}
	if disabled.Valid && disabled.String != "" {
		s.Disabled = &provisioning.Disabled{}
		if err := json.Unmarshal([]byte(disabled.String), s.Disabled); err != nil {
			return s, fmt.Errorf("application %s disabled record: %w", s.AppID, err)
		}
	}
	if lastFull.Valid {
		s.LastFull = fromMicros(lastFull.Int64)
	}
	if nextRun.Valid {
		s.NextRun = fromMicros(nextRun.Int64)
	}
	if leaseExp.Valid {
		s.LeaseExpires = fromMicros(leaseExp.Int64)
	}
	s.LastCycleID, s.LeaseOwner = lastCycle.String, owner.String
	if quarantine.Valid && quarantine.String != "" {
		s.Quarantine = &provisioning.Quarantine{}
		if err := json.Unmarshal([]byte(quarantine.String), s.Quarantine); err != nil {
			return s, fmt.Errorf("application %s quarantine: %w", s.AppID, err)
		}
	}
	return s, nil
}

func zeroNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// State implements provisioning.Store.
func (db *DB) State(ctx context.Context, appID string) (provisioning.State, error) {
	return scanState(db.r.QueryRowContext(ctx, `SELECT `+stateCols+` FROM prov_state WHERE app_id = $1`, appID))
}

// UpdateState implements provisioning.Store. The lease columns are not
// written: only the lease methods change them.
func (db *DB) UpdateState(ctx context.Context, appID string, fn func(s *provisioning.State) error, ev *audit.Event) (provisioning.State, error) {
	var s provisioning.State
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = db.updateState(ctx, tx, appID, fn)
		if err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return s, err
}

func (db *DB) updateState(ctx context.Context, tx *sql.Tx, appID string, fn func(s *provisioning.State) error) (provisioning.State, error) {
	s, err := scanState(tx.QueryRowContext(ctx, `SELECT `+stateCols+` FROM prov_state WHERE app_id = $1`+db.forUpdate(), appID))
	if err != nil {
		return s, err
	}
	if err := fn(&s); err != nil {
		return s, err
	}
	quarantine, err := jsonNull(s.Quarantine)
	if err != nil {
		return s, err
	}
	disabled, err := jsonNull(s.Disabled)
	if err != nil {
		return s, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE prov_state SET watermark = $2, schema_version = $3, last_full_at = $4, next_run_at = $5, run_requested = $6,
		quarantine = $7, deletes_approved = $8, last_cycle_id = $9, disabled = $10 WHERE app_id = $1`,
		appID, s.Watermark, s.SchemaVersion, zeroNull(s.LastFull), zeroNull(s.NextRun), s.RunRequested, quarantine, s.DeletesApproved, nullString(s.LastCycleID), disabled)
	return s, err
}

// jsonNull encodes a state record as JSON, or NULL when it is nil.
func jsonNull[T any](v *T) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// SetAppEnabled implements provisioning.Store.
func (db *DB) SetAppEnabled(ctx context.Context, id string, enabled bool, at time.Time, fn func(a provisioning.Application, s *provisioning.State) error, ev *audit.Event) (provisioning.Application, error) {
	var a provisioning.Application
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM prov_apps WHERE id = $1`+db.forUpdate(), id)); err != nil {
			return err
		}
		if _, err := db.updateState(ctx, tx, id, func(s *provisioning.State) error { return fn(a, s) }); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE prov_apps SET enabled = $2, version = version + 1, modified_at = $3 WHERE id = $1`, id, enabled, micros(at)); err != nil {
			return err
		}
		a.Enabled, a.Version, a.Modified = enabled, a.Version+1, at
		return db.insertEvent(ctx, tx, ev)
	})
	return a, err
}

// AcquireLease implements provisioning.Store: one conditional UPDATE, atomic
// on both dialects, so two processes (or replicas) can never both win.
func (db *DB) AcquireLease(ctx context.Context, appID, owner string, now, until time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE prov_state SET lease_owner = $2, lease_expires = $3
		WHERE app_id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires < $4)`, appID, owner, micros(until), micros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// TakeLease implements provisioning.Store.
func (db *DB) TakeLease(ctx context.Context, appID, deadOwner, owner string, until time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE prov_state SET lease_owner = $3, lease_expires = $4 WHERE app_id = $1 AND lease_owner = $2`,
		appID, deadOwner, owner, micros(until))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RenewLease implements provisioning.Store.
func (db *DB) RenewLease(ctx context.Context, appID, owner string, until time.Time) (bool, error) {
	res, err := db.w.ExecContext(ctx, `UPDATE prov_state SET lease_expires = $3 WHERE app_id = $1 AND lease_owner = $2`, appID, owner, micros(until))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease implements provisioning.Store.
func (db *DB) ReleaseLease(ctx context.Context, appID, owner string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE prov_state SET lease_owner = NULL, lease_expires = NULL WHERE app_id = $1 AND lease_owner = $2`, appID, owner)
	return err
}
