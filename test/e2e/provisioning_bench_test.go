package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// The provisioning benchmark (docs/provisioning.md, "Performance"):
//
//	GATEHOUSE_PROV_BENCH=1 go test ./test/e2e -run TestProvisioningBenchmark -v -timeout 30m
//
// 10,000 users, 1,000 groups and 50,000 memberships provisioned by
// "gatehouse app provision" into a second gatehouse serve with an
// aws-identity-center directory: the initial cycle's time and requests
// against the minimum, then an incremental cycle after 100 user changes,
// and the engine's peak memory with 100,000 users (against an in-process
// target, so that only the engine is measured).

func benchEnabled(t *testing.T) {
	if os.Getenv("GATEHOUSE_PROV_BENCH") == "" {
		t.Skip("set GATEHOUSE_PROV_BENCH=1 to run the provisioning benchmark")
	}
}

// seedDirectory bulk-loads users, groups and memberships into the default
// directory of a migrated SQLite database in one transaction (seeding
// through the API would take longer than what is measured).
func seedDirectory(t *testing.T, path string, users, groups, perGroup int) (userIDs []string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The CLI creates the default directory on first open.
	if out, err := exec.Command(bin, "directory", "list", "--db", path).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dir string
	if err := db.QueryRow(`SELECT id FROM directories WHERE name = 'default'`).Scan(&dir); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMicro()
	insU, _ := tx.Prepare(`INSERT INTO users (id, directory_id, user_name, user_name_ci, external_id, display_name, display_name_ci, active, attrs, version, created_at, modified_at, change_seq)
		VALUES ($1, $2, $3, $3, NULL, $4, $5, 1, $6, 1, $7, $7, 1)`)
	insE, _ := tx.Prepare(`INSERT INTO user_emails (user_id, ord, directory_id, value, value_ci, type, is_primary) VALUES ($1, 0, $2, $3, $3, 'work', 1)`)
	for i := range users {
		id := uuid.Must(uuid.NewV7()).String()
		name := fmt.Sprintf("user%06d", i)
		display := fmt.Sprintf("Given%d Family%d", i, i)
		attrs, _ := json.Marshal(map[string]any{"userName": name, "displayName": display, "active": true, "title": "Engineer",
			"name":   map[string]any{"givenName": fmt.Sprintf("Given%d", i), "familyName": fmt.Sprintf("Family%d", i)},
			"emails": []any{map[string]any{"value": name + "@corp.example", "type": "work", "primary": true}}})
		if _, err := insU.Exec(id, dir, name, display, strings.ToLower(display), string(attrs), now); err != nil {
			t.Fatal(err)
		}
		if _, err := insE.Exec(id, dir, name+"@corp.example"); err != nil {
			t.Fatal(err)
		}
		userIDs = append(userIDs, id)
	}
	insG, _ := tx.Prepare(`INSERT INTO groups (id, directory_id, display_name, display_name_ci, external_id, attrs, version, created_at, modified_at, change_seq)
		VALUES ($1, $2, $3, $3, NULL, $4, 1, $5, $5, 1)`)
	insM, _ := tx.Prepare(`INSERT INTO group_members (group_id, member_id, member_type, directory_id) VALUES ($1, $2, 'User', $3) ON CONFLICT DO NOTHING`)
	rng := rand.New(rand.NewPCG(1, 2))
	for g := range groups {
		id := uuid.Must(uuid.NewV7()).String()
		name := fmt.Sprintf("group%04d", g)
		attrs, _ := json.Marshal(map[string]any{"displayName": name})
		if _, err := insG.Exec(id, dir, name, string(attrs), now); err != nil {
			t.Fatal(err)
		}
		for _, k := range rng.Perm(users)[:perGroup] {
			if _, err := insM.Exec(id, userIDs[k], dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := tx.Exec(`UPDATE change_counter SET value = 1 WHERE name = 'directory'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return userIDs
}

type benchRun struct {
	wall     time.Duration
	maxRSSMB float64
	cycle    map[string]any
}

// provisionTimed runs gatehouse app provision and measures it.
func provisionTimed(t *testing.T, db, app string) benchRun {
	t.Helper()
	cmd := exec.Command(bin, "app", "provision", app, "--db", db, "--json", "--log-level", "info", "--log-format", "json")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// rusage's maxrss of a child started by a big test process counts the
	// parent's pages (vfork shares the address space until exec), so the
	// engine's peak is sampled from /proc instead (VmHWM of its own image).
	var hwmKB int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
					if n, _ := strconv.Atoi(f[1]); n > hwmKB {
						hwmKB = n
					}
				}
			}
			if strings.Contains(string(b), "State:\tZ") {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	<-done
	out := []byte(stdout.String())
	if err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	}
	var res struct {
		Cycle map[string]any `json:"cycle"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "provisioning cycle finished") {
			var m map[string]any
			json.Unmarshal([]byte(l), &m)
			t.Logf("engine phases: %v", m["phases"])
		}
	}
	return benchRun{wall: wall, maxRSSMB: float64(hwmKB) / 1024, cycle: res.Cycle}
}

func TestProvisioningBenchmark(t *testing.T) {
	benchEnabled(t)
	const users, groups, perGroup = 10000, 1000, 50
	tgt := startServer(t)
	tgt.mustGH("directory", "create", "idc", "--profile", "aws-identity-center")
	token := tgt.token("idc")
	dir := t.TempDir()
	if keep := os.Getenv("GATEHOUSE_PROV_BENCH_DIR"); keep != "" {
		dir = keep // keep the source database for profiling
	}
	db := filepath.Join(dir, "src.db")
	seedStart := time.Now()
	ids := seedDirectory(t, db, users, groups, perGroup)
	t.Logf("seeded %d users, %d groups, %d memberships in %s", users, groups, groups*perGroup, time.Since(seedStart).Round(time.Millisecond))
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	gh := func(args ...string) string {
		out, err := exec.Command(bin, append(args, "--db", db)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gh("app", "create", "bench", "--directory", "default", "--scim-url", tgt.base+"/scim/v2", "--token-file", tokenFile,
		"--target-profile", "aws-identity-center", "--scope", "all", "--interval", "24h")
	gh("app", "update", "bench", "--rate-limit", "-1", "--concurrency", "8")

	initial := provisionTimed(t, db, "bench")
	minimum := users + groups // members travel inline with the group create (50 <= 100 per request)
	req := initial.cycle["requests"].(float64)
	t.Logf("initial cycle: %s wall, %.0f ms in the cycle, %.0f requests (minimum %d, ratio %.3f), engine max RSS %.0f MB, status %v, counts %v",
		initial.wall.Round(time.Millisecond), initial.cycle["durationMs"], req, minimum, req/float64(minimum), initial.maxRSSMB, initial.cycle["status"], initial.cycle["counts"])
	if initial.cycle["status"] != "succeeded" {
		t.Errorf("initial cycle status %v", initial.cycle["status"])
	}

	// 100 user changes, then an incremental cycle.
	ctx := context.Background()
	_ = ctx
	sqlDB, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		// Through the CLI would cost 100 process starts; update the rows the
		// way the store does (document, version, change sequence).
		var seq int64
		tx, _ := sqlDB.Begin()
		tx.QueryRow(`UPDATE change_counter SET value = value + 1 WHERE name = 'directory' RETURNING value`).Scan(&seq)
		var attrs string
		tx.QueryRow(`SELECT attrs FROM users WHERE id = $1`, ids[i*7]).Scan(&attrs)
		var m map[string]any
		json.Unmarshal([]byte(attrs), &m)
		m["title"] = "Manager " + strconv.Itoa(i)
		b, _ := json.Marshal(m)
		if _, err := tx.Exec(`UPDATE users SET attrs = $2, version = version + 1, change_seq = $3 WHERE id = $1`, ids[i*7], string(b), seq); err != nil {
			t.Fatal(err)
		}
		tx.Commit()
	}
	sqlDB.Close()
	inc := provisionTimed(t, db, "bench")
	ireq := inc.cycle["requests"].(float64)
	t.Logf("incremental cycle after 100 user changes: %s wall, %.0f ms in the cycle, %.0f requests (%.2f per change), counts %v",
		inc.wall.Round(time.Millisecond), inc.cycle["durationMs"], ireq, ireq/100, inc.cycle["counts"])
	if inc.cycle["kind"] != "incremental" {
		t.Errorf("second cycle kind %v", inc.cycle["kind"])
	}
}

func TestProvisioningMemory100k(t *testing.T) {
	benchEnabled(t)
	const users = 100000
	fake := newFakeTarget(t, 0)
	dir := t.TempDir()
	db := filepath.Join(dir, "src.db")
	seedDirectory(t, db, users, 0, 0)
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte("fake"), 0o600)
	for _, args := range [][]string{
		{"app", "create", "mem", "--directory", "default", "--scim-url", fake.url(), "--token-file", tokenFile, "--scope", "all", "--interval", "24h"},
		{"app", "update", "mem", "--rate-limit", "-1", "--concurrency", "16"},
	} {
		if out, err := exec.Command(bin, append(args, "--db", db)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	run := provisionTimed(t, db, "mem")
	t.Logf("100k users: %s wall, %.0f requests, engine max RSS %.0f MB, status %v", run.wall.Round(time.Millisecond), run.cycle["requests"], run.maxRSSMB, run.cycle["status"])
	inc := provisionTimed(t, db, "mem")
	t.Logf("100k users, idle incremental cycle: %s wall, %.0f requests, engine max RSS %.0f MB", inc.wall.Round(time.Millisecond), inc.cycle["requests"], inc.maxRSSMB)
	inc2 := provisionTimed(t, db, "mem")
	t.Logf("100k users, second idle incremental cycle: %s wall, %.0f requests, engine max RSS %.0f MB", inc2.wall.Round(time.Millisecond), inc2.cycle["requests"], inc2.maxRSSMB)
	if run.maxRSSMB > 256 || inc.maxRSSMB > 256 {
		t.Errorf("engine memory above 256 MB")
	}
}
