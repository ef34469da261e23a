package target

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
	"sync"
	"testing"
	"time"
)

// These tests run the real gatehouse binary as the target: `gatehouse
// serve` on a temporary SQLite database, with a directory under the
// aws-identity-center profile and a SCIM token created through the CLI (as
// test/e2e/harness_test.go does).

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "gatehouse-target-test")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binPath, "../../../cmd/gatehouse").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building gatehouse: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// realTarget is a running gatehouse serve with an aws-identity-center directory.
type realTarget struct {
	base  string // http://127.0.0.1:PORT
	scim  string // base + /scim/v2
	token string
}

func startRealTarget(t *testing.T) *realTarget {
	t.Helper()
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rt := &realTarget{base: "http://" + addr, scim: "http://" + addr + "/scim/v2"}

	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--db", db)...)
		cmd.Env = append(os.Environ(), "GATEHOUSE_PUBLIC_URL="+rt.base)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("gatehouse %s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	logs := &bytes.Buffer{}
	srv := exec.Command(bin, "serve", "--listen", addr, "--db", db, "--log-format", "json", "--log-level", "warn")
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	ready := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(rt.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = true
				break
			}
		}
	}
	if !ready {
		t.Fatalf("gatehouse serve not ready; log:\n%s", logs.String())
	}
	cli("directory", "create", "idc", "--profile", "aws-identity-center")
	var tok struct{ Token, Endpoint string }
	if err := json.Unmarshal([]byte(cli("scim", "token", "create", "--directory", "idc", "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Endpoint != rt.scim {
		t.Fatalf("endpoint %q, want %q", tok.Endpoint, rt.scim)
	}
	rt.token = tok.Token
	return rt
}

func (rt *realTarget) client(t *testing.T, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: rt.scim + "/", Token: rt.token, Profile: ProfileAWS, RateLimit: 500, Burst: 50, Concurrency: 8}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// members reads a group's member ids directly (GetGroup excludes members).
func (rt *realTarget) members(t *testing.T, id string) map[string]bool {
	t.Helper()
	req, _ := http.NewRequest("GET", rt.scim+"/Groups/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+rt.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct{ Members []struct{ Value string } }
	json.NewDecoder(resp.Body).Decode(&g)
	out := map[string]bool{}
	for _, m := range g.Members {
		out[m.Value] = true
	}
	return out
}

func awsUser(userName string) Resource {
	return Resource{
		"userName": userName, "displayName": "User " + userName, "externalId": "ext-" + userName,
		"name":   map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails": []any{map[string]any{"value": userName + "@example.com", "type": "work", "primary": true}},
		"active": true,
	}
}

func TestRealTarget(t *testing.T) {
	rt := startRealTarget(t)
	ctx := context.Background()
	c := rt.client(t, nil)

	t.Run("Test connection succeeds", func(t *testing.T) {
		d := c.Test(ctx)
		if !d.OK || len(d.Checks) != 2 {
			t.Fatalf("diagnosis %s %+v", d, d.Checks)
		}
	})
	t.Run("Test connection with a wrong token names the token", func(t *testing.T) {
		d := rt.client(t, func(c *Config) { c.Token = "ghscim_wrong" }).Test(ctx)
		if d.OK || d.Code != CodeUnauthorized || !strings.Contains(d.Summary, "token") {
			t.Fatalf("diagnosis %s", d)
		}
	})
	t.Run("Test connection without /scim/v2 suggests it", func(t *testing.T) {
		d := rt.client(t, func(c *Config) { c.BaseURL = rt.base }).Test(ctx)
		if d.OK || d.Code != CodeNotFound || !strings.Contains(d.Recommendation, rt.base+"/scim/v2") {
			t.Fatalf("diagnosis %s — %s", d, d.Recommendation)
		}
	})
	t.Run("Schemas merges the target's /Schemas with the AWS rules", func(t *testing.T) {
		info, err := c.Schemas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Source != "target" || !info.PatchSupported || info.MaxResults != 100 || len(info.Warnings) != 0 {
			t.Fatalf("info %+v", info)
		}
		if !info.User.Required("name.givenName") || info.User.MultiValued("emails") || !info.User.Known("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department") {
			t.Error("AWS rules not merged")
		}
		if v := info.User.Check(awsUser("valid")); len(v) != 0 {
			t.Errorf("violations for a valid user: %+v", v)
		}
	})
	t.Run("the AWS profile's 400 detail is surfaced", func(t *testing.T) {
		before := c.Stats().Requests
		u := awsUser("nogiven")
		u["name"] = map[string]any{"familyName": "Family"}
		_, err := c.CreateUser(ctx, u)
		e := mustError(t, err)
		if e.Status != 400 || e.Code() != CodeInvalidValue || e.ScimType != "invalidValue" || !strings.Contains(e.Detail, "name.givenName") {
			t.Fatalf("error %v: code %s detail %q", e, e.Code(), e.Detail)
		}
		if e.Transient || c.Stats().Requests-before != 1 || e.Recommendation() == "" {
			t.Errorf("a 400 was retried or lacks a recommendation: %+v", e)
		}
		t.Logf("%s: %s — %s", e.Code(), e.Detail, e.Recommendation())
	})
	t.Run("user lifecycle: create, find, patch, replace, delete", func(t *testing.T) {
		u, err := c.CreateUser(ctx, awsUser("alice"))
		if err != nil {
			t.Fatal(err)
		}
		id := u.ID()
		for _, q := range [][2]string{{"userName", "alice"}, {"userName", "ALICE"}, {"externalId", "ext-alice"}} {
			found, err := c.FindUsers(ctx, q[0], q[1])
			if err != nil || len(found) != 1 || found[0].ID() != id {
				t.Fatalf("FindUsers(%s eq %s) = %v, %v", q[0], q[1], found, err)
			}
		}
		if found, err := c.FindUsers(ctx, "userName", "nobody"); err != nil || len(found) != 0 {
			t.Fatalf("FindUsers(nobody) = %v, %v", found, err)
		}
		if err := c.PatchUser(ctx, id, []PatchOp{
			Replace("displayName", "Alice A."),
			Replace("name.givenName", "Alicia"),
			{Op: "Replace", Path: "active", Value: false},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got["displayName"] != "Alice A." || got["active"] != false || got["name"].(map[string]any)["givenName"] != "Alicia" {
			t.Fatalf("after PATCH: %v", got)
		}
		repl := awsUser("alice")
		repl["title"] = "Engineer"
		if r, err := c.ReplaceUser(ctx, id, repl); err != nil || r["title"] != "Engineer" {
			t.Fatalf("ReplaceUser = %v, %v", r, err)
		}
		if err := c.DeleteUser(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetUser(ctx, id); !IsNotFound(err) {
			t.Fatalf("GetUser after delete: %v, want ErrNotFound", err)
		}
		if err := c.DeleteUser(ctx, id); !IsNotFound(err) {
			t.Fatalf("second delete: %v", err)
		}
	})
	t.Run("a duplicate create is a typed 409, and the original is found", func(t *testing.T) {
		u, err := c.CreateUser(ctx, awsUser("dup"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateUser(ctx, awsUser("dup"))
		e := mustError(t, err)
		if e.Code() != CodeUniqueness || e.Status != 409 {
			t.Fatalf("error %v (%s)", e, e.Code())
		}
		found, err := c.FindUsers(ctx, "userName", "dup")
		if err != nil || len(found) != 1 || found[0].ID() != u.ID() {
			t.Fatalf("look-up after 409: %v, %v", found, err)
		}
	})
	t.Run("filter values with quotes, backslashes and spaces", func(t *testing.T) {
		name := `o"brien\x y`
		u, err := c.CreateUser(ctx, awsUser(name))
		if err != nil {
			t.Fatal(err)
		}
		found, err := c.FindUsers(ctx, "userName", name)
		if err != nil || len(found) != 1 || found[0].ID() != u.ID() {
			t.Fatalf("FindUsers(%q) = %v, %v", name, found, err)
		}
	})
	t.Run("groups with batched membership", func(t *testing.T) {
		userIDs := make([]string, 150)
		var wg sync.WaitGroup
		errs := make(chan error, len(userIDs))
		for i := range userIDs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := c.CreateUser(ctx, awsUser(fmt.Sprintf("member%03d", i)))
				if err != nil {
					errs <- err
					return
				}
				userIDs[i] = u.ID()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		members := make([]any, 120)
		for i := range members {
			members[i] = map[string]any{"value": userIDs[i]}
		}
		before := c.Stats().Requests
		g, err := c.CreateGroup(ctx, Resource{"displayName": "Engineering", "externalId": "grp-eng", "members": members})
		if err != nil {
			t.Fatal(err)
		}
		if n := c.Stats().Requests - before; n != 2 {
			t.Errorf("CreateGroup with 120 members sent %d requests, want POST (100) + PATCH (20)", n)
		}
		if got := rt.members(t, g.ID()); len(got) != 120 {
			t.Fatalf("%d members after create, want 120", len(got))
		}
		found, err := c.FindGroups(ctx, "displayName", "Engineering")
		if err != nil || len(found) != 1 || found[0].ID() != g.ID() {
			t.Fatalf("FindGroups = %v, %v", found, err)
		}
		if _, has := found[0]["members"]; has {
			t.Error("FindGroups returned members despite excludedAttributes=members")
		}

		// +30 adds, -50 removes, a rename: 81 changes in one request under AWS's 100.
		ops := append([]PatchOp{Replace("displayName", "Engineering (all)"), AddMembers(userIDs[120:]...)}, RemoveMembers(userIDs[:50]...)...)
		before = c.Stats().Requests
		if err := c.PatchGroup(ctx, g.ID(), ops); err != nil {
			t.Fatal(err)
		}
		if n := c.Stats().Requests - before; n != 1 {
			t.Errorf("%d requests for 80 member changes", n)
		}
		got := rt.members(t, g.ID())
		if len(got) != 100 || got[userIDs[0]] || !got[userIDs[149]] {
			t.Fatalf("%d members after PATCH, want 100", len(got))
		}
		// 150 removes then 150 adds: 300 changes, 3 requests, none over 100.
		before = c.Stats().Requests
		var all []string
		for id := range got {
			all = append(all, id)
		}
		if err := c.PatchGroup(ctx, g.ID(), append(RemoveMembers(all...), AddMembers(userIDs...))); err != nil {
			t.Fatal(err)
		}
		if n := c.Stats().Requests - before; n != 3 {
			t.Errorf("%d requests for 250 member changes, want 3", n)
		}
		if got := rt.members(t, g.ID()); len(got) != 150 {
			t.Fatalf("%d members, want 150", len(got))
		}
		gg, err := c.GetGroup(ctx, g.ID())
		if err != nil || gg["displayName"] != "Engineering (all)" {
			t.Fatalf("GetGroup = %v, %v", gg, err)
		}
		if err := c.DeleteGroup(ctx, g.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetGroup(ctx, g.ID()); !IsNotFound(err) {
			t.Fatalf("GetGroup after delete: %v", err)
		}
	})
	t.Run("the target really refuses more than 100 member changes", func(t *testing.T) {
		// A client misconfigured as generic with big batches shows why the
		// AWS profile splits: the 400 names the limit.
		g, err := c.CreateGroup(ctx, Resource{"displayName": "Too big"})
		if err != nil {
			t.Fatal(err)
		}
		generic := rt.client(t, func(c *Config) { c.Profile = ProfileGeneric; c.MaxMemberChanges = 1000 })
		fake := make([]string, 101)
		for i := range fake {
			fake[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		}
		err = generic.PatchGroup(ctx, g.ID(), []PatchOp{AddMembers(fake...)})
		e := mustError(t, err)
		if e.Status != 400 || !strings.Contains(e.Detail, "at most 100") {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("dry run reads but does not write", func(t *testing.T) {
		d := DryRun(c)
		u, err := d.CreateUser(ctx, awsUser("ghost"))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.PatchUser(ctx, u.ID(), []PatchOp{Replace("active", false)}); err != nil {
			t.Fatal(err)
		}
		found, err := d.FindUsers(ctx, "userName", "ghost")
		if err != nil || len(found) != 0 {
			t.Fatalf("the dry run created a user: %v, %v", found, err)
		}
		if len(d.Recorded()) != 2 {
			t.Fatalf("recorded %v", d.Recorded())
		}
	})
	if st := c.Stats(); st.Requests < 150 || st.Rate != 500 {
		t.Errorf("stats %+v", st)
	}
}
