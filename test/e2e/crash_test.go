package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKillNineMidCycleNeverDuplicates kills the engine (gatehouse app
// provision) with SIGKILL in the middle of its cycle 20 times, then lets a
// cycle finish: every object is in the target exactly once (the target
// enforces no uniqueness, so a duplicate create would show) and nothing is
// lost, members included.
func TestKillNineMidCycleNeverDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 300
	fake := newFakeTarget(t, 4*time.Millisecond)
	dir := t.TempDir()
	db := filepath.Join(dir, "src.db")
	gh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--db", db)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var csv strings.Builder
	csv.WriteString("userName,givenName,familyName,displayName,email\n")
	for i := range n {
		fmt.Fprintf(&csv, "user%03d,Given%d,Family%d,User %d,user%03d@corp.example\n", i, i, i, i, i)
	}
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(people, []byte(csv.String()), 0o600)
	gh("user", "import", "--file", people)
	members := []string{"group", "create", "everyone"}
	for i := range n {
		members = append(members, "--member", fmt.Sprintf("user%03d", i))
	}
	gh(members...)
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte("fake-token"), 0o600)
	gh("app", "create", "fake", "--directory", "default", "--scim-url", fake.url(), "--token-file", tokenFile, "--interval", "1h")
	gh("app", "update", "fake", "--rate-limit", "-1", "--concurrency", "8")
	gh("app", "assign", "fake", "--group", "everyone")

	killedMidCycle := 0
	for i := range 20 {
		cmd := exec.Command(bin, "app", "provision", "fake", "--db", db)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(60+rand.IntN(250)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL: no cleanup, no deferred release
		err := cmd.Wait()
		if err != nil {
			killedMidCycle++
		}
		users, groups, dups := fake.duplicates()
		if len(dups) > 0 {
			t.Fatalf("after kill %d: duplicates %v (%d users, %d groups)", i+1, dups, users, groups)
		}
	}
	out := gh("app", "provision", "fake")
	users, groups, dups := fake.duplicates()
	if len(dups) > 0 || users != n || groups != 1 {
		t.Fatalf("final: %d users, %d groups, duplicates %v\n%s", users, groups, dups, out)
	}
	fake.mu.Lock()
	var gid string
	for id := range fake.groups {
		gid = id
	}
	got := len(fake.members[gid])
	fake.mu.Unlock()
	if got != n {
		t.Fatalf("group has %d members, want %d", got, n)
	}
	if killedMidCycle < 3 {
		t.Fatalf("only %d of 20 runs were killed mid-cycle; the test did not exercise crashes", killedMidCycle)
	}
	t.Logf("%d runs killed mid-cycle; %d POSTs for %d objects", killedMidCycle, fake.posts, n+1)
}
