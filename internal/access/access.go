// Package access is the access model: accounts (AWS account ids or other
// targets), permission sets (policies, session duration, relay state),
// assignments of a permission set on an account to a user or a group, and the
// entitlements that follow from them through (nested) group membership,
// each with the reason it holds.
//
// Accounts, permission sets and assignments belong to a directory, like the
// users and groups they are assigned to. The rules live in Service; the
// Store contract (suite in package storetest) persists them; entitlement
// resolution is a pure function of a membership graph the store reads in
// one snapshot (ResolveUser, ResolveAccount), so membership changes are
// visible on the next call, with no cache to invalidate.
package access

import (
	"fmt"
	"strings"
	"time"
)

// Target types of an account.
const (
	// TargetAWSAccount is an AWS account; its id is the 12-digit account id.
	TargetAWSAccount = "AWS_ACCOUNT"
	// TargetOther is any other kind of target with a stable string id.
	TargetOther = "OTHER"
)

// Principal types of an assignment (AWS's PrincipalType).
const (
	PrincipalUser  = "USER"
	PrincipalGroup = "GROUP"
)

// Limits, AWS IAM Identity Center's unless noted (identity-center.md §2).
const (
	// DefaultSessionDuration is the session duration of a new permission set.
	DefaultSessionDuration = "PT1H"
	MinSessionDuration     = time.Hour
	MaxSessionDuration     = 12 * time.Hour
	// MaxPolicies bounds AWS managed plus customer managed policies per set.
	MaxPolicies = 20
	// MaxInlinePolicy is the inline policy's size limit in characters;
	// MaxInlinePolicyCompact bounds its characters other than white space
	// (the IAM role policy limit that provisioning would hit otherwise).
	MaxInlinePolicy        = 32768
	MaxInlinePolicyCompact = 10240
	// MaxTags per account or permission set (the lead's limit; AWS allows 75
	// on a permission set but 50 on most resources).
	MaxTags = 50
)

// Account is a target that permission sets are assigned on: an AWS account
// or any other kind of target with a stable id. The id is unique in its
// directory, and so is the name (regardless of case).
type Account struct {
	ID          string            `json:"id"`
	DirectoryID string            `json:"-"`
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Email       string            `json:"email,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
}

// PolicyReference names a customer managed policy that must exist, by this
// name and path, in every account the permission set is provisioned to.
type PolicyReference struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// String renders the reference as IAM shows it in a policy ARN: path + name.
func (r PolicyReference) String() string { return r.Path + r.Name }

// Boundary is a permissions boundary: exactly one of an AWS (or customer)
// managed policy ARN and a customer managed policy reference.
type Boundary struct {
	ManagedPolicyARN               string           `json:"managedPolicyArn,omitempty"`
	CustomerManagedPolicyReference *PolicyReference `json:"customerManagedPolicyReference,omitempty"`
}

// String renders the boundary for tables.
func (b Boundary) String() string {
	if b.CustomerManagedPolicyReference != nil {
		return b.CustomerManagedPolicyReference.String()
	}
	return b.ManagedPolicyARN
}

// PermissionSet is a named bundle of policies that becomes a role in every
// account it is assigned on. Name is unique in its directory regardless of
// case, because it becomes part of an IAM role name, and IAM role names are
// case-insensitive.
type PermissionSet struct {
	ID                      string            `json:"id"`
	DirectoryID             string            `json:"-"`
	Name                    string            `json:"name"`
	Description             string            `json:"description,omitempty"`
	SessionDuration         string            `json:"sessionDuration"`
	RelayState              string            `json:"relayState,omitempty"`
	ManagedPolicies         []string          `json:"managedPolicies"`
	CustomerManagedPolicies []PolicyReference `json:"customerManagedPolicies"`
	InlinePolicy            string            `json:"inlinePolicy,omitempty"`
	PermissionsBoundary     *Boundary         `json:"permissionsBoundary,omitempty"`
	Tags                    map[string]string `json:"tags,omitempty"`
	Version                 int64             `json:"version"`
	Created                 time.Time         `json:"created"`
	Modified                time.Time         `json:"modified"`
}

// Assignment grants a permission set on an account to a user or a group.
// (account, permission set, principal type, principal id) is unique. The
// names are filled in on reads, for display.
type Assignment struct {
	ID                string    `json:"id"`
	DirectoryID       string    `json:"-"`
	AccountID         string    `json:"accountId"`
	AccountName       string    `json:"accountName,omitempty"`
	PermissionSetID   string    `json:"permissionSetId"`
	PermissionSetName string    `json:"permissionSetName,omitempty"`
	PrincipalType     string    `json:"principalType"`
	PrincipalID       string    `json:"principalId"`
	PrincipalName     string    `json:"principalName,omitempty"`
	Created           time.Time `json:"created"`
}

// String describes the assignment in one line, e.g.
// "ViewOnlyAccess on 111122223333 to GROUP aws-sso-read-only".
func (a Assignment) String() string {
	return fmt.Sprintf("%s on %s to %s %s", orID(a.PermissionSetName, a.PermissionSetID), a.AccountID, a.PrincipalType, orID(a.PrincipalName, a.PrincipalID))
}

// AssignmentFilter selects assignments; empty fields match everything.
type AssignmentFilter struct {
	AccountID       string
	PermissionSetID string
	PrincipalType   string
	PrincipalID     string
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// GroupHop is one group on the path from a user to an assigned group.
type GroupHop struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Reason is why an entitlement holds: a direct assignment to the user, or an
// assignment to a group the user reaches through Groups (the user's own group
// first, the assigned group last; the shortest such path).
type Reason struct {
	AssignmentID string     `json:"assignmentId"`
	Direct       bool       `json:"direct"`
	Groups       []GroupHop `json:"groups,omitempty"`
	// Path spells the reason out: "bob -> team-a -> all-engineers ->
	// ViewOnlyAccess on 111122223333".
	Path string `json:"path"`
}

// Entitlement is one (user, account, permission set) a user can use, with
// every reason it holds.
type Entitlement struct {
	UserID            string   `json:"userId"`
	UserName          string   `json:"userName"`
	UserActive        bool     `json:"userActive"`
	AccountID         string   `json:"accountId"`
	AccountName       string   `json:"accountName"`
	PermissionSetID   string   `json:"permissionSetId"`
	PermissionSetName string   `json:"permissionSetName"`
	Via               []Reason `json:"via"`
}

// UserAccess is everything one user can reach.
type UserAccess struct {
	UserID       string        `json:"userId"`
	UserName     string        `json:"userName"`
	Active       bool          `json:"active"`
	Entitlements []Entitlement `json:"entitlements"`
}

// AccountAccess is everyone who can reach an account (optionally through one
// permission set).
type AccountAccess struct {
	Account       Account        `json:"account"`
	PermissionSet *PermissionSet `json:"permissionSet,omitempty"`
	Entitlements  []Entitlement  `json:"entitlements"`
}

// Edge is one membership: MemberID (a user or a group) is in GroupID.
type Edge struct {
	MemberID   string
	MemberType string // PrincipalUser or PrincipalGroup
	GroupID    string
}

// Principal is a user or group as the resolver needs it.
type Principal struct {
	Name   string
	Active bool // users only
}

// Graph is the part of a directory that decides some entitlements, read by
// the store in one snapshot: the assignments that may apply, the
// membership edges between their principals and the users concerned, and
// the names of every user and group mentioned.
type Graph struct {
	Assignments []Assignment
	Edges       []Edge
	Users       map[string]Principal
	Groups      map[string]Principal
}

// describe joins path elements the way entitlements are explained.
func describe(parts ...string) string { return strings.Join(parts, " -> ") }
