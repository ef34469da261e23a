package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// fakeClock is the injected clock: Sleep advances it instantly and records
// the duration, so pacing, Retry-After and backoff are observable and fast.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.sleeps = append(f.sleeps, d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// call is one request the fake target received.
type call struct {
	Method, Path, RawQuery string
	Filter                 string // decoded filter parameter
	Body                   []byte
	At                     time.Time // fake clock time at arrival
	Auth                   string
}

// fake is a scripted SCIM target: each request takes the next scripted
// handler, or the default (a minimal, always-successful SCIM server).
type fake struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock

	mu     sync.Mutex
	script []http.HandlerFunc
	calls  []call
	seq    int
}

func newFake(t *testing.T, clock *fakeClock, script ...http.HandlerFunc) *fake {
	f := &fake{t: t, clock: clock, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := call{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Filter: r.URL.Query().Get("filter"), Body: body, Auth: r.Header.Get("Authorization")}
	if f.clock != nil {
		c.At = f.clock.Now()
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	var h http.HandlerFunc
	if len(f.script) > 0 {
		h, f.script = f.script[0], f.script[1:]
	}
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	defaultSCIM(w, r, body, seq)
}

// push appends scripted handlers.
func (f *fake) push(h ...http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, h...)
}

func (f *fake) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fake) URL() string { return f.srv.URL + "/scim/v2" }

func defaultSCIM(w http.ResponseWriter, r *http.Request, body []byte, seq int) {
	switch {
	case r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/Users") || strings.HasSuffix(r.URL.Path, "/Groups")):
		writeSCIM(w, 200, emptyList)
	case r.Method == http.MethodGet:
		writeSCIM(w, 200, fmt.Sprintf(`{"id":%q,"userName":"u"}`, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]))
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		var m map[string]any
		json.Unmarshal(body, &m)
		if m == nil {
			m = map[string]any{}
		}
		m["id"] = fmt.Sprintf("id-%d", seq)
		b, _ := json.Marshal(m)
		status := 201
		if r.Method == http.MethodPut {
			status = 200
		}
		writeSCIM(w, status, string(b))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

const emptyList = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[],"startIndex":1,"itemsPerPage":0}`

func writeSCIM(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// reply returns a scripted handler answering status with a SCIM error body.
func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		writeSCIM(w, status, body)
	}
}

func scimError(status int, scimType, detail string) string {
	b, _ := json.Marshal(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "scimType": scimType,
		"detail": detail, "status": fmt.Sprint(status),
	})
	return string(b)
}

// hang returns a handler that answers only when the client gives up.
func hang() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}

// newTestClient builds a client on the fake clock with quick defaults.
func newTestClient(t *testing.T, base string, clock *fakeClock, mod func(*Config), hc *http.Client) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, Token: "secret-token", Jitter: func() float64 { return 0.5 }}
	if clock != nil {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
	}
	if mod != nil {
		mod(&cfg)
	}
	if hc == nil {
		hc = httpx.NewClient(httpx.ClientOptions{ResponseHeaderTimeout: 2 * time.Second, Timeout: 5 * time.Second})
	}
	c, err := New(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustError(t *testing.T, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %T %v is not a *target.Error", err, err)
	}
	return e
}
