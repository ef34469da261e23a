// Package patch applies SCIM PATCH requests (RFC 7644 §3.5.2) to a resource's
// canonical attribute document (see schema.Normalize). It is pure and atomic:
// Apply works on a copy and either returns the whole new document or an error.
// Group members are not part of the document (they live in their own table so
// that adding one member to a 100k-member group costs one row), so Apply
// reports membership edits as a MemberDelta for the store to execute instead.
//
// Real clients deviate from the RFC (Entra's default dialect, Okta's read-only
// ids in values, Microsoft's conformance collection). Every deviation that is
// tolerated is listed on Apply and has a test named after it.
package patch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Options switch behaviour where clients and the RFC disagree.
type Options struct {
	// RFCNoTarget makes replace on a value path that matches nothing fail with
	// noTarget (RFC 7644 §3.5.2.3). By default the value is added, which is
	// what Entra expects for emails[type eq "work"].value on a user without one.
	RFCNoTarget bool
	// Strict rejects unknown attributes (in paths and values) with
	// invalidPath/invalidValue instead of ignoring them.
	Strict bool
	// Members loads a group's current members. Apply calls it at most once,
	// and only for member filters it cannot turn into ids by itself (anything
	// but `value eq "…"` joined by or), so the common paths never load a group.
	Members func() ([]MemberRef, error)
}

// Result is the outcome of a successful Apply.
type Result struct {
	Doc     map[string]any // the new attribute document; never holds members
	Members MemberDelta    // membership edits, for groups
	// Changed is false when the document is equal to the input and the member
	// delta is empty, so a no-op PATCH keeps the resource version. A delta
	// that names members already present (or absent) still counts as a change:
	// only the store knows.
	Changed bool
}

// MemberDelta is a membership change: Clear first, then Remove and Add, which
// never name the same id, so their relative order does not matter.
type MemberDelta struct {
	Clear  bool        // remove every current member first
	Add    []MemberRef // members to add; already present ones stay as they are
	Remove []string    // member ids to remove; absent ones are ignored
}

// MemberRef is one member as a client named it. Type is "User", "Group" or
// empty (the store resolves it); Display is only what the client sent.
type MemberRef struct{ Value, Type, Display string }

// Apply applies ops in order to a copy of doc (RFC 7644 §3.5.2: atomic, in
// order). Decisions where the RFC is silent or clients disagree:
//
//   - Op names, attribute names and URNs are case-insensitive; paths that
//     do not resolve in the core schema are tried in each extension (Entra
//     sends a bare "manager").
//   - A path naming an unknown attribute is ignored unless Options.Strict;
//     a malformed path or filter is always an error.
//   - remove without a path is noTarget; remove of a value path that matches
//     nothing succeeds without change (removal is idempotent and §3.5.2.2
//     lists no error for it; Okta re-sends member removals).
//   - remove of a multi-valued attribute with a value removes only the
//     listed values (Entra's legacy members dialect), each listed object
//     matching elements whose sub-attributes it equals; an empty list
//     removes nothing. Only an absent or null value removes all.
//   - add/replace on a value path that matches nothing creates an element
//     from the filter's eq comparisons plus the value (Entra), except replace
//     with Options.RFCNoTarget, which is noTarget.
//   - add/replace on a complex attribute or a selected element merges the
//     given sub-attributes; a sub-attribute given as null is unassigned, and
//     a changed "value" drops the old "$ref" and "display" unless re-sent.
//     replace with null (or an empty list) unassigns the target.
//   - "emails.value" (a sub-attribute of a multi-valued attribute without a
//     filter) addresses every element for replace and remove; add appends a
//     new element holding just that sub-attribute.
//   - Removing a sub-attribute that leaves an element empty, or without its
//     "value", removes the element.
//   - At most one primary: when an operation sets primary on a value, primary
//     is cleared on the others (RFC 7643 §2.4 asks the server to ensure it);
//     an operation that itself marks two values primary is invalidValue.
//   - readOnly attributes in a path are a mutability error; inside a no-path
//     value they are silently ignored (Okta sends "id" when renaming).
//     Removing or unassigning a required attribute is a mutability error.
//   - Members: add/replace/remove on "members" and "members[value eq …]"
//     become a MemberDelta without loading the group; other member filters
//     use Options.Members. Sub-attribute paths into members are mutability
//     errors: a member is added or removed as a whole.
//   - "password" (writeOnly) passes through to Doc as in schema.Normalize;
//     the caller hashes and strips it.
func Apply(rt *schema.ResourceType, doc map[string]any, ops []Op, opt Options) (Result, error) {
	a := &applier{rt: rt, opt: opt, doc: map[string]any{}, mem: newMembers()}
	for k, v := range doc {
		a.doc[k] = deepCopy(v)
	}
	for i, op := range ops {
		if err := a.apply(op); err != nil {
			return Result{}, at(i, err)
		}
	}
	prune(a.doc)
	d := a.mem.delta()
	changed := !equal(doc, a.doc) || d.Clear || len(d.Add) > 0 || len(d.Remove) > 0
	return Result{Doc: a.doc, Members: d, Changed: changed}, nil
}

// at prefixes an error with the index of the operation that caused it, which
// is what an IdP admin needs when a PATCH carries dozens of operations.
func at(i int, err error) error {
	if fe, ok := fault.As(err); ok {
		return &fault.Error{Kind: fe.Kind, Field: fe.Field, Message: fmt.Sprintf("Operations[%d]: %s", i, fe.Message)}
	}
	return fmt.Errorf("Operations[%d]: %w", i, err)
}

type applier struct {
	rt  *schema.ResourceType
	opt Options
	doc map[string]any
	mem *members
}

// target is a resolved PATCH path.
type target struct {
	path   string // as the client wrote it, for messages
	sch    *schema.Schema
	attr   *schema.Attribute
	sub    *schema.Attribute // "name.givenName" or the ".value" after a filter
	filter filter.Expr       // nil without [..]
}

func (t target) ext() bool { return schema.Path{Schema: t.sch, Attr: t.attr}.IsExtension() }

// prefix is what schema.Value puts before the attribute name in messages.
func (t target) prefix() string {
	if t.ext() {
		return t.sch.ID + ":"
	}
	return ""
}

func (t target) readOnly() bool {
	return t.attr.Mutability == schema.ReadOnly || (t.sub != nil && t.sub.Mutability == schema.ReadOnly)
}

func (a *applier) sopt() schema.Options { return schema.Options{Strict: a.opt.Strict} }

func (a *applier) apply(op Op) error {
	if op.Op != "remove" && !op.HasValue {
		return fault.New(fault.InvalidValue, op.Path, "%s requires a value (RFC 7644 §3.5.2)", op.Op)
	}
	if op.Path == "" {
		if op.Op == "remove" {
			return fault.New(fault.NoTarget, "", "remove requires a path (RFC 7644 §3.5.2.2)")
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return fault.New(fault.InvalidValue, "", "%s without a path needs an object of attributes as its value, got %s", op.Op, describe(op.Value))
		}
		return a.applyObject(op.Op, obj, "")
	}
	if ext := a.rt.Extension(op.Path); ext != nil {
		return a.applyExtension(op.Op, ext, op.Value)
	}
	t, ok, err := a.resolve(op.Path)
	if err != nil || !ok {
		return err
	}
	if err := checkMutability(op.Op, t); err != nil {
		return err
	}
	return a.applyTarget(op.Op, t, op.Value, op.HasValue)
}

// applyObject applies a no-path value: each key is an attribute path, plain
// ("nickName"), dotted ("name.givenName") or URN-qualified, or an extension
// URN holding an object. Keys are applied in sorted order so that the
// outcome does not depend on map iteration.
func (a *applier) applyObject(op string, obj map[string]any, prefix string) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := obj[k]
		if prefix == "" {
			if ext := a.rt.Extension(k); ext != nil {
				if err := a.applyExtension(op, ext, v); err != nil {
					return err
				}
				continue
			}
			if m, ok := v.(map[string]any); ok && strings.EqualFold(k, a.rt.Schema.ID) {
				if err := a.applyObject(op, m, ""); err != nil {
					return err
				}
				continue
			}
		}
		t, ok, err := a.resolve(prefix + k)
		if err != nil {
			return err
		}
		if !ok || t.readOnly() {
			continue // RFC 7644 §3.3: readOnly values in a request are ignored
		}
		if err := checkMutability(op, t); err != nil {
			return err
		}
		if err := a.applyTarget(op, t, v, true); err != nil {
			return err
		}
	}
	return nil
}

// applyExtension handles a path or key that is an extension URN itself.
func (a *applier) applyExtension(op string, ext *schema.Schema, v any) error {
	if op == "remove" || v == nil {
		if op != "add" {
			delete(a.doc, ext.ID)
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fault.New(fault.InvalidValue, ext.ID, "%s must be a JSON object, got %s", ext.ID, describe(v))
	}
	return a.applyObject(op, m, ext.ID+":")
}

// resolve parses a path. ok is false (and err nil) for an unknown attribute
// that is to be ignored.
func (a *applier) resolve(path string) (target, bool, error) {
	pe, err := filter.ParsePath(a.rt, path)
	if err != nil && !hasURN(path) {
		// Entra's bare "manager": try each extension schema.
		for _, ext := range a.rt.Extensions {
			if p, e := filter.ParsePath(a.rt, ext.ID+":"+path); e == nil {
				pe, err = p, nil
				break
			}
		}
	}
	if err != nil {
		if a.known(path) {
			if fe, ok := fault.As(err); ok {
				return target{}, false, fe
			}
			return target{}, false, fault.New(fault.InvalidPath, path, "%q is not a valid PATCH path: %v", path, err)
		}
		if a.opt.Strict {
			return target{}, false, fault.New(fault.InvalidPath, path, "%s is not an attribute of %s", path, a.rt.Name)
		}
		return target{}, false, nil
	}
	t := target{path: path, sch: pe.Attr.Schema, attr: pe.Attr.Attr, sub: pe.Sub, filter: pe.Filter}
	if t.attr == nil {
		return target{}, false, fault.New(fault.InvalidPath, path, "%q names no attribute", path)
	}
	if pe.Attr.Sub != nil {
		if t.sub != nil {
			return target{}, false, fault.New(fault.InvalidPath, path, "%q names two sub-attributes", path)
		}
		t.sub = pe.Attr.Sub
	}
	if t.filter != nil && !t.attr.MultiValued {
		return target{}, false, fault.New(fault.InvalidPath, path, "%s: a value filter applies only to multi-valued attributes", path)
	}
	return t, true, nil
}

// known reports whether the attribute part of a path (before any filter)
// resolves, to tell an unknown attribute from a malformed path.
func (a *applier) known(path string) bool {
	name, _, _ := strings.Cut(path, "[")
	name = strings.TrimSpace(name)
	if _, ok := a.rt.Resolve(name); ok {
		return true
	}
	if hasURN(name) {
		return false
	}
	for _, ext := range a.rt.Extensions {
		if _, ok := a.rt.Resolve(ext.ID + ":" + name); ok {
			return true
		}
	}
	return false
}

func hasURN(s string) bool { return len(s) >= 4 && strings.EqualFold(s[:4], "urn:") }

// checkMutability rejects operations the attribute's characteristics forbid
// whatever the current value (RFC 7644 §3.5.2, RFC 7643 §2.2).
func checkMutability(op string, t target) error {
	if t.readOnly() {
		return fault.New(fault.Mutability, t.path, "%s is readOnly and cannot be modified", t.path)
	}
	if op != "remove" {
		return nil
	}
	if t.attr.Mutability == schema.Immutable || (t.sub != nil && t.sub.Mutability == schema.Immutable) {
		return fault.New(fault.Mutability, t.path, "%s is immutable and cannot be removed", t.path)
	}
	if t.filter == nil && ((t.sub == nil && t.attr.Required) || (t.sub != nil && t.sub.Required)) {
		return fault.New(fault.Mutability, t.path, "%s is required and cannot be removed (RFC 7644 §3.5.2.2)", t.path)
	}
	return nil
}

func (a *applier) applyTarget(op string, t target, v any, hasValue bool) error {
	switch {
	case t.attr == membersAttr:
		return a.members(op, t, v, hasValue)
	case t.filter != nil || (t.attr.MultiValued && t.sub != nil && op != "add"):
		return a.valuePath(op, t, v)
	case t.attr.MultiValued:
		return a.multi(op, t, v, hasValue)
	case t.sub != nil:
		return a.subAttr(op, t, v)
	default:
		return a.single(op, t, v)
	}
}

// container is the map holding t's attribute: the document, or the
// extension's object (created when create is set).
func (a *applier) container(t target, create bool) map[string]any {
	if !t.ext() {
		return a.doc
	}
	m, ok := a.doc[t.sch.ID].(map[string]any)
	if !ok && create {
		m = map[string]any{}
		a.doc[t.sch.ID] = m
	}
	return m
}

// single handles a single-valued attribute, simple or complex, as a whole.
func (a *applier) single(op string, t target, v any) error {
	name := t.attr.Name
	if op == "remove" {
		delete(a.container(t, false), name)
		return nil
	}
	nv, err := schema.Value(t.attr, t.prefix(), v, a.sopt())
	if err != nil {
		return err
	}
	if nv == nil {
		if op == "add" {
			return nil // adding nothing
		}
		if t.attr.Required {
			return fault.New(fault.Mutability, t.path, "%s is required and cannot be unassigned", t.path)
		}
		delete(a.container(t, false), name)
		return nil
	}
	c := a.container(t, true)
	if t.attr.Type == schema.Complex {
		nv = merge(c[name], nv.(map[string]any), nullSubs(t.attr, v))
	}
	if t.attr.Mutability == schema.Immutable && !isEmpty(c[name]) && !equal(c[name], nv) {
		return fault.New(fault.Mutability, t.path, "%s is immutable and cannot be changed once set", t.path)
	}
	c[name] = nv
	return nil
}

// subAttr handles a sub-attribute of a single-valued complex attribute.
func (a *applier) subAttr(op string, t target, v any) error {
	name, sub := t.attr.Name, t.sub.Name
	var nv any
	if op != "remove" {
		var err error
		if nv, err = schema.Value(t.sub, t.prefix()+name+".", v, a.sopt()); err != nil {
			return err
		}
		if nv == nil && op == "add" {
			return nil
		}
		if nv == nil && t.sub.Required {
			return fault.New(fault.Mutability, t.path, "%s is required and cannot be unassigned", t.path)
		}
	}
	c := a.container(t, nv != nil)
	m, _ := c[name].(map[string]any)
	if nv == nil {
		if m != nil {
			delete(m, sub)
			if len(m) == 0 {
				delete(c, name)
			}
		}
		return nil
	}
	if m == nil {
		m = map[string]any{}
		c[name] = m
	}
	if t.sub.Mutability == schema.Immutable && m[sub] != nil && !equal(m[sub], nv) {
		return fault.New(fault.Mutability, t.path, "%s is immutable and cannot be changed once set", t.path)
	}
	m[sub] = nv
	return nil
}
