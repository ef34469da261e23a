// Package store holds the sentinel errors shared by every Store contract, so
// domain packages can test for them with errors.Is without importing the SQL
// implementation.
package store

import "errors"

var (
	// ErrNotFound means the addressed row does not exist (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a uniqueness constraint rejected the write.
	ErrAlreadyExists = errors.New("already exists")
	// ErrVersionMismatch means an optimistic-concurrency check failed: the row
	// changed since the caller read it.
	ErrVersionMismatch = errors.New("version mismatch")
)
