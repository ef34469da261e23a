package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/seal"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Service is the provisioning engine: application administration, cycles
// and the scheduler. Dependencies are fields so tests control them.
type Service struct {
	Store Store
	Dir   *directory.Service
	// Key returns the secrets key that seals target tokens; it may create
	// one on first use (SQLite) or fail with an explanation (PostgreSQL
	// without secrets.key_file).
	Key func() (*seal.Key, error)
	// HTTP is the guarded outbound client for targets (httpx.NewClient).
	HTTP *http.Client
	// NewTarget builds the client for an application; nil uses target.New.
	NewTarget func(cfg target.Config, hc *http.Client) (target.Operations, error)
	Log       *slog.Logger
	Now       func() time.Time
	NewID     func() string

	DefaultInterval time.Duration
	MinInterval     time.Duration
	FullSyncEvery   time.Duration
	LeaseTTL        time.Duration
	LogRetention    time.Duration
	// QuarantineDisableAfter disables an application quarantined for
	// longer (0: never).
	QuarantineDisableAfter time.Duration
	// Notify delivers quarantine and staged-delete notifications (webhook);
	// nil drops them (they are still audited and logged).
	Notify func(ctx context.Context, n Notification)
	// Owner identifies this process as a lease holder.
	Owner string

	schemaCache sync.Map // application -> cachedSchema
}

// NewService returns a Service with the real clock, UUID v7 ids and the
// default timings; callers set Store, Dir, Key, HTTP and Log.
func NewService() *Service {
	host, _ := os.Hostname()
	return &Service{
		Now:                    time.Now,
		NewID:                  func() string { return uuid.Must(uuid.NewV7()).String() },
		DefaultInterval:        5 * time.Minute,
		MinInterval:            time.Second,
		FullSyncEvery:          24 * time.Hour,
		LeaseTTL:               2 * time.Minute,
		LogRetention:           30 * 24 * time.Hour,
		QuarantineDisableAfter: DefaultQuarantineDisableAfter,
		Owner:                  fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8]),
		Log:                    slog.New(slog.DiscardHandler),
	}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// NewApp is what creating an application takes.
type NewApp struct {
	Name          string
	Directory     string // source directory name
	TargetURL     string
	Token         string
	TargetProfile string
	Scope         string
	Interval      time.Duration
	Settings      Settings
}

// CreateApp creates an application with the default mappings for its target
// profile. The token is sealed before it is stored; nothing is sent to the
// target (app test does that).
func (s *Service) CreateApp(ctx context.Context, n NewApp, ev *audit.Event) (Application, error) {
	if !ValidName(n.Name) {
		return Application{}, fault.New(fault.InvalidValue, "name", "application name %q must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", n.Name)
	}
	if n.TargetProfile == "" {
		n.TargetProfile = ProfileGeneric
	}
	if n.Scope == "" {
		n.Scope = ScopeAssigned
	}
	if n.Interval == 0 {
		n.Interval = s.DefaultInterval
	}
	d, err := s.Dir.Directory(ctx, n.Directory)
	if err != nil {
		return Application{}, err
	}
	now := s.now()
	a := Application{
		ID: s.NewID(), Name: n.Name, DirectoryID: d.ID, TargetURL: strings.TrimSpace(n.TargetURL), TargetProfile: n.TargetProfile,
		Scope: n.Scope, Interval: n.Interval, Enabled: true, Settings: n.Settings, Schema: DefaultSchema(n.TargetProfile),
		SchemaVersion: 1, Version: 1, Created: now, Modified: now,
	}
	if err := s.validate(a); err != nil {
		return Application{}, err
	}
	if a.SealedToken, err = s.sealToken(a.ID, n.Token); err != nil {
		return Application{}, err
	}
	ev = fillEvent(ev, a)
	if ev != nil {
		ev.SetParameters(map[string]any{"name": a.Name, "directory": d.Name, "targetUrl": a.TargetURL, "targetProfile": a.TargetProfile,
			"scope": a.Scope, "interval": a.Interval.String()})
	}
	if err := s.Store.CreateApp(ctx, a, ev); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return Application{}, fault.New(fault.Uniqueness, "name", "an application named %q already exists", a.Name)
		}
		return Application{}, err
	}
	return a, nil
}

// validate checks an application's fields (not its token).
func (s *Service) validate(a Application) error {
	if !ValidProfile(a.TargetProfile) {
		return fault.New(fault.InvalidValue, "targetProfile", "target profile %q is not one of %s, %s", a.TargetProfile, ProfileGeneric, ProfileAWS)
	}
	if !ValidScope(a.Scope) {
		return fault.New(fault.InvalidValue, "scope", "scope %q is not one of %s, %s", a.Scope, ScopeAssigned, ScopeAll)
	}
	if a.Interval < s.MinInterval {
		return fault.New(fault.InvalidValue, "interval", "interval %s is shorter than the minimum %s (provisioning.min_interval)", a.Interval, s.MinInterval)
	}
	if _, err := target.New(target.Config{BaseURL: a.TargetURL, Profile: a.TargetProfile}, s.HTTP); err != nil {
		return fault.New(fault.InvalidValue, "targetUrl", "%s", strings.TrimPrefix(err.Error(), "target: "))
	}
	st := a.Settings
	switch st.OnSourceDelete {
	case "", OnDeleteDelete, OnDeleteDisable, OnDeleteNone:
	default:
		return fault.New(fault.InvalidValue, "onSourceDelete", "on-source-delete %q is not one of delete, disable, none", st.OnSourceDelete)
	}
	if st.DeleteThreshold < -1 || st.DeleteThresholdPercent < -1 || st.DeleteThresholdPercent > 100 {
		return fault.New(fault.InvalidValue, "deleteThreshold", "deletion thresholds must be -1 (off), 0 (default) or positive, and a percentage at most 100")
	}
	if st.RateLimit < -1 || st.Concurrency < 0 || st.Concurrency > 64 {
		return fault.New(fault.InvalidValue, "rateLimit", "rate limit must be -1 (unlimited), 0 (default) or positive, and concurrency between 0 (default) and 64")
	}
	if _, err := CompileSchema(a.Schema, nil); err != nil {
		return err
	}
	return nil
}

func (s *Service) sealToken(appID, token string) (string, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fault.New(fault.InvalidValue, "token", "the target token is empty")
	}
	if len(token) > 8192 {
		return "", fault.New(fault.InvalidValue, "token", "the target token is %d bytes; the limit is 8192", len(token))
	}
	k, err := s.Key()
	if err != nil {
		return "", err
	}
	return k.Seal(token, appID)
}

// App finds an application by name (or id).
func (s *Service) App(ctx context.Context, name string) (Application, error) {
	a, err := s.Store.GetAppByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		a, err = s.Store.GetApp(ctx, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return a, fault.New(fault.NotFound, "application", "application %q does not exist", name)
	}
	return a, err
}

// Directory returns an application's source directory.
func (s *Service) Directory(ctx context.Context, a Application) (directory.Directory, error) {
	return s.Dir.Store.GetDirectory(ctx, a.DirectoryID)
}

// Update describes a change to an application; nil fields stay as they are.
type Update struct {
	TargetURL     *string
	Token         *string
	TargetProfile *string
	Scope         *string
	Interval      *time.Duration
	Enabled       *bool
	Settings      func(*Settings)
	Schema        *Schema
}

// UpdateApp changes an application. A change of scope, mappings or scoping
// filters bumps the schema version: the next cycle re-evaluates everything.
func (s *Service) UpdateApp(ctx context.Context, name string, u Update, ev *audit.Event) (Application, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, err
	}
	params := map[string]any{"application": a.Name}
	var sealed string
	if u.Token != nil {
		if sealed, err = s.sealToken(a.ID, *u.Token); err != nil {
			return a, err
		}
		params["token"] = "(changed)"
	}
	if u.TargetURL != nil {
		params["targetUrl"] = strings.TrimSpace(*u.TargetURL)
	}
	if u.TargetProfile != nil {
		params["targetProfile"] = *u.TargetProfile
	}
	if u.Scope != nil {
		params["scope"] = *u.Scope
	}
	if u.Interval != nil {
		params["interval"] = u.Interval.String()
	}
	if u.Enabled != nil {
		params["enabled"] = *u.Enabled
	}
	if u.Settings != nil {
		st := a.Settings
		u.Settings(&st)
		params["settings"] = st
	}
	if u.Schema != nil {
		params["schema"] = "(replaced)"
	}
	out, err := s.Store.UpdateApp(ctx, a.ID, func(a *Application) error {
		before, _ := json.Marshal(struct {
			S  Schema
			Sc string
		}{a.Schema, a.Scope})
		if u.TargetURL != nil {
			a.TargetURL = strings.TrimSpace(*u.TargetURL)
		}
		if sealed != "" {
			a.SealedToken = sealed
		}
		if u.TargetProfile != nil {
			a.TargetProfile = *u.TargetProfile
		}
		if u.Scope != nil {
			a.Scope = *u.Scope
		}
		if u.Interval != nil {
			a.Interval = *u.Interval
		}
		if u.Enabled != nil {
			a.Enabled = *u.Enabled
		}
		if u.Settings != nil {
			u.Settings(&a.Settings)
		}
		if u.Schema != nil {
			a.Schema = *u.Schema
		}
		if err := s.validate(*a); err != nil {
			return err
		}
		after, _ := json.Marshal(struct {
			S  Schema
			Sc string
		}{a.Schema, a.Scope})
		if string(before) != string(after) {
			a.SchemaVersion++
		}
		a.Modified = s.now()
		return nil
	}, withParams(fillEvent(ev, a), params))
	if err == nil && u.Enabled != nil && *u.Enabled != a.Enabled {
		// Enabling is Start: the quarantine and the reason it was disabled go
		// (else an application disabled after weeks in quarantine would be
		// disabled again by its first cycle). Disabling records who did it.
		now := s.now()
		_, _ = s.Store.UpdateState(ctx, out.ID, func(st *State) error {
			if *u.Enabled {
				st.Disabled, st.Quarantine, st.RunRequested = nil, nil, true
			} else {
				st.Disabled = &Disabled{Reason: DisabledPaused, Detail: "disabled by an administrator (app update --enabled=false)", At: now}
			}
			return nil
		}, nil)
	}
	if err == nil && u.Interval != nil {
		// A shorter interval takes effect now, not after the old one.
		next := s.now().Add(out.Interval)
		_, _ = s.Store.UpdateState(ctx, out.ID, func(st *State) error {
			if st.NextRun.IsZero() || st.NextRun.After(next) {
				st.NextRun = next
			}
			return nil
		}, nil)
	}
	return out, err
}

// DeleteApp deletes an application and its state. Nothing is removed from
// the target.
func (s *Service) DeleteApp(ctx context.Context, name string, ev *audit.Event) error {
	a, err := s.App(ctx, name)
	if err != nil {
		return err
	}
	return s.Store.DeleteApp(ctx, a.ID, fillEvent(ev, a))
}

// Assign puts a user or group (by id, userName or displayName) in the
// application's scope.
func (s *Service) Assign(ctx context.Context, name, objectType, ref string, ev *audit.Event) (Assignment, error) {
	return s.AssignWithRole(ctx, name, objectType, ref, "", ev)
}

// MaxRoleLength bounds an app role name.
const MaxRoleLength = 128

// AssignWithRole is Assign with an app role ("" for none): the users the
// assignment brings into scope have the role (SingleAppRoleAssignment,
// AppRoleAssignmentsComplex). An object is assigned once; to change its
// role, unassign it and assign it again.
func (s *Service) AssignWithRole(ctx context.Context, name, objectType, ref, role string, ev *audit.Event) (Assignment, error) {
	role = strings.TrimSpace(role)
	if err := validRole(role); err != nil {
		return Assignment{}, err
	}
	a, err := s.App(ctx, name)
	if err != nil {
		return Assignment{}, err
	}
	d, err := s.Directory(ctx, a)
	if err != nil {
		return Assignment{}, err
	}
	id, display, err := s.resolveObject(ctx, d, objectType, ref)
	if err != nil {
		return Assignment{}, err
	}
	as := Assignment{AppID: a.ID, ObjectType: objectType, ObjectID: id, Display: display, Role: role, Created: s.now()}
	ev = fillEvent(ev, a)
	if ev != nil {
		params := map[string]any{"application": a.Name, "principalType": objectType, "principalId": id, "principalName": display}
		if role != "" {
			params["role"] = role
		}
		ev.SetParameters(params)
	}
	if err := s.Store.Assign(ctx, as, ev); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return as, fault.New(fault.Uniqueness, strings.ToLower(objectType), "%s %q is already assigned to application %q (to change its role, unassign it and assign it again)", strings.ToLower(objectType), display, a.Name)
		}
		return as, err
	}
	s.requestRun(ctx, a.ID, role != "")
	return as, nil
}

// validRole checks an app role name: printable, at most MaxRoleLength.
func validRole(role string) error {
	if len(role) > MaxRoleLength {
		return fault.New(fault.InvalidValue, "role", "the role name is %d bytes; the limit is %d", len(role), MaxRoleLength)
	}
	for _, r := range role {
		if r < 0x20 || r == 0x7f {
			return fault.New(fault.InvalidValue, "role", "the role name contains a control character")
		}
	}
	return nil
}

// Unassign removes an assignment. The next cycle disables the objects that
// leave the scope (unless skip-out-of-scope-deletions is set).
func (s *Service) Unassign(ctx context.Context, name, objectType, ref string, ev *audit.Event) (Assignment, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return Assignment{}, err
	}
	as := Assignment{AppID: a.ID, ObjectType: objectType, ObjectID: ref, Display: ref}
	list, err := s.Store.Assignments(ctx, a.ID)
	if err != nil {
		return as, err
	}
	found := false
	for _, x := range list {
		if x.ObjectType == objectType && (x.ObjectID == ref || strings.EqualFold(x.Display, ref)) {
			as, found = x, true
			break
		}
	}
	if !found {
		return as, fault.New(fault.NotFound, strings.ToLower(objectType), "%s %q is not assigned to application %q", strings.ToLower(objectType), ref, a.Name)
	}
	ev = fillEvent(ev, a)
	if ev != nil {
		params := map[string]any{"application": a.Name, "principalType": objectType, "principalId": as.ObjectID, "principalName": as.Display}
		if as.Role != "" {
			params["role"] = as.Role
		}
		ev.SetParameters(params)
	}
	if err := s.Store.Unassign(ctx, a.ID, as.ObjectID, ev); err != nil {
		return as, err
	}
	s.requestRun(ctx, a.ID, as.Role != "")
	return as, nil
}

// requestRun asks the scheduler for a cycle soon (best effort). reevaluate
// makes that cycle a full one: a change of app roles changes mapped values
// of objects whose directory entries did not change, which an incremental
// cycle (driven by the directory's change sequence) would not look at.
func (s *Service) requestRun(ctx context.Context, appID string, reevaluate bool) {
	_, _ = s.Store.UpdateState(ctx, appID, func(st *State) error {
		st.RunRequested = true
		if reevaluate {
			st.SchemaVersion = 0
		}
		return nil
	}, nil)
}

// resolveObject finds a user by id or userName, or a group by id or displayName.
func (s *Service) resolveObject(ctx context.Context, d directory.Directory, objectType, ref string) (id, display string, err error) {
	switch objectType {
	case TypeUser:
		u, err := s.Dir.GetUser(ctx, d, ref)
		if err == nil {
			return u.ID, u.UserName, nil
		}
		if !fault.Is(err, fault.NotFound) {
			return "", "", err
		}
		q, _ := json.Marshal(ref)
		f, err := filter.Parse(schema.UserResource, "userName eq "+string(q))
		if err != nil {
			return "", "", err
		}
		page, err := s.Dir.ListUsers(ctx, d, directory.Query{Filter: f, Count: 1})
		if err != nil {
			return "", "", err
		}
		if len(page.Items) == 0 {
			return "", "", fault.New(fault.NotFound, "user", "no user with id or userName %q in directory %q", ref, d.Name)
		}
		return page.Items[0].ID, page.Items[0].UserName, nil
	case TypeGroup:
		g, err := s.Dir.GetGroup(ctx, d, ref)
		if err == nil {
			return g.ID, g.DisplayName, nil
		}
		if !fault.Is(err, fault.NotFound) {
			return "", "", err
		}
		q, _ := json.Marshal(ref)
		f, err := filter.Parse(schema.GroupResource, "displayName eq "+string(q))
		if err != nil {
			return "", "", err
		}
		page, err := s.Dir.ListGroups(ctx, d, directory.Query{Filter: f, Count: 1})
		if err != nil {
			return "", "", err
		}
		if len(page.Items) == 0 {
			return "", "", fault.New(fault.NotFound, "group", "no group with id or displayName %q in directory %q", ref, d.Name)
		}
		return page.Items[0].ID, page.Items[0].DisplayName, nil
	}
	return "", "", fault.New(fault.InvalidValue, "type", "object type %q is not User or Group", objectType)
}

// Token opens an application's sealed target token.
func (s *Service) Token(a Application) (string, error) {
	k, err := s.Key()
	if err != nil {
		return "", err
	}
	tok, err := k.Open(a.SealedToken, a.ID)
	if err != nil {
		return "", fmt.Errorf("application %s: the target token cannot be opened: %w (was secrets.key_file changed? set the token again with gatehouse app update %s --token-file FILE)", a.Name, err, a.Name)
	}
	return tok, nil
}

// Target returns a client for an application's target.
func (s *Service) Target(a Application) (target.Operations, error) {
	tok, err := s.Token(a)
	if err != nil {
		return nil, err
	}
	cfg := target.Config{BaseURL: a.TargetURL, Token: tok, Profile: a.TargetProfile, RateLimit: a.Settings.RateLimit, Concurrency: a.Settings.Concurrency}
	if s.NewTarget != nil {
		return s.NewTarget(cfg, s.HTTP)
	}
	return target.New(cfg, s.HTTP)
}

// Test runs Test Connection against an application's target and audits it.
func (s *Service) Test(ctx context.Context, name string, ev *audit.Event) (target.Diagnosis, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return target.Diagnosis{}, err
	}
	tok, err := s.Token(a)
	if err != nil {
		return target.Diagnosis{}, err
	}
	c, err := target.New(target.Config{BaseURL: a.TargetURL, Token: tok, Profile: a.TargetProfile}, s.HTTP)
	if err != nil {
		return target.Diagnosis{}, err
	}
	d := c.Test(ctx)
	if ev != nil {
		fillEvent(ev, a)
		ev.SetParameters(map[string]any{"application": a.Name, "targetUrl": a.TargetURL})
		ev.SetResponse(map[string]any{"ok": d.OK, "code": d.Code, "summary": d.Summary})
		if !d.OK {
			ev.ErrorCode, ev.ErrorMessage = d.Code, d.Summary
		}
	}
	return d, nil
}

// fillEvent completes an audit event with the application it concerns.
func fillEvent(ev *audit.Event, a Application) *audit.Event {
	if ev == nil {
		return nil
	}
	if ev.Directory == "" {
		ev.Directory = a.DirectoryID
	}
	if ev.ResourceID == "" {
		ev.ResourceID = a.ID
	}
	if ev.ResourceName == "" {
		ev.ResourceName = a.Name
	}
	return ev
}

func withParams(ev *audit.Event, params map[string]any) *audit.Event {
	if ev != nil {
		ev.SetParameters(params)
	}
	return ev
}
