package provisioning

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// resolveRefs translates reference mappings (the enterprise manager) from
// source ids to target ids. A reference to an object that is not linked yet
// is left out of this write (and not cleared: Ignored) and remembered, so
// that the reference pass sets it once both ends exist.
func (r *runner) resolveRefs(it *item, co *CompiledObject, d *Desired) {
	for _, m := range co.Mappings {
		if !m.Ref {
			continue
		}
		v, ok := d.Values[m.Target]
		if !ok {
			continue
		}
		src := mapping.Text(v)
		if l := r.linkOf(src); l != nil && l.Active {
			d.Values[m.Target] = l.TargetID
			continue
		}
		delete(d.Values, m.Target)
		d.Ignored[m.Target] = true
		if it.refs == nil {
			it.refs = map[string]string{}
		}
		it.refs[m.Target] = src
	}
	if it.refs != nil {
		r.mu.Lock()
		r.refItems = append(r.refItems, it)
		r.mu.Unlock()
	}
}

// references is the reference pass: after the users were written, set the
// references whose other end is linked now (a manager created in the same
// cycle). References to objects that stay unlinked (out of scope, failed)
// wait for a later cycle in which the user is processed again.
func (r *runner) references(ctx context.Context) error {
	r.mu.Lock()
	items := r.refItems
	r.refItems = nil
	r.mu.Unlock()
	for _, it := range items {
		l := r.linkOf(it.id)
		if l == nil || !l.Active || it.entry.Status == StatusFailure || (it.link == nil && it.in.Link == nil) {
			continue
		}
		var ops []target.PatchOp
		var mods []Modification
		paths := make([]string, 0, len(it.refs))
		for p := range it.refs {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		resolved := map[string]string{}
		for _, p := range paths {
			ref := r.linkOf(it.refs[p])
			if ref == nil || !ref.Active {
				continue
			}
			ops = append(ops, target.Replace(p, ref.TargetID))
			mods = append(mods, Modification{Attribute: p, Old: nil, New: ref.TargetID})
			resolved[p] = ref.TargetID
		}
		if len(ops) == 0 {
			continue
		}
		e := &LogEntry{ID: r.s.NewID(), AppID: r.app.ID, CycleID: r.cycle.ID, Time: r.now, ObjectType: it.typ, SourceID: it.id, SourceName: it.name,
			TargetID: l.TargetID, Action: ActionUpdate, Modified: mods}
		e.step(StepMatch, StatusSuccess, "linked to target id "+l.TargetID)
		e.step(StepReference, StatusSuccess, fmt.Sprintf("%d references resolved after both ends exist", len(ops)))
		ref := &item{typ: it.typ, id: it.id, name: it.name, entry: e}
		r.wrote()
		if err := r.patch(ctx, it.typ, l.TargetID, ops); err != nil {
			r.note(err)
			e.failure(err, StepExport)
			r.done(ref, nil, false)
			continue
		}
		e.Status = StatusSuccess
		e.step(StepExport, StatusSuccess, fmt.Sprintf("PATCH %s %s: %s", strings.ToLower(it.typ), l.TargetID, strings.Join(paths, ", ")))
		link := &Link{ObjectType: it.typ, SourceID: it.id, TargetID: l.TargetID, Display: it.name, Origin: OriginCreated, Active: true, Synced: r.now}
		exported := map[string]any{}
		if it.link != nil {
			link.Origin, exported = it.link.Origin, cloneValues(it.link.Exported)
		} else if it.in.Link != nil {
			link.Origin, exported = it.in.Link.Origin, cloneValues(it.in.Link.Exported)
		}
		for p, v := range resolved {
			exported[p] = v
		}
		link.Exported = exported
		r.done(ref, link, false)
	}
	return r.flush(ctx, false)
}
