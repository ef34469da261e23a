package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const userCols = `id, directory_id, user_name, external_id, display_name, active, attrs, password_hash, version, created_at, modified_at`

func scanUser(row interface{ Scan(...any) error }) (directory.User, error) {
	var u directory.User
	var ext, display, pw sql.NullString
	var attrs []byte
	var created, modified int64
	if err := row.Scan(&u.ID, &u.DirectoryID, &u.UserName, &ext, &display, &u.Active, &attrs, &pw, &u.Version, &created, &modified); err != nil {
		return u, mapErr(err)
	}
	u.ExternalID, u.DisplayName, u.PasswordHash = ext.String, display.String, pw.String
	u.Created, u.Modified = fromMicros(created), fromMicros(modified)
	var err error
	u.Attrs, err = decodeAttrs(attrs)
	return u, err
}

// fold is the case folding behind every *_ci column and case-insensitive
// filter value; doing it in Go keeps both dialects identical.
// NFC first, so that canonically equivalent spellings ("Renée" precomposed
// or with a combining accent) are one userName.
func fold(s string) string { return strings.ToLower(norm.NFC.String(s)) }

// CreateUser implements directory.Store.
func (db *DB) CreateUser(ctx context.Context, u directory.User, ev *audit.Event) error {
	attrs, err := encodeAttrs(u.Attrs)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		seq, err := db.nextChange(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO users (id, directory_id, user_name, user_name_ci, external_id, display_name, display_name_ci,
			active, attrs, password_hash, version, created_at, modified_at, change_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			u.ID, u.DirectoryID, u.UserName, fold(u.UserName), nullString(u.ExternalID), nullString(u.DisplayName), nullString(fold(u.DisplayName)),
			u.Active, attrs, nullString(u.PasswordHash), u.Version, micros(u.Created), micros(u.Modified), seq); err != nil {
			return mapErr(err)
		}
		if err := db.writeEmails(ctx, tx, u, false); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// writeEmails keeps the indexed emails rows in step with the document.
func (db *DB) writeEmails(ctx context.Context, tx *sql.Tx, u directory.User, replace bool) error {
	if replace {
		if _, err := db.exec(ctx, tx, `DELETE FROM user_emails WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
	}
	list, _ := u.Attrs["emails"].([]any)
	for i, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			continue
		}
		typ, _ := m["type"].(string)
		primary, _ := m["primary"].(bool)
		if _, err := db.exec(ctx, tx, `INSERT INTO user_emails (user_id, ord, directory_id, value, value_ci, type, is_primary) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, i, u.DirectoryID, v, fold(v), nullString(typ), primary); err != nil {
			return err
		}
	}
	return nil
}

// GetUser implements directory.Store.
func (db *DB) GetUser(ctx context.Context, directoryID, id string) (directory.User, error) {
	return scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE directory_id = $1 AND id = $2`, directoryID, id))
}

// UpdateUser implements directory.Store.
func (db *DB) UpdateUser(ctx context.Context, directoryID, id string, fn func(u *directory.User) error, ev *audit.Event) (directory.User, error) {
	var u directory.User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = scanUser(db.queryRow(ctx, tx, `SELECT `+userCols+` FROM users WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id)); err != nil {
			return err
		}
		before := u.Version
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.DirectoryID, u.Version = id, directoryID, before+1
		attrs, err := encodeAttrs(u.Attrs)
		if err != nil {
			return err
		}
		seq, err := db.nextChange(ctx, tx)
		if err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, `UPDATE users SET user_name = $3, user_name_ci = $4, external_id = $5, display_name = $6, display_name_ci = $7,
			active = $8, attrs = $9, password_hash = $10, version = $11, modified_at = $12, change_seq = $14 WHERE directory_id = $1 AND id = $2 AND version = $13`,
			directoryID, id, u.UserName, fold(u.UserName), nullString(u.ExternalID), nullString(u.DisplayName), nullString(fold(u.DisplayName)),
			u.Active, attrs, nullString(u.PasswordHash), u.Version, micros(u.Modified), before, seq)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrVersionMismatch
		}
		if err := db.writeEmails(ctx, tx, u, true); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return u, err
}

// DeleteUser implements directory.Store.
func (db *DB) DeleteUser(ctx context.Context, directoryID, id string, ev *audit.Event, opts ...directory.DeleteOptions) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.releasePrincipal(ctx, tx, directoryID, directory.MemberUser, id, opts, ev); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE directory_id = $1 AND id = $2`, directoryID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE member_id = $1 AND directory_id = $2`, id, directoryID); err != nil {
			return err
		}
		if err := db.tombstone(ctx, tx, directoryID, directory.MemberUser, id); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// ListUsers implements directory.Store.
func (db *DB) ListUsers(ctx context.Context, directoryID string, q directory.Query) (directory.Page[directory.User], error) {
	var page directory.Page[directory.User]
	err := db.list(ctx, userTable, directoryID, q, func(rows *sql.Rows) error {
		u, err := scanUser(rows)
		if err == nil {
			page.Items = append(page.Items, u)
		}
		return err
	}, &page.Total, &page.NextCursor)
	return page, err
}

// UserGroups implements directory.Store. Most directories are flat (Entra
// does not provision nested groups), so the direct groups come first from
// one indexed join, and the recursive walk up the nesting runs only when
// one of them is itself a member of a group. UNION (not UNION ALL) makes the
// walk terminate on cycles.
func (db *DB) UserGroups(ctx context.Context, directoryID, userID string) ([]directory.GroupRef, error) {
	// One query in the common case: the direct groups, each with whether it
	// is itself nested in another group.
	rows, err := db.r.QueryContext(ctx, `SELECT g.id, g.display_name,
			EXISTS (SELECT 1 FROM group_members p WHERE p.member_id = g.id AND p.directory_id = $1)
		FROM group_members gm JOIN groups g ON g.id = gm.group_id
		WHERE gm.member_id = $2 AND gm.directory_id = $1 ORDER BY g.display_name_ci, g.id`, directoryID, userID)
	if err != nil {
		return nil, err
	}
	var out []directory.GroupRef
	nested := false
	for rows.Next() {
		r := directory.GroupRef{Type: "direct"}
		var inGroup bool
		if err := rows.Scan(&r.ID, &r.Display, &inGroup); err != nil {
			rows.Close()
			return nil, err
		}
		nested = nested || inGroup
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || !nested {
		return out, err
	}
	rows, err = db.r.QueryContext(ctx, `WITH RECURSIVE up(group_id, depth) AS (
			SELECT group_id, 0 FROM group_members WHERE member_id = $2 AND directory_id = $1
			UNION
			SELECT gm.group_id, 1 FROM group_members gm JOIN up ON gm.member_id = up.group_id WHERE gm.directory_id = $1
		)
		SELECT g.id, g.display_name, MIN(up.depth) FROM up JOIN groups g ON g.id = up.group_id
		GROUP BY g.id, g.display_name, g.display_name_ci ORDER BY g.display_name_ci, g.id`, directoryID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out = out[:0]
	for rows.Next() {
		var r directory.GroupRef
		var depth int
		if err := rows.Scan(&r.ID, &r.Display, &depth); err != nil {
			return nil, err
		}
		r.Type = "indirect"
		if depth == 0 {
			r.Type = "direct"
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

var userTable = table{
	name: "users", cols: userCols, rt: schema.UserResource,
	columns: map[string]column{
		"id":                {expr: "id", caseExact: true},
		"userName":          {expr: "user_name_ci", folded: true},
		"externalId":        {expr: "external_id", caseExact: true},
		"displayName":       {expr: "display_name_ci", folded: true},
		"active":            {expr: "active", boolean: true},
		"meta.created":      {expr: "created_at", time: true},
		"meta.lastModified": {expr: "modified_at", time: true},
	},
}
