package target

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

func TestDiagnosisOK(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL()+"/?aadOptscim062020", nil, nil, nil)
	d := c.Test(context.Background())
	if !d.OK || len(d.Checks) != 2 {
		t.Fatalf("diagnosis %+v", d)
	}
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d probe requests, want 2", len(calls))
	}
	if calls[0].Path != "/scim/v2/Users" || !strings.HasPrefix(calls[0].Filter, `userName eq "`) || len(calls[0].Filter) != len(`userName eq ""`)+36 {
		t.Errorf("users probe %s ?%s", calls[0].Path, calls[0].RawQuery)
	}
	if calls[1].Path != "/scim/v2/Groups" || !strings.HasPrefix(calls[1].RawQuery, "excludedAttributes=members&filter=displayName%20eq%20%22") {
		t.Errorf("groups probe %s ?%s", calls[1].Path, calls[1].RawQuery)
	}
	if calls[0].Filter == calls[1].Filter[len("displayName eq "):] {
		t.Error("probes should use fresh random values")
	}
	if len(d.Notes) == 0 || !strings.Contains(d.Notes[0], "aadOptscim062020") {
		t.Errorf("notes %v: the dropped Entra flag should be mentioned", d.Notes)
	}
}

func TestDiagnosisFailures(t *testing.T) {
	html := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, "<!doctype html><html><head><title>Contoso Portal – Sign in</title></head><body>...</body></html>")
		}
	}
	cases := []struct {
		name     string
		handler  http.HandlerFunc // for every request
		base     string           // path under the server (default /scim/v2)
		code     string
		summary  string // substring
		detail   string // substring of Detail or Recommendation
		noTarget bool
	}{
		{name: "401 token", handler: reply(401, scimError(401, "", "the bearer token is missing, invalid, expired or revoked")),
			code: CodeUnauthorized, summary: "token", detail: "create a new token"},
		{name: "403", handler: reply(403, scimError(403, "", "not allowed")), code: CodeForbidden, summary: "refused access"},
		{name: "404 base URL", base: "/", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			code: CodeNotFound, summary: "tenant URL", detail: "/scim/v2"},
		{name: "404 with /Users in the base URL", base: "/scim/v2/Users", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			code: CodeNotFound, summary: "tenant URL", detail: "without /Users"},
		{name: "HTML page", handler: html(200), code: CodeNotSCIM, summary: "HTML", detail: "Contoso Portal"},
		{name: "HTML error page", handler: html(500), code: CodeServerError, detail: "Contoso Portal"},
		{name: "JSON of another shape", handler: reply(200, `{"users":[]}`), code: CodeNotSCIM, summary: "not a SCIM ListResponse"},
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }, code: CodeNotSCIM, summary: "not a JSON object"},
		{name: "wrong content type", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, emptyList)
		}, code: CodeContentType, summary: "content type", detail: "text/plain"},
		{name: "filter ignored", handler: reply(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[{"id":"a"},{"id":"b"}]}`),
			code: CodeFilterIgnored, summary: "ignores filters"},
		{name: "5xx", handler: reply(503, scimError(503, "", "maintenance")), code: CodeServerError, summary: "503", detail: "maintenance"},
		{name: "redirect", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://idp.example.com/login", http.StatusFound)
		}, code: CodeRedirect, summary: "https://idp.example.com/login", detail: "https://idp.example.com/login"},
		{name: "204 instead of a list", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, code: CodeNotSCIM, summary: "expected 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			base := tc.base
			if base == "" {
				base = "/scim/v2"
			}
			c := newTestClient(t, srv.URL+base, nil, nil, nil)
			d := c.Test(context.Background())
			if d.OK || d.Code != tc.code {
				t.Fatalf("diagnosis %s, want code %s", d, tc.code)
			}
			if !strings.Contains(d.Summary, tc.summary) {
				t.Errorf("summary %q lacks %q", d.Summary, tc.summary)
			}
			if !strings.Contains(d.Detail+" "+d.Recommendation, tc.detail) {
				t.Errorf("detail %q / recommendation %q lack %q", d.Detail, d.Recommendation, tc.detail)
			}
			if d.Recommendation == "" || d.Err == nil || len(d.Checks) != 1 {
				t.Errorf("diagnosis incomplete: %+v", d)
			}
			if c.Stats().Requests != 1 {
				t.Errorf("%d requests: probes are not retried", c.Stats().Requests)
			}
		})
	}
}

func TestDiagnosisGroupsProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Users") {
			writeSCIM(w, 200, emptyList)
			return
		}
		writeSCIM(w, 501, scimError(501, "", "groups are not supported"))
	}))
	defer srv.Close()
	d := newTestClient(t, srv.URL+"/scim/v2", nil, nil, nil).Test(context.Background())
	if d.OK || d.Code != CodeNotImplemented || !strings.Contains(d.Summary, "users probe succeeded") || len(d.Checks) != 2 || !d.Checks[0].OK {
		t.Fatalf("diagnosis %s %+v", d, d.Checks)
	}
}

func TestDiagnosisTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeSCIM(w, 200, emptyList) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the server's "bad certificate" handshake log
	srv.StartTLS()
	defer srv.Close()
	d := newTestClient(t, srv.URL+"/scim/v2", nil, nil, nil).Test(context.Background())
	if d.OK || d.Code != CodeTLS || !strings.Contains(d.Detail, "certificate") || !strings.Contains(d.Summary, "TLS handshake") {
		t.Fatalf("diagnosis %s", d)
	}
	t.Logf("%s — %s", d, d.Recommendation)

	// https:// against a plain HTTP port.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeSCIM(w, 200, emptyList) }))
	defer plain.Close()
	d = newTestClient(t, "https://"+plain.Listener.Addr().String()+"/scim/v2", nil, nil, nil).Test(context.Background())
	if d.OK || d.Code != CodeTLS || !strings.Contains(d.Detail, "does not speak TLS") {
		t.Fatalf("https to a plain port: %s", d)
	}
}

func TestDiagnosisDNS(t *testing.T) {
	d := newTestClient(t, "https://scim.gatehouse-test.invalid/scim/v2", nil, nil, nil).Test(context.Background())
	if d.OK || d.Code != CodeDNS || !strings.Contains(d.Summary, "scim.gatehouse-test.invalid") {
		t.Fatalf("diagnosis %s", d)
	}
}

func TestDiagnosisConnectionRefused(t *testing.T) {
	d := newTestClient(t, refusedURL(t), nil, nil, nil).Test(context.Background())
	if d.OK || d.Code != CodeConnectRefused || !strings.Contains(d.Summary, "refused") {
		t.Fatalf("diagnosis %s", d)
	}
}

func TestDiagnosisTimeout(t *testing.T) {
	f := newFake(t, nil, hang())
	hc := httpx.NewClient(httpx.ClientOptions{ResponseHeaderTimeout: 100 * time.Millisecond})
	d := newTestClient(t, f.URL(), nil, nil, hc).Test(context.Background())
	if d.OK || d.Code != CodeTimeout || !strings.Contains(d.Summary, "did not answer in time") {
		t.Fatalf("diagnosis %s", d)
	}
}

func TestDiagnosisBlockedAddress(t *testing.T) {
	d := newTestClient(t, "http://169.254.169.254/latest", nil, nil, httpx.NewClient(httpx.ClientOptions{})).Test(context.Background())
	if d.OK || d.Code != CodeBlocked {
		t.Fatalf("diagnosis %s", d)
	}
}
