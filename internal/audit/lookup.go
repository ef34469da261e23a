package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Query selects events for LookupEvents, newest first. Each non-empty
// attribute must match; an empty query returns everything in the range.
type Query struct {
	EventName   string
	EventSource string
	UserName    string // the caller's user name or the name of the user acted on
	ResourceID  string
	ErrorCode   string
	Directory   string // directory id
	Start, End  time.Time
	MaxResults  int
	NextToken   string
}

// DefaultMaxResults and MaxMaxResults bound a lookup page (CloudTrail's are 50).
const (
	DefaultMaxResults = 50
	MaxMaxResults     = 1000
)

// Stored is an event as stored, with the columns verification compares.
type Stored struct {
	Seq      int64
	PrevHash string
	Hash     string
	Body     []byte
	Event    Event // decoded from Body
	// Indexed columns, which must agree with Body.
	EventName, EventSource, ResourceID, ErrorCode string
}

// Cut records where retention removed the start of the chain.
type Cut struct {
	At       time.Time
	FirstSeq int64
	PrevHash string
	Pruned   int64
}

// ChainReport is the verification result of one chain.
type ChainReport struct {
	Chain   string   `json:"chain"` // "main" or ChainReads
	Checked int64    `json:"checked"`
	Intact  bool     `json:"intact"`
	Head    *Stored  `json:"-"`
	Problem *Problem `json:"problem,omitempty"`
	Cut     *Cut     `json:"cut,omitempty"`
}

// Problem is the first inconsistency verification found.
type Problem struct {
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"` // modified, inserted, deleted
	Detail string `json:"detail"`
}

// Verifier checks a chain event by event, in ascending sequence order.
// Feed it with Next; Result reports the first problem (nil when intact).
type Verifier struct {
	chain      string
	expectSeq  int64
	expectPrev string
	checked    int64
	problem    *Problem
}

// NewVerifier starts verifying the main chain at the latest cut, or at the
// genesis.
func NewVerifier(cut *Cut) *Verifier { return NewChainVerifier("", cut) }

// NewChainVerifier verifies the named chain ("" is the main chain): every
// event must also say it belongs to that chain, so an event copied from one
// chain into the other is caught even where the hashes happen to line up.
func NewChainVerifier(chain string, cut *Cut) *Verifier {
	v := &Verifier{chain: chain, expectSeq: 1, expectPrev: GenesisHash}
	if cut != nil {
		v.expectSeq, v.expectPrev = cut.FirstSeq, cut.PrevHash
	}
	return v
}

// Next checks one stored event; it returns false once a problem is found.
func (v *Verifier) Next(s Stored) bool {
	if v.problem != nil {
		return false
	}
	fail := func(kind, format string, args ...any) bool {
		v.problem = &Problem{Seq: s.Seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		return false
	}
	switch {
	case s.Seq > v.expectSeq:
		v.problem = &Problem{Seq: v.expectSeq, Kind: "deleted", Detail: fmt.Sprintf("events %d..%d are missing from the chain", v.expectSeq, s.Seq-1)}
		return false
	case s.Seq < v.expectSeq:
		return fail("inserted", "event %d appears out of order (expected %d)", s.Seq, v.expectSeq)
	}
	ev := s.Event
	if ev.Sequence != s.Seq || ev.PreviousHash != s.PrevHash {
		return fail("modified", "event %d: its body does not carry its own sequence and previous hash", s.Seq)
	}
	if ev.Chain != v.chain {
		return fail("inserted", "event %d (%s) belongs to chain %q, not this one", s.Seq, ev.EventID, ev.Chain)
	}
	if s.PrevHash != v.expectPrev {
		return fail("inserted", "event %d (%s): previous hash does not match event %d's hash; an event was inserted, replaced or deleted here", s.Seq, ev.EventID, s.Seq-1)
	}
	hash, _, err := ChainHash(ev)
	if err != nil || hash != s.Hash {
		return fail("modified", "event %d (%s %s): content does not match its hash", s.Seq, ev.EventName, ev.EventID)
	}
	if s.EventName != ev.EventName || s.EventSource != ev.EventSource || s.ResourceID != ev.ResourceID || s.ErrorCode != ev.ErrorCode {
		return fail("modified", "event %d (%s): indexed columns differ from the hashed body", s.Seq, ev.EventID)
	}
	v.expectSeq, v.expectPrev = s.Seq+1, s.Hash
	v.checked++
	return true
}

// Result returns the number of events checked and the first problem.
func (v *Verifier) Result() (int64, *Problem) { return v.checked, v.problem }

// ParseTimeArg parses a time given as RFC 3339 ("2026-11-28T10:00:00Z"), a
// date ("2026-11-28") or an age relative to now ("90m", "36h", "7d" mean
// that long ago). Empty means unset. field names the parameter in errors.
func ParseTimeArg(field, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fault.New(fault.InvalidValue, field, "%s %q is not a time: use RFC 3339 (2026-11-28T10:00:00Z), a date (2026-11-28) or an age (90m, 36h, 7d)", field, s)
}
