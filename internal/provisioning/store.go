package provisioning

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// Store is the provisioning engine's persistence contract. Every backend
// passes the contract suite in package provisioning/storetest. Errors are the
// sentinels of package store, wrapped. Mutations that an administrator or the
// engine performs take the audit event describing them (nil for none) and
// write it in the same transaction.
type Store interface {
	CreateApp(ctx context.Context, a Application, ev *audit.Event) error
	GetApp(ctx context.Context, id string) (Application, error)
	GetAppByName(ctx context.Context, name string) (Application, error)
	ListApps(ctx context.Context) ([]Application, error)
	// UpdateApp reads the application, calls fn inside the transaction and
	// writes the result with Version+1.
	UpdateApp(ctx context.Context, id string, fn func(a *Application) error, ev *audit.Event) (Application, error)
	// SetAppEnabled enables or disables an application and changes its
	// state in one transaction: fn sees both as they are (under lock) and
	// may change the state; ErrSkip from fn leaves everything as it was and
	// is returned. The version goes up and modified is set to at.
	SetAppEnabled(ctx context.Context, id string, enabled bool, at time.Time, fn func(a Application, s *State) error, ev *audit.Event) (Application, error)
	// DeleteApp removes the application with its assignments, state, links,
	// cycles and logs. Nothing is sent to the target.
	DeleteApp(ctx context.Context, id string, ev *audit.Event) error

	// Assign adds an assignment; ErrAlreadyExists when the object is assigned.
	Assign(ctx context.Context, a Assignment, ev *audit.Event) error
	// Unassign removes one; ErrNotFound when the object is not assigned.
	Unassign(ctx context.Context, appID, objectID string, ev *audit.Event) error
	Assignments(ctx context.Context, appID string) ([]Assignment, error)
	// SourceUsers and SourceGroups read directory objects by id in bulk
	// (absent ids are left out): the cycle's import step.
	SourceUsers(ctx context.Context, directoryID string, ids []string) ([]directory.User, error)
	SourceGroups(ctx context.Context, directoryID string, ids []string) ([]directory.Group, error)
	// DirectoryMembers returns every membership edge of a directory, by
	// group (member ids and types, no display names): one query instead of
	// one per group when a cycle expands many groups.
	DirectoryMembers(ctx context.Context, directoryID string) (map[string][]directory.Member, error)
	// DirectoryObjectIDs lists the ids of every user and group of a directory
	// (the "all" scope) without loading the documents.
	DirectoryObjectIDs(ctx context.Context, directoryID string) (users, groups []string, err error)

	// State returns the engine state of an application (zero state for a
	// fresh one).
	State(ctx context.Context, appID string) (State, error)
	// UpdateState changes the state inside a transaction.
	UpdateState(ctx context.Context, appID string, fn func(s *State) error, ev *audit.Event) (State, error)
	// AcquireLease takes the application's cycle lease for owner until the
	// given time when nobody holds it or the holder's lease expired before
	// now; it reports whether owner holds the lease afterwards. This is the
	// single-flight guarantee across processes and replicas.
	AcquireLease(ctx context.Context, appID, owner string, now, until time.Time) (bool, error)
	// TakeLease takes the lease from a holder known to be dead (a crashed
	// process on this host) whatever its expiry; false when someone else
	// holds it by now.
	TakeLease(ctx context.Context, appID, deadOwner, owner string, until time.Time) (bool, error)
	// RenewLease extends owner's lease; false when owner lost it.
	RenewLease(ctx context.Context, appID, owner string, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, appID, owner string) error

	// Links returns every link of an application.
	Links(ctx context.Context, appID string) ([]Link, error)
	// LinkIndex returns every link without its shadow: what a cycle keeps
	// in memory to resolve member ids and detect scope changes.
	LinkIndex(ctx context.Context, appID string) ([]LinkRef, error)
	// GetLink returns one link by source id.
	GetLink(ctx context.Context, appID, sourceID string) (Link, error)
	// GetLinks returns the links of the given source ids (absent ids are
	// not in the map).
	GetLinks(ctx context.Context, appID string, sourceIDs []string) (map[string]Link, error)
	// LinkedMembers returns the source ids of the members written to the
	// target for each linked group (the membership shadow).
	LinkedMembers(ctx context.Context, appID string, groupIDs []string) (map[string][]string, error)

	// StartCycle records a running cycle.
	StartCycle(ctx context.Context, c Cycle, ev *audit.Event) error
	// SaveCycle updates a cycle's counters and progress line.
	SaveCycle(ctx context.Context, c Cycle) error
	// EndCycle records a finished cycle and the state it leaves, atomically.
	EndCycle(ctx context.Context, c Cycle, fn func(s *State) error, ev *audit.Event) error
	GetCycle(ctx context.Context, id string) (Cycle, error)
	// DeleteCycle removes a cycle record (an idle cycle superseded by another).
	DeleteCycle(ctx context.Context, id string) error
	// Cycles lists an application's cycles, newest first.
	Cycles(ctx context.Context, appID string, limit int) ([]Cycle, error)

	// Apply commits a batch of cycle results in one transaction.
	Apply(ctx context.Context, appID string, b *Batch) error
	// AddIntents journals writes before they are sent.
	AddIntents(ctx context.Context, intents []Intent) error
	// Intents lists journaled writes that never completed (a crashed cycle).
	Intents(ctx context.Context, appID string) ([]Intent, error)
	Escrows(ctx context.Context, appID string) ([]Escrow, error)
	Staged(ctx context.Context, appID string) ([]Staged, error)
	// ResetApp clears state for a restart: watermark, escrows, quarantine,
	// staged deletes and journal always; the links too when links is true.
	ResetApp(ctx context.Context, appID string, links bool, ev *audit.Event) error

	// Logs queries provisioning log entries, newest first.
	Logs(ctx context.Context, q LogQuery) ([]LogEntry, string, error)
	// PruneLogs deletes log entries and finished cycles older than before.
	PruneLogs(ctx context.Context, before time.Time) (int64, error)
}

// State is an application's engine state.
type State struct {
	AppID string
	// Watermark is the directory change sequence value up to which every
	// change has been processed.
	Watermark int64
	// SchemaVersion is the application schema version the watermark belongs
	// to; an older one forces a full cycle.
	SchemaVersion int64
	LastFull      time.Time
	NextRun       time.Time
	// RunRequested asks the scheduler for a cycle as soon as possible.
	RunRequested bool
	Quarantine   *Quarantine
	// DeletesApproved lets the next cycle send staged deletes beyond the
	// threshold (approve-deletes).
	DeletesApproved bool
	// Disabled says why the application was disabled through the engine
	// (after too long in quarantine, or paused); nil when it is enabled or
	// was disabled with app update --enabled=false before this was recorded.
	Disabled     *Disabled
	LastCycleID  string
	LeaseOwner   string
	LeaseExpires time.Time
}

// Quarantine reasons (Graph synchronizationQuarantine reasons).
const (
	QuarantineAuth       = "EncounteredQuarantineException" // the target rejects our credentials
	QuarantineFailures   = "EncounteredEscrowProportionThreshold"
	QuarantineTooMany    = "TooManyDeletes"
	QuarantineUnreachble = "TargetUnreachable"
)

// Quarantine is a broken application's circuit-breaker record.
type Quarantine struct {
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
	Since  time.Time `json:"since"` // when this reason began (Graph's currentBegan)
	// SeriesSince is when the application entered quarantine, kept when the
	// reason changes (Graph's seriesBegan): the age the automatic disable
	// after provisioning.quarantine_disable_after is measured by. Zero in
	// records written before it existed: Since stands in.
	SeriesSince time.Time `json:"seriesSince,omitzero"`
	NextAttempt time.Time `json:"nextAttempt"`
	Cycles      int       `json:"cycles"` // consecutive quarantined cycles
}

// Began is when the application entered quarantine.
func (q *Quarantine) Began() time.Time {
	if q.SeriesSince.IsZero() {
		return q.Since
	}
	return q.SeriesSince
}

// Reasons an application was disabled through the engine.
const (
	// DisabledQuarantine: quarantined for longer than
	// provisioning.quarantine_disable_after (Entra: more than four weeks).
	DisabledQuarantine = "QuarantineExpired"
	// DisabledPaused: an administrator paused it (app pause).
	DisabledPaused = "Paused"
)

// Disabled records why and when an application was disabled.
type Disabled struct {
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// Link is the link store entry of one provisioned object: the source id, the
// target id it was created as or matched to, and the attribute values last
// sent (the shadow the planner compares against).
type Link struct {
	ObjectType string
	SourceID   string
	TargetID   string
	Display    string // userName / displayName at the last write
	Origin     string // "created" or "matched"
	// Active is false once the engine disabled the object (deprovisioned).
	Active   bool
	Exported map[string]any
	Synced   time.Time
}

// LinkRef is a link without its shadow.
type LinkRef struct {
	ObjectType string
	SourceID   string
	TargetID   string
	Active     bool
}

// Link origins.
const (
	OriginCreated = "created"
	OriginMatched = "matched"
)

// MemberDelta changes a group's membership shadow (source ids).
type MemberDelta struct {
	GroupID string
	Add     []string
	Remove  []string
	Clear   bool // drop the whole shadow (the group was deleted or unlinked)
}

// Batch is a set of cycle results committed together.
type Batch struct {
	Links       []Link
	Unlink      []string // source ids
	Members     []MemberDelta
	Logs        []LogEntry
	Escrow      []Escrow
	ClearEscrow []string // source ids
	Staged      []Staged
	ClearStaged []string // source ids
	DoneIntents []string // intent ids
	Events      []*audit.Event
}

// Empty reports whether the batch holds nothing.
func (b *Batch) Empty() bool {
	return len(b.Links)+len(b.Unlink)+len(b.Members)+len(b.Logs)+len(b.Escrow)+len(b.ClearEscrow)+
		len(b.Staged)+len(b.ClearStaged)+len(b.DoneIntents)+len(b.Events) == 0
}

// Intent is a journaled write: recorded before a create or delete is sent,
// removed when its result is committed. An intent left behind by a crash
// tells the next cycle to look the object up in the target before creating
// it again.
type Intent struct {
	ID         string
	AppID      string
	CycleID    string
	ObjectType string
	SourceID   string
	Op         string // OpCreate, OpDelete
	Created    time.Time
}

// Escrow is a per-object failure waiting for its retry.
type Escrow struct {
	ObjectType  string
	SourceID    string
	Attempts    int
	FirstFailed time.Time
	NextRetry   time.Time
	Code        string
	Error       string
}

// Staged is a disable or delete held back by the deletion threshold.
type Staged struct {
	ObjectType string
	SourceID   string
	TargetID   string
	Display    string
	Action     string // ActionDisable or ActionDelete
	Reason     string
	CycleID    string
	Staged     time.Time
}

// Cycle kinds.
const (
	KindInitial     = "initial"
	KindIncremental = "incremental"
	KindFull        = "full"
	KindOnDemand    = "on-demand"
)

// Cycle statuses.
const (
	CycleRunning   = "running"
	CycleSucceeded = "succeeded"
	CycleWarnings  = "completed-with-failures"
	CycleFailed    = "failed"
	CycleStaged    = "deletes-staged"
	CycleDryRun    = "dry-run"
)

// Cycle is one run of an application.
type Cycle struct {
	ID            string
	AppID         string
	Kind          string
	Trigger       string // "schedule", "cli", "api"
	DryRun        bool
	Status        string
	Started       time.Time
	Ended         time.Time
	WatermarkFrom int64
	WatermarkTo   int64
	// Counts are "Action/Status" -> number of objects.
	Counts   map[string]int
	Requests int
	Error    string
	Progress string
}

// Log actions (Entra's provisioningAction).
const (
	ActionCreate       = "Create"
	ActionUpdate       = "Update"
	ActionDisable      = "Disable"
	ActionDelete       = "Delete"
	ActionStagedDelete = "StagedDelete"
	ActionSkip         = "Skip"
	ActionOther        = "Other" // matched and already in sync
)

// Log statuses.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
	StatusSkipped = "Skipped"
	StatusWarning = "Warning"
)

// Steps of an object's pipeline.
const (
	StepImport    = "import"
	StepScope     = "scope"
	StepMatch     = "match"
	StepAction    = "action"
	StepReference = "reference"
	StepExport    = "export"
)

// LogEntry is the provisioning log of one object in one cycle.
type LogEntry struct {
	ID             string         `json:"changeId"`
	AppID          string         `json:"appId"`
	CycleID        string         `json:"cycleId"`
	Time           time.Time      `json:"time"`
	ObjectType     string         `json:"objectType"`
	SourceID       string         `json:"sourceId"`
	SourceName     string         `json:"sourceName"`
	TargetID       string         `json:"targetId,omitempty"`
	Action         string         `json:"action"`
	Status         string         `json:"status"`
	Steps          []Step         `json:"steps"`
	Modified       []Modification `json:"modifiedProperties,omitempty"`
	Response       *Response      `json:"targetResponse,omitempty"`
	ErrorCode      string         `json:"errorCode,omitempty"`
	Reason         string         `json:"reason,omitempty"`
	Recommendation string         `json:"recommendation,omitempty"`
	DurationMS     int64          `json:"durationMs"`
}

// Step is one pipeline step of a log entry.
type Step struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Modification is one attribute change: old -> new.
type Modification struct {
	Attribute string `json:"attribute"`
	Old       any    `json:"old"`
	New       any    `json:"new"`
}

// Response is the target's answer to the failing (or last) request.
type Response struct {
	Method   string `json:"method,omitempty"`
	URL      string `json:"url,omitempty"`
	Status   int    `json:"status,omitempty"`
	ScimType string `json:"scimType,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// LogQuery selects log entries.
type LogQuery struct {
	AppID      string
	CycleID    string
	Status     string
	Source     string // source id or name (case-insensitive name match)
	Action     string
	Limit      int
	NextToken  string
	OldestTime time.Time
}
