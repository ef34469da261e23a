package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Store is the persistence contract of the identity store. Every backend
// passes the contract suite in package storetest. Errors are the sentinels of
// package store (ErrNotFound, ErrAlreadyExists, ErrVersionMismatch), wrapped.
//
// Mutations take the audit event that describes them (nil for none) and write
// it in the same transaction: no change without its event, no event for a
// change that rolled back.
type Store interface {
	CreateDirectory(ctx context.Context, d Directory, ev *audit.Event) error
	GetDirectory(ctx context.Context, id string) (Directory, error)
	GetDirectoryByName(ctx context.Context, name string) (Directory, error)
	ListDirectories(ctx context.Context) ([]Directory, error)
	UpdateDirectory(ctx context.Context, id string, fn func(d *Directory) error, ev *audit.Event) (Directory, error)
	// DeleteDirectory removes a directory with everything in it.
	DeleteDirectory(ctx context.Context, id string, ev *audit.Event) error

	CreateToken(ctx context.Context, t Token, ev *audit.Event) error
	// TokenByHash finds a token by the SHA-256 of its secret.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// TokenDirectory finds a token by hash together with its directory, in
	// one round trip: the per-request authentication path.
	TokenDirectory(ctx context.Context, hash string) (Token, Directory, error)
	ListTokens(ctx context.Context, directoryID string) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time, ev *audit.Event) (Token, error)
	// TouchToken records a use; it is best-effort bookkeeping, not audited.
	TouchToken(ctx context.Context, id string, at time.Time) error

	// CreateUser inserts u; ErrAlreadyExists when userName (case-insensitive)
	// is taken in the directory.
	CreateUser(ctx context.Context, u User, ev *audit.Event) error
	GetUser(ctx context.Context, directoryID, id string) (User, error)
	// UpdateUser reads the user, calls fn inside the transaction and writes
	// the result with Version+1. fn may be called again if the backend retries.
	UpdateUser(ctx context.Context, directoryID, id string, fn func(u *User) error, ev *audit.Event) (User, error)
	// DeleteUser removes the user and every membership edge pointing at it,
	// and deals with access assignments naming it as opts say (see
	// DeleteOptions), in the same transaction.
	DeleteUser(ctx context.Context, directoryID, id string, ev *audit.Event, opts ...DeleteOptions) error
	ListUsers(ctx context.Context, directoryID string, q Query) (Page[User], error)
	// UserGroups lists the groups a user belongs to, direct and through nesting.
	UserGroups(ctx context.Context, directoryID, userID string) ([]GroupRef, error)

	// CreateGroup inserts g with its initial members; ErrAlreadyExists when
	// displayName (case-insensitive) is taken in the directory.
	CreateGroup(ctx context.Context, g Group, members []Member, ev *audit.Event) error
	GetGroup(ctx context.Context, directoryID, id string) (Group, error)
	// UpdateGroup is UpdateUser for groups; fn edits members through m.
	UpdateGroup(ctx context.Context, directoryID, id string, fn func(g *Group, m MemberEditor) error, ev *audit.Event) (Group, error)
	// DeleteGroup removes the group, its members and its own memberships,
	// and deals with access assignments naming it as opts say.
	DeleteGroup(ctx context.Context, directoryID, id string, ev *audit.Event, opts ...DeleteOptions) error
	ListGroups(ctx context.Context, directoryID string, q Query) (Page[Group], error)
	// Members lists a group's direct members with their display names.
	Members(ctx context.Context, directoryID, groupID string) ([]Member, error)
	// Changes lists users and groups written or deleted after sequence value
	// after, in sequence order (the provisioning engine's incremental feed).
	Changes(ctx context.Context, directoryID string, after int64, limit int) ([]Change, error)
	// ChangeHead is the latest change sequence value across directories.
	ChangeHead(ctx context.Context) (int64, error)

	// ResolveMembers returns the type (MemberUser or MemberGroup) of each id
	// that names a user or group of the directory; unknown ids are absent.
	ResolveMembers(ctx context.Context, directoryID string, ids []string) (map[string]string, error)
}

// MemberEditor changes a group's membership inside UpdateGroup's
// transaction. Costs are proportional to the ids passed, not to group size.
type MemberEditor interface {
	// Add inserts members; members already present are left as they are.
	Add(members []Member) error
	// Remove deletes the given member ids; absent ids are ignored.
	Remove(ids []string) error
	// Clear removes every member.
	Clear() error
	// List returns the current members (cost proportional to group size).
	List() ([]Member, error)
	// Resolve is ResolveMembers inside the transaction.
	Resolve(ids []string) (map[string]string, error)
}

// DeleteOptions say what deleting a user or group does with the rows of
// other domains that name it as a principal (access assignments). The zero
// value cascades: the references are removed in the delete's transaction,
// each with its own audit event (DeleteAccountAssignment). That is what a
// SCIM DELETE needs, because the identity provider is the source of truth
// and an assignment to a deleted principal is a grant waiting for the next
// principal that reuses the id. Interactive deletes refuse instead.
type DeleteOptions struct {
	// RefuseReferenced fails the delete with a *ReferencedError, changing
	// nothing, while anything still names the principal.
	RefuseReferenced bool
}

// Refuses reports whether opts ask to refuse deleting a referenced principal.
func Refuses(opts []DeleteOptions) bool {
	for _, o := range opts {
		if o.RefuseReferenced {
			return true
		}
	}
	return false
}

// ReferencedError refuses to delete something that other rows still
// reference: a user or group named by access assignments, or an account or
// permission set that assignments use. It unwraps to a *fault.Error (kind
// InvalidValue, field "cascade") carrying the same message, so every
// protocol reports it like other rule violations; the admin API answers 409.
type ReferencedError struct {
	What  string   // the resource, e.g. `user "bob"` or `account 111122223333 (Production)`
	Count int      // references in total
	First []string // descriptions of the first few references
}

// MaxListedReferences is how many references a ReferencedError lists.
const MaxListedReferences = 5

func (e *ReferencedError) Error() string {
	noun := "assignments"
	if e.Count == 1 {
		noun = "assignment"
	}
	list := strings.Join(e.First, "; ")
	if more := e.Count - len(e.First); more > 0 {
		list += fmt.Sprintf("; and %d more", more)
	}
	return fmt.Sprintf("%s is still used by %d account %s (%s): delete those first, or delete with cascade to remove them too", e.What, e.Count, noun, list)
}

// Unwrap classifies the refusal for fault.As.
func (e *ReferencedError) Unwrap() error {
	return &fault.Error{Kind: fault.InvalidValue, Field: "cascade", Message: e.Error()}
}
