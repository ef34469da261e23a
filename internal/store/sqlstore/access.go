package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// This file implements access.Store: accounts, permission sets, account
// assignments, the reads behind entitlement resolution, and the reference
// hook that DeleteUser and DeleteGroup call (releasePrincipal).

type scanner interface{ Scan(...any) error }

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// mapFK turns a foreign key violation (a referenced row is missing) into
// store.ErrNotFound, and everything else through mapErr.
func mapFK(err error) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" {
		return fmt.Errorf("%w: %s", store.ErrNotFound, pg.ConstraintName)
	}
	if strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return fmt.Errorf("%w: a referenced row does not exist", store.ErrNotFound)
	}
	return mapErr(err)
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

func decodeJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

func encodeTags(tags map[string]string) (string, error) {
	if tags == nil {
		return "{}", nil
	}
	return encodeJSON(tags)
}

func decodeTags(s string) (map[string]string, error) {
	var tags map[string]string
	if err := decodeJSON(s, &tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// ---- accounts ---------------------------------------------------------

const accountCols = `directory_id, id, type, name, description, email, tags, created_at, modified_at`

func scanAccount(row scanner) (access.Account, error) {
	var a access.Account
	var tags string
	var created, modified int64
	if err := row.Scan(&a.DirectoryID, &a.ID, &a.Type, &a.Name, &a.Description, &a.Email, &tags, &created, &modified); err != nil {
		return a, mapErr(err)
	}
	a.Created, a.Modified = fromMicros(created), fromMicros(modified)
	var err error
	a.Tags, err = decodeTags(tags)
	return a, err
}

// CreateAccount implements access.Store.
func (db *DB) CreateAccount(ctx context.Context, a access.Account, ev *audit.Event) error {
	tags, err := encodeTags(a.Tags)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (directory_id, id, type, name, name_ci, description, email, tags, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.DirectoryID, a.ID, a.Type, a.Name, fold(a.Name), a.Description, a.Email, tags, micros(a.Created), micros(a.Modified)); err != nil {
			return mapFK(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetAccount implements access.Store.
func (db *DB) GetAccount(ctx context.Context, directoryID, id string) (access.Account, error) {
	return scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE directory_id = $1 AND id = $2`, directoryID, id))
}

// GetAccountByName implements access.Store.
func (db *DB) GetAccountByName(ctx context.Context, directoryID, name string) (access.Account, error) {
	return scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE directory_id = $1 AND name_ci = $2`, directoryID, fold(name)))
}

// ListAccounts implements access.Store.
func (db *DB) ListAccounts(ctx context.Context, directoryID string) ([]access.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE directory_id = $1 ORDER BY id`, directoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []access.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAccount implements access.Store.
func (db *DB) DeleteAccount(ctx context.Context, directoryID, id string, cascade bool, ev *audit.Event) ([]access.Assignment, error) {
	var removed []access.Assignment
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// Lock the row first: on PostgreSQL a concurrent CreateAssignment
		// then waits for this transaction and fails its foreign key check.
		var got string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id).Scan(&got); err != nil {
			return mapErr(err)
		}
		var err error
		if removed, err = db.releaseAssignments(ctx, tx, `aa.directory_id = $1 AND aa.account_id = $2`, []any{directoryID, id}, !cascade, ev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE directory_id = $1 AND id = $2`, directoryID, id); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return removed, err
}

// ---- permission sets --------------------------------------------------

const permissionSetCols = `id, directory_id, name, description, session_duration, relay_state, managed_policies, customer_policies,
	inline_policy, boundary, tags, version, created_at, modified_at`

func scanPermissionSet(row scanner) (access.PermissionSet, error) {
	var p access.PermissionSet
	var managed, customer, boundary, tags string
	var created, modified int64
	if err := row.Scan(&p.ID, &p.DirectoryID, &p.Name, &p.Description, &p.SessionDuration, &p.RelayState, &managed, &customer,
		&p.InlinePolicy, &boundary, &tags, &p.Version, &created, &modified); err != nil {
		return p, mapErr(err)
	}
	p.Created, p.Modified = fromMicros(created), fromMicros(modified)
	p.ManagedPolicies, p.CustomerManagedPolicies = []string{}, []access.PolicyReference{}
	if err := decodeJSON(managed, &p.ManagedPolicies); err != nil {
		return p, err
	}
	if err := decodeJSON(customer, &p.CustomerManagedPolicies); err != nil {
		return p, err
	}
	if boundary != "" {
		p.PermissionsBoundary = &access.Boundary{}
		if err := decodeJSON(boundary, p.PermissionsBoundary); err != nil {
			return p, err
		}
	}
	var err error
	p.Tags, err = decodeTags(tags)
	return p, err
}

// permissionSetRow is a permission set's encoded columns.
type permissionSetRow struct{ managed, customer, boundary, tags string }

func encodePermissionSet(p access.PermissionSet) (permissionSetRow, error) {
	var r permissionSetRow
	var err error
	if p.ManagedPolicies == nil {
		p.ManagedPolicies = []string{}
	}
	if p.CustomerManagedPolicies == nil {
		p.CustomerManagedPolicies = []access.PolicyReference{}
	}
	if r.managed, err = encodeJSON(p.ManagedPolicies); err != nil {
		return r, err
	}
	if r.customer, err = encodeJSON(p.CustomerManagedPolicies); err != nil {
		return r, err
	}
	if p.PermissionsBoundary != nil {
		if r.boundary, err = encodeJSON(p.PermissionsBoundary); err != nil {
			return r, err
		}
	}
	r.tags, err = encodeTags(p.Tags)
	return r, err
}

// CreatePermissionSet implements access.Store.
func (db *DB) CreatePermissionSet(ctx context.Context, p access.PermissionSet, ev *audit.Event) error {
	r, err := encodePermissionSet(p)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO permission_sets (id, directory_id, name, name_ci, description, session_duration, relay_state,
			managed_policies, customer_policies, inline_policy, boundary, tags, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			p.ID, p.DirectoryID, p.Name, fold(p.Name), p.Description, p.SessionDuration, p.RelayState,
			r.managed, r.customer, p.InlinePolicy, r.boundary, r.tags, p.Version, micros(p.Created), micros(p.Modified)); err != nil {
			return mapFK(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetPermissionSet implements access.Store.
func (db *DB) GetPermissionSet(ctx context.Context, directoryID, id string) (access.PermissionSet, error) {
	return scanPermissionSet(db.r.QueryRowContext(ctx, `SELECT `+permissionSetCols+` FROM permission_sets WHERE directory_id = $1 AND id = $2`, directoryID, id))
}

// GetPermissionSetByName implements access.Store.
func (db *DB) GetPermissionSetByName(ctx context.Context, directoryID, name string) (access.PermissionSet, error) {
	return scanPermissionSet(db.r.QueryRowContext(ctx, `SELECT `+permissionSetCols+` FROM permission_sets WHERE directory_id = $1 AND name_ci = $2`, directoryID, fold(name)))
}

// ListPermissionSets implements access.Store.
func (db *DB) ListPermissionSets(ctx context.Context, directoryID string) ([]access.PermissionSet, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+permissionSetCols+` FROM permission_sets WHERE directory_id = $1 ORDER BY name_ci, id`, directoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []access.PermissionSet{}
	for rows.Next() {
		p, err := scanPermissionSet(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdatePermissionSet implements access.Store.
func (db *DB) UpdatePermissionSet(ctx context.Context, directoryID, id string, fn func(p *access.PermissionSet) error, ev *audit.Event) (access.PermissionSet, error) {
	var p access.PermissionSet
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = scanPermissionSet(tx.QueryRowContext(ctx, `SELECT `+permissionSetCols+` FROM permission_sets WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id)); err != nil {
			return err
		}
		before := p.Version
		if err := fn(&p); err != nil {
			return err
		}
		p.ID, p.DirectoryID, p.Version = id, directoryID, before+1
		r, err := encodePermissionSet(p)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE permission_sets SET name = $3, name_ci = $4, description = $5, session_duration = $6, relay_state = $7,
			managed_policies = $8, customer_policies = $9, inline_policy = $10, boundary = $11, tags = $12, version = $13, modified_at = $14
			WHERE directory_id = $1 AND id = $2 AND version = $15`,
			directoryID, id, p.Name, fold(p.Name), p.Description, p.SessionDuration, p.RelayState,
			r.managed, r.customer, p.InlinePolicy, r.boundary, r.tags, p.Version, micros(p.Modified), before)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrVersionMismatch
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return p, err
}

// DeletePermissionSet implements access.Store.
func (db *DB) DeletePermissionSet(ctx context.Context, directoryID, id string, cascade bool, ev *audit.Event) ([]access.Assignment, error) {
	var removed []access.Assignment
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var got string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM permission_sets WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id).Scan(&got); err != nil {
			return mapErr(err)
		}
		var err error
		if removed, err = db.releaseAssignments(ctx, tx, `aa.directory_id = $1 AND aa.permission_set_id = $2`, []any{directoryID, id}, !cascade, ev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM permission_sets WHERE directory_id = $1 AND id = $2`, directoryID, id); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return removed, err
}

// ---- assignments ------------------------------------------------------

// assignmentCols and assignmentJoins read an assignment with the names of
// what it names, and the principal's status when it is a user.
const assignmentCols = `aa.id, aa.directory_id, aa.account_id, a.name, aa.permission_set_id, ps.name, aa.principal_type, aa.principal_id,
	COALESCE(u.user_name, g.display_name, ''), u.active, aa.created_at`

const assignmentJoins = ` JOIN accounts a ON a.directory_id = aa.directory_id AND a.id = aa.account_id
	JOIN permission_sets ps ON ps.id = aa.permission_set_id
	LEFT JOIN users u ON u.id = aa.user_id
	LEFT JOIN groups g ON g.id = aa.group_id`

const assignmentOrder = ` ORDER BY aa.account_id, ps.name_ci, aa.principal_type, aa.principal_id`

func scanAssignment(row scanner) (access.Assignment, sql.NullBool, error) {
	var a access.Assignment
	var active sql.NullBool
	var created int64
	if err := row.Scan(&a.ID, &a.DirectoryID, &a.AccountID, &a.AccountName, &a.PermissionSetID, &a.PermissionSetName, &a.PrincipalType, &a.PrincipalID,
		&a.PrincipalName, &active, &created); err != nil {
		return a, active, mapErr(err)
	}
	a.Created = fromMicros(created)
	return a, active, nil
}

// queryAssignments runs a query selecting assignmentCols; each row is passed
// to fn as well as collected.
func queryAssignments(ctx context.Context, q querier, query string, args []any, fn func(a access.Assignment, active sql.NullBool)) ([]access.Assignment, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []access.Assignment{}
	for rows.Next() {
		a, active, err := scanAssignment(rows)
		if err != nil {
			return nil, err
		}
		if fn != nil {
			fn(a, active)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAssignment implements access.Store.
func (db *DB) CreateAssignment(ctx context.Context, a access.Assignment, ev *audit.Event) error {
	var userID, groupID sql.NullString
	switch a.PrincipalType {
	case access.PrincipalUser:
		userID = nullString(a.PrincipalID)
	case access.PrincipalGroup:
		groupID = nullString(a.PrincipalID)
	default:
		return fmt.Errorf("assignment principal type %q", a.PrincipalType)
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_assignments (id, directory_id, account_id, permission_set_id, principal_type, principal_id,
			user_id, group_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.ID, a.DirectoryID, a.AccountID, a.PermissionSetID, a.PrincipalType, a.PrincipalID, userID, groupID, micros(a.Created)); err != nil {
			return mapFK(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetAssignment implements access.Store.
func (db *DB) GetAssignment(ctx context.Context, directoryID, id string) (access.Assignment, error) {
	a, _, err := scanAssignment(db.r.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM account_assignments aa`+assignmentJoins+
		` WHERE aa.directory_id = $1 AND aa.id = $2`, directoryID, id))
	return a, err
}

// DeleteAssignment implements access.Store.
func (db *DB) DeleteAssignment(ctx context.Context, directoryID, id string, ev *audit.Event) (access.Assignment, error) {
	var a access.Assignment
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a, _, err = scanAssignment(tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM account_assignments aa`+assignmentJoins+
			` WHERE aa.directory_id = $1 AND aa.id = $2`, directoryID, id)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_assignments WHERE id = $1`, id); err != nil {
			return err
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return a, err
}

// ListAssignments implements access.Store.
func (db *DB) ListAssignments(ctx context.Context, directoryID string, f access.AssignmentFilter) ([]access.Assignment, error) {
	where := []string{"aa.directory_id = $1"}
	args := []any{directoryID}
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("aa.account_id", f.AccountID)
	add("aa.permission_set_id", f.PermissionSetID)
	add("aa.principal_type", f.PrincipalType)
	add("aa.principal_id", f.PrincipalID)
	return queryAssignments(ctx, db.r, `SELECT `+assignmentCols+` FROM account_assignments aa`+assignmentJoins+
		` WHERE `+strings.Join(where, " AND ")+assignmentOrder, args, nil)
}

// releaseAssignments deals, inside tx, with the assignments matched by cond
// (over alias aa) before what they name is deleted: refusing, it returns a
// *directory.ReferencedError describing them and changes nothing;
// otherwise it deletes each and writes its access.CascadeEvent.
func (db *DB) releaseAssignments(ctx context.Context, tx *sql.Tx, cond string, args []any, refuse bool, ev *audit.Event) ([]access.Assignment, error) {
	list, err := queryAssignments(ctx, tx, `SELECT `+assignmentCols+` FROM account_assignments aa`+assignmentJoins+` WHERE `+cond+assignmentOrder, args, nil)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	if refuse {
		re := &directory.ReferencedError{Count: len(list)}
		for _, a := range list[:min(len(list), directory.MaxListedReferences)] {
			re.First = append(re.First, a.String())
		}
		return nil, re
	}
	for _, a := range list {
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_assignments WHERE id = $1`, a.ID); err != nil {
			return nil, err
		}
		if err := db.insertEvent(ctx, tx, access.CascadeEvent(ev, a)); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// releasePrincipal is the directory's reference hook: DeleteUser and
// DeleteGroup call it inside their transaction, before the principal's row
// goes, to remove (or, refusing, report) the access assignments naming it.
func (db *DB) releasePrincipal(ctx context.Context, tx *sql.Tx, directoryID, memberType, id string, opts []directory.DeleteOptions, ev *audit.Event) error {
	table, col, nameCol, what := "users", "user_id", "user_name", "user"
	if memberType == directory.MemberGroup {
		table, col, nameCol, what = "groups", "group_id", "display_name", "group"
	}
	// Lock the principal so that a concurrent CreateAssignment waits for
	// this transaction (PostgreSQL) and then fails its foreign key check.
	var name string
	err := tx.QueryRowContext(ctx, `SELECT `+nameCol+` FROM `+table+` WHERE directory_id = $1 AND id = $2`+db.forUpdate(), directoryID, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the delete itself reports the miss
	}
	if err != nil {
		return err
	}
	_, err = db.releaseAssignments(ctx, tx, `aa.directory_id = $1 AND aa.`+col+` = $2`, []any{directoryID, id}, directory.Refuses(opts), ev)
	var re *directory.ReferencedError
	if errors.As(err, &re) {
		re.What = fmt.Sprintf("%s %q", what, name)
	}
	return err
}

// ---- entitlement graphs -----------------------------------------------

// A graph is read with one statement, so it is one consistent snapshot on
// both dialects without a transaction, and costs one round trip. Its rows
// are of three kinds, padded to one shape: kind, nine text columns, a
// boolean and a number.
//
//	U  user_name, active                                  (UserGraph: the user)
//	E  member_id, member_type, group_id, group name, member name, member active
//	A  assignmentCols                                     (an assignment with names)
const (
	graphPad4 = `CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT)`
	graphPad8 = graphPad4 + `, ` + graphPad4
)

// upCTE walks up the nesting from member $2 in directory $1 and yields the
// membership edges it crosses; UNION (not UNION ALL) makes it terminate on
// cycles, since there are finitely many edges. Each step is one indexed
// lookup per edge found (CROSS JOIN keeps SQLite from scanning
// group_members to probe the CTE; on PostgreSQL it is a plain join).
const upCTE = `WITH RECURSIVE up(member_id, member_type, group_id) AS (
		SELECT member_id, member_type, group_id FROM group_members WHERE member_id = $2 AND directory_id = $1
		UNION
		SELECT gm.member_id, gm.member_type, gm.group_id FROM up CROSS JOIN group_members gm WHERE gm.member_id = up.group_id AND gm.directory_id = $1
	) `

const userGraphQuery = upCTE + `
	SELECT 'U', user_name, ` + graphPad8 + `, active, CAST(0 AS BIGINT) FROM users WHERE directory_id = $1 AND id = $2
	UNION ALL
	SELECT 'E', up.member_id, up.member_type, up.group_id, g.display_name, CAST(NULL AS TEXT), ` + graphPad4 + `, CAST(NULL AS BOOLEAN), CAST(0 AS BIGINT)
		FROM up CROSS JOIN groups g WHERE g.id = up.group_id
	UNION ALL
	SELECT 'A', ` + assignmentCols + ` FROM account_assignments aa` + assignmentJoins + `
		WHERE aa.directory_id = $1 AND aa.principal_id = $2 AND aa.principal_type = 'USER'
	UNION ALL
	SELECT 'A', ` + assignmentCols + ` FROM (SELECT DISTINCT group_id FROM up) r CROSS JOIN account_assignments aa` + assignmentJoins + `
		WHERE aa.directory_id = $1 AND aa.principal_id = r.group_id AND aa.principal_type = 'GROUP'`

// accountGraphQuery walks down from the groups assigned on account $2 of
// directory $1 (of permission set $3 when $3 is not empty).
const accountGraphQuery = `WITH RECURSIVE down(group_id) AS (
		SELECT principal_id FROM account_assignments
		WHERE directory_id = $1 AND account_id = $2 AND principal_type = 'GROUP' AND ($3 = '' OR permission_set_id = $3)
		UNION
		SELECT gm.member_id FROM down CROSS JOIN group_members gm WHERE gm.group_id = down.group_id AND gm.member_type = 'Group'
	)
	SELECT 'A', ` + assignmentCols + ` FROM account_assignments aa` + assignmentJoins + `
		WHERE aa.directory_id = $1 AND aa.account_id = $2 AND ($3 = '' OR aa.permission_set_id = $3)
	UNION ALL
	SELECT 'E', gm.member_id, gm.member_type, gm.group_id, g.display_name, COALESCE(u.user_name, mg.display_name, ''), ` + graphPad4 + `, u.active, CAST(0 AS BIGINT)
		FROM down CROSS JOIN group_members gm JOIN groups g ON g.id = gm.group_id
		LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
		LEFT JOIN groups mg ON gm.member_type = 'Group' AND mg.id = gm.member_id
		WHERE gm.group_id = down.group_id`

func principalType(memberType string) string {
	if memberType == directory.MemberGroup {
		return access.PrincipalGroup
	}
	return access.PrincipalUser
}

// readGraph runs a graph query and sorts its rows into g; it reports
// whether a U row was seen.
func (db *DB) readGraph(ctx context.Context, query string, args ...any) (access.Graph, bool, error) {
	g := access.Graph{Users: map[string]access.Principal{}, Groups: map[string]access.Principal{}}
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return g, false, err
	}
	defer rows.Close()
	var sawUser bool
	for rows.Next() {
		var kind string
		var t [9]sql.NullString
		var b sql.NullBool
		var n int64
		if err := rows.Scan(&kind, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7], &t[8], &b, &n); err != nil {
			return g, false, err
		}
		switch kind {
		case "U": // only userGraphQuery has them; its $2 is the user's id
			sawUser = true
			g.Users[args[1].(string)] = access.Principal{Name: t[0].String, Active: b.Bool}
		case "E":
			e := access.Edge{MemberID: t[0].String, MemberType: principalType(t[1].String), GroupID: t[2].String}
			g.Edges = append(g.Edges, e)
			g.Groups[e.GroupID] = access.Principal{Name: t[3].String}
			if t[4].Valid { // AccountGraph names the member too
				if e.MemberType == access.PrincipalUser {
					g.Users[e.MemberID] = access.Principal{Name: t[4].String, Active: b.Bool}
				} else {
					g.Groups[e.MemberID] = access.Principal{Name: t[4].String}
				}
			}
		case "A":
			a := access.Assignment{ID: t[0].String, DirectoryID: t[1].String, AccountID: t[2].String, AccountName: t[3].String, PermissionSetID: t[4].String,
				PermissionSetName: t[5].String, PrincipalType: t[6].String, PrincipalID: t[7].String, PrincipalName: t[8].String, Created: fromMicros(n)}
			g.Assignments = append(g.Assignments, a)
			if a.PrincipalType == access.PrincipalGroup {
				g.Groups[a.PrincipalID] = access.Principal{Name: a.PrincipalName}
			} else if _, known := g.Users[a.PrincipalID]; !known {
				g.Users[a.PrincipalID] = access.Principal{Name: a.PrincipalName, Active: b.Bool}
			}
		}
	}
	return g, sawUser, rows.Err()
}

// UserGraph implements access.Store.
func (db *DB) UserGraph(ctx context.Context, directoryID, userID string) (access.Graph, error) {
	g, found, err := db.readGraph(ctx, userGraphQuery, directoryID, userID)
	if err == nil && !found {
		err = store.ErrNotFound
	}
	return g, err
}

// AccountGraph implements access.Store.
func (db *DB) AccountGraph(ctx context.Context, directoryID, accountID, permissionSetID string) (access.Graph, error) {
	g, _, err := db.readGraph(ctx, accountGraphQuery, directoryID, accountID, permissionSetID)
	return g, err
}
