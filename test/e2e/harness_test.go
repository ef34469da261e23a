// Package e2e drives the real gatehouse binary as separate processes: the
// server lifecycle, the CLI, and third-party conformance suites (newman).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is the gatehouse binary built once for the package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running gatehouse serve process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	db   string
	base string
	logs *bytes.Buffer
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs gatehouse serve on a fresh SQLite database and waits
// until /readyz answers.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	s := &server{t: t, db: filepath.Join(dir, "gatehouse.db"), base: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "serve", "--listen", addr, "--db", s.db, "--log-format", "json")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not ready after 10s; log:\n%s", s.logs.String())
	return nil
}

// stop sends SIGTERM and returns the exit error and how long it took.
func (s *server) stop() (error, time.Duration) {
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	err := s.cmd.Wait()
	return err, time.Since(start)
}

// gh runs a CLI command against the server's database and returns stdout.
func (s *server) gh(args ...string) (string, error) {
	args = append(args, "--db", s.db)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_PUBLIC_URL="+s.base)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("gatehouse %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (s *server) mustGH(args ...string) string {
	s.t.Helper()
	out, err := s.gh(args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// token creates a SCIM token for a directory.
func (s *server) token(directory string) string {
	s.t.Helper()
	var res struct {
		Token, Endpoint string
	}
	if err := json.Unmarshal([]byte(s.mustGH("scim", "token", "create", "--directory", directory, "--json")), &res); err != nil {
		s.t.Fatal(err)
	}
	if res.Endpoint != s.base+"/scim/v2" {
		s.t.Fatalf("endpoint %q, want %q", res.Endpoint, s.base+"/scim/v2")
	}
	return res.Token
}

// do sends a SCIM request and decodes a JSON response.
func (s *server) do(method, path, token string, body any) (int, map[string]any, http.Header) {
	s.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		var b []byte
		switch v := body.(type) {
		case string:
			b = []byte(v)
		default:
			b, _ = json.Marshal(v)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// runGH runs the binary without a server and returns combined output.
func runGH(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}
