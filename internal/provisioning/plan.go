package provisioning

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// Op kinds the planner produces.
const (
	OpNone    = "none"    // nothing to do (in sync, or nothing linked)
	OpCreate  = "create"  // not linked: match in the target, create when nothing matches
	OpUpdate  = "update"  // linked: PATCH the changed attributes
	OpDisable = "disable" // linked user leaving the scope or disabled: active=false; group: members removed
	OpDelete  = "delete"  // linked object deleted in the source: DELETE
	OpSkip    = "skip"    // deliberately not provisioned (reason says why)
	OpUnlink  = "unlink"  // forget the link, leave the target object alone
)

// PlanInput is everything the planner knows about one object. It is pure
// data: the engine fills it from the source, the link store and, when it was
// read, the target object.
type PlanInput struct {
	Type     string // TypeUser or TypeGroup
	SourceID string
	Name     string
	// Deleted: the object was deleted in the source.
	Deleted bool
	// Active is the source user's active flag (groups: true).
	Active bool
	// InScope and ScopeReason: assignment and scoping-filter evaluation.
	InScope     bool
	ScopeReason string
	// Desired is what the mappings produce (nil when out of scope or deleted).
	Desired *Desired
	// Link is the link store entry (nil when not linked).
	Link *Link
	// Current is the target object's values by target path when the target
	// object was read (matched or full reconciliation); nil compares against
	// the link's shadow (the values last sent).
	Current  map[string]any
	Settings Settings
}

// Op is the planner's decision for one object.
type Op struct {
	Kind     string
	Type     string
	SourceID string
	Name     string
	TargetID string
	// Patch and Changes describe an update or disable.
	Patch   []target.PatchOp
	Changes []Modification
	// Exported is the shadow to store after success (the values the target
	// then holds, by target path).
	Exported map[string]any
	Reason   string
}

// Counts reports whether the op removes access: the deletion threshold
// counts these (Entra counts disables and deletes alike).
func (o Op) Counts() bool { return o.Kind == OpDisable || o.Kind == OpDelete }

// Plan decides what to do with one object. It never performs I/O.
func Plan(in PlanInput) Op {
	op := Op{Type: in.Type, SourceID: in.SourceID, Name: in.Name}
	if in.Link != nil {
		op.TargetID = in.Link.TargetID
	}
	linked := in.Link != nil
	switch {
	case in.Deleted:
		if !linked {
			op.Kind, op.Reason = OpNone, "deleted in the source and never provisioned"
			return op
		}
		switch in.Settings.SourceDeleteAction() {
		case OnDeleteDelete:
			op.Kind, op.Reason = OpDelete, "deleted in the source"
		case OnDeleteDisable:
			if in.Type == TypeUser && in.Link.Active {
				return disable(op, in, "deleted in the source (on-source-delete: disable)")
			}
			op.Kind, op.Reason = OpUnlink, "deleted in the source (on-source-delete: disable); already disabled, no longer managed"
		default:
			op.Kind, op.Reason = OpUnlink, "deleted in the source (on-source-delete: none); the target object is left alone and no longer managed"
		}
		return op
	case !in.InScope:
		if !linked {
			op.Kind, op.Reason = OpSkip, "not in scope: "+in.ScopeReason
			return op
		}
		if !in.Link.Active {
			op.Kind, op.Reason = OpNone, "out of scope and already deprovisioned"
			return op
		}
		if in.Settings.SkipOutOfScopeDeletions {
			op.Kind, op.Reason = OpSkip, "out of scope ("+in.ScopeReason+"); skip-out-of-scope-deletions is on, the target object is left as it is"
			return op
		}
		return disable(op, in, "out of scope: "+in.ScopeReason)
	case in.Type == TypeUser && !in.Active && !linked:
		op.Kind, op.Reason = OpSkip, "disabled in the source; disabled users are not created"
		return op
	case !linked:
		op.Kind, op.Reason = OpCreate, "in scope and not linked"
		op.Exported = cloneValues(in.Desired.Values)
		return op
	}
	// Linked and in scope: bring the target in line.
	current := in.Current
	if current == nil {
		current = in.Link.Exported
	}
	patch, changes, exported := Diff(in.Desired, current)
	op.Patch, op.Changes, op.Exported = patch, changes, exported
	switch {
	case len(patch) == 0:
		op.Kind, op.Reason = OpNone, "already in sync"
	case in.Type == TypeUser && !in.Active && in.Link.Active:
		op.Kind, op.Reason = OpDisable, "disabled in the source"
	default:
		op.Kind, op.Reason = OpUpdate, "attributes changed"
		if !in.Link.Active {
			op.Reason = "back in scope"
		}
	}
	return op
}

// disable builds the deprovisioning op of a linked object: active=false for
// users; for groups, the members the engine wrote are removed (the engine
// adds the member removals) and the group itself is kept, so that grants on
// it (AWS permission sets) survive.
func disable(op Op, in PlanInput, reason string) Op {
	op.Kind, op.Reason = OpDisable, reason
	op.Exported = cloneValues(in.Link.Exported)
	if in.Type == TypeUser {
		old, had := in.Link.Exported["active"]
		if !had {
			old = true
		}
		op.Patch = []target.PatchOp{target.Replace("active", false)}
		op.Changes = []Modification{{Attribute: "active", Old: old, New: false}}
		op.Exported["active"] = false
	}
	return op
}

// Diff compares the desired values with the current ones (the link's shadow
// or the target object read back) and returns one PATCH operation per changed
// attribute, the changes old -> new, and the values after the patch.
// Attributes mapped "on create only" and attributes dropped by
// IgnoreFlowIfNullOrEmpty are left alone; an attribute whose mapping now
// produces no value is removed if it had one. The whole roles list mapped
// by a complex role function is compared as a set of values (diffRoles).
func Diff(d *Desired, current map[string]any) ([]target.PatchOp, []Modification, map[string]any) {
	after := cloneValues(current)
	var paths []string
	for p := range d.Values {
		paths = append(paths, p)
	}
	for p := range d.Empty {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var ops []target.PatchOp
	var mods []Modification
	for _, p := range paths {
		if d.OnCreate[p] || d.Ignored[p] {
			continue
		}
		want, has := d.Values[p]
		old, had := lookupFold(current, p)
		if m := d.By[p]; m != nil && m.roles != rolesNone {
			if op, mod, roles, ok := diffRoles(d, m, p, want, has, old, had); ok {
				ops = append(ops, op)
				mods = append(mods, mod)
				if len(roles) == 0 {
					deleteFold(after, p)
				} else {
					setFold(after, p, roles)
				}
			}
			continue
		}
		switch {
		case has && (!had || !sameValue(old, want)):
			ops = append(ops, target.Replace(p, want))
			mods = append(mods, Modification{Attribute: p, Old: old, New: want})
			setFold(after, p, want)
		case !has && had && !isEmptyValue(old):
			ops = append(ops, target.Remove(p))
			mods = append(mods, Modification{Attribute: p, Old: old, New: nil})
			deleteFold(after, p)
		}
	}
	return ops, mods, after
}

// MemberDiff returns the member target ids to add and to remove so that the
// target group holds want, given what it holds (have). Both are sets of
// target ids; the result is sorted for stable requests and logs.
func MemberDiff(want, have []string) (add, remove []string) {
	w := make(map[string]bool, len(want))
	for _, id := range want {
		w[id] = true
	}
	h := make(map[string]bool, len(have))
	for _, id := range have {
		h[id] = true
		if !w[id] {
			remove = append(remove, id)
		}
	}
	for id := range w {
		if !h[id] {
			add = append(add, id)
		}
	}
	sort.Strings(add)
	sort.Strings(remove)
	return add, remove
}

// Threshold splits the ops of a cycle into those to send and those to stage
// because the disables and deletes exceed the deletion threshold: more than
// count objects, or more than percent of the application's linked objects.
// approved (approve-deletes) lets everything through; count and percent of 0
// switch a limit off.
func Threshold(ops []Op, linked, count, percent int, approved bool) (send, staged []Op) {
	n := 0
	for _, o := range ops {
		if o.Counts() {
			n++
		}
	}
	over := false
	if count > 0 && n > count {
		over = true
	}
	if percent > 0 && linked > 0 && n*100 > percent*linked && n > 1 {
		over = true
	}
	if !over || approved {
		return ops, nil
	}
	for _, o := range ops {
		if o.Counts() {
			staged = append(staged, o)
		} else {
			send = append(send, o)
		}
	}
	return send, staged
}

// CreateResource builds the SCIM resource a create sends from the desired
// values (target paths such as name.givenName and emails[type eq "work"].value).
func CreateResource(rt *schema.ResourceType, values map[string]any) target.Resource {
	r := target.Resource{}
	paths := make([]string, 0, len(values))
	for p := range values {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		setResourcePath(rt, r, p, values[p])
	}
	return r
}

// setResourcePath writes v at path into r.
func setResourcePath(rt *schema.ResourceType, r map[string]any, path string, v any) {
	pe, ok := parsePath(rt, path)
	if !ok {
		r[path] = v
		return
	}
	container := r
	if pe.Attr.IsExtension() {
		ext, _ := r[pe.Attr.Schema.ID].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			r[pe.Attr.Schema.ID] = ext
		}
		container = ext
	}
	name := pe.Attr.Attr.Name
	switch {
	case pe.Filter != nil:
		list, _ := container[name].([]any)
		var el map[string]any
		for _, x := range list {
			if m, ok := x.(map[string]any); ok && filter.MatchElement(pe.Filter, m) {
				el = m
				break
			}
		}
		if el == nil {
			el = map[string]any{}
			for k, val := range eqFields(pe.Filter) {
				el[k] = val
			}
			if len(list) == 0 && pe.Attr.Attr.Sub("primary") != nil {
				el["primary"] = true
			}
			list = append(list, el)
			container[name] = list
		}
		sub := "value"
		if pe.Sub != nil {
			sub = pe.Sub.Name
		}
		el[sub] = v
	case pe.Attr.Sub != nil:
		m, _ := container[name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			container[name] = m
		}
		m[pe.Attr.Sub.Name] = v
	case isRoleList(pe):
		container[name] = roleElements(roleNames(v))
	default:
		if pe.Attr.Attr.MultiValued {
			if list, ok := v.([]string); ok {
				out := make([]any, len(list))
				for i, s := range list {
					out[i] = s
				}
				container[name] = out
				return
			}
		}
		container[name] = v
	}
}

// eqFields extracts the sub-attribute = value pairs of a value filter made of
// eq comparisons joined by and (type eq "work"), to seed a new element.
func eqFields(e filter.Expr) map[string]any {
	out := map[string]any{}
	var walk func(filter.Expr)
	walk = func(e filter.Expr) {
		switch x := e.(type) {
		case filter.And:
			walk(x.Left)
			walk(x.Right)
		case filter.Compare:
			if x.Op == filter.Eq && x.Path.Sub != nil {
				out[x.Path.Sub.Name] = x.Value
			}
		}
	}
	walk(e)
	return out
}

// ResourceValues reads the mapped target paths back from a target resource,
// normalised like Evaluate's values, for comparison with the desired values.
func ResourceValues(rt *schema.ResourceType, r target.Resource, paths []string) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		pe, ok := parsePath(rt, p)
		if !ok {
			continue
		}
		v := lookupPath(r, pe)
		if v == nil {
			continue
		}
		if nv, err := normalize(finalAttr(pe), v); err == nil {
			out[p] = nv
		}
	}
	return out
}

func cloneValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func setFold(m map[string]any, key string, v any) {
	deleteFold(m, key)
	m[key] = v
}

func deleteFold(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}

// sameValue compares a stored value (JSON round-tripped: []any, float64)
// with a desired one.
func sameValue(a, b any) bool {
	if la, ok := a.([]any); ok {
		s := make([]string, len(la))
		for i, x := range la {
			s[i] = fmt.Sprint(x)
		}
		a = s
	}
	if lb, ok := b.([]any); ok {
		s := make([]string, len(lb))
		for i, x := range lb {
			s[i] = fmt.Sprint(x)
		}
		b = s
	}
	return reflect.DeepEqual(a, b)
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}
