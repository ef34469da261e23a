package provisioning

import (
	"context"
	"fmt"
	"sort"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// scopeSet is an application's assignment scope resolved to ids. Scoping
// filters are applied later, per object, because they need the attributes.
type scopeSet struct {
	// users maps each user in scope to why ("assigned directly", "member of
	// group engineering").
	users map[string]string
	// groups maps each group that is provisioned to why.
	groups map[string]string
	// members are the members each provisioned group should have in the
	// target, as source ids: users, plus groups when the target nests.
	members map[string][]string
	// assignments is how many assignments the application has.
	assignments int
	// roles are the app roles of the objects in scope: the roles of the
	// assignments that bring them in (directly, or through an assigned group
	// they are a member of, nesting included).
	roles map[string][]string
}

// addRole records that an assignment gives object id the role.
func (sc *scopeSet) addRole(id, role string) {
	if role == "" {
		return
	}
	for _, r := range sc.roles[id] {
		if r == role {
			return
		}
	}
	sc.roles[id] = append(sc.roles[id], role)
}

// memberCache memoises a directory's group members for one cycle.
type memberCache struct {
	dir directory.Store
	d   string
	m   map[string][]directory.Member
	all bool // m holds every group of the directory (preloaded)
}

// preloadThreshold is the number of groups to expand from which one query
// for the whole directory's memberships beats one query per group.
const preloadThreshold = 50

func (c *memberCache) preload(ctx context.Context, st Store) error {
	m, err := st.DirectoryMembers(ctx, c.d)
	if err != nil {
		return err
	}
	c.m, c.all = m, true
	return nil
}

func (c *memberCache) get(ctx context.Context, groupID string) ([]directory.Member, error) {
	if ms, ok := c.m[groupID]; ok || c.all {
		return ms, nil
	}
	ms, err := c.dir.Members(ctx, c.d, groupID)
	if err != nil {
		return nil, err
	}
	c.m[groupID] = ms
	return ms, nil
}

// flatten returns the users reachable from group id through nesting
// (cycle-safe) and the groups nested in it.
func (c *memberCache) flatten(ctx context.Context, id string) (users, groups []string, err error) {
	seen := map[string]bool{id: true}
	uset := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		ms, err := c.get(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			switch m.Type {
			case directory.MemberUser:
				if !uset[m.ID] {
					uset[m.ID] = true
					users = append(users, m.ID)
				}
			case directory.MemberGroup:
				if !seen[m.ID] {
					seen[m.ID] = true
					groups = append(groups, m.ID)
					queue = append(queue, m.ID)
				}
			}
		}
	}
	return users, groups, nil
}

// resolveScope computes the scope of an application: assigned users, the
// users of assigned groups (nested groups included, cycle-safe) and the
// groups to provision, or everything for scope "all". nested says whether
// the target accepts groups as members; without it nested groups are
// flattened into their ancestors' members.
func resolveScope(ctx context.Context, st Store, mc *memberCache, a Application, nested, groupsEnabled bool) (*scopeSet, error) {
	sc := &scopeSet{users: map[string]string{}, groups: map[string]string{}, members: map[string][]string{}, roles: map[string][]string{}}
	var provisioned []string
	if a.Scope == ScopeAll {
		users, groups, err := st.DirectoryObjectIDs(ctx, a.DirectoryID)
		if err != nil {
			return nil, err
		}
		for _, id := range users {
			sc.users[id] = "scope is all users and groups"
		}
		for _, id := range groups {
			sc.groups[id] = "scope is all users and groups"
		}
		provisioned = groups
		if groupsEnabled && len(groups) >= preloadThreshold {
			if err := mc.preload(ctx, st); err != nil {
				return nil, err
			}
		}
	} else {
		as, err := st.Assignments(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		sc.assignments = len(as)
		nGroups := 0
		for _, x := range as {
			if x.ObjectType == TypeGroup {
				nGroups++
			}
		}
		if nGroups >= preloadThreshold {
			if err := mc.preload(ctx, st); err != nil {
				return nil, err
			}
		}
		for _, x := range as {
			if x.ObjectType == TypeUser {
				sc.users[x.ObjectID] = "assigned directly"
				sc.addRole(x.ObjectID, x.Role)
			}
		}
		for _, x := range as {
			if x.ObjectType != TypeGroup {
				continue
			}
			users, nestedGroups, err := mc.flatten(ctx, x.ObjectID)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if _, ok := sc.users[u]; !ok {
					sc.users[u] = fmt.Sprintf("member of assigned group %s", x.Display)
				}
				sc.addRole(u, x.Role)
			}
			sc.groups[x.ObjectID] = "assigned"
			sc.addRole(x.ObjectID, x.Role)
			for _, g := range nestedGroups {
				sc.addRole(g, x.Role)
			}
			provisioned = append(provisioned, x.ObjectID)
			if nested {
				for _, g := range nestedGroups {
					if _, ok := sc.groups[g]; !ok {
						sc.groups[g] = fmt.Sprintf("nested in assigned group %s", x.Display)
						provisioned = append(provisioned, g)
					}
				}
			}
		}
	}
	if !groupsEnabled {
		sc.groups = map[string]string{}
		return sc, nil
	}
	for _, g := range provisioned {
		if _, done := sc.members[g]; done {
			continue
		}
		var ids []string
		if nested {
			ms, err := mc.get(ctx, g)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if m.Type == directory.MemberUser {
					if _, ok := sc.users[m.ID]; ok {
						ids = append(ids, m.ID)
					}
				} else if _, ok := sc.groups[m.ID]; ok {
					ids = append(ids, m.ID)
				}
			}
		} else {
			users, _, err := mc.flatten(ctx, g)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if _, ok := sc.users[u]; ok {
					ids = append(ids, u)
				}
			}
		}
		sort.Strings(ids)
		sc.members[g] = ids
	}
	return sc, nil
}
