package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// auditLockKey serialises chain appends across PostgreSQL replicas: each
// event needs the hash of the one before it.
const auditLockKey = 0x6761746568 // "gateh"

// auditChain is one hash chain and the store that holds it. order breaks
// ties between chains when events are merged by time.
type auditChain struct {
	name  string // "" for the main chain, audit.ChainReads
	order int
	db    *DB
}

// auditChains lists the chains: the main one, and on SQLite the read-event
// chain in its own file.
func (db *DB) auditChains() []auditChain {
	cs := []auditChain{{name: "", order: 0, db: db}}
	if db.reads != nil {
		cs = append(cs, auditChain{name: audit.ChainReads, order: 1, db: db.reads})
	}
	return cs
}

// insertEvent appends ev to the main chain inside tx. A nil event is a no-op
// so that callers can pass an optional event straight through.
func (db *DB) insertEvent(ctx context.Context, tx *sql.Tx, ev *audit.Event) error {
	if ev == nil {
		return nil
	}
	return db.appendEvents(ctx, tx, "", []*audit.Event{ev})
}

// appendEvents appends events to chain inside tx: it reads the chain head
// once (the transaction holds the write lock: SQLite's single writer, or the
// advisory lock on PostgreSQL) and inserts through one prepared statement.
func (db *DB) appendEvents(ctx context.Context, tx *sql.Tx, chain string, evs []*audit.Event) error {
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
			return fmt.Errorf("audit chain lock: %w", err)
		}
	}
	var seq int64
	var prev string
	err := db.queryRow(ctx, tx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq, prev = 0, audit.GenesisHash
	case err != nil:
		return fmt.Errorf("audit chain head: %w", err)
	}
	stmt, err := db.stmt(ctx, tx, `INSERT INTO audit_events (seq, event_id, event_time, event_source, event_name, read_only,
		directory_id, principal_id, user_name, resource_id, resource_name, error_code, request_id, prev_hash, hash, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, ev := range evs {
		seq++
		ev.Sequence, ev.PreviousHash, ev.Chain = seq, prev, chain
		hash, body, err := audit.ChainHash(*ev)
		if err != nil {
			return err
		}
		ev.Hash = hash
		if _, err := stmt.ExecContext(ctx, ev.Sequence, ev.EventID, micros(ev.EventTime), ev.EventSource, ev.EventName, ev.ReadOnly,
			nullString(ev.Directory), nullString(ev.UserIdentity.PrincipalID), nullString(ev.UserIdentity.UserName),
			nullString(ev.ResourceID), nullString(ev.ResourceName), nullString(ev.ErrorCode), nullString(ev.RequestID),
			ev.PreviousHash, ev.Hash, string(body)); err != nil {
			return fmt.Errorf("insert audit event: %w", err)
		}
		prev = hash
	}
	return nil
}

// RecordEvents appends events that belong to no data change (reads,
// rejected requests), one transaction per chain: read-only events go to the
// read-event chain where the store has one, the others to the main chain.
func (db *DB) RecordEvents(ctx context.Context, evs []*audit.Event) error {
	main, reads := evs, []*audit.Event(nil)
	if db.reads != nil {
		main = nil
		for _, ev := range evs {
			if ev.ReadOnly {
				reads = append(reads, ev)
			} else {
				main = append(main, ev)
			}
		}
	}
	var err error
	if len(reads) > 0 {
		err = db.reads.tx(ctx, func(tx *sql.Tx) error { return db.reads.appendEvents(ctx, tx, audit.ChainReads, reads) })
	}
	if len(main) > 0 {
		err = errors.Join(err, db.tx(ctx, func(tx *sql.Tx) error { return db.appendEvents(ctx, tx, "", main) }))
	}
	return err
}
