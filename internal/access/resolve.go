package access

import (
	"cmp"
	"slices"
)

// Entitlement resolution is a pure function of a Graph: the store reads
// the relevant assignments and membership edges in one snapshot (its
// recursive queries use UNION, so they terminate on cycles), and these
// functions find, for every assignment that applies, the shortest group
// path that explains it. Breadth-first search with a visited set makes
// cycles in group nesting harmless here too; ties are broken by group name
// and id, so the explanation is deterministic.

type entKey struct{ user, account, ps string }

type collector struct {
	g    Graph
	ents map[entKey]*Entitlement
}

func (c *collector) add(userID string, a Assignment, hops []GroupHop) {
	k := entKey{userID, a.AccountID, a.PermissionSetID}
	e := c.ents[k]
	if e == nil {
		u := c.g.Users[userID]
		e = &Entitlement{UserID: userID, UserName: orID(u.Name, userID), UserActive: u.Active, AccountID: a.AccountID, AccountName: a.AccountName,
			PermissionSetID: a.PermissionSetID, PermissionSetName: orID(a.PermissionSetName, a.PermissionSetID)}
		c.ents[k] = e
	}
	parts := make([]string, 0, len(hops)+2)
	parts = append(parts, e.UserName)
	for _, h := range hops {
		parts = append(parts, h.Name)
	}
	parts = append(parts, e.PermissionSetName+" on "+a.AccountID)
	e.Via = append(e.Via, Reason{AssignmentID: a.ID, Direct: len(hops) == 0, Groups: hops, Path: describe(parts...)})
}

func (c *collector) result(less func(a, b *Entitlement) int) []Entitlement {
	list := make([]*Entitlement, 0, len(c.ents))
	for _, e := range c.ents {
		slices.SortFunc(e.Via, func(a, b Reason) int {
			return cmp.Or(cmp.Compare(len(a.Groups), len(b.Groups)), cmp.Compare(a.Path, b.Path), cmp.Compare(a.AssignmentID, b.AssignmentID))
		})
		list = append(list, e)
	}
	slices.SortFunc(list, less)
	out := make([]Entitlement, len(list))
	for i, e := range list {
		out[i] = *e
	}
	return out
}

func (c *collector) hop(id string) GroupHop {
	return GroupHop{ID: id, Name: orID(c.g.Groups[id].Name, id)}
}

// byName orders ids by the group's name, then id.
func (c *collector) byName(ids []string) {
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(c.g.Groups[a].Name, c.g.Groups[b].Name), cmp.Compare(a, b))
	})
}

// ResolveUser lists every (account, permission set) userID can use, with
// every assignment that grants it: a direct one, or one to a group the user
// reaches through nesting (with the shortest path to it).
func ResolveUser(userID string, g Graph) []Entitlement {
	c := &collector{g: g, ents: map[entKey]*Entitlement{}}
	up := map[string][]string{}
	for _, e := range g.Edges {
		up[e.MemberID] = append(up[e.MemberID], e.GroupID)
	}
	for _, ids := range up {
		c.byName(ids)
	}
	// prev[group] is the node the group was first reached from.
	prev := map[string]string{}
	queue := []string{}
	for _, gid := range up[userID] {
		if _, seen := prev[gid]; !seen {
			prev[gid] = userID
			queue = append(queue, gid)
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, parent := range up[cur] {
			if _, seen := prev[parent]; !seen && parent != userID {
				prev[parent] = cur
				queue = append(queue, parent)
			}
		}
	}
	for _, a := range g.Assignments {
		switch a.PrincipalType {
		case PrincipalUser:
			if a.PrincipalID == userID {
				c.add(userID, a, nil)
			}
		case PrincipalGroup:
			if _, reached := prev[a.PrincipalID]; !reached {
				continue
			}
			var hops []GroupHop
			for n := a.PrincipalID; n != userID; n = prev[n] {
				hops = append(hops, c.hop(n))
			}
			slices.Reverse(hops)
			c.add(userID, a, hops)
		}
	}
	return c.result(func(a, b *Entitlement) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.PermissionSetName, b.PermissionSetName), cmp.Compare(a.PermissionSetID, b.PermissionSetID))
	})
}

// ResolveAccount lists every user who can use the assignments in g (those
// of one account, possibly of one permission set): users assigned directly,
// and every user inside an assigned group, through nesting, with the
// shortest path from the user to the assigned group.
func ResolveAccount(g Graph) []Entitlement {
	c := &collector{g: g, ents: map[entKey]*Entitlement{}}
	down := map[string][]Edge{}
	for _, e := range g.Edges {
		down[e.GroupID] = append(down[e.GroupID], e)
	}
	for _, es := range down {
		slices.SortFunc(es, func(a, b Edge) int { return cmp.Compare(a.MemberID, b.MemberID) })
	}
	for _, a := range g.Assignments {
		switch a.PrincipalType {
		case PrincipalUser:
			c.add(a.PrincipalID, a, nil)
		case PrincipalGroup:
			root := a.PrincipalID
			prevGroup := map[string]string{root: ""}
			userVia := map[string]string{} // user -> the group it was first found in
			var users []string
			queue := []string{root}
			for len(queue) > 0 {
				cur := queue[0]
				queue = queue[1:]
				for _, e := range down[cur] {
					if e.MemberType == PrincipalUser {
						if _, seen := userVia[e.MemberID]; !seen {
							userVia[e.MemberID] = cur
							users = append(users, e.MemberID)
						}
					} else if _, seen := prevGroup[e.MemberID]; !seen {
						prevGroup[e.MemberID] = cur
						queue = append(queue, e.MemberID)
					}
				}
			}
			for _, u := range users {
				var hops []GroupHop
				for n := userVia[u]; n != ""; n = prevGroup[n] {
					hops = append(hops, c.hop(n))
				}
				c.add(u, a, hops)
			}
		}
	}
	return c.result(func(a, b *Entitlement) int {
		return cmp.Or(cmp.Compare(a.UserName, b.UserName), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.PermissionSetName, b.PermissionSetName), cmp.Compare(a.PermissionSetID, b.PermissionSetID))
	})
}
