package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CreateGroup validates a client's group object and stores it with its members.
func (s *Service) CreateGroup(ctx context.Context, d Directory, raw map[string]any, ev *audit.Event) (Group, error) {
	attrs, err := schema.Normalize(schema.GroupResource, raw, d.schemaOptions())
	if err != nil {
		return Group{}, err
	}
	now := s.now()
	g := Group{ID: s.NewID(), DirectoryID: d.ID, Version: 1, Created: now, Modified: now}
	refs, err := memberRefs(raw, attrs)
	if err != nil {
		return Group{}, err
	}
	if err := setGroupAttrs(d, &g, attrs); err != nil {
		return Group{}, err
	}
	if err := checkMemberCount(d, len(refs), "members"); err != nil {
		return Group{}, err
	}
	members, err := s.resolve(d, g.ID, refs, func(ids []string) (map[string]string, error) { return s.Store.ResolveMembers(ctx, d.ID, ids) })
	if err != nil {
		return Group{}, err
	}
	if ev = fill(ev, d.ID, g.ID, g.DisplayName); ev != nil {
		ev.SetResponse(map[string]any{"id": g.ID})
	}
	if err := s.Store.CreateGroup(ctx, g, members, ev); err != nil {
		return Group{}, groupConflict(err, g.DisplayName)
	}
	return g, nil
}

// GetGroup returns a group by id.
func (s *Service) GetGroup(ctx context.Context, d Directory, id string) (Group, error) {
	g, err := s.Store.GetGroup(ctx, d.ID, id)
	return g, notFound(err, "Group", id)
}

// Members returns a group's direct members.
func (s *Service) Members(ctx context.Context, d Directory, id string) ([]Member, error) {
	return s.Store.Members(ctx, d.ID, id)
}

// ReplaceGroup is PUT: attributes and the member list are replaced.
func (s *Service) ReplaceGroup(ctx context.Context, d Directory, id string, raw map[string]any, ifMatch string, ev *audit.Event) (Group, error) {
	attrs, err := schema.Normalize(schema.GroupResource, raw, d.schemaOptions())
	if err != nil {
		return Group{}, err
	}
	refs, err := memberRefs(raw, attrs)
	if err != nil {
		return Group{}, err
	}
	if err := checkMemberCount(d, len(refs), "members"); err != nil {
		return Group{}, err
	}
	g, err := s.Store.UpdateGroup(ctx, d.ID, id, func(g *Group, m MemberEditor) error {
		if err := CheckIfMatch(ifMatch, g.Version); err != nil {
			return err
		}
		if err := setGroupAttrs(d, g, attrs); err != nil {
			return err
		}
		members, err := s.resolve(d, id, refs, m.Resolve)
		if err != nil {
			return err
		}
		if err := s.checkCycles(ctx, d, id, members); err != nil {
			return err
		}
		if err := m.Clear(); err != nil {
			return err
		}
		g.Modified = s.now()
		return m.Add(members)
	}, fill(ev, d.ID, id, stringAttr(attrs, "displayName")))
	return g, groupConflict(notFound(err, "Group", id), stringAttr(attrs, "displayName"))
}

// PatchGroup applies PATCH operations; membership edits cost the size of
// the change, not of the group.
func (s *Service) PatchGroup(ctx context.Context, d Directory, id string, ops []patch.Op, ifMatch string, ev *audit.Event) (Group, bool, error) {
	changed := false
	ev = fill(ev, d.ID, id, "")
	var name string
	g, err := s.Store.UpdateGroup(ctx, d.ID, id, func(g *Group, m MemberEditor) error {
		if err := CheckIfMatch(ifMatch, g.Version); err != nil {
			return err
		}
		opt := d.patchOptions()
		opt.Members = func() ([]patch.MemberRef, error) {
			list, err := m.List()
			refs := make([]patch.MemberRef, len(list))
			for i, x := range list {
				refs[i] = patch.MemberRef{Value: x.ID, Type: x.Type, Display: x.Display}
			}
			return refs, err
		}
		doc := withExternalID(g.Attrs, g.ExternalID)
		res, err := patch.Apply(schema.GroupResource, doc, ops, opt)
		if err != nil {
			return err
		}
		if !res.Changed {
			return errUnchanged
		}
		changed = true
		if err := checkGroupPatchProfile(d, res.Members); err != nil {
			return err
		}
		if err := setGroupAttrs(d, g, res.Doc); err != nil {
			return err
		}
		name = g.DisplayName
		if ev != nil {
			ev.ResourceName = name
		}
		delta := res.Members
		if delta.Clear {
			if err := m.Clear(); err != nil {
				return err
			}
		}
		if err := m.Remove(delta.Remove); err != nil {
			return err
		}
		add, err := s.resolve(d, id, delta.Add, m.Resolve)
		if err != nil {
			return err
		}
		if err := s.checkCycles(ctx, d, id, add); err != nil {
			return err
		}
		g.Modified = s.now()
		return m.Add(add)
	}, ev)
	if errors.Is(err, errUnchanged) {
		g, err = s.GetGroup(ctx, d, id)
		return g, false, err
	}
	return g, changed, groupConflict(notFound(err, "Group", id), name)
}

// DeleteGroup deletes a group, its member edges and its own memberships;
// access assignments naming it are removed too, unless opts refuse.
func (s *Service) DeleteGroup(ctx context.Context, d Directory, id, ifMatch string, ev *audit.Event, opts ...DeleteOptions) error {
	if ifMatch != "" {
		g, err := s.GetGroup(ctx, d, id)
		if err != nil {
			return err
		}
		if err := CheckIfMatch(ifMatch, g.Version); err != nil {
			return err
		}
		fill(ev, d.ID, id, g.DisplayName)
	}
	return notFound(s.Store.DeleteGroup(ctx, d.ID, id, fill(ev, d.ID, id, ""), opts...), "Group", id)
}

// ListGroups runs a query.
func (s *Service) ListGroups(ctx context.Context, d Directory, q Query) (Page[Group], error) {
	return s.Store.ListGroups(ctx, d.ID, q)
}

// UserGroups lists the groups a user is in, direct and indirect.
func (s *Service) UserGroups(ctx context.Context, d Directory, userID string) ([]GroupRef, error) {
	return s.Store.UserGroups(ctx, d.ID, userID)
}

func setGroupAttrs(d Directory, g *Group, attrs map[string]any) error {
	name := stringAttr(attrs, "displayName")
	if name == "" {
		return fault.New(fault.InvalidValue, "displayName", "displayName is required and must not be empty (RFC 7643 §4.2)")
	}
	if err := checkIndexedLengths(attrs, "displayName", "externalId"); err != nil {
		return err
	}
	if err := checkName(d, "displayName", name); err != nil {
		return err
	}
	g.DisplayName = name
	g.ExternalID = stringAttr(attrs, "externalId")
	delete(attrs, "externalId")
	delete(attrs, "members") // members live in their own table
	g.Attrs = attrs
	return nil
}

// memberRefs extracts the members list of a normalised group document. A
// member the client gave without its id ({"id": x}) normalises to nothing;
// silently dropping it would hide the client's mistake, so raw is compared.
func memberRefs(raw, attrs map[string]any) ([]patch.MemberRef, error) {
	list, _ := attrs["members"].([]any)
	if given, ok := lookupFold(raw, "members").([]any); ok {
		for i, e := range given {
			if m, ok := e.(map[string]any); ok && len(m) > 0 {
				if v, _ := lookupFold(m, "value").(string); v == "" {
					return nil, fault.New(fault.InvalidValue, fmt.Sprintf("members[%d].value", i), "members[%d].value is required: a member is named by its id", i)
				}
			}
		}
	}
	out := make([]patch.MemberRef, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		t, _ := m["type"].(string)
		disp, _ := m["display"].(string)
		out = append(out, patch.MemberRef{Value: v, Type: t, Display: disp})
	}
	return out, nil
}

func lookupFold(m map[string]any, key string) any {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// resolve turns client member references into stored members: each id must
// name a user or group of the directory (unless the directory accepts
// unknown members, which are then dropped), a given type must match, and a
// group cannot contain itself.
func (s *Service) resolve(d Directory, groupID string, refs []patch.MemberRef, lookup func([]string) (map[string]string, error)) ([]Member, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(refs))
	for i, r := range refs {
		if r.Value == "" {
			return nil, fault.New(fault.InvalidValue, fmt.Sprintf("members[%d].value", i), "members[%d].value is required", i)
		}
		if r.Value == groupID {
			return nil, fault.New(fault.InvalidValue, fmt.Sprintf("members[%d].value", i), "a group cannot be a member of itself")
		}
		ids = append(ids, r.Value)
	}
	types, err := lookup(ids)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(refs))
	seen := map[string]bool{}
	for i, r := range refs {
		typ, ok := types[r.Value]
		if !ok {
			if d.Settings.AcceptUnknownMembers {
				continue
			}
			return nil, fault.New(fault.InvalidValue, fmt.Sprintf("members[%d].value", i), "members[%d].value %q is not the id of a user or group in this directory", i, r.Value)
		}
		if r.Type != "" && !equalFold(r.Type, typ) {
			return nil, fault.New(fault.InvalidValue, fmt.Sprintf("members[%d].type", i), "members[%d].type is %q but %s is a %s", i, r.Type, r.Value, typ)
		}
		if !seen[r.Value] {
			seen[r.Value] = true
			out = append(out, Member{ID: r.Value, Type: typ, Display: r.Display})
		}
	}
	return out, nil
}

// checkCycles refuses to nest a group inside one of its own members
// (directly or through nesting): targets such as AWS cannot represent a
// cycle, and a cycle makes "who is in this group" meaningless. Reads that
// meet a cycle created some other way still terminate.
func (s *Service) checkCycles(ctx context.Context, d Directory, groupID string, members []Member) error {
	var ancestors map[string]bool
	for _, m := range members {
		if m.Type != MemberGroup {
			continue
		}
		if ancestors == nil {
			refs, err := s.Store.UserGroups(ctx, d.ID, groupID)
			if err != nil {
				return err
			}
			ancestors = map[string]bool{}
			for _, r := range refs {
				ancestors[r.ID] = true
			}
		}
		if ancestors[m.ID] {
			return fault.New(fault.InvalidValue, "members", "adding group %s to group %s would create a cycle: %s already contains %s", m.ID, groupID, m.ID, groupID)
		}
	}
	return nil
}

func groupConflict(err error, name string) error {
	if errors.Is(err, store.ErrAlreadyExists) {
		return fault.New(fault.Uniqueness, "displayName", "a group with displayName %q already exists in this directory", name)
	}
	return err
}
