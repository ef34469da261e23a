package target

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

func TestThrottlingHonoursRetryAfterAndAdaptsRate(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock)
	c := newTestClient(t, f.URL(), clock, nil, nil)
	// Retry-After as delay-seconds, then as an HTTP date 5 s ahead on the
	// injected clock, then success.
	f.push(
		reply(429, scimError(429, "", "Too many requests were made that exceed the limits."), "Retry-After", "3"),
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", clock.Now().Add(5*time.Second).UTC().Format(http.TimeFormat))
			writeSCIM(w, 429, `{"schema":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Rate exceeded","status":"429"}`)
		},
	)
	if _, err := c.GetUser(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3", len(calls))
	}
	if d := calls[1].At.Sub(calls[0].At); d < 3*time.Second {
		t.Errorf("second request %v after the first, before Retry-After 3s", d)
	}
	if d := calls[2].At.Sub(calls[1].At); d < 5*time.Second {
		t.Errorf("third request %v after the second, before the Retry-After date (5s)", d)
	}
	st := c.Stats()
	if st.Throttled != 2 || st.Retries != 2 || st.Requests != 3 {
		t.Errorf("stats %+v, want 2 throttled, 2 retries, 3 requests", st)
	}
	if st.Rate != DefaultRateLimit/4 {
		t.Errorf("rate after two 429s = %v, want %v (halved twice)", st.Rate, DefaultRateLimit/4)
	}

	// Recovery: +1 req/s (4% of 25) per 10 successes, back to 25.
	start := clock.Now()
	n := 0
	for c.Stats().Rate < DefaultRateLimit {
		if _, err := c.GetUser(context.Background(), "u1"); err != nil {
			t.Fatal(err)
		}
		if n++; n > 500 {
			t.Fatalf("rate stuck at %v", c.Stats().Rate)
		}
	}
	if n < 150 || n > 200 {
		t.Errorf("recovered after %d successes; AIMD should need about 190", n)
	}
	// The limiter spaced those requests: n requests at <= 25/s take at
	// least (n - burst) / 25 seconds of (injected) time.
	if elapsed, min := clock.Now().Sub(start), time.Duration(float64(n-DefaultBurst)/DefaultRateLimit*float64(time.Second)); elapsed < min {
		t.Errorf("%d requests in %v of clock time; pacing at <= 25/s needs >= %v", n, elapsed, min)
	}
}

func TestRetryAfterHoldsEveryCaller(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, reply(429, scimError(429, "", "slow down"), "Retry-After", "10"))
	c := newTestClient(t, f.URL(), clock, func(c *Config) { c.MaxRetries = -1 }, nil)
	_, err := c.GetUser(context.Background(), "a")
	e := mustError(t, err)
	if e.Code() != CodeThrottled || !e.Transient || e.RetryAfter != 10*time.Second || !errors.Is(err, ErrThrottled) {
		t.Fatalf("error %v: code %s transient %v retryAfter %v", e, e.Code(), e.Transient, e.RetryAfter)
	}
	// Another operation does not reach the target before the hold ends.
	if _, err := c.FindUsers(context.Background(), "userName", "b"); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if d := calls[1].At.Sub(calls[0].At); d < 10*time.Second {
		t.Fatalf("next request %v after the 429, before its Retry-After (10s)", d)
	}
}

func TestRetryAfterLongerThanMaxIsReturned(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, reply(429, scimError(429, "", "quota"), "Retry-After", "3600"))
	c := newTestClient(t, f.URL(), clock, nil, nil)
	_, err := c.GetUser(context.Background(), "a")
	e := mustError(t, err)
	if e.RetryAfter != time.Hour || len(f.Calls()) != 1 {
		t.Fatalf("retryAfter %v after %d requests; want 1h returned at once", e.RetryAfter, len(f.Calls()))
	}
}

func TestServerErrorsRetriedWithBackoff(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock,
		reply(500, scimError(500, "", "internal")),
		reply(502, "<html><title>Bad Gateway</title></html>", "Content-Type", "text/html"),
		reply(503, scimError(503, "", "unavailable")),
	)
	c := newTestClient(t, f.URL(), clock, nil, nil)
	u, err := c.CreateUser(context.Background(), Resource{"userName": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID() == "" || len(f.Calls()) != 4 {
		t.Fatalf("created %v after %d requests", u, len(f.Calls()))
	}
	// Equal jitter with Jitter()=0.5: 3/4 of 0.5s, 1s, 2s.
	want := []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond}
	got := clock.Sleeps()
	if len(got) != len(want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("backoff %d = %v, want %v", i, got[i], want[i])
		}
	}
	if c.Stats().Rate != DefaultRateLimit {
		t.Errorf("5xx changed the rate to %v", c.Stats().Rate)
	}
}

func TestBackoffBounds(t *testing.T) {
	c := &Client{cfg: Config{BackoffBase: time.Second, BackoffMax: 8 * time.Second}}
	for _, j := range []float64{0, 0.999} {
		c.cfg.Jitter = func() float64 { return j }
		for attempt, step := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second} {
			d := c.backoff(attempt)
			if d < step/2 || d > step {
				t.Errorf("jitter %v attempt %d: %v outside [%v, %v]", j, attempt, d, step/2, step)
			}
		}
	}
	c.cfg.Jitter = func() float64 { return 0.5 }
	if d := c.backoff(100); d <= 0 || d > 8*time.Second {
		t.Errorf("backoff(100) = %v: overflow", d)
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock)
	for range 10 {
		f.push(reply(500, scimError(500, "", "database unavailable")))
	}
	c := newTestClient(t, f.URL(), clock, nil, nil)
	err := c.PatchUser(context.Background(), "u1", []PatchOp{Replace("displayName", "B")})
	e := mustError(t, err)
	if e.Code() != CodeServerError || !e.Transient || e.Attempts != 4 || e.Detail != "database unavailable" {
		t.Fatalf("error %v: code %s transient %v attempts %d", e, e.Code(), e.Transient, e.Attempts)
	}
	if n := len(f.Calls()); n != 4 {
		t.Fatalf("%d requests, want 1 + MaxRetries 3", n)
	}
	if st := c.Stats(); st.Failures != 1 || st.Retries != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	cases := []struct {
		status   int
		body     string
		code     string
		sentinel error
	}{
		{400, scimError(400, "invalidValue", "name.givenName is required"), CodeInvalidValue, nil},
		{401, scimError(401, "", "token expired"), CodeUnauthorized, ErrUnauthorized},
		{403, scimError(403, "", "forbidden"), CodeForbidden, ErrUnauthorized},
		{404, scimError(404, "", "User u1 not found"), CodeNotFound, ErrNotFound},
		{409, scimError(409, "uniqueness", "userName bob is taken"), CodeUniqueness, ErrConflict},
		{409, `{"schema":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Duplicate GroupDisplayName","status":"409"}`, CodeUniqueness, ErrConflict},
		{412, scimError(412, "", "version mismatch"), CodePrecondition, nil},
		{501, scimError(501, "", "PUT is not supported"), CodeNotImplemented, nil},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			clock := newFakeClock()
			f := newFake(t, clock, reply(tc.status, tc.body))
			c := newTestClient(t, f.URL(), clock, nil, nil)
			_, err := c.CreateUser(context.Background(), Resource{"userName": "bob"})
			e := mustError(t, err)
			if e.Code() != tc.code || e.Status != tc.status || e.Transient {
				t.Errorf("code %s status %d transient %v, want %s %d false", e.Code(), e.Status, e.Transient, tc.code, tc.status)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if e.Detail == "" || e.Recommendation() == "" {
				t.Errorf("detail %q, recommendation %q", e.Detail, e.Recommendation())
			}
			if n := len(f.Calls()); n != 1 {
				t.Errorf("%d requests; a %d must not be retried", n, tc.status)
			}
		})
	}
}

func TestAWSErrorBodyVariant(t *testing.T) {
	const body = `{"schema":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Request is unparsable, syntactically incorrect, or violates schema.","status":"400","exceptionRequestId":"8e4c2f3a-1111-2222-3333-444455556666","timeStamp":"2026-11-28 12:00:00.000"}`
	clock := newFakeClock()
	f := newFake(t, clock, reply(400, body, "Content-Type", "application/json", "x-amzn-RequestId", "hdr-id"))
	c := newTestClient(t, f.URL(), clock, func(c *Config) { c.Profile = ProfileAWS }, nil)
	_, err := c.CreateUser(context.Background(), Resource{"userName": "bob"})
	e := mustError(t, err)
	if e.Detail != "Request is unparsable, syntactically incorrect, or violates schema." {
		t.Errorf("detail %q", e.Detail)
	}
	if e.Code() != CodeBadRequest || e.RequestID != "8e4c2f3a-1111-2222-3333-444455556666" {
		t.Errorf("code %s request id %q", e.Code(), e.RequestID)
	}
	if !strings.Contains(e.Recommendation(), "name.givenName") {
		t.Errorf("recommendation does not explain AWS's generic message: %q", e.Recommendation())
	}
	if !strings.Contains(e.Body, "exceptionRequestId") {
		t.Errorf("body not kept: %q", e.Body)
	}
}

func TestErrorBodyVariants(t *testing.T) {
	now := time.Now()
	cases := []struct{ body, detail, scimType string }{
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"mutability","detail":"id is readOnly","status":400}`, "id is readOnly", "mutability"},
		{`{"Errors":[{"description":"SCIM 1.1 says no","code":"400"}]}`, "SCIM 1.1 says no", ""},
		{`{"message":"validation failed"}`, "validation failed", ""},
		{`{"type":"about:blank","title":"Bad Request","status":400}`, "Bad Request", ""},
		{`plain text reason`, "plain text reason", ""},
		{`<!DOCTYPE html><html><head><title> Sign in </title></head></html>`, "HTML page: Sign in", ""},
	}
	for _, tc := range cases {
		e := httpError("Op", &response{status: 400, header: http.Header{}, body: []byte(tc.body)}, now)
		if e.Detail != tc.detail || e.ScimType != tc.scimType {
			t.Errorf("%s: detail %q scimType %q", tc.body, e.Detail, e.ScimType)
		}
	}
	long := strings.Repeat("é", 5000)
	e := httpError("Op", &response{status: 400, header: http.Header{}, body: []byte(long)}, now)
	if len(e.Body) > maxErrorBody+len("…") || !strings.HasSuffix(e.Body, "…") {
		t.Errorf("body not capped: %d bytes", len(e.Body))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Sat, 28 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Sat, 28 Nov 2026 11:00:00 GMT": 0,
		"99999999":                      24 * time.Hour,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTimeoutsRetried(t *testing.T) {
	hc := httpx.NewClient(httpx.ClientOptions{ResponseHeaderTimeout: 100 * time.Millisecond})
	t.Run("then success", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, hang(), hang())
		c := newTestClient(t, f.URL(), clock, nil, hc)
		if _, err := c.GetGroup(context.Background(), "g1"); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Requests != 3 || st.Retries != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("every time", func(t *testing.T) {
		clock := newFakeClock()
		f := newFake(t, clock, hang(), hang(), hang(), hang())
		c := newTestClient(t, f.URL(), clock, nil, hc)
		_, err := c.GetGroup(context.Background(), "g1")
		e := mustError(t, err)
		if e.Code() != CodeTimeout || !e.Transient || e.Attempts != 4 {
			t.Fatalf("error %v: code %s transient %v attempts %d", e, e.Code(), e.Transient, e.Attempts)
		}
		if len(f.Calls()) != 4 {
			t.Fatalf("%d requests", len(f.Calls()))
		}
	})
}

func TestConnectionRefusedRetried(t *testing.T) {
	clock := newFakeClock()
	c := newTestClient(t, refusedURL(t), clock, nil, nil)
	_, err := c.GetUser(context.Background(), "u1")
	e := mustError(t, err)
	if e.Code() != CodeConnectRefused || !e.Transient || e.Attempts != 4 {
		t.Fatalf("error %v: code %s attempts %d", e, e.Code(), e.Attempts)
	}
	if st := c.Stats(); st.Requests != 4 || len(clock.Sleeps()) != 3 {
		t.Fatalf("stats %+v sleeps %v", st, clock.Sleeps())
	}
}

// refusedURL is a loopback address where nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/scim/v2"
}

func TestConcurrencyIsBounded(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		writeSCIM(w, 200, `{"id":"x"}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/scim/v2", nil, func(c *Config) { c.Concurrency = 3; c.RateLimit = -1 }, nil)
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetUser(context.Background(), "x"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrency %d, want 3 (bounded, and actually concurrent)", p)
	}
	if n := c.Stats().Requests; n != 24 {
		t.Fatalf("%d requests counted, want 24", n)
	}
}

func TestRealClockPacing(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.RateLimit = 50; c.Burst = 1; c.Concurrency = 8 }, nil)
	start := time.Now()
	var wg sync.WaitGroup
	for range 11 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetUser(context.Background(), "x"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 11 requests at 50/s with burst 1: the last starts >= 200 ms in.
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Fatalf("11 requests at 50/s took %v", d)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("while held by Retry-After", func(t *testing.T) {
		f := newFake(t, nil, reply(429, scimError(429, "", "slow"), "Retry-After", "30"))
		c := newTestClient(t, f.URL(), nil, nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.GetUser(ctx, "u")
		e := mustError(t, err)
		if time.Since(start) > 2*time.Second || (e.Code() != CodeTimeout && e.Code() != CodeCanceled) {
			t.Fatalf("after %v: %v (%s)", time.Since(start), e, e.Code())
		}
	})
	t.Run("while waiting for a concurrency slot", func(t *testing.T) {
		release := make(chan struct{})
		f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) { <-release; writeSCIM(w, 200, `{"id":"a"}`) })
		c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Concurrency = 1 }, nil)
		done := make(chan error)
		go func() { _, err := c.GetUser(context.Background(), "a"); done <- err }()
		for len(f.Calls()) == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		_, err := c.GetUser(ctx, "b")
		if e := mustError(t, err); e.Code() != CodeCanceled || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v (%s)", e, e.Code())
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(f.Calls()) != 1 {
			t.Fatalf("the canceled call was sent")
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		f := newFake(t, nil, reply(500, scimError(500, "", "x")))
		c := newTestClient(t, f.URL(), nil, func(c *Config) { c.BackoffBase = 10 * time.Second }, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.GetUser(ctx, "u")
		mustError(t, err)
		if time.Since(start) > 2*time.Second {
			t.Fatalf("backoff ignored cancellation: %v", time.Since(start))
		}
	})
}

func TestResponseTooLarge(t *testing.T) {
	f := newFake(t, nil, reply(200, `{"id":"x","pad":"`+strings.Repeat("x", 5000)+`"}`))
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.MaxResponseBytes = 1000 }, nil)
	_, err := c.GetUser(context.Background(), "x")
	if e := mustError(t, err); e.Code() != CodeResponseTooLarge {
		t.Fatalf("%v (%s)", e, e.Code())
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	f := newFake(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://login.example.com/", http.StatusFound)
	})
	c := newTestClient(t, f.URL(), nil, nil, nil)
	_, err := c.GetUser(context.Background(), "x")
	e := mustError(t, err)
	if e.Code() != CodeRedirect || e.Location != "https://login.example.com/" || !strings.Contains(e.Recommendation(), "https://login.example.com/") {
		t.Fatalf("%v (%s) location %q", e, e.Code(), e.Location)
	}
	if len(f.Calls()) != 1 {
		t.Fatal("redirect retried or followed")
	}
}

func TestBearerToken(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, nil, nil)
	if _, err := c.FindUsers(context.Background(), "userName", "x"); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls()[0].Auth; got != "Bearer secret-token" {
		t.Fatalf("Authorization %q", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransportErrorClassification(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "https://t.example/scim/v2/Users", Err: err} }
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name      string
		ctx       context.Context
		err       error
		code      string
		transient bool
		detail    string
	}{
		{"connect timeout", nil, wrap(&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}), CodeTimeout, true, "connect timeout"},
		{"header timeout", nil, wrap(timeoutErrWith("net/http: timeout awaiting response headers")), CodeTimeout, true, "no response headers"},
		{"DNS not found", nil, wrap(&net.DNSError{Err: "no such host", Name: "t.example", IsNotFound: true}), CodeDNS, false, "cannot resolve t.example"},
		{"DNS server failure", nil, wrap(&net.DNSError{Err: "server misbehaving", Name: "t.example", IsTemporary: true}), CodeDNS, true, "server misbehaving"},
		{"refused", nil, wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), CodeConnectRefused, true, "refused"},
		{"reset", nil, wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), CodeNetwork, true, "reset"},
		{"EOF", nil, wrap(io.EOF), CodeNetwork, true, "EOF"},
		{"hostname mismatch", nil, wrap(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "t.example"}), CodeTLS, false, "certificate"},
		{"TLS handshake timeout", nil, wrap(timeoutErrWith("net/http: TLS handshake timeout")), CodeTimeout, true, "TLS handshake timeout"},
		{"TLS alert", nil, wrap(&net.OpError{Op: "remote error", Err: errors.New("tls: protocol version not supported")}), CodeTLS, false, "protocol version"},
		{"blocked", nil, wrap(&net.OpError{Op: "dial", Err: &httpx.BlockedAddressError{Reason: "link-local"}}), CodeBlocked, false, "link-local"},
		{"redirect", nil, wrap(&httpx.RedirectError{From: "a", To: "https://b.example/", Reason: "the location is on another host"}), CodeRedirect, false, "another host"},
		{"too large", nil, wrap(httpx.ErrResponseTooLarge), CodeResponseTooLarge, false, "size limit"},
		{"canceled", canceled, wrap(context.Canceled), CodeCanceled, true, "canceled"},
	}
	for _, tc := range cases {
		ctx := tc.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		e := transportError(ctx, "GetUser", "GET", "https://t.example/scim/v2/Users", tc.err)
		if e.Code() != tc.code || e.Transient != tc.transient || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%s: code %s transient %v detail %q; want %s %v %q", tc.name, e.Code(), e.Transient, e.Detail, tc.code, tc.transient, tc.detail)
		}
		if !errors.Is(e, tc.err) {
			t.Errorf("%s: the cause is not kept", tc.name)
		}
	}
}

type timeoutMsg string

func (m timeoutMsg) Error() string    { return string(m) }
func (timeoutMsg) Timeout() bool      { return true }
func (timeoutMsg) Temporary() bool    { return true }
func timeoutErrWith(msg string) error { return timeoutMsg(msg) }

func TestErrorString(t *testing.T) {
	e := &Error{Op: "CreateUser", Method: "POST", URL: "https://t.example/scim/v2/Users", Status: 400, ScimType: "invalidValue", Detail: "name.givenName is required"}
	want := "CreateUser: POST https://t.example/scim/v2/Users: SCIM_400_INVALID_VALUE (HTTP 400, scimType invalidValue): name.givenName is required"
	if e.Error() != want {
		t.Errorf("%s\nwant %s", e.Error(), want)
	}
}
