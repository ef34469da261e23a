package provisioning

import (
	"context"
	"errors"
	"sync"
	"time"
)

// RunScheduler runs due cycles until ctx ends, then waits for the running
// ones to stop. Every replica may run it: the lease in the database lets one
// cycle per application run at a time; a replica that loses the race skips.
// It also prunes provisioning logs hourly.
func (s *Service) RunScheduler(ctx context.Context, tick time.Duration) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	running := map[string]bool{}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := s.Store.PruneLogs(ctx, s.Now().Add(-s.LogRetention)); err != nil && ctx.Err() == nil {
				s.Log.Error("provisioning: log retention", "err", err)
			} else if n > 0 {
				s.Log.Info("provisioning: pruned log entries", "pruned", n)
			}
		}
		due, err := s.Due(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("provisioning: scheduler", "err", err)
		}
		for _, a := range due {
			mu.Lock()
			busy := running[a.ID]
			running[a.ID] = true
			mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(running, a.ID)
					mu.Unlock()
				}()
				if _, err := s.RunCycle(ctx, a, RunOptions{Trigger: "schedule"}); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
					s.Log.Warn("provisioning: cycle failed", "application", a.Name, "err", err)
				}
			}()
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Due lists the enabled applications whose next cycle is due: never run,
// asked for (assignment change, approve-deletes, API), or past next_run
// (which quarantine stretches). Applications whose lease is held elsewhere
// are left out; one quarantined for longer than QuarantineDisableAfter is
// disabled instead.
func (s *Service) Due(ctx context.Context) ([]Application, error) {
	apps, err := s.Store.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Application
	for _, a := range apps {
		if !a.Enabled {
			continue
		}
		st, err := s.Store.State(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if st.LeaseOwner != "" && st.LeaseExpires.After(now) {
			continue
		}
		if s.quarantineExpired(a, st, now) {
			// Quarantined for longer than allowed: disable instead of
			// running (Entra disables a job after four weeks).
			if _, err := s.disableQuarantined(ctx, a, now); err != nil {
				s.Log.Error("provisioning: disabling a long-quarantined application", "application", a.Name, "err", err)
			}
			continue
		}
		if st.RunRequested || st.NextRun.IsZero() || !st.NextRun.After(now) {
			out = append(out, a)
		}
	}
	return out, nil
}
