package sqlstore

import "database/sql"

// RawDB exposes the writer pool to tests that simulate tampering.
func RawDB(db *DB) *sql.DB { return db.w }

// RawReadsDB exposes the writer pool of the read-event chain's SQLite file.
func RawReadsDB(db *DB) *sql.DB { return db.reads.w }
