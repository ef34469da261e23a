// Package directory is the identity store's domain: directories (tenants)
// with their compatibility profile, users, groups, memberships and SCIM
// tokens; the rules that apply to them; and the Store contract every storage
// backend implements.
package directory

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// Profiles a directory can have.
const (
	// ProfileRFC is lenient with real clients: unknown attributes are ignored.
	ProfileRFC = "rfc"
	// ProfileAWS enforces AWS IAM Identity Center's documented SCIM constraints.
	ProfileAWS = "aws-identity-center"
)

// DefaultDirectory is the name of the directory that exists from first start.
const DefaultDirectory = "default"

// Directory is an isolated identity store (a tenant).
type Directory struct {
	ID       string
	Name     string
	Profile  string
	Settings Settings
	Created  time.Time
	Modified time.Time
}

// Settings are per-directory behaviour switches where real SCIM clients and
// test suites contradict each other (see docs/scim.md).
type Settings struct {
	// PatchReturns204 answers a successful PATCH with 204 No Content instead of
	// 200 and the resource (Microsoft's collection and Entra's group guidance).
	PatchReturns204 bool `json:"patchReturns204,omitempty"`
	// AcceptUnknownMembers lets group writes name member ids that do not exist
	// (Microsoft's collection adds "string id 1"); they are dropped, not stored.
	AcceptUnknownMembers bool `json:"acceptUnknownMembers,omitempty"`
	// StrictAttributes rejects unknown attributes instead of ignoring them.
	StrictAttributes bool `json:"strictAttributes,omitempty"`
	// RFCNoTarget makes replace on an unmatched filtered path fail with
	// noTarget as RFC 7644 says; by default it adds the element as Entra expects.
	RFCNoTarget bool `json:"rfcNoTarget,omitempty"`
}

// User is a user resource. Attrs is the canonical attribute document (see
// schema.Normalize) without id, meta, groups or password; the indexed fields
// beside it are derived from Attrs by the service and kept in step.
type User struct {
	ID           string
	DirectoryID  string
	UserName     string
	ExternalID   string
	DisplayName  string
	Active       bool
	Attrs        map[string]any
	PasswordHash string
	Version      int64
	Created      time.Time
	Modified     time.Time
}

// Group is a group resource. Members live in their own table (see Member) so
// that changing a 100k-member group costs the size of the change.
type Group struct {
	ID          string
	DirectoryID string
	DisplayName string
	ExternalID  string
	Attrs       map[string]any
	Version     int64
	Created     time.Time
	Modified    time.Time
}

// Member types.
const (
	MemberUser  = "User"
	MemberGroup = "Group"
)

// Member is one membership edge: a user or a group inside a group.
type Member struct {
	ID      string // the member's id
	Type    string // MemberUser or MemberGroup
	Display string // as the client sent it, else on reads the member's displayName or userName
}

// GroupRef is a group a user belongs to, directly or through nesting.
type GroupRef struct {
	ID      string
	Display string
	Type    string // "direct" or "indirect"
}

// Token is a SCIM bearer token. Only the SHA-256 of the secret is stored.
type Token struct {
	ID          string
	DirectoryID string
	Hash        string
	Description string
	Created     time.Time
	Expires     time.Time
	Revoked     *time.Time
	LastUsed    *time.Time
}

// Active reports whether the token may be used at time now.
func (t Token) Active(now time.Time) bool { return t.Revoked == nil && now.Before(t.Expires) }

// Sort describes a requested order; the zero value is the stable default (id).
type Sort struct {
	By         schema.Path // zero Attr means default order
	Descending bool
}

// Query selects a page of resources.
type Query struct {
	Filter     filter.Expr // nil selects all
	Sort       Sort
	StartIndex int    // 1-based offset paging (RFC 7644 §3.4.2.4)
	Count      int    // page size; 0 returns only the total
	Cursor     string // cursor paging: opaque position after which to continue
	UseCursor  bool   // true when the client asked for cursor paging
}

// Page is one page of results.
type Page[T any] struct {
	Items      []T
	Total      int
	NextCursor string
}

// Change is one entry of the directory change sequence: a user or group
// written (or deleted) at sequence value Seq.
type Change struct {
	Type    string // MemberUser or MemberGroup
	ID      string
	Seq     int64
	Deleted bool
}
