// Tests for the SCIM 2.0 endpoint, run in-process through the real handler
// stack: app.Open on a temporary SQLite file, App.Handler (middleware, body
// limit, routing) and an httptest.Server. This file holds the harness; the
// tests are grouped by theme in the other *_test.go files of the package:
//
//	replay_test.go     documented Entra ID and Okta traffic from testdata/replay
//	okta_spec_test.go  Okta's Runscope SPEC test, re-implemented
//	behaviour_test.go  RFC 7644 behaviour: ETags, create/delete, uniqueness,
//	                   filters, paging, cursors, sorting, projection
//	endpoints_test.go  .search, Bulk, discovery, /Me, content types, body limit
//	resources_test.go  derived groups, group members, user PATCH, PUT
//	aws_test.go        the aws-identity-center compatibility profile
//	hostile_test.go    hostile inputs (reliability-security.md §4.1, 29-44)
//	audit_test.go      one audit event per call, with the right error code
//	gaps_test.go       known differences from the reference, skipped until fixed
//	input_test.go      (package scim) the request body checker
//
// Every environment checks on cleanup that no bearer token and no password
// used against it appears in any audit event, in the database files or in
// the server log. With GATEHOUSE_TEST_POSTGRES set to a DSN, every
// environment runs on a fresh PostgreSQL database instead of SQLite.
//
// Golden responses of the replay tests are rewritten with
//
//	go test ./internal/scim -run TestReplay -update
package scim_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// URNs used throughout the tests.
const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
	patchURN      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	bulkURN       = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkRespURN   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	searchURN     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// env is one running Gatehouse with a token for its default directory.
type env struct {
	t      *testing.T
	a      *app.App
	srv    *httptest.Server
	dbPath string
	url    string // public URL of the server, without trailing slash
	base   string // url + "/scim/v2"
	token  string // bearer token of the default directory
	logs   *syncBuffer

	mu      sync.Mutex
	secrets []string // tokens and passwords that must never be stored or logged
	closed  bool
}

// envOption adjusts the configuration before the app opens.
type envOption func(*config.Config)

func withMaxBody(n int64) envOption { return func(c *config.Config) { c.HTTP.MaxBodyBytes = n } }

// newEnv opens a fresh Gatehouse on a temporary SQLite database and serves
// App.Handler over httptest.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DB = filepath.Join(dir, "gatehouse.db")
	if dsn := os.Getenv(postgresEnv); dsn != "" {
		cfg.DB = freshPostgres(t, dsn)
	}
	for _, o := range opts {
		o(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	e := &env{t: t, a: a, srv: srv, dbPath: cfg.DB, logs: logs}
	e.url = "http://" + srv.Listener.Addr().String()
	e.base = e.url + "/scim/v2"
	a.Cfg.PublicURL = e.url
	srv.Config.Handler = a.Handler(httpx.NewMetrics())
	srv.Start()
	t.Cleanup(func() {
		e.close()
		e.checkSecrets()
		if t.Failed() && testing.Verbose() {
			t.Logf("server log (tail):\n%s", tail(logs.String(), 4000))
		}
	})
	e.token = e.tokenFor(directory.DefaultDirectory)
	return e
}

// postgresEnv names the variable holding a PostgreSQL DSN; when it is set
// every environment runs on a fresh PostgreSQL database instead of SQLite.
const postgresEnv = "GATEHOUSE_TEST_POSTGRES"

// freshPostgres creates an empty database on the server of dsn, dropped
// when the test ends, and returns its DSN.
func freshPostgres(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "gh_scim_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("pgx", dsn); err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// isPostgres reports whether the environment runs on PostgreSQL.
func (e *env) isPostgres() bool { return strings.HasPrefix(e.dbPath, "postgres") }

// close stops the server and closes the app, which flushes buffered audit
// events. Later requests fail; audit queries keep working.
func (e *env) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	e.srv.Close()
	if err := e.a.Close(); err != nil {
		e.t.Errorf("App.Close: %v", err)
	}
}

// secret registers a value that must never be stored or logged in clear.
func (e *env) secret(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
	return s
}

// tokenFor issues a SCIM token for the named directory.
func (e *env) tokenFor(name string) string {
	e.t.Helper()
	ctx := context.Background()
	d, err := e.a.Dir.Directory(ctx, name)
	if err != nil {
		e.t.Fatalf("directory %s: %v", name, err)
	}
	nt, err := e.a.Dir.CreateToken(ctx, d, 0, "scim test", nil)
	if err != nil {
		e.t.Fatalf("create token: %v", err)
	}
	return e.secret(nt.Secret)
}

// directory creates a directory with a profile and settings and returns a
// token for it.
func (e *env) directory(name, profile string, s directory.Settings) string {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.a.Dir.CreateDirectory(ctx, name, profile, nil); err != nil {
		e.t.Fatalf("create directory %s: %v", name, err)
	}
	if s != (directory.Settings{}) {
		if _, err := e.a.Dir.UpdateDirectory(ctx, name, func(d *directory.Directory) error { d.Settings = s; return nil }, nil); err != nil {
			e.t.Fatalf("settings of %s: %v", name, err)
		}
	}
	return e.tokenFor(name)
}

// response is a decoded HTTP response.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any // nil unless the body is a JSON object
}

// req is a request to send; Path is relative to /scim/v2 unless it starts
// with "http" or "/scim".
type req struct {
	Method string
	Path   string
	Body   any // nil, string or []byte (sent raw), or a value to marshal
	Header map[string]string
	Token  *string // nil: the env's token; "" sends no Authorization header
}

// client sends requests for one test with one token. Helpers report to the
// client's test, so they are safe inside subtests.
type client struct {
	e     *env
	t     *testing.T
	token string
}

// client returns a client for t with the default directory's token.
func (e *env) client(t *testing.T) *client { return &client{e: e, t: t, token: e.token} }

// as returns a copy of c that sends another token ("" sends none).
func (c *client) as(token string) *client { return &client{e: c.e, t: c.t, token: token} }

// do sends r and decodes the response. A 5xx fails the test: no client input
// may produce one.
func (c *client) do(r req) response {
	c.t.Helper()
	e := c.e
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(raw)
	}
	target := r.Path
	if !strings.HasPrefix(target, "http") {
		if !strings.HasPrefix(target, "/scim") {
			target = "/scim/v2" + target
		}
		target = e.url + escapeQuery(target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		c.t.Fatalf("new request %s %s: %v", r.Method, target, err)
	}
	if r.Body != nil {
		hr.Header.Set("Content-Type", "application/scim+json")
	}
	hr.Header.Set("Accept", "application/scim+json")
	tok := c.token
	if r.Token != nil {
		tok = *r.Token
	}
	if tok != "" {
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		c.t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			out.Body = m
		}
	}
	if out.Status >= 500 && out.Status != http.StatusNotImplemented {
		c.t.Errorf("%s %s: server error %d: %s", r.Method, r.Path, out.Status, truncate(string(raw), 500))
	}
	return out
}

// Shorthands.
func (c *client) get(path string) response { c.t.Helper(); return c.do(req{Method: "GET", Path: path}) }
func (c *client) post(path string, body any) response {
	c.t.Helper()
	return c.do(req{Method: "POST", Path: path, Body: body})
}
func (c *client) put(path string, body any) response {
	c.t.Helper()
	return c.do(req{Method: "PUT", Path: path, Body: body})
}
func (c *client) patch(path string, ops ...map[string]any) response {
	c.t.Helper()
	return c.do(req{Method: "PATCH", Path: path, Body: patchBody(ops...)})
}
func (c *client) del(path string) response {
	c.t.Helper()
	return c.do(req{Method: "DELETE", Path: path})
}

func patchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []any{patchURN}, "Operations": list}
}

func op(name, path string, value any) map[string]any {
	m := map[string]any{"op": name}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// createUser posts a minimal valid user and returns its id.
func (c *client) createUser(userName string, extra ...map[string]any) string {
	c.t.Helper()
	body := userBody(userName)
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	r := c.post("/Users", body)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("create user %s: %d %s", userName, r.Status, r.Raw)
	}
	return r.str("id")
}

// createGroup posts a group with the given member ids and returns its id.
func (c *client) createGroup(name string, members ...string) string {
	c.t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	r := c.post("/Groups", map[string]any{"schemas": []any{groupURN}, "displayName": name, "members": ms})
	if r.Status != http.StatusCreated {
		c.t.Fatalf("create group %s: %d %s", name, r.Status, r.Raw)
	}
	return r.str("id")
}

// userBody is a user every profile accepts.
func userBody(userName string) map[string]any {
	return map[string]any{
		"schemas":     []any{userURN},
		"userName":    userName,
		"displayName": "Display " + userName,
		"name":        map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails":      []any{map[string]any{"value": userName + "@example.com", "type": "work", "primary": true}},
		"active":      true,
	}
}

// at returns the value at a "/"-separated path of object keys and list
// indexes ("Resources/0/id"; URNs keep their dots and colons).
func at(v any, path string) any {
	if path == "" {
		return v
	}
	for _, seg := range strings.Split(path, "/") {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func (r response) at(path string) any { return at(map[string]any(r.Body), path) }

func (r response) str(path string) string {
	s, _ := r.at(path).(string)
	return s
}

func (r response) num(path string) int {
	f, ok := r.at(path).(float64)
	if !ok {
		return -1
	}
	return int(f)
}

func (r response) list(path string) []any {
	l, _ := r.at(path).([]any)
	return l
}

// resources returns the ids of a ListResponse's resources, in order.
func (r response) ids() []string {
	var out []string
	for _, x := range r.list("Resources") {
		s, _ := at(x, "id").(string)
		out = append(out, s)
	}
	return out
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, truncate(string(r.Raw), 800))
	}
}

// wantError checks a SCIM error response: status (as a string in the body),
// Error schema, optional scimType, and a detail containing every fragment.
func wantError(t *testing.T, r response, status int, scimType string, fragments ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, truncate(string(r.Raw), 800))
	}
	if r.Body == nil {
		t.Fatalf("error %d without a JSON body: %q", status, truncate(string(r.Raw), 200))
	}
	if s, ok := r.Body["status"].(string); !ok || s != strconv.Itoa(status) {
		t.Errorf("body status %#v, want the string %q", r.Body["status"], strconv.Itoa(status))
	}
	if !containsString(r.list("schemas"), errorURN) {
		t.Errorf("schemas %v lack %s", r.Body["schemas"], errorURN)
	}
	if scimType != "" && r.str("scimType") != scimType {
		t.Errorf("scimType %q, want %q (detail %q)", r.str("scimType"), scimType, r.str("detail"))
	}
	detail := r.str("detail")
	if detail == "" {
		t.Errorf("empty detail")
	}
	for _, f := range fragments {
		if !strings.Contains(detail, f) {
			t.Errorf("detail %q does not mention %q", detail, f)
		}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("error Content-Type %q", ct)
	}
}

func containsString(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// escapeQuery percent-encodes the values of a raw query string written for
// readability in tests and testdata (filter=userName eq "x").
func escapeQuery(target string) string {
	path, query, ok := strings.Cut(target, "?")
	if !ok {
		return target
	}
	var parts []string
	for _, kv := range strings.Split(query, "&") {
		k, v, has := strings.Cut(kv, "=")
		if !has {
			parts = append(parts, url.QueryEscape(k))
			continue
		}
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return path + "?" + strings.Join(parts, "&")
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Audit trail access. The store has no query API the tests can rely on, so
// they read the audit_events table directly with a read-only connection.

// event is one stored audit event.
type event struct {
	Seq       int64
	Name      string
	ErrorCode string
	RequestID string
	PrevHash  string
	Hash      string
	Body      string
	Ev        map[string]any
}

func (ev event) str(path string) string {
	s, _ := at(ev.Ev, path).(string)
	return s
}

// events returns every stored audit event: the main chain in sequence
// order, then (SQLite) the read-event chain's file. Read-only calls are
// buffered by the recorder: call e.close() first (or poll) to see all of
// them.
func (e *env) events(t testing.TB) []event {
	t.Helper()
	if e.isPostgres() {
		return readEvents(t, "pgx", e.dbPath)
	}
	const opts = "?_pragma=query_only(1)&_pragma=busy_timeout(10000)"
	return append(readEvents(t, "sqlite", "file:"+e.dbPath+opts),
		readEvents(t, "sqlite", "file:"+sqlstore.ReadEventsPath(e.dbPath)+opts)...)
}

func readEvents(t testing.TB, driver, dsn string) []event {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open audit db: %v", err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT seq, event_name, COALESCE(error_code, ''), COALESCE(request_id, ''), prev_hash, hash, body FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatalf("query audit events: %v", err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var ev event
		if err := rows.Scan(&ev.Seq, &ev.Name, &ev.ErrorCode, &ev.RequestID, &ev.PrevHash, &ev.Hash, &ev.Body); err != nil {
			t.Fatalf("scan audit event: %v", err)
		}
		if err := json.Unmarshal([]byte(ev.Body), &ev.Ev); err != nil {
			t.Fatalf("audit event %d body is not JSON: %v", ev.Seq, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return out
}

// eventsFor returns the events written for one HTTP request.
func (e *env) eventsFor(t testing.TB, requestID string) []event {
	t.Helper()
	var out []event
	for _, ev := range e.events(t) {
		if ev.RequestID == requestID {
			out = append(out, ev)
		}
	}
	return out
}

// checkSecrets fails the test if a registered token or password appears in
// an audit event, anywhere in the database files or in the server log.
func (e *env) checkSecrets() {
	e.t.Helper()
	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	if len(secrets) == 0 {
		return
	}
	events := e.events(e.t)
	var files [][]byte
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if e.isPostgres() {
			break // the audit events and the logs are still searched
		}
		for _, path := range []string{e.dbPath, sqlstore.ReadEventsPath(e.dbPath)} {
			if b, err := os.ReadFile(path + suffix); err == nil {
				files = append(files, b)
			}
		}
	}
	logs := e.logs.String()
	for _, s := range secrets {
		for _, ev := range events {
			if strings.Contains(ev.Body, s) {
				e.t.Errorf("secret %q appears in audit event %d (%s)", mask(s), ev.Seq, ev.Name)
			}
		}
		for _, f := range files {
			if bytes.Contains(f, []byte(s)) {
				e.t.Errorf("secret %q is stored in clear in the database files", mask(s))
			}
		}
		if strings.Contains(logs, s) {
			e.t.Errorf("secret %q appears in the server log", mask(s))
		}
	}
}

func mask(s string) string {
	if len(s) <= 6 {
		return "***"
	}
	return s[:4] + "***"
}

// dirSettings are a directory's behaviour switches.
type dirSettings = directory.Settings

func settings(f func(*dirSettings)) dirSettings {
	var s dirSettings
	f(&s)
	return s
}
