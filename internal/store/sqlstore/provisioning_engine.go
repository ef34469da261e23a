package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

const linkCols = `source_id, object_type, target_id, display, origin, active, exported, synced_at`

func scanLink(row interface{ Scan(...any) error }) (provisioning.Link, error) {
	var l provisioning.Link
	var exported []byte
	var synced int64
	if err := row.Scan(&l.SourceID, &l.ObjectType, &l.TargetID, &l.Display, &l.Origin, &l.Active, &exported, &synced); err != nil {
		return l, mapErr(err)
	}
	l.Synced = fromMicros(synced)
	var err error
	l.Exported, err = decodeAttrs(exported)
	return l, err
}

// Links implements provisioning.Store.
func (db *DB) Links(ctx context.Context, appID string) ([]provisioning.Link, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+linkCols+` FROM prov_links WHERE app_id = $1`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// LinkIndex implements provisioning.Store.
func (db *DB) LinkIndex(ctx context.Context, appID string) ([]provisioning.LinkRef, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT source_id, object_type, target_id, active FROM prov_links WHERE app_id = $1`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.LinkRef
	for rows.Next() {
		var l provisioning.LinkRef
		if err := rows.Scan(&l.SourceID, &l.ObjectType, &l.TargetID, &l.Active); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// GetLinks implements provisioning.Store.
func (db *DB) GetLinks(ctx context.Context, appID string, sourceIDs []string) (map[string]provisioning.Link, error) {
	out := make(map[string]provisioning.Link, len(sourceIDs))
	const batch = 500
	for start := 0; start < len(sourceIDs); start += batch {
		chunk := sourceIDs[start:min(start+batch, len(sourceIDs))]
		args := []any{appID}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = "$" + itoa(i+2)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT `+linkCols+` FROM prov_links WHERE app_id = $1 AND source_id IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[l.SourceID] = l
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetLink implements provisioning.Store.
func (db *DB) GetLink(ctx context.Context, appID, sourceID string) (provisioning.Link, error) {
	return scanLink(db.r.QueryRowContext(ctx, `SELECT `+linkCols+` FROM prov_links WHERE app_id = $1 AND source_id = $2`, appID, sourceID))
}

// LinkedMembers implements provisioning.Store.
func (db *DB) LinkedMembers(ctx context.Context, appID string, groupIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(groupIDs))
	const batch = 500
	for start := 0; start < len(groupIDs); start += batch {
		chunk := groupIDs[start:min(start+batch, len(groupIDs))]
		args := []any{appID}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = "$" + itoa(i+2)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT group_id, member_id FROM prov_members WHERE app_id = $1 AND group_id IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var g, m string
			if err := rows.Scan(&g, &m); err != nil {
				rows.Close()
				return nil, err
			}
			out[g] = append(out[g], m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const cycleCols = `id, app_id, kind, trigger_name, dry_run, status, started_at, ended_at, watermark_from, watermark_to, counts, requests, error, progress`

func scanCycle(row interface{ Scan(...any) error }) (provisioning.Cycle, error) {
	var c provisioning.Cycle
	var started int64
	var ended sql.NullInt64
	var counts []byte
	if err := row.Scan(&c.ID, &c.AppID, &c.Kind, &c.Trigger, &c.DryRun, &c.Status, &started, &ended, &c.WatermarkFrom, &c.WatermarkTo,
		&counts, &c.Requests, &c.Error, &c.Progress); err != nil {
		return c, mapErr(err)
	}
	c.Started = fromMicros(started)
	if ended.Valid {
		c.Ended = fromMicros(ended.Int64)
	}
	if err := json.Unmarshal(counts, &c.Counts); err != nil {
		return c, fmt.Errorf("cycle %s counts: %w", c.ID, err)
	}
	return c, nil
}

func cycleCounts(c provisioning.Cycle) string {
	if c.Counts == nil {
		return "{}"
	}
	b, _ := json.Marshal(c.Counts)
	return string(b)
}

// StartCycle implements provisioning.Store.
func (db *DB) StartCycle(ctx context.Context, c provisioning.Cycle, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO prov_cycles (`+cycleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			c.ID, c.AppID, c.Kind, c.Trigger, c.DryRun, c.Status, micros(c.Started), zeroNull(c.Ended), c.WatermarkFrom, c.WatermarkTo,
			cycleCounts(c), c.Requests, c.Error, c.Progress); err != nil {
			return mapErr(err)
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

func (db *DB) saveCycle(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, c provisioning.Cycle) error {
	_, err := q.ExecContext(ctx, `UPDATE prov_cycles SET kind = $2, status = $3, ended_at = $4, watermark_from = $5, watermark_to = $6, counts = $7,
		requests = $8, error = $9, progress = $10 WHERE id = $1`,
		c.ID, c.Kind, c.Status, zeroNull(c.Ended), c.WatermarkFrom, c.WatermarkTo, cycleCounts(c), c.Requests, c.Error, c.Progress)
	return err
}

// SaveCycle implements provisioning.Store.
func (db *DB) SaveCycle(ctx context.Context, c provisioning.Cycle) error {
	return db.saveCycle(ctx, db.w, c)
}

// EndCycle implements provisioning.Store.
func (db *DB) EndCycle(ctx context.Context, c provisioning.Cycle, fn func(s *provisioning.State) error, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.saveCycle(ctx, tx, c); err != nil {
			return err
		}
		if fn != nil {
			if _, err := db.updateState(ctx, tx, c.AppID, fn); err != nil {
				return err
			}
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// GetCycle implements provisioning.Store.
func (db *DB) GetCycle(ctx context.Context, id string) (provisioning.Cycle, error) {
	return scanCycle(db.r.QueryRowContext(ctx, `SELECT `+cycleCols+` FROM prov_cycles WHERE id = $1`, id))
}

// DeleteCycle implements provisioning.Store.
func (db *DB) DeleteCycle(ctx context.Context, id string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM prov_cycles WHERE id = $1`, id)
	return err
}

// Cycles implements provisioning.Store.
func (db *DB) Cycles(ctx context.Context, appID string, limit int) ([]provisioning.Cycle, error) {
	if limit <= 0 {
		limit = 10
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+cycleCols+` FROM prov_cycles WHERE app_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, appID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Cycle
	for rows.Next() {
		c, err := scanCycle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Apply implements provisioning.Store.
func (db *DB) Apply(ctx context.Context, appID string, b *provisioning.Batch) error {
	if b == nil || b.Empty() {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, l := range b.Links {
			exported, err := encodeAttrs(l.Exported)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO prov_links (app_id, `+linkCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (app_id, source_id) DO UPDATE SET object_type = excluded.object_type, target_id = excluded.target_id, display = excluded.display,
				origin = excluded.origin, active = excluded.active, exported = excluded.exported, synced_at = excluded.synced_at`,
				appID, l.SourceID, l.ObjectType, l.TargetID, l.Display, l.Origin, l.Active, exported, micros(l.Synced)); err != nil {
				return fmt.Errorf("link %s: %w", l.SourceID, mapErr(err))
			}
		}
		for _, id := range b.Unlink {
			if _, err := tx.ExecContext(ctx, `DELETE FROM prov_links WHERE app_id = $1 AND source_id = $2`, appID, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM prov_members WHERE app_id = $1 AND (group_id = $2 OR member_id = $2)`, appID, id); err != nil {
				return err
			}
		}
		for _, d := range b.Members {
			if d.Clear {
				if _, err := tx.ExecContext(ctx, `DELETE FROM prov_members WHERE app_id = $1 AND group_id = $2`, appID, d.GroupID); err != nil {
					return err
				}
			}
			for _, m := range d.Add {
				if _, err := tx.ExecContext(ctx, `INSERT INTO prov_members (app_id, group_id, member_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, appID, d.GroupID, m); err != nil {
					return err
				}
			}
			for _, m := range d.Remove {
				if _, err := tx.ExecContext(ctx, `DELETE FROM prov_members WHERE app_id = $1 AND group_id = $2 AND member_id = $3`, appID, d.GroupID, m); err != nil {
					return err
				}
			}
		}
		for _, e := range b.Escrow {
			if _, err := tx.ExecContext(ctx, `INSERT INTO prov_escrow (app_id, source_id, object_type, attempts, first_failed_at, next_retry_at, code, error)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (app_id, source_id) DO UPDATE SET object_type = excluded.object_type,
				attempts = excluded.attempts, first_failed_at = excluded.first_failed_at, next_retry_at = excluded.next_retry_at, code = excluded.code, error = excluded.error`,
				appID, e.SourceID, e.ObjectType, e.Attempts, micros(e.FirstFailed), micros(e.NextRetry), e.Code, e.Error); err != nil {
				return err
			}
		}
		for _, id := range b.ClearEscrow {
			if _, err := tx.ExecContext(ctx, `DELETE FROM prov_escrow WHERE app_id = $1 AND source_id = $2`, appID, id); err != nil {
				return err
			}
		}
		for _, s := range b.Staged {
			if _, err := tx.ExecContext(ctx, `INSERT INTO prov_staged (app_id, source_id, object_type, target_id, display, action, reason, cycle_id, staged_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (app_id, source_id) DO UPDATE SET object_type = excluded.object_type,
				target_id = excluded.target_id, display = excluded.display, action = excluded.action, reason = excluded.reason, cycle_id = excluded.cycle_id,
				staged_at = excluded.staged_at`,
				appID, s.SourceID, s.ObjectType, s.TargetID, s.Display, s.Action, s.Reason, s.CycleID, micros(s.Staged)); err != nil {
				return err
			}
		}
		for _, id := range b.ClearStaged {
			if _, err := tx.ExecContext(ctx, `DELETE FROM prov_staged WHERE app_id = $1 AND source_id = $2`, appID, id); err != nil {
				return err
			}
		}
		for _, id := range b.DoneIntents {
			if _, err := tx.ExecContext(ctx, `DELETE FROM prov_journal WHERE id = $1`, id); err != nil {
				return err
			}
		}
		for i := range b.Logs {
			if err := insertLog(ctx, tx, &b.Logs[i]); err != nil {
				return err
			}
		}
		for _, ev := range b.Events {
			if err := db.insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertLog(ctx context.Context, tx *sql.Tx, e *provisioning.LogEntry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO prov_logs (id, app_id, cycle_id, at, object_type, source_id, source_name_ci, target_id, action, status, error_code, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.AppID, e.CycleID, micros(e.Time), e.ObjectType, e.SourceID, fold(e.SourceName), e.TargetID, e.Action, e.Status, e.ErrorCode, string(body))
	if err != nil {
		return fmt.Errorf("log %s: %w", e.ID, mapErr(err))
	}
	return nil
}

// AddIntents implements provisioning.Store.
func (db *DB) AddIntents(ctx context.Context, intents []provisioning.Intent) error {
	if len(intents) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, in := range intents {
			if _, err := tx.ExecContext(ctx, `INSERT INTO prov_journal (id, app_id, cycle_id, object_type, source_id, op, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				in.ID, in.AppID, in.CycleID, in.ObjectType, in.SourceID, in.Op, micros(in.Created)); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

// Intents implements provisioning.Store.
func (db *DB) Intents(ctx context.Context, appID string) ([]provisioning.Intent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, app_id, cycle_id, object_type, source_id, op, created_at FROM prov_journal WHERE app_id = $1 ORDER BY created_at, id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Intent
	for rows.Next() {
		var in provisioning.Intent
		var created int64
		if err := rows.Scan(&in.ID, &in.AppID, &in.CycleID, &in.ObjectType, &in.SourceID, &in.Op, &created); err != nil {
			return nil, err
		}
		in.Created = fromMicros(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

// Escrows implements provisioning.Store.
func (db *DB) Escrows(ctx context.Context, appID string) ([]provisioning.Escrow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT source_id, object_type, attempts, first_failed_at, next_retry_at, code, error FROM prov_escrow WHERE app_id = $1 ORDER BY next_retry_at, source_id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Escrow
	for rows.Next() {
		var e provisioning.Escrow
		var first, next int64
		if err := rows.Scan(&e.SourceID, &e.ObjectType, &e.Attempts, &first, &next, &e.Code, &e.Error); err != nil {
			return nil, err
		}
		e.FirstFailed, e.NextRetry = fromMicros(first), fromMicros(next)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Staged implements provisioning.Store.
func (db *DB) Staged(ctx context.Context, appID string) ([]provisioning.Staged, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT source_id, object_type, target_id, display, action, reason, cycle_id, staged_at FROM prov_staged WHERE app_id = $1 ORDER BY object_type DESC, display, source_id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []provisioning.Staged
	for rows.Next() {
		var s provisioning.Staged
		var at int64
		if err := rows.Scan(&s.SourceID, &s.ObjectType, &s.TargetID, &s.Display, &s.Action, &s.Reason, &s.CycleID, &at); err != nil {
			return nil, err
		}
		s.Staged = fromMicros(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ResetApp implements provisioning.Store.
func (db *DB) ResetApp(ctx context.Context, appID string, links bool, ev *audit.Event) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		stmts := []string{
			`UPDATE prov_state SET watermark = 0, schema_version = 0, quarantine = NULL, deletes_approved = FALSE, run_requested = TRUE WHERE app_id = $1`,
			`DELETE FROM prov_escrow WHERE app_id = $1`,
			`DELETE FROM prov_staged WHERE app_id = $1`,
			`DELETE FROM prov_journal WHERE app_id = $1`,
		}
		if links {
			stmts = append(stmts, `DELETE FROM prov_links WHERE app_id = $1`, `DELETE FROM prov_members WHERE app_id = $1`)
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s, appID); err != nil {
				return err
			}
		}
		return db.insertEvent(ctx, tx, ev)
	})
}

// MaxLogResults caps one page of provisioning logs.
const MaxLogResults = 1000

// Logs implements provisioning.Store: newest first, paged by a token that
// is the last entry's sequence number.
func (db *DB) Logs(ctx context.Context, q provisioning.LogQuery) ([]provisioning.LogEntry, string, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.AppID != "" {
		add("app_id = ?", q.AppID)
	}
	if q.CycleID != "" {
		add("cycle_id = ?", q.CycleID)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Source != "" {
		args = append(args, q.Source, fold(q.Source))
		n := len(args)
		where = append(where, fmt.Sprintf("(source_id = $%d OR source_name_ci = $%d)", n-1, n))
	}
	if !q.OldestTime.IsZero() {
		add("at >= ?", micros(q.OldestTime))
	}
	if q.NextToken != "" {
		seq, err := strconv.ParseInt(q.NextToken, 10, 64)
		if err != nil || seq < 0 {
			return nil, "", fault.New(fault.InvalidValue, "nextToken", "nextToken %q is not a token this server issued", q.NextToken)
		}
		add("seq < ?", seq)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxLogResults)
	text := `SELECT seq, body FROM prov_logs`
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	text += fmt.Sprintf(" ORDER BY seq DESC LIMIT $%d", len(args))
	rows, err := db.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []provisioning.LogEntry
	var next string
	var lastSeq int64
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, "", err
		}
		if len(out) == limit {
			next = strconv.FormatInt(lastSeq, 10)
			break
		}
		var e provisioning.LogEntry
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, "", fmt.Errorf("log entry %d: %w", seq, err)
		}
		out = append(out, e)
		lastSeq = seq
	}
	return out, next, rows.Err()
}

// PruneLogs implements provisioning.Store.
func (db *DB) PruneLogs(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM prov_logs WHERE at < $1`, micros(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM prov_cycles WHERE ended_at IS NOT NULL AND ended_at < $1
			AND id NOT IN (SELECT last_cycle_id FROM prov_state WHERE last_cycle_id IS NOT NULL)`, micros(before))
		return err
	})
	return n, err
}
