package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeLifecycle: starts quickly on an empty directory, answers the
// operational endpoints, exits 0 soon after SIGTERM.
func TestServeLifecycle(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	t.Logf("ready after %v", time.Since(start))
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "gatehouse_http_requests_total"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	resp, _ := http.Get(s.base + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"go_goroutines", "gatehouse_http_request_duration_seconds", "gatehouse_db_open_connections"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if !strings.Contains(string(b), `route="GET /healthz"`) {
		t.Errorf("/metrics lacks per-route request counts")
	}
	err, took := s.stop()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if took > 5*time.Second {
		t.Fatalf("took %v to exit after SIGTERM", took)
	}
	t.Logf("exited 0 after SIGTERM in %v", took)
	if !strings.Contains(s.logs.String(), `"route":"GET /healthz"`) {
		t.Errorf("no access log line with the route")
	}
}

func TestConfigErrorsAreReportedTogether(t *testing.T) {
	out, err := runGH(t, "serve", "--listen", "nonsense", "--log-level", "loud")
	if err == nil {
		t.Fatal("serve accepted an invalid configuration")
	}
	for _, want := range []string{"listen", "log.level"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, out)
		}
	}
}
