package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const groupCols = `id, directory_id, display_name, external_id, attrs, version, created_at, modified_at`

func scanGroup(row interface{ Scan(...any) error }) (directory.Group, error) {
	var g directory.Group
	var ext sql.NullString
	var attrs []byte
	var created, modified int64
	if err := row.Scan(&g.ID, &g.DirectoryID, &g.DisplayName, &ext, &attrs, &g.Version, &created, &modified); err != nil {
		return g, mapErr(err)
	}
	g.ExternalID = ext.String
	g.Created, g.Modified = fromMicros(created), fromMicros(modified)
	var err error
	g.Attrs, err = decodeAttrs(attrs)
	return g, err
}

// CreateGroup implements directory.Store.
func (db *DB) CreateGroup(ctx context.Context, g directory.Group, members []directory.Member, ev *audit.Event) error {
	attrs, err := encodeAttrs(g.Attrs)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		seq, err := db.nextChange(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO groups (id, directory_id, display_name, display_name_ci, external_id, attrs, version, created_at, modified_at, change_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			g.ID, g.DirectoryID, g.DisplayName, fold(g.DisplayName), nullString(g.ExternalID), attrs, g.Version, micros(g.Created), micros(g.Modified), seq); err != nil {
			return mapErr(err)
		}
		if err := (&memberTx{db: db, ctx: ctx, tx: tx, dir: g.DirectoryID, group: g.ID}).Add(members); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetGroup implements directory.Store.
func (db *DB) GetGroup(ctx context.Context, directoryID, id string) (directory.Group, error) {
	return scanGroup(db.r.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups WHERE directory_id = $1 AND id = $2`, directoryID, id))
}

// UpdateGroup implements directory.Store.
func (db *DB) UpdateGroup(ctx context.Context, directoryID, id string, fn func(g *directory.Group, m directory.MemberEditor) error, ev *audit.Event) (directory.Group, error) {
	var g directory.Group
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if g, err = scanGroup(db.queryRow(ctx, tx, `SELECT `+groupCols+` FROM groups WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id)); err != nil {
			return err
		}
		before := g.Version
		if err := fn(&g, &memberTx{db: db, ctx: ctx, tx: tx, dir: directoryID, group: id}); err != nil {
			return err
		}
		g.ID, g.DirectoryID, g.Version = id, directoryID, before+1
		attrs, err := encodeAttrs(g.Attrs)
		if err != nil {
			return err
		}
		seq, err := db.nextChange(ctx, tx)
		if err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, `UPDATE groups SET display_name = $3, display_name_ci = $4, external_id = $5, attrs = $6, version = $7, modified_at = $8, change_seq = $10
			WHERE directory_id = $1 AND id = $2 AND version = $9`,
			directoryID, id, g.DisplayName, fold(g.DisplayName), nullString(g.ExternalID), attrs, g.Version, micros(g.Modified), before, seq)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrVersionMismatch
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return g, err
}

// DeleteGroup implements directory.Store.
func (db *DB) DeleteGroup(ctx context.Context, directoryID, id string, ev *audit.Event, opts ...directory.DeleteOptions) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.releasePrincipal(ctx, tx, directoryID, directory.MemberGroup, id, opts, ev); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE directory_id = $1 AND id = $2`, directoryID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		// Its own members cascade; its memberships in other groups do not.
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE member_id = $1 AND directory_id = $2`, id, directoryID); err != nil {
			return err
		}
		if err := db.tombstone(ctx, tx, directoryID, directory.MemberGroup, id); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// ListGroups implements directory.Store.
func (db *DB) ListGroups(ctx context.Context, directoryID string, q directory.Query) (directory.Page[directory.Group], error) {
	var page directory.Page[directory.Group]
	err := db.list(ctx, groupTable, directoryID, q, func(rows *sql.Rows) error {
		g, err := scanGroup(rows)
		if err == nil {
			page.Items = append(page.Items, g)
		}
		return err
	}, &page.Total, &page.NextCursor)
	return page, err
}

const membersQuery = `SELECT gm.member_id, gm.member_type, COALESCE(gm.display, u.display_name, u.user_name, g.display_name, '')
	FROM group_members gm
	LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
	LEFT JOIN groups g ON gm.member_type = 'Group' AND g.id = gm.member_id
	WHERE gm.directory_id = $1 AND gm.group_id = $2 ORDER BY gm.member_id`

func listMembers(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, directoryID, groupID string) ([]directory.Member, error) {
	rows, err := q.QueryContext(ctx, membersQuery, directoryID, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []directory.Member{}
	for rows.Next() {
		var m directory.Member
		if err := rows.Scan(&m.ID, &m.Type, &m.Display); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Members implements directory.Store.
func (db *DB) Members(ctx context.Context, directoryID, groupID string) ([]directory.Member, error) {
	return listMembers(ctx, db.r, directoryID, groupID)
}

// ResolveMembers implements directory.Store.
func (db *DB) ResolveMembers(ctx context.Context, directoryID string, ids []string) (map[string]string, error) {
	return resolveMembers(ctx, db.r, directoryID, ids)
}

// resolveMembers looks ids up in batches so a 10k-member PUT stays a handful
// of queries.
func resolveMembers(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, directoryID string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		args := []any{directoryID}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = "$" + itoa(i+2)
		}
		in := strings.Join(ph, ", ")
		rows, err := q.QueryContext(ctx, `SELECT id, 'User' FROM users WHERE directory_id = $1 AND id IN (`+in+`)
			UNION ALL SELECT id, 'Group' FROM groups WHERE directory_id = $1 AND id IN (`+in+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, typ string
			if err := rows.Scan(&id, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = typ
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// memberTx implements directory.MemberEditor inside a transaction.
type memberTx struct {
	db         *DB
	ctx        context.Context
	tx         *sql.Tx
	dir, group string
}

func (m *memberTx) Add(members []directory.Member) error {
	for _, mem := range members {
		if _, err := m.db.exec(m.ctx, m.tx, `INSERT INTO group_members (group_id, member_id, member_type, directory_id, display) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (group_id, member_id) DO NOTHING`, m.group, mem.ID, mem.Type, m.dir, nullString(mem.Display)); err != nil {
			return err
		}
	}
	return nil
}

func (m *memberTx) Remove(ids []string) error {
	for _, id := range ids {
		if _, err := m.db.exec(m.ctx, m.tx, `DELETE FROM group_members WHERE group_id = $1 AND member_id = $2`, m.group, id); err != nil {
			return err
		}
	}
	return nil
}

func (m *memberTx) Clear() error {
	_, err := m.tx.ExecContext(m.ctx, `DELETE FROM group_members WHERE group_id = $1`, m.group)
	return err
}

func (m *memberTx) List() ([]directory.Member, error) {
	return listMembers(m.ctx, m.tx, m.dir, m.group)
}

func (m *memberTx) Resolve(ids []string) (map[string]string, error) {
	return resolveMembers(m.ctx, m.tx, m.dir, ids)
}

var groupTable = table{
	name: "groups", cols: groupCols, rt: schema.GroupResource,
	columns: map[string]column{
		"id":                {expr: "id", caseExact: true},
		"displayName":       {expr: "display_name_ci", folded: true},
		"externalId":        {expr: "external_id", caseExact: true},
		"meta.created":      {expr: "created_at", time: true},
		"meta.lastModified": {expr: "modified_at", time: true},
	},
}
