// Package benchdata builds Gatehouse's benchmark data set: Entra-shaped
// users and groups (Seed), and a 100,000-member group for the membership
// benchmark (SeedLarge, meant for a database of its own). Everything goes through
// directory.Service with request bodies decoded exactly as the SCIM handler
// decodes them (json.Decoder with UseNumber) and with the audit event the
// SCIM handler would attach, so the stored rows are the rows SCIM would
// store; only the HTTP hop is skipped.
package benchdata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// Spec sizes the data set.
type Spec struct {
	Users          int  // users in the default directory
	Groups         int  // groups in the default directory
	GroupsPerUser  int  // memberships per user (spread evenly over the groups)
	BigMembers     int  // members of the big group (SeedLarge)
	SpareUsers     int  // users outside the big group, for PATCH adds (SeedLarge)
	Workers        int  // concurrent creators (default NumCPU)
	Audit          bool // attach the audit event the SCIM handler would (same transaction)
	Progress       func(format string, args ...any)
	UserNamePrefix string // default "user"
}

// DefaultSpec is the data set: 10k users, 1k groups, 5 memberships
// per user (50 members per group), and a 100k-member group with 20k spare
// users (200 PATCH requests of 100 new members each).
func DefaultSpec() Spec {
	return Spec{Users: 10_000, Groups: 1_000, GroupsPerUser: 5, BigMembers: 100_000, SpareUsers: 20_000, Audit: true}
}

// Ref is a created resource.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"` // userName or displayName
}

// Manifest describes what Seed created; the load scripts read it.
type Manifest struct {
	Users      []Ref  `json:"users"`
	Groups     []Ref  `json:"groups"`
	BigGroup   string `json:"bigGroup,omitempty"`
	BigMembers int    `json:"bigMembers,omitempty"`
	Spare      []Ref  `json:"spare,omitempty"` // users not in the big group
}

// UserName is the userName of user i of the default directory.
func UserName(prefix string, i int) string { return fmt.Sprintf("%s%06d@bench.example.com", prefix, i) }

// UserBody is the POST /Users body Entra ID sends for user i (scim-server.md
// §2.1, "Create user", plus the enterprise attributes a typical mapping adds).
func UserBody(userName string, i int) []byte {
	given, family := fmt.Sprintf("Given%06d", i), fmt.Sprintf("Family%03d", i%997)
	b, _ := json.Marshal(map[string]any{
		"schemas":           []string{schema.UserURN, schema.EnterpriseUserURN},
		"externalId":        fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919),
		"userName":          userName,
		"active":            true,
		"displayName":       given + " " + family,
		"emails":            []any{map[string]any{"primary": true, "type": "work", "value": userName}},
		"meta":              map[string]any{"resourceType": "User"},
		"name":              map[string]any{"formatted": given + " " + family, "familyName": family, "givenName": given},
		"roles":             []any{},
		"title":             "Engineer",
		"preferredLanguage": "en-US",
		schema.EnterpriseUserURN: map[string]any{
			"employeeNumber": fmt.Sprint(100000 + i),
			"department":     fmt.Sprintf("Department %02d", i%40),
			"costCenter":     fmt.Sprintf("CC-%03d", i%250),
		},
	})
	return b
}

// GroupBody is a POST /Groups body with the given member ids.
func GroupBody(name string, members []string) []byte {
	list := make([]any, len(members))
	for i, id := range members {
		list[i] = map[string]any{"value": id}
	}
	b, _ := json.Marshal(map[string]any{
		"schemas":     []string{schema.GroupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  "ext-" + name,
		"displayName": name,
		"members":     list,
	})
	return b
}

// Decode parses a request body the way the SCIM handler does.
func Decode(b []byte) (map[string]any, error) {
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// event is the audit event the SCIM handler attaches to a create.
func event(name, path string, body map[string]any, on bool) *audit.Event {
	if !on {
		return nil
	}
	actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityScimToken}, SourceIP: "127.0.0.1", UserAgent: "gatehouse-bench-seed"}
	ev := actor.NewEvent(audit.SourceSCIM, name, false)
	ev.SetParameters(map[string]any{"method": "POST", "path": path, "body": body})
	return ev
}

// groupOf is the k-th group of user u: user u is in groups (7u + 211k) mod
// groups for k < GroupsPerUser, which spreads users evenly and gives every
// group Users/Groups*GroupsPerUser members (50 in the default spec).
func groupOf(u, k, groups int) int { return (7*u + 211*k) % groups }

// Seed creates the default directory's users and groups.
func Seed(ctx context.Context, svc *directory.Service, spec Spec) (Manifest, error) {
	spec = spec.withDefaults()
	var m Manifest
	d, err := svc.EnsureDefault(ctx)
	if err != nil {
		return m, err
	}
	spec.Progress("creating %d users", spec.Users)
	if m.Users, err = createUsers(ctx, svc, d, spec, spec.Users, spec.UserNamePrefix); err != nil {
		return m, err
	}
	members := make([][]string, spec.Groups)
	for u, ref := range m.Users {
		for k := 0; k < spec.GroupsPerUser && spec.Groups > 0; k++ {
			g := groupOf(u, k, spec.Groups)
			members[g] = append(members[g], ref.ID)
		}
	}
	spec.Progress("creating %d groups, %d memberships per user", spec.Groups, spec.GroupsPerUser)
	m.Groups = make([]Ref, spec.Groups)
	err = parallel(ctx, spec.Workers, spec.Groups, func(i int) error {
		name := fmt.Sprintf("group-%04d", i)
		g, err := createGroup(ctx, svc, d, name, members[i], spec.Audit)
		m.Groups[i] = Ref{ID: g.ID, Name: name}
		return err
	})
	return m, err
}

// SeedLarge creates, in the default directory, spec.BigMembers+spec.SpareUsers
// users and a group "big" holding the first spec.BigMembers of them. It is
// meant for a database of its own, so that the read benchmarks run on
// exactly the 10k/1k data set.
func SeedLarge(ctx context.Context, svc *directory.Service, spec Spec) (Manifest, error) {
	spec = spec.withDefaults()
	var m Manifest
	d, err := svc.EnsureDefault(ctx)
	if err != nil {
		return m, err
	}
	spec.Progress("creating %d users", spec.BigMembers+spec.SpareUsers)
	all, err := createUsers(ctx, svc, d, spec, spec.BigMembers+spec.SpareUsers, "large")
	if err != nil {
		return m, err
	}
	ids := make([]string, spec.BigMembers)
	for i := range ids {
		ids[i] = all[i].ID
	}
	spec.Progress("creating the %d-member group", spec.BigMembers)
	g, err := createGroup(ctx, svc, d, "big", ids, spec.Audit)
	if err != nil {
		return m, err
	}
	m.BigGroup, m.BigMembers, m.Spare = g.ID, spec.BigMembers, all[spec.BigMembers:]
	return m, nil
}

func (s Spec) withDefaults() Spec {
	if s.Workers <= 0 {
		s.Workers = runtime.NumCPU()
	}
	if s.UserNamePrefix == "" {
		s.UserNamePrefix = "user"
	}
	if s.Progress == nil {
		s.Progress = func(string, ...any) {}
	}
	return s
}

func createUsers(ctx context.Context, svc *directory.Service, d directory.Directory, spec Spec, n int, prefix string) ([]Ref, error) {
	out := make([]Ref, n)
	var done atomic.Int64
	err := parallel(ctx, spec.Workers, n, func(i int) error {
		name := UserName(prefix, i)
		body, err := Decode(UserBody(name, i))
		if err != nil {
			return err
		}
		u, err := svc.CreateUser(ctx, d, body, event("CreateUser", "/scim/v2/Users", body, spec.Audit))
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		out[i] = Ref{ID: u.ID, Name: u.UserName}
		if n := done.Add(1); n%20000 == 0 {
			spec.Progress("  %d users", n)
		}
		return nil
	})
	return out, err
}

func createGroup(ctx context.Context, svc *directory.Service, d directory.Directory, name string, members []string, withAudit bool) (directory.Group, error) {
	body, err := Decode(GroupBody(name, members))
	if err != nil {
		return directory.Group{}, err
	}
	g, err := svc.CreateGroup(ctx, d, body, event("CreateGroup", "/scim/v2/Groups", body, withAudit))
	if err != nil {
		return g, fmt.Errorf("group %s: %w", name, err)
	}
	return g, nil
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// TempDir creates a directory for a benchmark fixture named after prefix and
// this process, and removes the ones that finished benchmark processes left
// behind: fixtures are shared by all benchmarks of a package (built once, a
// few hundred MB), so they cannot be cleaned up with b.TempDir.
func TempDir(prefix string) (string, error) {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-*"))
	for _, d := range old {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), prefix+"-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone) {
			os.RemoveAll(d)
		}
	}
	return os.MkdirTemp("", fmt.Sprintf("%s-%d-", prefix, os.Getpid()))
}
