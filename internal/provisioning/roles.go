package provisioning

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// roleMode says how a mapping of the whole roles attribute updates an
// existing object (Entra's two complex role functions).
type roleMode uint8

const (
	rolesNone roleMode = iota
	// rolesAddOnly is AppRoleAssignmentsComplex: Entra PATCHes "add" with
	// the roles the target lacks and never removes one, so roles granted in
	// the application itself survive.
	rolesAddOnly
	// rolesAssertive is AssertiveAppRoleAssignmentsComplex: the target's
	// roles are made equal to the list (Entra PATCHes "replace").
	rolesAssertive
)

// RoleElementType is the type of the roles elements the complex role
// functions send: Entra's label, which applications written against Entra
// may look for.
const RoleElementType = "WindowsAzureActiveDirectoryRole"

func roleModeOf(function string) roleMode {
	switch function {
	case "AppRoleAssignmentsComplex":
		return rolesAddOnly
	case "AssertiveAppRoleAssignmentsComplex":
		return rolesAssertive
	}
	return rolesNone
}

// isRoleList reports whether a path is the core roles attribute as a whole
// (no sub-attribute, no value filter): the target of the complex role
// functions.
func isRoleList(pe filter.PathExpr) bool {
	return pe.Attr.Attr != nil && !pe.Attr.IsExtension() && pe.Attr.Sub == nil && pe.Filter == nil && pe.Sub == nil &&
		strings.EqualFold(pe.Attr.Attr.Name, "roles")
}

// rolesCaseExact reports whether the target compares role values
// case-sensitively: as its /Schemas says when the cycle read them (d), else
// as RFC 7643 says (roles.value is caseExact false).
func (m *CompiledMapping) rolesCaseExact(d *Desired) bool {
	if d != nil && d.rolesExact != nil {
		return *d.rolesExact
	}
	if m.target == nil {
		return false
	}
	v := m.target.Sub("value")
	return v != nil && v.CaseExact
}

// roleNames reads role values from whatever holds them: the desired list
// ([]string), a shadow that went through JSON ([]any of strings), or roles
// elements as a target returns them ([]any of {"value": ...}).
func roleNames(v any) []string {
	var out []string
	add := func(x any) {
		switch y := x.(type) {
		case string:
			if y != "" {
				out = append(out, y)
			}
		case map[string]any:
			if s, ok := lookupFold(y, "value"); ok && s != nil {
				if str := fmt.Sprint(s); str != "" {
					out = append(out, str)
				}
			}
		}
	}
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			add(s)
		}
	case []any:
		for _, s := range x {
			add(s)
		}
	case nil:
	default:
		add(x)
	}
	return out
}

// roleElements is the SCIM form of role names, as Entra documents it for
// the complex role functions: every element primary false (several roles,
// none preferred), display equal to value.
func roleElements(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"value": n, "display": n, "type": RoleElementType, "primary": false}
	}
	return out
}

func roleKey(s string, exact bool) string {
	if exact {
		return s
	}
	return strings.ToLower(s)
}

// uniqueRoles drops repeats, comparing as the target does.
func uniqueRoles(l []string, exact bool) []string {
	seen := make(map[string]bool, len(l))
	var out []string
	for _, s := range l {
		if k := roleKey(s, exact); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// rolesMissing returns the roles of a that b lacks.
func rolesMissing(a, b []string, exact bool) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[roleKey(s, exact)] = true
	}
	var out []string
	for _, s := range a {
		if !in[roleKey(s, exact)] {
			out = append(out, s)
		}
	}
	return out
}

// diffRoles is Diff for a mapping of the whole roles list: the patch
// operation, the change old -> new and the roles the target holds after it.
// ok is false when nothing is to be sent. The comparison is by value only
// (a target may return other display, type or primary), as a set.
func diffRoles(d *Desired, m *CompiledMapping, path string, want any, has bool, old any, had bool) (op target.PatchOp, mod Modification, after []string, ok bool) {
	exact := m.rolesCaseExact(d)
	var w, h []string
	if has {
		w = uniqueRoles(roleNames(want), exact)
	}
	if had {
		// Sorted: a list of roles is a set, and logs should not depend on
		// the order the target returns them in.
		h = roleNames(old)
		sort.Strings(h)
	}
	missing := rolesMissing(w, h, exact)
	switch m.roles {
	case rolesAddOnly:
		if len(missing) == 0 {
			return op, mod, nil, false // never removes: extra roles in the target stay
		}
		after = append(append([]string(nil), h...), missing...)
		sort.Strings(after)
		op = target.Add(path, roleElements(missing))
	case rolesAssertive:
		if len(missing) == 0 && len(rolesMissing(h, w, exact)) == 0 {
			return op, mod, nil, false
		}
		after = w
		if len(w) == 0 {
			op = target.Remove(path)
		} else {
			op = target.Replace(path, roleElements(w))
		}
	default:
		return op, mod, nil, false
	}
	mod = Modification{Attribute: path, Old: listOrNil(h), New: listOrNil(after)}
	return op, mod, after, true
}

func listOrNil(l []string) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

// roleConflict refuses a mapping of the whole roles list next to one of a
// part of it (roles[primary eq true].value): each would undo the other's
// PATCH every cycle. Entra's guidance is the same: one or the other.
func roleConflict(co *CompiledObject) error {
	var whole *CompiledMapping
	for _, m := range co.Mappings {
		if m.roles != rolesNone {
			whole = m
		}
	}
	if whole == nil {
		return nil
	}
	for _, m := range co.Mappings {
		if m != whole && !m.path.Attr.IsExtension() && m.path.Attr.Attr != nil && strings.EqualFold(m.path.Attr.Attr.Name, "roles") {
			return fault.New(fault.InvalidValue, m.Field, "%s (%s): %s (%s) already maps the whole roles list; map roles either as a whole or by parts, not both",
				m.Field, m.Target, whole.Field, whole.Target)
		}
	}
	return nil
}
