// Package target is the provisioning engine's outbound SCIM 2.0 client: the
// requests Gatehouse sends to an application (a SCIM service provider such
// as AWS IAM Identity Center or another Gatehouse), in the shapes Entra ID's
// provisioning service sends (RFC lower-case PATCH ops, one operation per
// changed attribute, members in PATCH batches), paced by an AIMD token
// bucket, retried with jittered exponential backoff, and with every failure
// classified into a documented error code and a recommendation.
//
// The engine talks to the Operations interface; *Client implements it
// against a real target and DryRun wraps it to record writes instead of
// sending them. Test runs Entra's "Test Connection" probe and explains any
// failure. Schemas reads the target's /Schemas merged with the target
// profile's hard rules for pre-send validation.
package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Target profiles.
const (
	ProfileGeneric = "generic"
	ProfileAWS     = "aws-identity-center"
)

// Defaults for Config's zero values.
const (
	DefaultRateLimit        = 25.0 // Entra's guidance for SCIM targets: >= 25 requests/s
	DefaultBurst            = 5
	DefaultConcurrency      = 4
	DefaultMaxRetries       = 3
	DefaultMinRate          = 1.0
	DefaultRateDecrease     = 0.5
	DefaultIncreaseEvery    = 10
	DefaultBackoffBase      = 500 * time.Millisecond
	DefaultBackoffMax       = 30 * time.Second
	DefaultMaxRetryAfter    = 2 * time.Minute
	DefaultMaxMemberChanges = 100 // AWS's PatchGroup/CreateGroup limit; also the generic default
	DefaultMaxResponseBytes = 16 << 20
)

// SCIM message URNs.
const (
	ListResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	UserURN         = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	contentType     = "application/scim+json"
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	// BaseURL is the tenant URL, e.g. https://scim.us-east-1.amazonaws.com/TENANT/scim/v2.
	// A trailing slash is tolerated; a query string (Entra feature flags
	// such as ?aadOptscim062020) and a fragment are dropped.
	BaseURL string
	Token   string // bearer token; empty sends no Authorization header
	Profile string // ProfileGeneric (default) or ProfileAWS

	// Pacing. RateLimit is requests per second (default 25; negative:
	// unlimited, only Retry-After pauses). Burst is the token bucket's size
	// (default 5). Concurrency bounds requests in flight across every
	// goroutine using the client (default 4).
	RateLimit   float64
	Burst       int
	Concurrency int
	// AIMD: a 429 multiplies the rate by RateDecrease (default 0.5), never
	// below MinRate (default 1/s, capped at RateLimit); RateIncreaseEvery
	// consecutive successes (default 10) add RateIncreaseStep (default 4% of
	// RateLimit) until RateLimit is reached again.
	MinRate           float64
	RateDecrease      float64
	RateIncreaseStep  float64
	RateIncreaseEvery int

	// Retries. MaxRetries (default 3; negative: none) bounds the retries of
	// one request after 429, 5xx (not 501 or 505), timeouts and connection
	// errors; other 4xx are never retried. Backoff is exponential from
	// BackoffBase (default 500ms) to BackoffMax (default 30s) with jitter
	// (a uniformly random delay between half and all of the step). A
	// Retry-After replaces the backoff; one longer than MaxRetryAfter
	// (default 2m) is not waited for: the error is returned with
	// RetryAfter set, for the engine's escrow.
	MaxRetries    int
	BackoffBase   time.Duration
	BackoffMax    time.Duration
	MaxRetryAfter time.Duration

	// MaxMemberChanges bounds the member additions and removals in one
	// PATCH /Groups request and the members sent inline in POST /Groups
	// (default 100; the aws-identity-center profile never exceeds 100).
	MaxMemberChanges int

	// MaxResponseBytes caps a response body read (default 16 MiB).
	MaxResponseBytes int64

	// Test hooks: Now and Sleep replace the clock and the wait used by
	// pacing, Retry-After and backoff (inject both). Jitter returns a value
	// in [0,1) (default math/rand/v2).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64
}

func (c Config) withDefaults() Config {
	if c.Profile == "" {
		c.Profile = ProfileGeneric
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MinRate <= 0 {
		c.MinRate = DefaultMinRate
	}
	if c.RateLimit > 0 && c.MinRate > c.RateLimit {
		c.MinRate = c.RateLimit
	}
	if c.RateDecrease <= 0 || c.RateDecrease >= 1 {
		c.RateDecrease = DefaultRateDecrease
	}
	if c.RateIncreaseStep <= 0 {
		c.RateIncreaseStep = math.Max(c.RateLimit*0.04, 0.1)
	}
	if c.RateIncreaseEvery <= 0 {
		c.RateIncreaseEvery = DefaultIncreaseEvery
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.MaxMemberChanges <= 0 {
		c.MaxMemberChanges = DefaultMaxMemberChanges
	}
	if c.Profile == ProfileAWS && c.MaxMemberChanges > 100 {
		c.MaxMemberChanges = 100
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleepContext
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	return c
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Resource is a SCIM resource as JSON: map keys are attribute names
// (extension attributes under their schema URN).
type Resource map[string]any

// ID returns the resource's id ("" if absent).
func (r Resource) ID() string {
	s, _ := r["id"].(string)
	return s
}

// Operations is what the provisioning engine calls on a target: the reads
// it matches and checks with and the writes it provisions with. *Client
// implements it; DryRun wraps one.
type Operations interface {
	Schemas(ctx context.Context) (*SchemaInfo, error)
	FindUsers(ctx context.Context, attr, value string) ([]Resource, error)
	FindGroups(ctx context.Context, attr, value string) ([]Resource, error)
	GetUser(ctx context.Context, id string) (Resource, error)
	GetGroup(ctx context.Context, id string) (Resource, error)
	ListUsers(ctx context.Context, startIndex, count int) (Page, error)
	ListGroups(ctx context.Context, startIndex, count int) (Page, error)
	CreateUser(ctx context.Context, r Resource) (Resource, error)
	CreateGroup(ctx context.Context, r Resource) (Resource, error)
	PatchUser(ctx context.Context, id string, ops []PatchOp) error
	PatchGroup(ctx context.Context, id string, ops []PatchOp) error
	ReplaceUser(ctx context.Context, id string, r Resource) (Resource, error)
	DeleteUser(ctx context.Context, id string) error
	DeleteGroup(ctx context.Context, id string) error
	Stats() Stats
}

// Stats are the client's counters since New.
type Stats struct {
	Requests  int64   // HTTP requests sent: every attempt, batch and probe
	Retries   int64   // of which retries
	Throttled int64   // 429 responses
	Failures  int64   // operations that returned an error
	Rate      float64 // current pacing rate in requests/s (0: unlimited)
}

// Client is a SCIM 2.0 client for one target. It is safe for concurrent
// use; pacing, concurrency and Retry-After holds are shared by all callers.
type Client struct {
	cfg   Config
	base  string // scheme://host/path without trailing slash
	hc    *http.Client
	pacer *pacer
	sem   chan struct{}
	notes []string

	requests, retries, throttled, failures atomic.Int64
}

var _ Operations = (*Client)(nil)

// New validates cfg and returns a client sending through hc (nil: a default
// httpx.NewClient). The client never follows redirects: a 3xx is reported
// as PROTOCOL_REDIRECT with its Location.
func New(cfg Config, hc *http.Client) (*Client, error) {
	cfg = cfg.withDefaults()
	if cfg.Profile != ProfileGeneric && cfg.Profile != ProfileAWS {
		return nil, fmt.Errorf("target: profile %q is not one of %s, %s", cfg.Profile, ProfileGeneric, ProfileAWS)
	}
	base, notes, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = httpx.NewClient(httpx.ClientOptions{MaxResponseBytes: cfg.MaxResponseBytes})
	}
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		cfg: cfg, base: base, hc: &own, notes: notes,
		pacer: newPacer(cfg),
		sem:   make(chan struct{}, cfg.Concurrency),
	}, nil
}

// normalizeBaseURL checks the tenant URL and returns it without trailing
// slash, query or fragment, with notes on what was dropped.
func normalizeBaseURL(raw string) (string, []string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil, errors.New("target: the tenant URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("target: the tenant URL %q does not parse: %v", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", nil, fmt.Errorf("target: the tenant URL %q must start with https:// (or http://)", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", nil, fmt.Errorf("target: the tenant URL %q has no host", raw)
	}
	if u.User != nil {
		return "", nil, fmt.Errorf("target: the tenant URL must not contain credentials; give the token separately")
	}
	var notes []string
	if u.RawQuery != "" || u.ForceQuery {
		notes = append(notes, fmt.Sprintf("dropped the query string %q from the tenant URL: Entra feature flags such as aadOptscim062020 select behaviour Gatehouse always has", "?"+u.RawQuery))
		u.RawQuery, u.ForceQuery = "", false
	}
	if u.Fragment != "" {
		notes = append(notes, "dropped the fragment #"+u.Fragment+" from the tenant URL")
		u.Fragment, u.RawFragment = "", ""
	}
	if u.Scheme == "http" {
		notes = append(notes, "the tenant URL uses http: the token and user data cross the network unencrypted")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), notes, nil
}

// BaseURL is the normalised tenant URL.
func (c *Client) BaseURL() string { return c.base }

// Profile is the target profile.
func (c *Client) Profile() string { return c.cfg.Profile }

// Notes are remarks about the configuration (dropped query string, plain http).
func (c *Client) Notes() []string { return append([]string(nil), c.notes...) }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests: c.requests.Load(), Retries: c.retries.Load(), Throttled: c.throttled.Load(),
		Failures: c.failures.Load(), Rate: c.pacer.rate(),
	}
}

// request is one logical call; do may send it several times.
type request struct {
	op      string
	method  string
	path    string // under the base URL, starting with "/"
	query   string // encoded, without "?"
	body    []byte
	retries int // -1: the configured MaxRetries
}

// response is a received HTTP response with its body read.
type response struct {
	method, url string
	status      int
	header      http.Header
	contentType string
	body        []byte
}

func (c *Client) url(r *request) string {
	u := c.base + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	return u
}

// do sends r with pacing, concurrency bound and retries, and returns the
// 2xx response or an *Error.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	maxRetries := c.cfg.MaxRetries
	if r.retries >= 0 {
		maxRetries = r.retries
	}
	for attempt := 0; ; attempt++ {
		resp, sentAt, err := c.send(ctx, r)
		var e *Error
		switch {
		case err != nil:
			e = transportError(ctx, r.op, r.method, c.url(r), err)
		case resp.status >= 200 && resp.status < 300:
			c.pacer.succeeded()
			return resp, nil
		default:
			e = httpError(r.op, resp, c.cfg.Now())
		}
		e.Attempts = attempt + 1
		switch {
		case e.Status == http.StatusTooManyRequests:
			c.throttled.Add(1)
			c.pacer.throttled(sentAt, min(e.RetryAfter, c.cfg.MaxRetryAfter))
		case e.RetryAfter > 0:
			c.pacer.hold(min(e.RetryAfter, c.cfg.MaxRetryAfter))
		case e.Status > 0 && e.Status < 500:
			// The target answered promptly: not a congestion signal.
			c.pacer.succeeded()
		}
		if !e.Transient || e.Code() == CodeCanceled || attempt >= maxRetries || ctx.Err() != nil || e.RetryAfter > c.cfg.MaxRetryAfter {
			c.failures.Add(1)
			return nil, e
		}
		// With a Retry-After the pacer's hold does the waiting, for every
		// caller; otherwise back off.
		if e.RetryAfter <= 0 {
			if err := c.cfg.Sleep(ctx, c.backoff(attempt)); err != nil {
				c.failures.Add(1)
				return nil, transportError(ctx, r.op, r.method, c.url(r), err)
			}
		}
		c.retries.Add(1)
	}
}

// backoff is the delay before retry number attempt+1: exponential with
// "equal jitter" (half fixed, half random), so retries never bunch up at
// zero yet spread out.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase << min(attempt, 30)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	half := d / 2
	return half + time.Duration(c.cfg.Jitter()*float64(d-half))
}

// send sends r once: concurrency slot, pacing, request, body read.
func (c *Client) send(ctx context.Context, r *request) (*response, time.Time, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	if err := c.pacer.wait(ctx); err != nil {
		return nil, time.Time{}, err
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	u := c.url(r)
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	sentAt := c.cfg.Now()
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, sentAt, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, sentAt, err
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		return nil, sentAt, fmt.Errorf("%w: more than %d bytes", httpx.ErrResponseTooLarge, c.cfg.MaxResponseBytes)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return &response{
		method: r.method, url: u, status: resp.StatusCode, header: resp.Header,
		contentType: ct, body: data,
	}, sentAt, nil
}

// decodeObject parses a 2xx body as a JSON object, or fails with
// PROTOCOL_NOT_SCIM.
func decodeObject(op string, resp *response) (map[string]any, error) {
	if isHTML(resp.contentType, resp.body) {
		e := notSCIM(op, resp, "the response is an HTML page")
		if t := htmlTitle(resp.body); t != "" {
			e.Detail += " (" + t + ")"
		}
		return nil, e
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(resp.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, notSCIM(op, resp, "the response is not a JSON object")
	}
	normalizeNumbers(m)
	return m, nil
}

// normalizeNumbers turns json.Number into int64 where exact, else float64,
// so resources compare and re-encode predictably.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x)
		}
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

func notSCIM(op string, resp *response, detail string) *Error {
	return &Error{
		Op: op, Method: resp.method, URL: resp.url, Status: resp.status, Detail: detail,
		Body: capString(string(resp.body), maxErrorBody), code: CodeNotSCIM,
	}
}

func invalidRequest(op, detail string) *Error {
	return &Error{Op: op, Detail: detail, code: CodeInvalidRequest}
}

// MaxMemberChanges is the membership changes sent per group request.
func (c *Client) MaxMemberChanges() int { return c.cfg.MaxMemberChanges }
