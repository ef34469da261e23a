package target

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer spaces requests to one target: a token bucket whose rate follows
// AIMD (additive increase, multiplicative decrease, as TCP's congestion
// control) and a hold that stops every request until a Retry-After passes.
//
//   - A 429 multiplies the rate by Decrease (default 0.5), not below MinRate.
//     Only a request sent after the previous decrease can decrease it again,
//     so the N requests already in flight when the target starts throttling
//     count as one signal, not N halvings.
//   - A Retry-After on a 429 or 503 holds every request of the client until
//     it has passed (Entra's documented behaviour; RFC 9110 §10.2.3).
//   - IncreaseEvery consecutive successes (default 10) raise the rate by
//     IncreaseStep (default 4% of the configured rate, 1 req/s at 25), up to
//     the configured rate. Any 429 resets the count.
type pacer struct {
	mu           sync.Mutex
	lim          *rate.Limiter // nil: unlimited
	max, min     float64
	cur          float64
	decrease     float64
	step         float64
	every        int
	streak       int
	lastDecrease time.Time
	holdUntil    time.Time
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error
}

func newPacer(cfg Config) *pacer {
	p := &pacer{
		max: cfg.RateLimit, min: cfg.MinRate, cur: cfg.RateLimit,
		decrease: cfg.RateDecrease, step: cfg.RateIncreaseStep, every: cfg.RateIncreaseEvery,
		now: cfg.Now, sleep: cfg.Sleep,
	}
	if cfg.RateLimit > 0 {
		p.lim = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.Burst)
		// Start with a full bucket at the injected clock's time.
		p.lim.SetLimitAt(p.now(), rate.Limit(cfg.RateLimit))
	}
	return p
}

// wait blocks until the hold has passed and a token is available.
func (p *pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		hold := p.holdUntil
		p.mu.Unlock()
		now := p.now()
		if !now.Before(hold) {
			break
		}
		if err := p.sleep(ctx, hold.Sub(now)); err != nil {
			return err
		}
	}
	if p.lim == nil {
		return ctx.Err()
	}
	now := p.now()
	r := p.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			r.CancelAt(p.now())
			return err
		}
	}
	return nil
}

// throttled records a 429 for a request sent at sentAt.
func (p *pacer) throttled(sentAt time.Time, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.holdLocked(now, retryAfter)
	p.streak = 0
	if p.lim == nil || sentAt.Before(p.lastDecrease) {
		return
	}
	p.cur = max(p.min, p.cur*p.decrease)
	p.lim.SetLimitAt(now, rate.Limit(p.cur))
	p.lastDecrease = now
}

// hold stops every request for d (a Retry-After on a response other than 429).
func (p *pacer) hold(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdLocked(p.now(), d)
}

func (p *pacer) holdLocked(now time.Time, d time.Duration) {
	if d <= 0 {
		return
	}
	if until := now.Add(d); until.After(p.holdUntil) {
		p.holdUntil = until
	}
}

// succeeded records a response that was not a 429.
func (p *pacer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim == nil || p.cur >= p.max {
		return
	}
	p.streak++
	if p.streak < p.every {
		return
	}
	p.streak = 0
	p.cur = min(p.max, p.cur+p.step)
	p.lim.SetLimitAt(p.now(), rate.Limit(p.cur))
}

// rate is the current pacing rate in requests per second (0: unlimited).
func (p *pacer) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim == nil {
		return 0
	}
	return p.cur
}
