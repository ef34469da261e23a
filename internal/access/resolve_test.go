package access

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// graph builds a Graph from a compact description: edges "member>group"
// (members starting with "u:" are users) and assignments
// "account/permissionSet@principal".
func graph(edges []string, assignments []string) Graph {
	g := Graph{Users: map[string]Principal{}, Groups: map[string]Principal{}}
	node := func(s string) (string, string) {
		if id, ok := strings.CutPrefix(s, "u:"); ok {
			g.Users[id] = Principal{Name: id, Active: true}
			return id, PrincipalUser
		}
		g.Groups[s] = Principal{Name: s}
		return s, PrincipalGroup
	}
	for _, e := range edges {
		m, grp, _ := strings.Cut(e, ">")
		id, typ := node(m)
		gid, _ := node(grp)
		g.Edges = append(g.Edges, Edge{MemberID: id, MemberType: typ, GroupID: gid})
	}
	for i, a := range assignments {
		target, principal, _ := strings.Cut(a, "@")
		acct, ps, _ := strings.Cut(target, "/")
		id, typ := node(principal)
		g.Assignments = append(g.Assignments, Assignment{ID: fmt.Sprintf("as%d", i), AccountID: acct, AccountName: "acct " + acct,
			PermissionSetID: "ps-" + ps, PermissionSetName: ps, PrincipalType: typ, PrincipalID: id, PrincipalName: id})
	}
	return g
}

func render(ents []Entitlement) []string {
	var out []string
	for _, e := range ents {
		for _, r := range e.Via {
			out = append(out, r.Path)
		}
	}
	return out
}

func TestResolveUser(t *testing.T) {
	cases := []struct {
		name        string
		edges       []string
		assignments []string
		want        []string
	}{
		{"direct", nil, []string{"111122223333/Admin@u:bob"}, []string{"bob -> Admin on 111122223333"}},
		{"one group", []string{"u:bob>aws-sso-read-only"}, []string{"111122223333/ViewOnlyAccess@aws-sso-read-only"},
			[]string{"bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333"}},
		{"nested three deep", []string{"u:bob>team-a", "team-a>all-engineers", "all-engineers>everyone"}, []string{"111122223333/ViewOnlyAccess@everyone"},
			[]string{"bob -> team-a -> all-engineers -> everyone -> ViewOnlyAccess on 111122223333"}},
		{"direct and through a group: both reasons, direct first", []string{"u:bob>ops"}, []string{"1/Admin@ops", "1/Admin@u:bob"},
			[]string{"bob -> Admin on 1", "bob -> ops -> Admin on 1"}},
		{"diamond: the shortest path, ties by name", []string{"u:bob>b", "u:bob>a", "a>top", "b>top", "u:bob>z", "z>y", "y>top2"},
			[]string{"1/P@top", "2/Q@top2"}, []string{"bob -> a -> top -> P on 1", "bob -> z -> y -> top2 -> Q on 2"}},
		{"shorter path wins over a longer one found first by name", []string{"u:bob>a", "a>b", "b>target", "u:bob>z", "z>target"},
			[]string{"1/P@target"}, []string{"bob -> z -> target -> P on 1"}},
		{"cycle", []string{"u:bob>a", "a>b", "b>c", "c>a"}, []string{"1/P@c", "2/Q@a"},
			[]string{"bob -> a -> b -> c -> P on 1", "bob -> a -> Q on 2"}},
		{"self loop", []string{"u:bob>a", "a>a"}, []string{"1/P@a"}, []string{"bob -> a -> P on 1"}},
		{"other users' assignments do not apply", []string{"u:alice>a"}, []string{"1/P@a", "1/P@u:alice"}, nil},
		{"several permission sets on one account, sorted by name", []string{"u:bob>g"}, []string{"1/ViewOnly@g", "1/Billing@g"},
			[]string{"bob -> g -> Billing on 1", "bob -> g -> ViewOnly on 1"}},
	}
	for _, c := range cases {
		g := graph(append(c.edges, "u:bob>unrelated-leaf"), c.assignments)
		got := render(ResolveUser("bob", g))
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestResolveUserGroupsEntitlementsByTarget(t *testing.T) {
	g := graph([]string{"u:bob>a", "u:bob>b"}, []string{"1/P@a", "1/P@b", "2/P@a"})
	ents := ResolveUser("bob", g)
	if len(ents) != 2 || len(ents[0].Via) != 2 || len(ents[1].Via) != 1 {
		t.Fatalf("entitlements: %+v", ents)
	}
	e := ents[0]
	if e.UserName != "bob" || e.AccountID != "1" || e.AccountName != "acct 1" || e.PermissionSetID != "ps-P" || !e.UserActive {
		t.Fatalf("entitlement: %+v", e)
	}
	if r := e.Via[0]; r.Direct || len(r.Groups) != 1 || r.Groups[0] != (GroupHop{ID: "a", Name: "a"}) || r.AssignmentID != "as0" {
		t.Fatalf("reason: %+v", r)
	}
}

func TestResolveAccount(t *testing.T) {
	cases := []struct {
		name        string
		edges       []string
		assignments []string
		want        []string
	}{
		{"direct", nil, []string{"1/Admin@u:bob"}, []string{"bob -> Admin on 1"}},
		{"members through nesting", []string{"u:bob>team-a", "team-a>eng", "u:carol>eng"}, []string{"1/View@eng"},
			[]string{"bob -> team-a -> eng -> View on 1", "carol -> eng -> View on 1"}},
		{"shortest path per user", []string{"u:bob>team-a", "team-a>eng", "u:bob>eng"}, []string{"1/View@eng"},
			[]string{"bob -> eng -> View on 1"}},
		{"cycle", []string{"u:bob>a", "a>b", "b>a", "u:carol>b"}, []string{"1/View@a"},
			[]string{"bob -> a -> View on 1", "carol -> b -> a -> View on 1"}},
		{"one user, two permission sets and two reasons", []string{"u:bob>g"}, []string{"1/View@g", "1/View@u:bob", "1/Admin@u:bob"},
			[]string{"bob -> Admin on 1", "bob -> View on 1", "bob -> g -> View on 1"}},
		{"empty group", nil, []string{"1/View@nobody-here"}, nil},
	}
	for _, c := range cases {
		got := render(ResolveAccount(graph(c.edges, c.assignments)))
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestResolveLargeCycle: a 10,000-group ring is walked once.
func TestResolveLargeCycle(t *testing.T) {
	var edges []string
	const n = 10000
	for i := range n {
		edges = append(edges, fmt.Sprintf("g%d>g%d", i, (i+1)%n))
	}
	edges = append(edges, "u:bob>g0")
	g := graph(edges, []string{"1/P@g9999"})
	start := time.Now()
	ents := ResolveUser("bob", g)
	if len(ents) != 1 || len(ents[0].Via[0].Groups) != n {
		t.Fatalf("ring: %d entitlements", len(ents))
	}
	if who := ResolveAccount(g); len(who) != 1 || len(who[0].Via[0].Groups) != n {
		t.Fatalf("ring, who: %d", len(who))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("ring took %s", d)
	}
}
