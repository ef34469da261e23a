// Package provisioning is Gatehouse's outbound provisioning engine: the
// sending half of the classic setup (Entra ID's provisioning service), which
// pushes users and groups from a directory into SCIM 2.0 targets.
//
// The shape follows DESIGN.md convention 8: applications are scheduled jobs
// (Scheduler); each cycle reads the source, asks the pure planner (Plan) what
// to do, journals the writes that are not idempotent before sending them, and
// records a provisioning log entry per object. Dry runs wrap the target in a
// recording decorator. State lives in the Store: the link store (source id <->
// target id), the watermark into the directory's change sequence, escrows,
// staged deletes, quarantine, the per-application lease and the logs.
package provisioning

import (
	"regexp"
	"time"
)

// Scopes: which source objects an application provisions.
const (
	// ScopeAssigned provisions assigned users and groups and the members of
	// assigned groups, nested groups included (Entra's "Sync only assigned").
	ScopeAssigned = "assigned"
	// ScopeAll provisions every user and group of the directory.
	ScopeAll = "all"
)

// Target profiles: the SCIM dialect and limits of the target.
const (
	ProfileGeneric = "generic"
	ProfileAWS     = "aws-identity-center"
)

// Object types.
const (
	TypeUser  = "User"
	TypeGroup = "Group"
)

// Source-delete actions.
const (
	OnDeleteDelete  = "delete"  // DELETE the target object (default)
	OnDeleteDisable = "disable" // set active=false (users) and keep the object
	OnDeleteNone    = "none"    // leave the target object alone
)

// Defaults of the safety rails.
const (
	DefaultDeleteThreshold        = 500
	DefaultDeleteThresholdPercent = 20
)

// Application is a provisioning job: a source directory, a SCIM target, what
// is in scope, how attributes map, and when cycles run.
type Application struct {
	ID            string
	Name          string
	DirectoryID   string
	TargetURL     string
	TargetProfile string
	// SealedToken is the target's bearer token sealed with the secrets key
	// (seal.Key.Seal with the application id as owner); never the plaintext.
	SealedToken string
	Scope       string
	Interval    time.Duration
	Enabled     bool
	Settings    Settings
	Schema      Schema
	// SchemaVersion increases whenever mappings, scoping filters or the scope
	// change; a cycle under a newer schema re-evaluates everything (full cycle).
	SchemaVersion int64
	Version       int64
	Created       time.Time
	Modified      time.Time
}

// Settings are per-application behaviour switches (Entra's job settings).
type Settings struct {
	// NoPresendValidation sends objects even when the target's /Schemas says
	// they will be rejected, so that the log carries the target's own error.
	NoPresendValidation bool `json:"noPresendValidation,omitempty"`
	// OnSourceDelete is what happens to a linked object deleted in the
	// source: delete (default), disable or none.
	OnSourceDelete string `json:"onSourceDelete,omitempty"`
	// SkipOutOfScopeDeletions leaves objects that leave the scope (unassigned,
	// filtered out) untouched instead of disabling them.
	SkipOutOfScopeDeletions bool `json:"skipOutOfScopeDeletions,omitempty"`
	// DeleteThreshold and DeleteThresholdPercent bound the disables and
	// deletes one cycle may send; above either the cycle stages them and the
	// application waits for approve-deletes or reject-deletes. 0 means the
	// default; -1 switches the rail off.
	DeleteThreshold        int `json:"deleteThreshold,omitempty"`
	DeleteThresholdPercent int `json:"deleteThresholdPercent,omitempty"`
	// RateLimit is the target's request rate in requests per second (0: the
	// profile's default); Concurrency bounds requests in flight.
	RateLimit   float64 `json:"rateLimit,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
}

// Thresholds returns the effective deletion thresholds (count, percent);
// 0 means the rail is off.
func (s Settings) Thresholds() (int, int) {
	n, p := s.DeleteThreshold, s.DeleteThresholdPercent
	if n == 0 {
		n = DefaultDeleteThreshold
	}
	if p == 0 {
		p = DefaultDeleteThresholdPercent
	}
	return max(n, 0), max(p, 0)
}

// SourceDeleteAction returns the effective action on source deletion.
func (s Settings) SourceDeleteAction() string {
	if s.OnSourceDelete == "" {
		return OnDeleteDelete
	}
	return s.OnSourceDelete
}

// Assignment puts a user or a group of the source directory in the scope of
// an application.
type Assignment struct {
	AppID      string
	ObjectType string // TypeUser or TypeGroup
	ObjectID   string
	Display    string // userName or displayName when assigned, for listings
	// Role is the app role the assignment grants ("" for none): the users it
	// brings into scope have it, for SingleAppRoleAssignment and
	// AppRoleAssignmentsComplex.
	Role    string
	Created time.Time
}

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidName reports whether name is a valid application name.
func ValidName(name string) bool { return appName.MatchString(name) }

// ValidProfile reports whether p names a target profile.
func ValidProfile(p string) bool { return p == ProfileGeneric || p == ProfileAWS }

// ValidScope reports whether s names a scope.
func ValidScope(s string) bool { return s == ScopeAssigned || s == ScopeAll }
