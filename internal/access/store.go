package access

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// Store is the persistence contract of the access model. Every backend
// passes the contract suite in package storetest. Errors are the sentinels
// of package store (ErrNotFound, ErrAlreadyExists, ErrVersionMismatch),
// wrapped, and *directory.ReferencedError for refused deletes.
//
// Mutations take the audit event that describes them (nil for none) and
// write it in the same transaction. Deletes that cascade write one more
// event per removed assignment, made by CascadeEvent from the delete's
// event, in that transaction too.
//
// The backend also enforces what the service checks, so that races cannot
// leave dangling references: an assignment's account, permission set and
// principal must exist (foreign keys), and nothing that an assignment names
// can be deleted without removing the assignment in the same transaction.
type Store interface {
	// CreateAccount inserts a; ErrAlreadyExists when the id or the name
	// (case-insensitive) is taken in the directory.
	CreateAccount(ctx context.Context, a Account, ev *audit.Event) error
	GetAccount(ctx context.Context, directoryID, id string) (Account, error)
	// GetAccountByName matches the name regardless of case.
	GetAccountByName(ctx context.Context, directoryID, name string) (Account, error)
	ListAccounts(ctx context.Context, directoryID string) ([]Account, error)
	// DeleteAccount removes the account. While assignments use it, it fails
	// with a *directory.ReferencedError unless cascade is set, in which case
	// they are removed first and returned.
	DeleteAccount(ctx context.Context, directoryID, id string, cascade bool, ev *audit.Event) ([]Assignment, error)

	// CreatePermissionSet inserts p; ErrAlreadyExists when the name
	// (case-insensitive) is taken in the directory.
	CreatePermissionSet(ctx context.Context, p PermissionSet, ev *audit.Event) error
	GetPermissionSet(ctx context.Context, directoryID, id string) (PermissionSet, error)
	GetPermissionSetByName(ctx context.Context, directoryID, name string) (PermissionSet, error)
	ListPermissionSets(ctx context.Context, directoryID string) ([]PermissionSet, error)
	// UpdatePermissionSet reads the set, calls fn inside the transaction and
	// writes the result with Version+1.
	UpdatePermissionSet(ctx context.Context, directoryID, id string, fn func(p *PermissionSet) error, ev *audit.Event) (PermissionSet, error)
	// DeletePermissionSet is DeleteAccount for permission sets.
	DeletePermissionSet(ctx context.Context, directoryID, id string, cascade bool, ev *audit.Event) ([]Assignment, error)

	// CreateAssignment inserts a; ErrAlreadyExists for a duplicate (account,
	// permission set, principal), ErrNotFound when the account, the
	// permission set or the principal does not exist (any more).
	CreateAssignment(ctx context.Context, a Assignment, ev *audit.Event) error
	// DeleteAssignment removes an assignment by id and returns it.
	DeleteAssignment(ctx context.Context, directoryID, id string, ev *audit.Event) (Assignment, error)
	GetAssignment(ctx context.Context, directoryID, id string) (Assignment, error)
	// ListAssignments returns the assignments matching f, with names.
	ListAssignments(ctx context.Context, directoryID string, f AssignmentFilter) ([]Assignment, error)

	// UserGraph reads, in one snapshot, what decides a user's entitlements:
	// the groups the user reaches through nesting (edges upward from the
	// user), the assignments to the user or any of those groups, and their
	// names. ErrNotFound when the user does not exist.
	UserGraph(ctx context.Context, directoryID, userID string) (Graph, error)
	// AccountGraph reads, in one snapshot, what decides who can reach an
	// account: its assignments (of one permission set when permissionSetID
	// is not empty), the membership edges downward from the assigned groups
	// through nesting, and the names and status of every user involved.
	AccountGraph(ctx context.Context, directoryID, accountID, permissionSetID string) (Graph, error)
}
