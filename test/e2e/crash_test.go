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
	const initial, perRound, rounds = 100, 15, 20
	fake := newFakeTarget(t, 10*time.Millisecond)
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
	next := 0
	addUsers := func(n int, group bool) {
		var csv strings.Builder
		csv.WriteString("userName,givenName,familyName,displayName,email\n")
		var names []string
		for range n {
			name := fmt.Sprintf("user%04d", next)
			fmt.Fprintf(&csv, "%s,Given%d,Family%d,User %d,%s@corp.example\n", name, next, next, next, name)
			names = append(names, name)
			next++
		}
		people := filepath.Join(dir, "people.csv")
		os.WriteFile(people, []byte(csv.String()), 0o600)
		gh("user", "import", "--file", people)
		if group {
			gh(append([]string{"group", "add-member", "everyone"}, names...)...)
		} else {
			args := []string{"group", "create", "everyone"}
			for _, n := range names {
				args = append(args, "--member", n)
			}
			gh(args...)
		}
	}
	addUsers(initial, false)
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte("fake-token"), 0o600)
	gh("app", "create", "fake", "--directory", "default", "--scim-url", fake.url(), "--token-file", tokenFile, "--interval", "1h")
	gh("app", "update", "fake", "--rate-limit", "-1", "--concurrency", "8")
	gh("app", "assign", "fake", "--group", "everyone")

	posts := func() int {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return fake.posts
	}
	killedMidCycle := 0
	for i := range rounds {
		if i > 0 {
			addUsers(perRound, true) // every round has new work to be interrupted in
		}
		before := posts()
		cmd := exec.Command(bin, "app", "provision", "fake", "--db", db)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill once the cycle is writing to the target: mid-cycle for sure.
		deadline := time.Now().Add(10 * time.Second)
		var err error
		done := false
		for !done && posts() == before && time.Now().Before(deadline) {
			select {
			case err = <-exited:
				done = true
			case <-time.After(2 * time.Millisecond):
			}
		}
		if !done {
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			cmd.Process.Kill() // SIGKILL: no cleanup, no deferred release
			err = <-exited
		}
		if err != nil {
			killedMidCycle++
		}
		if users, groups, dups := fake.duplicates(); len(dups) > 0 {
			t.Fatalf("after kill %d: duplicates %v (%d users, %d groups)", i+1, dups, users, groups)
		}
	}
	out := gh("app", "provision", "fake")
	want := initial + (rounds-1)*perRound
	users, groups, dups := fake.duplicates()
	if len(dups) > 0 || users != want || groups != 1 {
		t.Fatalf("final: %d users (want %d), %d groups, duplicates %v\n%s", users, want, groups, dups, out)
	}
	fake.mu.Lock()
	var gid string
	for id := range fake.groups {
		gid = id
	}
	got := len(fake.members[gid])
	fake.mu.Unlock()
	if got != want {
		t.Fatalf("group has %d members, want %d", got, want)
	}
	if killedMidCycle < rounds-2 {
		t.Fatalf("only %d of %d runs were killed mid-cycle", killedMidCycle, rounds)
	}
	t.Logf("%d of %d runs killed mid-cycle; %d POSTs for %d objects", killedMidCycle, rounds, posts(), want+1)
}
