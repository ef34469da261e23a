package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// LookupEvents returns events matching q, newest first, and a token for the
// next page. Each attribute has an (attribute, event_time) index, so a
// lookup by one attribute and a time range stays an index range scan.
func (db *DB) LookupEvents(ctx context.Context, q audit.Query) ([]audit.Event, string, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	for col, v := range map[string]string{"event_name": q.EventName, "event_source": q.EventSource, "resource_id": q.ResourceID,
		"error_code": q.ErrorCode, "directory_id": q.Directory} {
		if v != "" {
			add(col+" = ?", v)
		}
	}
	if q.UserName != "" {
		add("(user_name = ? OR resource_name = ?)", q.UserName) // both placeholders bind the one argument
	}
	if !q.Start.IsZero() {
		add("event_time >= ?", micros(q.Start))
	}
	if !q.End.IsZero() {
		add("event_time <= ?", micros(q.End))
	}
	if q.NextToken != "" {
		t, seq, err := decodeEventToken(q.NextToken)
		if err != nil {
			return nil, "", err
		}
		args = append(args, t, seq)
		n := len(args)
		where = append(where, fmt.Sprintf("(event_time < $%d OR (event_time = $%d AND seq < $%d))", n-1, n-1, n))
	}
	limit := q.MaxResults
	if limit <= 0 {
		limit = audit.DefaultMaxResults
	}
	limit = min(limit, audit.MaxMaxResults)
	sqlText := `SELECT seq, event_time, hash, body FROM audit_events`
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	sqlText += fmt.Sprintf(" ORDER BY event_time DESC, seq DESC LIMIT $%d", len(args))
	rows, err := db.r.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []audit.Event
	var next string
	for rows.Next() {
		var seq, t int64
		var hash string
		var body []byte
		if err := rows.Scan(&seq, &t, &hash, &body); err != nil {
			return nil, "", err
		}
		if len(out) == limit {
			last := out[len(out)-1]
			next = encodeEventToken(micros(last.EventTime), last.Sequence)
			break
		}
		ev, err := decodeEvent(body, hash)
		if err != nil {
			return nil, "", err
		}
		out = append(out, ev)
	}
	return out, next, rows.Err()
}

func decodeEvent(body []byte, hash string) (audit.Event, error) {
	var ev audit.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("decode audit event: %w", err)
	}
	ev.Hash = hash
	return ev, nil
}

func encodeEventToken(t, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", t, seq)))
}

func decodeEventToken(s string) (int64, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if a, c, ok := strings.Cut(string(b), "."); ok {
			t, err1 := strconv.ParseInt(a, 10, 64)
			seq, err2 := strconv.ParseInt(c, 10, 64)
			if err1 == nil && err2 == nil {
				return t, seq, nil
			}
		}
	}
	return 0, 0, fault.New(fault.InvalidValue, "next-token", "next token %q was not issued by this server", s)
}

// ExportEvents calls fn for every event at or after since, oldest first,
// reading in pages so that memory stays flat for any volume.
func (db *DB) ExportEvents(ctx context.Context, since time.Time, fn func(audit.Event) error) error {
	var after int64
	for {
		rows, err := db.r.QueryContext(ctx, `SELECT seq, hash, body FROM audit_events WHERE seq > $1 AND event_time >= $2 ORDER BY seq LIMIT 1000`, after, micros(since))
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var hash string
			var body []byte
			if err := rows.Scan(&after, &hash, &body); err != nil {
				rows.Close()
				return err
			}
			ev, err := decodeEvent(body, hash)
			if err == nil {
				err = fn(ev)
			}
			if err != nil {
				rows.Close()
				return err
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// VerifyChain walks the whole chain from the latest cut and reports the
// first modified, inserted or deleted event.
func (db *DB) VerifyChain(ctx context.Context) (checked int64, head *audit.Stored, problem *audit.Problem, err error) {
	cut, err := db.LatestCut(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	v := audit.NewVerifier(cut)
	var after int64 = -1 << 62
	var last audit.Stored
	for {
		rows, err := db.r.QueryContext(ctx, `SELECT seq, prev_hash, hash, body, event_name, event_source, COALESCE(resource_id, ''), COALESCE(error_code, '')
			FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 2000`, after)
		if err != nil {
			return 0, nil, nil, err
		}
		n := 0
		for rows.Next() {
			var s audit.Stored
			if err := rows.Scan(&s.Seq, &s.PrevHash, &s.Hash, &s.Body, &s.EventName, &s.EventSource, &s.ResourceID, &s.ErrorCode); err != nil {
				rows.Close()
				return 0, nil, nil, err
			}
			after, n = s.Seq, n+1
			if err := json.Unmarshal(s.Body, &s.Event); err != nil {
				s.Event = audit.Event{} // an unparsable body fails the hash check below
			}
			if !v.Next(s) {
				rows.Close()
				checked, problem = v.Result()
				return checked, nil, problem, nil
			}
			last = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, nil, nil, err
		}
		if n == 0 {
			break
		}
	}
	checked, problem = v.Result()
	if checked > 0 {
		head = &last
	}
	return checked, head, problem, nil
}

// LatestCut returns the most recent retention cut, or nil.
func (db *DB) LatestCut(ctx context.Context) (*audit.Cut, error) {
	var c audit.Cut
	var at int64
	err := db.r.QueryRowContext(ctx, `SELECT cut_at, first_seq, prev_hash, pruned FROM audit_chain_cuts ORDER BY first_seq DESC LIMIT 1`).Scan(&at, &c.FirstSeq, &c.PrevHash, &c.Pruned)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.At = fromMicros(at)
	return &c, nil
}

// PruneEvents deletes events older than before and records the cut so the
// remaining chain still verifies. ev (the PruneEvents event) is appended in
// the same transaction. It returns how many events were deleted.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, ev *audit.Event) (int64, error) {
	var pruned int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
				return err
			}
		}
		// Cut at the first event that stays: everything before it goes.
		var firstSeq int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_events WHERE event_time >= $1 ORDER BY seq LIMIT 1`, micros(before)).Scan(&firstSeq, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			// Everything is old: keep the newest event so the chain has an anchor.
			err = tx.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&firstSeq, &prev)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no events at all
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE seq < $1`, firstSeq)
		if err != nil {
			return err
		}
		if pruned, _ = res.RowsAffected(); pruned == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_chain_cuts (cut_at, first_seq, prev_hash, pruned) VALUES ($1, $2, $3, $4)`,
			micros(time.Now()), firstSeq, prev, pruned); err != nil {
			return err
		}
		if ev != nil {
			ev.SetResponse(map[string]any{"pruned": pruned, "firstSequenceKept": firstSeq})
		}
		return db.insertEvent(ctx, tx, ev)
	})
	return pruned, err
}
