package patch

import (
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// multi handles a multi-valued attribute addressed without a filter:
// "emails" for every op, and "emails.value" for add.
func (a *applier) multi(op string, t target, v any, hasValue bool) error {
	name := t.attr.Name
	if op == "remove" {
		c := a.container(t, false)
		if c == nil {
			return nil
		}
		if !hasValue || v == nil {
			delete(c, name)
			return nil
		}
		// Entra's legacy dialect: remove with a value removes those values only.
		items, err := schema.Value(t.attr, t.prefix(), v, a.sopt())
		if err != nil || items == nil {
			return err
		}
		list, _ := c[name].([]any)
		setList(c, name, removeListed(list, items.([]any)))
		return nil
	}
	var items []any
	if t.sub != nil {
		nv, err := schema.Value(t.sub, t.prefix()+name+".", v, a.sopt())
		if err != nil {
			return err
		}
		if nv != nil {
			items = []any{map[string]any{t.sub.Name: nv}}
		}
	} else {
		x, err := schema.Value(t.attr, t.prefix(), v, a.sopt())
		if err != nil {
			return err
		}
		items, _ = x.([]any)
	}
	if op == "replace" {
		if items == nil {
			delete(a.container(t, false), name)
			return nil
		}
		a.container(t, true)[name] = items // schema.Value allowed one primary at most
		return nil
	}
	if items == nil {
		return nil
	}
	c := a.container(t, true)
	list, _ := c[name].([]any)
	var winners []int
	for _, it := range items {
		if containsEqual(list, it) {
			continue // RFC 7644 §3.5.2.1: adding an existing value changes nothing
		}
		list = append(list, it)
		if isPrimary(it) {
			winners = append(winners, len(list)-1)
		}
	}
	if err := settlePrimary(t, list, winners); err != nil {
		return err
	}
	setList(c, name, list)
	return nil
}

// valuePath handles "emails[type eq \"work\"]", with or without a trailing
// sub-attribute, and "emails.value" for replace and remove (t.filter nil:
// every element is selected).
func (a *applier) valuePath(op string, t target, v any) error {
	name := t.attr.Name
	c := a.container(t, op != "remove")
	if c == nil {
		return nil
	}
	list, _ := c[name].([]any)
	var matched []int
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && (t.filter == nil || filter.MatchElement(t.filter, m)) {
			matched = append(matched, i)
		}
	}
	if op == "remove" {
		setList(c, name, removeMatched(t, list, matched))
		return nil
	}
	var nv any
	var err error
	if t.sub != nil {
		nv, err = schema.Value(t.sub, t.prefix()+name+".", v, a.sopt())
	} else {
		nv, err = a.element(t, v)
	}
	if err != nil {
		return err
	}
	if nv == nil {
		if op == "replace" { // replacing with null unassigns the selection
			setList(c, name, removeMatched(t, list, matched))
		}
		return nil
	}
	created := len(matched) == 0
	if created {
		if op == "replace" && a.opt.RFCNoTarget && t.filter != nil {
			return fault.New(fault.NoTarget, t.path, "%s matched no value", t.path)
		}
		elem, err := a.newElement(t)
		if err != nil {
			return err
		}
		list = append(list, elem)
		matched = []int{len(list) - 1}
	}
	setsPrimary := false
	for _, i := range matched {
		e := list[i].(map[string]any)
		if t.sub == nil {
			list[i] = merge(e, nv.(map[string]any), nullSubs(t.attr, v))
			setsPrimary = isPrimary(nv)
			continue
		}
		if t.sub.Mutability == schema.Immutable && e[t.sub.Name] != nil && !equal(e[t.sub.Name], nv) {
			return fault.New(fault.Mutability, t.path, "%s is immutable and cannot be changed once set", t.path)
		}
		e[t.sub.Name] = nv
		setsPrimary = t.sub.Name == "primary" && nv == true
	}
	var winners []int
	if setsPrimary || (created && isPrimary(list[matched[0]])) { // the filter may say primary eq true
		winners = matched
	}
	if err := settlePrimary(t, list, winners); err != nil {
		return err
	}
	c[name] = list
	return nil
}

// element normalises the value for a selected element: one object.
func (a *applier) element(t target, v any) (any, error) {
	x, err := schema.Value(t.attr, t.prefix(), v, a.sopt())
	if err != nil || x == nil {
		return nil, err
	}
	list := x.([]any)
	if len(list) != 1 {
		return nil, fault.New(fault.InvalidValue, t.path, "%s selects values of %s, so the value must be one object, got %d", t.path, t.attr.Name, len(list))
	}
	if _, ok := list[0].(map[string]any); !ok {
		return nil, fault.New(fault.InvalidValue, t.path, "%s: the value must be an object", t.path)
	}
	return list[0], nil
}

// newElement builds the element a value path would have matched, from the
// eq comparisons of its filter: emails[type eq "work"] gives {type: work}.
func (a *applier) newElement(t target) (map[string]any, error) {
	elem := map[string]any{}
	if t.filter == nil {
		return elem, nil
	}
	eqs, ok := equalities(t.filter)
	if !ok {
		return nil, fault.New(fault.NoTarget, t.path, "%s matched no value, and its filter does not say which value to create", t.path)
	}
	for sub, raw := range eqs {
		nv, err := schema.Value(sub, t.prefix()+t.attr.Name+".", raw, a.sopt())
		if err != nil {
			return nil, err
		}
		if nv != nil {
			elem[sub.Name] = nv
		}
	}
	return elem, nil
}

// equalities collects `sub eq value` comparisons joined by and. ok is false
// for any other shape (or, not, other operators), which names no single value.
func equalities(e filter.Expr) (map[*schema.Attribute]any, bool) {
	switch x := e.(type) {
	case *filter.Compare:
		if x == nil {
			return nil, false
		}
		return equalities(*x)
	case *filter.And:
		if x == nil {
			return nil, false
		}
		return equalities(*x)
	case filter.Compare:
		if x.Op != filter.Eq || x.Path.Sub == nil || x.Value == nil {
			return nil, false
		}
		return map[*schema.Attribute]any{x.Path.Sub: x.Value}, true
	case filter.And:
		l, ok1 := equalities(x.Left)
		r, ok2 := equalities(x.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			if old, dup := l[k]; dup && !equal(old, v) {
				return nil, false // type eq "work" and type eq "home"
			}
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

// removeMatched drops the matched elements, or only their sub-attribute when
// the path has one; an element left empty or without its "value" goes too.
func removeMatched(t target, list []any, matched []int) []any {
	if len(matched) == 0 {
		return list
	}
	drop := make(map[int]bool, len(matched))
	for _, i := range matched {
		if t.sub == nil {
			drop[i] = true
			continue
		}
		e := list[i].(map[string]any)
		delete(e, t.sub.Name)
		if len(e) == 0 || (t.attr.Sub("value") != nil && e["value"] == nil) {
			drop[i] = true
		}
	}
	out := make([]any, 0, len(list))
	for i, e := range list {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// removeListed drops every element that a listed item describes: all the
// item's sub-attributes are equal in the element.
func removeListed(list, items []any) []any {
	out := make([]any, 0, len(list))
	for _, e := range list {
		if !describedBy(e, items) {
			out = append(out, e)
		}
	}
	return out
}

func describedBy(e any, items []any) bool {
	for _, it := range items {
		im, ok1 := it.(map[string]any)
		em, ok2 := e.(map[string]any)
		if !ok1 || !ok2 {
			if equal(e, it) {
				return true
			}
			continue
		}
		all := true
		for k, iv := range im {
			if !equal(em[k], iv) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// settlePrimary keeps primary=true on at most one element: the winner of the
// current operation (RFC 7643 §2.4).
func settlePrimary(t target, list []any, winners []int) error {
	if len(winners) > 1 {
		return fault.New(fault.InvalidValue, t.path, "%s: at most one value may be primary (RFC 7643 §2.4), this operation marks %d", t.path, len(winners))
	}
	if len(winners) == 0 {
		return nil
	}
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && i != winners[0] && m["primary"] == true {
			delete(m, "primary")
		}
	}
	return nil
}

func isPrimary(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["primary"] == true
}

func setList(c map[string]any, name string, list []any) {
	if len(list) == 0 {
		delete(c, name)
		return
	}
	c[name] = list
}
