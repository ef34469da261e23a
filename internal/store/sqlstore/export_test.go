package sqlstore

import "database/sql"

// RawDB exposes the writer pool to tests that simulate tampering.
func RawDB(db *DB) *sql.DB { return db.w }
