package patch

import (
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// membersAttr is Group.members, the one attribute kept outside the document.
var membersAttr = schema.Group.Attr("members")

// members accumulates the membership delta across operations and, when a
// filter needs it, the group's current members (loaded at most once).
type members struct {
	clear  bool
	add    refSet
	remove refSet
	loaded bool
	base   []MemberRef
	stored map[string]bool // ids in base, once loaded
}

func newMembers() *members { return &members{add: newRefSet(), remove: newRefSet()} }

// refSet is an insertion-ordered set of members keyed by id, so the delta
// lists members in the order the client named them.
type refSet struct {
	order []string
	refs  map[string]MemberRef
}

func newRefSet() refSet { return refSet{refs: map[string]MemberRef{}} }

func (s *refSet) put(r MemberRef) {
	if _, ok := s.refs[r.Value]; !ok {
		s.order = append(s.order, r.Value)
	}
	s.refs[r.Value] = r
}

func (s *refSet) del(id string) { delete(s.refs, id) }

func (s *refSet) list() []MemberRef {
	var out []MemberRef
	seen := map[string]bool{}
	for _, id := range s.order {
		if r, ok := s.refs[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, r)
		}
	}
	return out
}

// Add and Remove stay disjoint: the last operation on an id wins.
func (m *members) addRef(r MemberRef) {
	m.remove.del(r.Value)
	m.add.put(r)
}

func (m *members) removeID(id string) {
	m.add.del(id)
	// After a clear, or when the loaded list lacks it, the id is not stored.
	if !m.clear && (!m.loaded || m.stored[id]) {
		m.remove.put(MemberRef{Value: id})
	}
}

func (m *members) clearAll() {
	m.clear = true
	m.add, m.remove = newRefSet(), newRefSet()
}

func (m *members) delta() MemberDelta {
	d := MemberDelta{Clear: m.clear, Add: m.add.list()}
	for _, r := range m.remove.list() {
		d.Remove = append(d.Remove, r.Value)
	}
	return d
}

// members turns an operation on Group.members into delta edits.
func (a *applier) members(op string, t target, v any, hasValue bool) error {
	if t.sub != nil {
		return fault.New(fault.Mutability, t.path, "%s cannot be modified: a member is added or removed as a whole", t.path)
	}
	if t.filter == nil {
		if op == "remove" && (!hasValue || v == nil) {
			a.mem.clearAll()
			return nil
		}
		refs, err := a.memberRefs(v, nil)
		if err != nil {
			return err
		}
		switch op {
		case "remove": // Entra's legacy dialect: remove only the listed members
			for _, r := range refs {
				a.mem.removeID(r.Value)
			}
		case "replace":
			a.mem.clearAll()
			fallthrough
		default:
			for _, r := range refs {
				a.mem.addRef(r)
			}
		}
		return nil
	}
	switch op {
	case "remove":
		ids, ok := valueIDs(t.filter)
		if !ok {
			var err error
			if ids, err = a.matchMembers(t); err != nil {
				return err
			}
		}
		for _, id := range ids {
			a.mem.removeID(id)
		}
		return nil
	case "replace": // the selected members are replaced by the value
		matched, err := a.matchMembers(t)
		if err != nil {
			return err
		}
		if len(matched) == 0 && a.opt.RFCNoTarget {
			return fault.New(fault.NoTarget, t.path, "%s matched no member", t.path)
		}
		for _, id := range matched {
			a.mem.removeID(id)
		}
		if v == nil {
			return nil
		}
	}
	if v == nil { // add members[value eq "x"] with no value adds x
		v = map[string]any{}
	}
	base, _ := equalities(t.filter)
	refs, err := a.memberRefs(v, base)
	if err != nil {
		return err
	}
	for _, r := range refs {
		a.mem.addRef(r)
	}
	return nil
}

// memberRefs normalises a members value (a list, a lone object, bare id
// strings, "displayName" for "display") into refs; base fills sub-attributes
// the value leaves out, from a filter's eq comparisons.
func (a *applier) memberRefs(v any, base map[*schema.Attribute]any) ([]MemberRef, error) {
	x, err := schema.Value(membersAttr, "", v, a.sopt())
	if err != nil {
		return nil, err
	}
	list, _ := x.([]any)
	if x == nil && base != nil {
		list = []any{map[string]any{}}
	}
	// An element that normalises to nothing ({"id": x}, null) names no
	// member; adding or removing nobody in silence would hide the client's
	// mistake (a removal that keeps access), so it is an error.
	if n := givenMembers(v); base == nil && n != len(list) {
		return nil, fault.New(fault.InvalidValue, "members.value", "%d of the %d members given name no member: each needs its id in \"value\"", n-len(list), n)
	}
	refs := make([]MemberRef, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fault.New(fault.InvalidValue, "members", "members[%d] must be an object or an id", i)
		}
		for sub, bv := range base {
			if s, ok := bv.(string); ok && m[sub.Name] == nil {
				m[sub.Name] = s
			}
		}
		r := MemberRef{Value: str(m["value"]), Display: str(m["display"]), Type: memberType(str(m["type"]), str(m["$ref"]))}
		if r.Value == "" {
			return nil, fault.New(fault.InvalidValue, "members.value", "members[%d].value is required: a member is named by its id", i)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// givenMembers counts the members a client's value lists.
func givenMembers(v any) int {
	switch t := v.(type) {
	case nil:
		return 0
	case []any:
		return len(t)
	}
	return 1
}

// memberType canonicalises the type's case and derives it from $ref.
func memberType(typ, ref string) string {
	for _, c := range []string{"User", "Group"} {
		if strings.EqualFold(typ, c) {
			return c
		}
	}
	if typ == "" && strings.Contains(ref, "/Groups/") {
		return "Group"
	}
	if typ == "" && strings.Contains(ref, "/Users/") {
		return "User"
	}
	return typ
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// valueIDs extracts the ids of `value eq "id"` comparisons joined by or, the
// shape Entra and Okta send, so removal needs no member list.
func valueIDs(e filter.Expr) ([]string, bool) {
	switch x := e.(type) {
	case *filter.Compare:
		if x == nil {
			return nil, false
		}
		return valueIDs(*x)
	case *filter.Or:
		if x == nil {
			return nil, false
		}
		return valueIDs(*x)
	case filter.Compare:
		s, ok := x.Value.(string)
		if x.Op != filter.Eq || x.Path.Sub == nil || x.Path.Sub.Name != "value" || !ok {
			return nil, false
		}
		return []string{s}, true
	case filter.Or:
		l, ok1 := valueIDs(x.Left)
		r, ok2 := valueIDs(x.Right)
		return append(l, r...), ok1 && ok2
	}
	return nil, false
}

// matchMembers returns the ids of the current members (stored members with
// the delta so far applied) that the path's filter selects.
func (a *applier) matchMembers(t target) ([]string, error) {
	m := a.mem
	if !m.loaded {
		if a.opt.Members == nil {
			return nil, fault.New(fault.Unsupported, t.path, "%s: this member filter needs the current member list, which is not available here", t.path)
		}
		base, err := a.opt.Members()
		if err != nil {
			return nil, err
		}
		m.base, m.loaded, m.stored = base, true, make(map[string]bool, len(base))
		for _, r := range base {
			m.stored[r.Value] = true
		}
	}
	var cur []MemberRef
	if !m.clear {
		for _, r := range m.base {
			if _, gone := m.remove.refs[r.Value]; !gone {
				if _, readded := m.add.refs[r.Value]; !readded {
					cur = append(cur, r)
				}
			}
		}
	}
	cur = append(cur, m.add.list()...)
	var ids []string
	for _, r := range cur {
		elem := map[string]any{"value": r.Value}
		if r.Type != "" {
			elem["type"] = r.Type
		}
		if r.Display != "" {
			elem["display"] = r.Display
		}
		if filter.MatchElement(t.filter, elem) {
			ids = append(ids, r.Value)
		}
	}
	return ids, nil
}
