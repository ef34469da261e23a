package provisioning_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// eventSpy records the audit events the engine commits with SetAppEnabled.
type eventSpy struct {
	provisioning.Store
	mu     sync.Mutex
	events []string
}

func (s *eventSpy) SetAppEnabled(ctx context.Context, id string, enabled bool, at time.Time, fn func(provisioning.Application, *provisioning.State) error, ev *audit.Event) (provisioning.Application, error) {
	a, err := s.Store.SetAppEnabled(ctx, id, enabled, at, fn, ev)
	if err == nil && ev != nil {
		s.mu.Lock()
		s.events = append(s.events, ev.EventName)
		s.mu.Unlock()
	}
	return a, err
}

func (s *eventSpy) names() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.events, ",")
}

// An application quarantined for more than provisioning.quarantine_disable_after
// (28 days by default, Entra's four weeks) is disabled — by the scheduler's
// tick or at the end of a cycle — audited as DisableApplication, notified,
// and shown by status; app start clears it, and the clock starts again.
func TestLongQuarantineDisablesTheApplication(t *testing.T) {
	w := newWorld(t)
	spy := &eventSpy{Store: w.src}
	w.prov.Store = spy
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	w.prov.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	var notes []provisioning.Notification
	w.prov.Notify = func(_ context.Context, n provisioning.Notification) { mu.Lock(); notes = append(notes, n); mu.Unlock() }
	if w.prov.QuarantineDisableAfter != 28*24*time.Hour {
		t.Fatalf("default QuarantineDisableAfter %s", w.prov.QuarantineDisableAfter)
	}
	ann := w.user("ann", "Ann", "Smith")
	w.app("aws", func(n *provisioning.NewApp) { n.Token = "wrong" })
	w.prov.Assign(ctx, "aws", provisioning.TypeUser, ann.ID, nil)
	start := clock
	if _, err := w.prov.Provision(ctx, "aws", provisioning.RunOptions{}); err == nil {
		t.Fatal("a cycle with a bad token succeeded")
	}
	st, _ := w.prov.Status(ctx, "aws", 0)
	if q := st.State.Quarantine; q == nil || !q.SeriesSince.Equal(start) {
		t.Fatalf("quarantine %+v, want it to have begun at %s", q, start)
	}

	// Four weeks minus a day: still enabled and due (daily attempts).
	advance(27 * 24 * time.Hour)
	due, err := w.prov.Due(ctx)
	if err != nil || len(due) != 1 {
		t.Fatalf("due after 27 days: %v %v", due, err)
	}
	// Past 28 days: the tick disables it instead of running it.
	advance(24*time.Hour + time.Second)
	if due, err = w.prov.Due(ctx); err != nil || len(due) != 0 {
		t.Fatalf("due after 28 days: %v %v", due, err)
	}
	st, _ = w.prov.Status(ctx, "aws", 0)
	if st.App.Enabled || st.State.Disabled == nil || st.State.Disabled.Reason != provisioning.DisabledQuarantine ||
		!strings.Contains(st.State.Disabled.Detail, "28d") || st.State.Quarantine == nil {
		t.Fatalf("after 28 days in quarantine: enabled %v, disabled %+v, quarantine %+v", st.App.Enabled, st.State.Disabled, st.State.Quarantine)
	}
	if got := spy.names(); got != "DisableApplication" {
		t.Fatalf("audit events %q", got)
	}
	mu.Lock()
	last := notes[len(notes)-1]
	mu.Unlock()
	if last.Kind != provisioning.NotifyDisabled || last.Reason != provisioning.DisabledQuarantine || !strings.Contains(last.Detail, "gatehouse app start aws") {
		t.Fatalf("notification %+v", last)
	}
	// Disabled applications are not scheduled, and not disabled twice.
	if due, _ = w.prov.Due(ctx); len(due) != 0 || spy.names() != "DisableApplication" {
		t.Fatalf("due %v, events %s", due, spy.names())
	}

	// Start: enabled, quarantine and reason cleared, a cycle requested.
	startEv := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin}}.NewEvent(audit.SourceProvisioning, "EnableApplication", false)
	if _, err := w.prov.Start(ctx, "aws", startEv); err != nil {
		t.Fatal(err)
	}
	st, _ = w.prov.Status(ctx, "aws", 0)
	if !st.App.Enabled || st.State.Disabled != nil || st.State.Quarantine != nil || !st.State.RunRequested {
		t.Fatalf("after start: %+v %+v", st.App.Enabled, st.State)
	}
	// Still failing: quarantined again, with a fresh clock.
	w.prov.Provision(ctx, "aws", provisioning.RunOptions{})
	advance(24 * time.Hour)
	if due, _ = w.prov.Due(ctx); len(due) != 1 {
		t.Fatalf("a day after start the application is not due: %v", due)
	}
	// A new reason does not restart the clock; the end of a cycle past the
	// limit disables too.
	if _, err := w.src.UpdateState(ctx, st.App.ID, func(s *provisioning.State) error {
		s.Quarantine.Reason = provisioning.QuarantineFailures
		s.Quarantine.SeriesSince = clock.Add(-30 * 24 * time.Hour)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	w.prov.Provision(ctx, "aws", provisioning.RunOptions{})
	st, _ = w.prov.Status(ctx, "aws", 0)
	if st.App.Enabled || st.State.Disabled == nil || st.State.Quarantine.Reason != provisioning.QuarantineAuth {
		t.Fatalf("after a cycle 30 days into quarantine: enabled %v %+v %+v", st.App.Enabled, st.State.Disabled, st.State.Quarantine)
	}
	if got := spy.names(); got != "DisableApplication,EnableApplication,DisableApplication" {
		t.Fatalf("audit events %q", got)
	}
}

// A limit of 0 switches automatic disabling off.
func TestQuarantineDisableOff(t *testing.T) {
	w := newWorld(t)
	clock := time.Now().UTC()
	w.prov.Now = func() time.Time { return clock }
	w.prov.QuarantineDisableAfter = 0
	w.app("aws", func(n *provisioning.NewApp) { n.Token = "wrong" })
	w.prov.Provision(ctx, "aws", provisioning.RunOptions{})
	clock = clock.Add(365 * 24 * time.Hour)
	if due, _ := w.prov.Due(ctx); len(due) != 1 {
		t.Fatalf("due: %v", due)
	}
	if st, _ := w.prov.Status(ctx, "aws", 0); !st.App.Enabled {
		t.Fatal("disabled although quarantine_disable_after is 0")
	}
}
