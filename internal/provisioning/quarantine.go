package provisioning

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// DefaultQuarantineDisableAfter is how long an application may stay in
// quarantine before the engine disables it: Entra disables a provisioning
// job that has been in quarantine for more than four weeks.
const DefaultQuarantineDisableAfter = 28 * 24 * time.Hour

// ErrSkip is returned by a Store.SetAppEnabled callback that finds nothing
// to do (another process got there first); the transaction changes nothing.
var ErrSkip = errors.New("nothing to change")

// quarantineExpired reports whether a quarantined application has been in
// quarantine longer than the configured limit at now.
func (s *Service) quarantineExpired(a Application, st State, now time.Time) bool {
	q := st.Quarantine
	return a.Enabled && q != nil && s.QuarantineDisableAfter > 0 && now.Sub(q.Began()) > s.QuarantineDisableAfter
}

// disableQuarantined disables an application that has been quarantined
// for longer than QuarantineDisableAfter (checked again inside the
// transaction, so two replicas cannot both do it), audits it as
// DisableApplication and notifies. The quarantine record stays: it is the
// reason. It reports whether this call disabled the application.
func (s *Service) disableQuarantined(ctx context.Context, a Application, now time.Time) (bool, error) {
	var q Quarantine
	ev := systemEvent(a, "DisableApplication")
	var d Disabled
	_, err := s.Store.SetAppEnabled(ctx, a.ID, false, now, func(cur Application, st *State) error {
		if !s.quarantineExpired(cur, *st, now) {
			return ErrSkip
		}
		q = *st.Quarantine
		d = Disabled{Reason: DisabledQuarantine, At: now,
			Detail: fmt.Sprintf("in quarantine since %s (%s), longer than %s (provisioning.quarantine_disable_after): %s",
				q.Began().Format(time.RFC3339), q.Reason, durationText(s.QuarantineDisableAfter), q.Detail)}
		st.Disabled = &d
		st.RunRequested = false
		ev.SetParameters(map[string]any{"reason": d.Reason, "quarantineReason": q.Reason, "quarantinedSince": q.Began(),
			"disableAfter": durationText(s.QuarantineDisableAfter), "detail": q.Detail})
		return nil
	}, ev)
	if errors.Is(err, ErrSkip) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.notify(ctx, Notification{Kind: NotifyDisabled, Application: a.Name, AppID: a.ID, Reason: DisabledQuarantine, Detail: d.Detail + "; start it again with gatehouse app start " + a.Name, Time: now})
	return true, nil
}

// systemEvent starts an audit event the engine itself records about a.
func systemEvent(a Application, name string) *audit.Event {
	ev := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentitySystem, PrincipalID: "provisioning"}}.NewEvent(audit.SourceProvisioning, name, false)
	ev.Directory, ev.ResourceID, ev.ResourceName = a.DirectoryID, a.ID, a.Name
	return ev
}

// Start enables an application (Entra's Start): it clears the quarantine
// and the record of why it was disabled, and asks for a cycle now. The
// watermark, links and escrows stay; use provision --restart to clear them.
func (s *Service) Start(ctx context.Context, name string, ev *audit.Event) (Application, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, err
	}
	ev = fillEvent(ev, a)
	return s.Store.SetAppEnabled(ctx, a.ID, true, s.now(), func(_ Application, st *State) error {
		if ev != nil {
			params := map[string]any{"application": a.Name, "wasEnabled": a.Enabled}
			if st.Disabled != nil {
				params["disabledReason"] = st.Disabled.Reason
			}
			if st.Quarantine != nil {
				params["quarantineCleared"] = st.Quarantine.Reason
			}
			ev.SetParameters(params)
		}
		st.Disabled, st.Quarantine, st.RunRequested = nil, nil, true
		return nil
	}, ev)
}

// Pause disables an application (Entra's Pause): the scheduler runs no
// cycle until Start; state is kept, so it resumes where it left off.
func (s *Service) Pause(ctx context.Context, name string, ev *audit.Event) (Application, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, err
	}
	ev = fillEvent(ev, a)
	now := s.now()
	return s.Store.SetAppEnabled(ctx, a.ID, false, now, func(cur Application, st *State) error {
		if ev != nil {
			ev.SetParameters(map[string]any{"application": a.Name, "wasEnabled": cur.Enabled})
		}
		if !cur.Enabled {
			return nil // already disabled: keep the reason it has
		}
		st.Disabled = &Disabled{Reason: DisabledPaused, Detail: "paused by an administrator", At: now}
		return nil
	}, ev)
}

// durationText renders whole days as "28d", the way the configuration
// writes them.
func durationText(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
