package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// LookupEvents returns events matching q, newest first, and a token for the
// next page. Each attribute has an (attribute, event_time) index, so a
// lookup by one attribute and a time range stays an index range scan. Where
// the store keeps several chains, each is queried for one page and the
// pages are merged: order is (event time, chain, sequence), descending.
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
	var tok *eventToken
	if q.NextToken != "" {
		t, err := decodeEventToken(q.NextToken)
		if err != nil {
			return nil, "", err
		}
		tok = &t
	}
	limit := q.MaxResults
	if limit <= 0 {
		limit = audit.DefaultMaxResults
	}
	limit = min(limit, audit.MaxMaxResults)
	var found []chainEvent
	for _, c := range db.auditChains() {
		evs, err := c.lookup(ctx, where, args, tok, limit+1)
		if err != nil {
			return nil, "", err
		}
		found = append(found, evs...)
	}
	sort.Slice(found, func(i, j int) bool { return found[j].before(found[i]) })
	var next string
	if len(found) > limit {
		found = found[:limit]
		last := found[limit-1]
		next = encodeEventToken(eventToken{t: last.t, order: last.order, seq: last.ev.Sequence})
	}
	out := make([]audit.Event, len(found))
	for i, f := range found {
		out[i] = f.ev
	}
	return out, next, nil
}

// chainEvent is an event with its position across chains.
type chainEvent struct {
	t     int64 // event time, µs
	order int   // chain order
	ev    audit.Event
}

// before reports whether e sorts before o, oldest first.
func (e chainEvent) before(o chainEvent) bool {
	if e.t != o.t {
		return e.t < o.t
	}
	if e.order != o.order {
		return e.order < o.order
	}
	return e.ev.Sequence < o.ev.Sequence
}

// lookup runs one chain's page of a lookup: the shared conditions plus the
// ones that place the chain's events after the token's position.
func (c auditChain) lookup(ctx context.Context, where []string, args []any, tok *eventToken, limit int) ([]chainEvent, error) {
	where, args = append([]string(nil), where...), append([]any(nil), args...)
	if tok != nil {
		n := len(args)
		switch {
		case c.order == tok.order:
			args = append(args, tok.t, tok.seq)
			where = append(where, fmt.Sprintf("(event_time < $%d OR (event_time = $%d AND seq < $%d))", n+1, n+1, n+2))
		case c.order < tok.order:
			args = append(args, tok.t)
			where = append(where, fmt.Sprintf("event_time <= $%d", n+1))
		default:
			args = append(args, tok.t)
			where = append(where, fmt.Sprintf("event_time < $%d", n+1))
		}
	}
	sqlText := `SELECT seq, event_time, hash, body FROM audit_events`
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sqlText += fmt.Sprintf(" ORDER BY event_time DESC, seq DESC LIMIT $%d", len(args))
	rows, err := c.db.r.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	out, _, err := c.readEvents(rows)
	return out, err
}

// readEvents decodes rows of (seq, event_time, hash, body) of chain c and
// closes them; last is the last row's sequence.
func (c auditChain) readEvents(rows *sql.Rows) (out []chainEvent, last int64, err error) {
	defer rows.Close()
	for rows.Next() {
		var t int64
		var hash string
		var body []byte
		if err := rows.Scan(&last, &t, &hash, &body); err != nil {
			return nil, 0, err
		}
		ev, err := decodeEvent(body, hash)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, chainEvent{t: t, order: c.order, ev: ev})
	}
	return out, last, rows.Err()
}

func decodeEvent(body []byte, hash string) (audit.Event, error) {
	var ev audit.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("decode audit event: %w", err)
	}
	ev.Hash = hash
	return ev, nil
}

// eventToken is a lookup position: event time (µs), chain order, sequence.
type eventToken struct {
	t     int64
	order int
	seq   int64
}

func encodeEventToken(t eventToken) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d.%d", t.t, t.order, t.seq)))
}

func decodeEventToken(s string) (eventToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		parts := strings.Split(string(b), ".")
		if len(parts) == 3 {
			t, err1 := strconv.ParseInt(parts[0], 10, 64)
			order, err2 := strconv.Atoi(parts[1])
			seq, err3 := strconv.ParseInt(parts[2], 10, 64)
			if err1 == nil && err2 == nil && err3 == nil && order >= 0 {
				return eventToken{t: t, order: order, seq: seq}, nil
			}
		}
	}
	return eventToken{}, fault.New(fault.InvalidValue, "next-token", "next token %q was not issued by this server", s)
}

// ExportEvents calls fn for every event at or after since, oldest first,
// reading each chain in pages so that memory stays flat for any volume.
// Chains are merged by event time; within a chain, events keep their
// sequence order.
func (db *DB) ExportEvents(ctx context.Context, since time.Time, fn func(audit.Event) error) error {
	var curs []*exportCursor
	for _, c := range db.auditChains() {
		curs = append(curs, &exportCursor{c: c, since: micros(since)})
	}
	for {
		var pick *exportCursor
		for _, cur := range curs {
			if err := cur.fill(ctx); err != nil {
				return err
			}
			if len(cur.buf) > 0 && (pick == nil || cur.buf[0].before(pick.buf[0])) {
				pick = cur
			}
		}
		if pick == nil {
			return nil
		}
		ev := pick.buf[0].ev
		pick.buf = pick.buf[1:]
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// exportCursor pages through one chain in sequence order.
type exportCursor struct {
	c     auditChain
	since int64
	after int64
	buf   []chainEvent
	done  bool
}

func (cur *exportCursor) fill(ctx context.Context) error {
	if len(cur.buf) > 0 || cur.done {
		return nil
	}
	rows, err := cur.c.db.r.QueryContext(ctx, `SELECT seq, event_time, hash, body FROM audit_events WHERE seq > $1 AND event_time >= $2 ORDER BY seq LIMIT 1000`, cur.after, cur.since)
	if err != nil {
		return err
	}
	evs, last, err := cur.c.readEvents(rows)
	if err != nil {
		return err
	}
	cur.buf, cur.done = evs, len(evs) == 0
	if !cur.done {
		cur.after = last
	}
	return nil
}

// VerifyChains walks every chain from its latest cut and reports, per
// chain, the first modified, inserted or deleted event.
func (db *DB) VerifyChains(ctx context.Context) ([]audit.ChainReport, error) {
	var out []audit.ChainReport
	for _, c := range db.auditChains() {
		r, err := c.verify(ctx)
		if err != nil {
			return nil, fmt.Errorf("verify %s chain: %w", audit.ChainName(c.name), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (c auditChain) verify(ctx context.Context) (audit.ChainReport, error) {
	rep := audit.ChainReport{Chain: audit.ChainName(c.name)}
	cut, err := c.db.latestCut(ctx)
	if err != nil {
		return rep, err
	}
	rep.Cut = cut
	v := audit.NewChainVerifier(c.name, cut)
	var after int64 = -1 << 62
	var last audit.Stored
	for {
		rows, err := c.db.r.QueryContext(ctx, `SELECT seq, prev_hash, hash, body, event_name, event_source, COALESCE(resource_id, ''), COALESCE(error_code, '')
			FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 2000`, after)
		if err != nil {
			return rep, err
		}
		n, ok := 0, true
		for ok && rows.Next() {
			var s audit.Stored
			if err := rows.Scan(&s.Seq, &s.PrevHash, &s.Hash, &s.Body, &s.EventName, &s.EventSource, &s.ResourceID, &s.ErrorCode); err != nil {
				rows.Close()
				return rep, err
			}
			after, n = s.Seq, n+1
			if err := json.Unmarshal(s.Body, &s.Event); err != nil {
				s.Event = audit.Event{} // an unparsable body fails the hash check below
			}
			if ok = v.Next(s); ok {
				last = s
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return rep, err
		}
		if n == 0 || !ok {
			break
		}
	}
	rep.Checked, rep.Problem = v.Result()
	rep.Intact = rep.Problem == nil
	if rep.Intact && rep.Checked > 0 {
		rep.Head = &last
	}
	return rep, nil
}

// latestCut returns the most recent retention cut of db's chain, or nil.
func (db *DB) latestCut(ctx context.Context) (*audit.Cut, error) {
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

// PruneEvents deletes events older than before from every chain and records
// each chain's cut so the remaining chains still verify. ev (the PruneEvents
// event) is appended to the main chain in the same transaction as the main
// chain's cut. It returns how many events were deleted in all.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, ev *audit.Event) (int64, error) {
	var total int64
	resp := map[string]any{}
	for _, c := range slices.Backward(db.auditChains()) {
		// The read chain is pruned first so that the main chain's event
		// can report both.
		err := c.db.tx(ctx, func(tx *sql.Tx) error {
			pruned, firstSeq, err := pruneChain(ctx, tx, c.db.dialect, before)
			if err != nil {
				return err
			}
			total += pruned
			if pruned > 0 {
				resp[audit.ChainName(c.name)] = map[string]any{"pruned": pruned, "firstSequenceKept": firstSeq}
			}
			if c.name != "" || total == 0 || ev == nil {
				return nil
			}
			resp["pruned"] = total
			ev.SetResponse(resp)
			return db.insertEvent(ctx, tx, ev)
		})
		if err != nil {
			return total, fmt.Errorf("prune %s chain: %w", audit.ChainName(c.name), err)
		}
	}
	return total, nil
}

// pruneChain deletes one chain's events older than before inside tx and
// records the cut. It keeps at least the newest event as the chain's anchor.
func pruneChain(ctx context.Context, tx *sql.Tx, dialect Dialect, before time.Time) (pruned, firstSeq int64, err error) {
	if dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
			return 0, 0, err
		}
	}
	// Cut at the first event that stays: everything before it goes.
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_events WHERE event_time >= $1 ORDER BY seq LIMIT 1`, micros(before)).Scan(&firstSeq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		// Everything is old: keep the newest event so the chain has an anchor.
		err = tx.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&firstSeq, &prev)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil // no events at all
	}
	if err != nil {
		return 0, 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE seq < $1`, firstSeq)
	if err != nil {
		return 0, 0, err
	}
	if pruned, _ = res.RowsAffected(); pruned == 0 {
		return 0, firstSeq, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_chain_cuts (cut_at, first_seq, prev_hash, pruned) VALUES ($1, $2, $3, $4)`,
		micros(time.Now()), firstSeq, prev, pruned); err != nil {
		return 0, 0, err
	}
	return pruned, firstSeq, nil
}
