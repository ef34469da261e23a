package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// nextChange takes the next directory change sequence value inside tx.
func (db *DB) nextChange(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := db.queryRow(ctx, tx, `UPDATE change_counter SET value = value + 1 WHERE name = 'directory' RETURNING value`).Scan(&v)
	return v, err
}

// tombstone records a deletion in the change sequence.
func (db *DB) tombstone(ctx context.Context, tx *sql.Tx, directoryID, objectType, id string) error {
	seq, err := db.nextChange(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO directory_tombstones (directory_id, object_type, object_id, change_seq, deleted_at) VALUES ($1, $2, $3, $4, $5)`,
		directoryID, objectType, id, seq, micros(time.Now()))
	return err
}

// Changes implements directory.Store: users and groups written, and objects
// deleted, after sequence value after, in sequence order.
func (db *DB) Changes(ctx context.Context, directoryID string, after int64, limit int) ([]directory.Change, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT 'User', id, change_seq, 0 FROM users WHERE directory_id = $1 AND change_seq > $2
		UNION ALL SELECT 'Group', id, change_seq, 0 FROM groups WHERE directory_id = $1 AND change_seq > $2
		UNION ALL SELECT object_type, object_id, change_seq, 1 FROM directory_tombstones WHERE directory_id = $1 AND change_seq > $2
		ORDER BY 3 LIMIT $3`, directoryID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.Change
	for rows.Next() {
		var c directory.Change
		var deleted int
		if err := rows.Scan(&c.Type, &c.ID, &c.Seq, &deleted); err != nil {
			return nil, err
		}
		c.Deleted = deleted == 1
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChangeHead implements directory.Store: the latest change sequence value.
func (db *DB) ChangeHead(ctx context.Context) (int64, error) {
	var v int64
	err := db.r.QueryRowContext(ctx, `SELECT value FROM change_counter WHERE name = 'directory'`).Scan(&v)
	return v, err
}
