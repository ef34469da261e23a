package provisioning

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// process executes one planned item against the target.
func (r *runner) process(ctx context.Context, it *item) {
	e := it.entry
	switch it.op.Kind {
	case OpNone:
		e.Action, e.Status = ActionOther, StatusSkipped
		e.Reason = it.op.Reason
		if it.in.Link != nil {
			e.step(StepMatch, StatusSuccess, fmt.Sprintf("linked to target id %s (%s earlier)", it.in.Link.TargetID, it.in.Link.Origin))
		}
		e.step(StepAction, StatusSkipped, it.op.Reason)
		r.done(it, nil, false)
	case OpSkip:
		e.Action, e.Status, e.Reason = ActionSkip, StatusSkipped, it.op.Reason
		e.step(StepAction, StatusSkipped, it.op.Reason)
		r.done(it, nil, it.gone)
	case OpUnlink:
		e.Action, e.Status, e.Reason = ActionOther, StatusSuccess, it.op.Reason
		e.step(StepAction, StatusSuccess, it.op.Reason)
		r.done(it, nil, true)
	case OpCreate:
		r.create(ctx, it)
	case OpUpdate, OpDisable:
		r.update(ctx, it)
	case OpDelete:
		r.remove(ctx, it)
	}
}

func (r *runner) rt(typ string) *schema.ResourceType {
	if typ == TypeGroup {
		return schema.GroupResource
	}
	return schema.UserResource
}

func (r *runner) resourceSchema(typ string) *target.ResourceSchema {
	if typ == TypeGroup {
		return r.si.Group
	}
	return r.si.User
}

// note records a failed write for quarantine and stops the cycle on an
// authentication failure.
func (r *runner) note(err error) {
	te, ok := target.AsError(err)
	if !ok {
		return
	}
	if errors.Is(te, target.ErrUnauthorized) {
		r.mu.Lock()
		if r.authErr == nil {
			r.authErr = te
		}
		r.mu.Unlock()
		r.stop()
	}
}

func (r *runner) wrote() {
	r.mu.Lock()
	r.attempted++
	r.mu.Unlock()
}

// create matches an unlinked object in the target and links it, or creates it.
func (r *runner) create(ctx context.Context, it *item) {
	e, d := it.entry, it.in.Desired
	co := r.comp.Object(it.typ)
	res := CreateResource(r.rt(it.typ), d.Values)
	if it.typ == TypeGroup && co.Members {
		var members []any
		for _, m := range it.src.Members {
			if l := r.linkOf(m); l != nil && l.Active {
				members = append(members, map[string]any{"value": l.TargetID})
				it.members = append(it.members, m)
			}
		}
		if len(members) > 0 {
			res["members"] = members
		}
	}
	// Pre-send validation: never send what the target would certainly reject.
	if !r.app.Settings.NoPresendValidation {
		if rs := r.resourceSchema(it.typ); rs != nil {
			if vs := rs.Check(res); len(vs) > 0 {
				e.Action = ActionCreate
				e.fail(CodePresend, StepExport, r.presendMessage(it, vs))
				r.done(it, nil, false)
				return
			}
		}
	}
	var found target.Resource
	var how string
	var err error
	if idx := r.indexFor(it.typ); idx != nil {
		found, how, err = r.matchListed(idx, it, d)
	} else {
		found, how, err = r.match(ctx, it, d)
	}
	if err != nil {
		e.Action = ActionCreate
		if code, ok := err.(matchError); ok {
			e.fail(code.code, StepMatch, code.msg)
		} else {
			r.note(err)
			e.failure(err, StepMatch)
		}
		r.done(it, nil, false)
		return
	}
	if found != nil {
		e.step(StepMatch, StatusSuccess, how)
		r.adopt(ctx, it, found)
		return
	}
	e.step(StepMatch, StatusSuccess, how)
	e.Action = ActionCreate
	for _, p := range sortedPaths(d.Values) {
		e.Modified = append(e.Modified, Modification{Attribute: p, Old: nil, New: d.Values[p]})
	}
	if len(it.members) > 0 {
		e.Modified = append(e.Modified, Modification{Attribute: "members", Old: nil, New: fmt.Sprintf("%d members", len(it.members))})
	}
	r.wrote()
	var created target.Resource
	if it.typ == TypeGroup {
		created, err = r.tgt.CreateGroup(ctx, res)
	} else {
		created, err = r.tgt.CreateUser(ctx, res)
	}
	if err != nil && created == nil && errors.Is(err, target.ErrConflict) {
		// The object exists after all (created out of band, or by a request
		// whose answer we lost): look it up and link it, never duplicate.
		found, how, merr := r.match(ctx, it, d)
		if merr == nil && found != nil {
			e.Modified = nil
			e.step(StepExport, StatusWarning, "the create answered 409 (already exists); "+how)
			r.adopt(ctx, it, found)
			return
		}
		e.failure(err, StepExport)
		e.Reason += "; no target object matches the matching attributes, so it cannot be linked"
		r.done(it, nil, false)
		return
	}
	if created == nil {
		r.note(err)
		e.failure(err, StepExport)
		r.done(it, nil, false)
		return
	}
	e.TargetID = created.ID()
	link := &Link{ObjectType: it.typ, SourceID: it.id, TargetID: created.ID(), Display: it.name, Origin: OriginCreated, Active: true, Exported: it.op.Exported, Synced: r.now}
	if err != nil {
		// CreateGroup created the group but a member batch failed: keep the
		// link; the membership pass retries the members.
		r.note(err)
		e.failure(err, StepExport)
		it.members = nil
	} else {
		e.Status = StatusSuccess
		e.step(StepExport, StatusSuccess, fmt.Sprintf("created %s %s in the target as id %s", strings.ToLower(it.typ), it.name, created.ID()))
	}
	r.setShadow(it.id, it.members, true)
	r.done(it, link, false)
}

func (r *runner) indexFor(typ string) *targetIndex {
	r.mu.Lock()
	defer r.mu.Unlock()
	if typ == TypeGroup {
		return r.groupIndex
	}
	return r.userIndex
}

// presendMessage explains violations in the engine's words, naming the
// mapping that should have produced the value.
func (r *runner) presendMessage(it *item, vs []target.Violation) string {
	var parts []string
	for _, v := range vs {
		msg := v.Message
		m := mappingFor(it.in.Desired, r.comp.Object(it.typ), v.Path)
		switch {
		case v.Rule == "required" && m != nil:
			msg += "; " + m.SourceText() + " is empty — set it in the directory or give the mapping a default value"
		case v.Rule == "required":
			msg += "; no mapping sets it — add a mapping for " + v.Path
		case m != nil:
			msg += "; it comes from " + m.SourceText()
		}
		parts = append(parts, msg)
	}
	return fmt.Sprintf("%s %s: not sent, pre-send validation caught it: %s", strings.ToLower(it.typ), it.name, strings.Join(parts, "; also "))
}

// mappingFor finds the mapping of a target path (emails[0].primary names
// the emails mappings).
func mappingFor(d *Desired, co *CompiledObject, path string) *CompiledMapping {
	base := strings.ToLower(stripIndex(path))
	var best *CompiledMapping
	for _, m := range co.Mappings {
		t := strings.ToLower(m.Target)
		if t == base {
			return m
		}
		if best == nil && strings.HasPrefix(strings.ToLower(stripFilter(m.Target)), strings.SplitN(base, ".", 2)[0]) {
			best = m
		}
	}
	return best
}

func stripIndex(p string) string {
	if i := strings.IndexByte(p, '['); i >= 0 {
		if j := strings.IndexByte(p[i:], ']'); j >= 0 {
			return p[:i] + p[i+j+1:]
		}
	}
	return p
}

func stripFilter(p string) string { return stripIndex(p) }

// matchError is a matching failure decided by the engine.
type matchError struct{ code, msg string }

func (m matchError) Error() string { return m.msg }

// match queries the target by the matching attributes in precedence order
// and stops at the first that finds something. Several hits are an error
// naming them; none returns nil.
func (r *runner) match(ctx context.Context, it *item, d *Desired) (target.Resource, string, error) {
	co := r.comp.Object(it.typ)
	filters := r.si.UserFilters
	if it.typ == TypeGroup {
		filters = r.si.GroupFilters
	}
	var tried []string
	anyValue := false
	for _, m := range co.Matching {
		v, ok := d.Values[m.Target]
		if !ok {
			continue
		}
		s := mapping.Text(v)
		if s == "" {
			continue
		}
		anyValue = true
		if filters != nil && !containsFold(filters, m.Target) {
			tried = append(tried, fmt.Sprintf("%s (the target does not filter on it)", m.Target))
			continue
		}
		var found []target.Resource
		var err error
		if it.typ == TypeGroup {
			found, err = r.tgt.FindGroups(ctx, m.Target, s)
		} else {
			found, err = r.tgt.FindUsers(ctx, m.Target, s)
		}
		if err != nil {
			if te, ok := target.AsError(err); ok && te.Code() == target.CodeInvalidFilter {
				tried = append(tried, fmt.Sprintf("%s (the target refused the filter: %s)", m.Target, te.Detail))
				continue
			}
			return nil, "", err
		}
		q := fmt.Sprintf("%s eq %q", m.Target, s)
		switch len(found) {
		case 0:
			tried = append(tried, q+": no match")
		case 1:
			return found[0], fmt.Sprintf("matched target id %s by %s (precedence %d)", found[0].ID(), q, m.Match), nil
		default:
			ids := make([]string, len(found))
			for i, f := range found {
				ids[i] = f.ID()
			}
			return nil, "", matchError{CodeDuplicateTarget, fmt.Sprintf("%d target objects match %s: ids %s; Gatehouse does not guess which one is %s %s",
				len(found), q, strings.Join(ids, ", "), strings.ToLower(it.typ), it.name)}
		}
	}
	if !anyValue {
		names := make([]string, len(co.Matching))
		for i, m := range co.Matching {
			names[i] = m.Target
		}
		return nil, "", matchError{CodeNoMatchingValue, fmt.Sprintf("%s %s has no value for any matching attribute (%s)", strings.ToLower(it.typ), it.name, strings.Join(names, ", "))}
	}
	return nil, "no target object matches: " + strings.Join(tried, "; ") + "; creating it", nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// adopt links an object to a matched target object and brings its
// attributes in line with one PATCH.
func (r *runner) adopt(ctx context.Context, it *item, found target.Resource) {
	e, d := it.entry, it.in.Desired
	e.TargetID = found.ID()
	current := ResourceValues(r.rt(it.typ), found, sortedPaths(d.By))
	ops, mods, after := Diff(d, current)
	link := &Link{ObjectType: it.typ, SourceID: it.id, TargetID: found.ID(), Display: it.name, Origin: OriginMatched, Active: true, Exported: after, Synced: r.now}
	if len(ops) == 0 {
		e.Action, e.Status = ActionOther, StatusSuccess
		e.Reason = "matched and already in sync"
		e.step(StepAction, StatusSuccess, "linked; no attribute differs")
		r.setShadow(it.id, nil, true)
		r.done(it, link, false)
		return
	}
	e.Action, e.Modified = ActionUpdate, mods
	e.step(StepAction, StatusSuccess, fmt.Sprintf("linked; %d attributes differ", len(ops)))
	r.wrote()
	if err := r.patch(ctx, it.typ, found.ID(), ops); err != nil {
		r.note(err)
		e.failure(err, StepExport)
		// Keep the link (the match is known) with the values read, so the
		// next cycle retries the update without matching again.
		link.Exported = current
		r.setShadow(it.id, nil, true)
		r.done(it, link, false)
		return
	}
	e.Status = StatusSuccess
	e.step(StepExport, StatusSuccess, fmt.Sprintf("PATCH %s %s: %d operations", strings.ToLower(it.typ), found.ID(), len(ops)))
	r.setShadow(it.id, nil, true)
	r.done(it, link, false)
}

func (r *runner) patch(ctx context.Context, typ, id string, ops []target.PatchOp) error {
	ops = r.singleValued(typ, ops)
	if typ == TypeGroup {
		return r.tgt.PatchGroup(ctx, id, ops)
	}
	return r.tgt.PatchUser(ctx, id, ops)
}

// singleValued rewrites filtered-path operations on attributes the target
// holds as a one-element list (aws-identity-center's emails, phoneNumbers,
// addresses) into a replace of the whole list: a filtered replace would add
// a second element next to one of another type, which such a target rejects.
func (r *runner) singleValued(typ string, ops []target.PatchOp) []target.PatchOp {
	rs := r.resourceSchema(typ)
	if rs == nil {
		return ops
	}
	rt := r.rt(typ)
	var out []target.PatchOp
	merged := map[string]int{} // attribute -> index in out
	for _, op := range ops {
		pe, ok := parsePath(rt, op.Path)
		if !ok || pe.Filter == nil || pe.Attr.IsExtension() || !rs.Array(pe.Attr.Attr.Name) || rs.MultiValued(pe.Attr.Attr.Name) {
			out = append(out, op)
			continue
		}
		attr := pe.Attr.Attr.Name
		if op.Op == "remove" {
			out = append(out, target.Remove(attr))
			continue
		}
		tmp := map[string]any{}
		if i, ok := merged[attr]; ok {
			tmp[attr] = out[i].Value
			setResourcePath(rt, tmp, op.Path, op.Value)
			out[i].Value = tmp[attr]
			continue
		}
		setResourcePath(rt, tmp, op.Path, op.Value)
		merged[attr] = len(out)
		out = append(out, target.Replace(attr, tmp[attr]))
	}
	return out
}

// update sends an update or a disable of a linked object. A target object
// deleted out of band is detected (404) and matched or created again.
func (r *runner) update(ctx context.Context, it *item) {
	e, op := it.entry, it.op
	e.TargetID = op.TargetID
	e.step(StepMatch, StatusSuccess, fmt.Sprintf("linked to target id %s (%s earlier)", op.TargetID, it.in.Link.Origin))
	e.Action, e.Modified = ActionUpdate, op.Changes
	if op.Kind == OpDisable {
		e.Action = ActionDisable
	}
	e.step(StepAction, StatusSuccess, op.Reason)
	patch := op.Patch
	var removedMembers []string
	if op.Kind == OpDisable && it.typ == TypeGroup {
		// A group leaving the scope keeps its identity in the target; the
		// members the engine wrote are removed.
		have := r.shadowOf(it.id)
		if len(have) == 0 {
			stored, err := r.s.Store.LinkedMembers(ctx, r.app.ID, []string{it.id})
			if err != nil {
				e.failure(err, StepReference)
				r.done(it, nil, false)
				return
			}
			have = stored[it.id]
		}
		var tids []string
		for _, m := range have {
			if l := r.linkOf(m); l != nil {
				tids = append(tids, l.TargetID)
			}
		}
		sort.Strings(tids)
		removedMembers = have
		if len(tids) > 0 {
			patch = append(patch, target.RemoveMembers(tids...)...)
			e.Modified = append(e.Modified, Modification{Attribute: "members", Old: fmt.Sprintf("%d members", len(have)), New: "0 members"})
		}
	}
	link := &Link{ObjectType: it.typ, SourceID: it.id, TargetID: op.TargetID, Display: it.name, Origin: it.in.Link.Origin, Active: op.Kind != OpDisable, Exported: op.Exported, Synced: r.now}
	if len(patch) == 0 {
		e.Status = StatusSuccess
		r.done(it, link, false)
		return
	}
	r.wrote()
	err := r.patch(ctx, it.typ, op.TargetID, patch)
	switch {
	case err == nil:
		e.Status = StatusSuccess
		e.step(StepExport, StatusSuccess, fmt.Sprintf("PATCH %s %s: %d operations", strings.ToLower(it.typ), op.TargetID, len(patch)))
		if removedMembers != nil {
			r.dropShadow(it.id)
		}
		r.done(it, link, false)
	case target.IsNotFound(err) && op.Kind == OpDisable:
		e.Status = StatusSuccess
		e.step(StepExport, StatusWarning, fmt.Sprintf("target object %s no longer exists (deleted out of band); nothing left to disable, unlinked", op.TargetID))
		r.done(it, nil, true)
	case target.IsNotFound(err):
		e.step(StepExport, StatusWarning, fmt.Sprintf("%s: target object %s no longer exists (deleted in the target out of band); matching again", CodeTargetGone, op.TargetID))
		e.Modified = nil
		r.mu.Lock()
		delete(r.index, it.id)
		r.mu.Unlock()
		it.in.Link = nil
		it.op = Plan(it.in)
		it.op.TargetID = ""
		e.TargetID = ""
		if it.op.Kind == OpCreate {
			r.create(ctx, it)
			return
		}
		r.done(it, nil, true)
	default:
		r.note(err)
		e.failure(err, StepExport)
		r.done(it, nil, false)
	}
}

// remove deletes a linked object whose source was deleted.
func (r *runner) remove(ctx context.Context, it *item) {
	e, op := it.entry, it.op
	e.Action, e.TargetID = ActionDelete, op.TargetID
	e.step(StepMatch, StatusSuccess, fmt.Sprintf("linked to target id %s (%s earlier)", op.TargetID, it.in.Link.Origin))
	e.step(StepAction, StatusSuccess, op.Reason)
	r.wrote()
	var err error
	if it.typ == TypeGroup {
		err = r.tgt.DeleteGroup(ctx, op.TargetID)
	} else {
		err = r.tgt.DeleteUser(ctx, op.TargetID)
	}
	switch {
	case err == nil:
		e.Status = StatusSuccess
		e.step(StepExport, StatusSuccess, fmt.Sprintf("DELETE %s %s", strings.ToLower(it.typ), op.TargetID))
		r.done(it, nil, true)
	case target.IsNotFound(err):
		e.Status = StatusSuccess
		e.step(StepExport, StatusWarning, fmt.Sprintf("target object %s was already gone", op.TargetID))
		r.done(it, nil, true)
	default:
		r.note(err)
		e.failure(err, StepExport)
		r.done(it, nil, false)
	}
}

// linkOf returns the current link of a source id.
func (r *runner) linkOf(id string) *LinkRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.index[id]
}

func (r *runner) shadowOf(groupID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sortedKeys(r.shadow[groupID])
}

// setShadow records members written to a group (fresh: the group was just
// created or linked, so the shadow starts from these members).
func (r *runner) setShadow(groupID string, members []string, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shadow == nil {
		r.shadow = map[string]map[string]bool{}
	}
	set := r.shadow[groupID]
	if set == nil || fresh {
		set = map[string]bool{}
		r.shadow[groupID] = set
	}
	for _, m := range members {
		set[m] = true
	}
	if len(members) > 0 && !r.opts.DryRun {
		r.pending.Members = append(r.pending.Members, MemberDelta{GroupID: groupID, Add: members, Clear: fresh})
	} else if fresh && !r.opts.DryRun {
		r.pending.Members = append(r.pending.Members, MemberDelta{GroupID: groupID, Clear: true})
	}
}

func (r *runner) dropShadow(groupID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.shadow, groupID)
	if !r.opts.DryRun {
		r.pending.Members = append(r.pending.Members, MemberDelta{GroupID: groupID, Clear: true})
	}
}

// membership brings the members of every provisioned group in line, after
// users and groups exist in the target: PATCH add/remove, batched by the
// client (at most 100 member changes per request for aws-identity-center).
func (r *runner) membership(ctx context.Context) error {
	var groups []string
	for g := range r.scope.members {
		if l := r.linkOf(g); l != nil && l.Active {
			groups = append(groups, g)
		}
	}
	sort.Strings(groups)
	if len(groups) == 0 {
		return nil
	}
	stored, err := r.s.Store.LinkedMembers(ctx, r.app.ID, groups)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.shadow == nil {
		r.shadow = map[string]map[string]bool{}
	}
	for _, g := range groups {
		if _, fresh := r.shadow[g]; fresh {
			continue // created or adopted in this cycle: the in-memory shadow is current
		}
		set := map[string]bool{}
		for _, m := range stored[g] {
			set[m] = true
		}
		r.shadow[g] = set
	}
	r.mu.Unlock()
	var items []*item
	for _, g := range groups {
		want := []string{}
		for _, m := range r.scope.members[g] {
			if l := r.linkOf(m); l != nil && l.Active {
				want = append(want, m)
			}
		}
		have := r.shadowOf(g)
		add, remove := MemberDiff(want, have)
		if len(add) == 0 && len(remove) == 0 {
			continue
		}
		l := r.linkOf(g)
		it := &item{typ: TypeGroup, id: g, name: g}
		it.entry = &LogEntry{ID: r.s.NewID(), AppID: r.app.ID, CycleID: r.cycle.ID, Time: r.now, ObjectType: TypeGroup, SourceID: g, SourceName: g, TargetID: l.TargetID}
		it.op = Op{Kind: "members", Type: TypeGroup, SourceID: g, TargetID: l.TargetID}
		it.members = append(add, "|")
		it.members = append(it.members, remove...)
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil
	}
	names, _ := r.s.Store.SourceGroups(ctx, r.app.DirectoryID, groupIDs(items))
	for _, g := range names {
		for _, it := range items {
			if it.id == g.ID {
				it.name, it.entry.SourceName = g.DisplayName, g.DisplayName
			}
		}
	}
	// One worker handles a group entirely (its member batches go in order);
	// different groups overlap.
	ch := make(chan *item)
	var wg sync.WaitGroup
	for range min(r.workers(), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				r.members(ctx, it)
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()
	if err := r.flush(ctx, false); err != nil {
		return err
	}
	if r.authErr != nil {
		return fmt.Errorf("the target rejects the credentials: %w", r.authErr)
	}
	return ctx.Err()
}

func groupIDs(items []*item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.id
	}
	return out
}

// members sends one group's member changes.
func (r *runner) members(ctx context.Context, it *item) {
	var add, remove []string
	split := false
	for _, m := range it.members {
		switch {
		case m == "|":
			split = true
		case split:
			remove = append(remove, m)
		default:
			add = append(add, m)
		}
	}
	e := it.entry
	e.Action = ActionUpdate
	e.step(StepMatch, StatusSuccess, "linked to target id "+it.op.TargetID)
	var ops []target.PatchOp
	var addT, remT []string
	var removedGone []string
	for _, m := range add {
		if l := r.linkOf(m); l != nil {
			addT = append(addT, l.TargetID)
		}
	}
	for _, m := range remove {
		if l := r.linkOf(m); l != nil {
			remT = append(remT, l.TargetID)
		} else {
			removedGone = append(removedGone, m) // the member's target object is gone; only the shadow changes
		}
	}
	if len(addT) > 0 {
		ops = append(ops, target.AddMembers(addT...))
	}
	if len(remT) > 0 {
		ops = append(ops, target.RemoveMembers(remT...)...)
	}
	e.step(StepReference, StatusSuccess, fmt.Sprintf("members: %d to add, %d to remove", len(add), len(remove)))
	e.Modified = []Modification{{Attribute: "members", Old: memberText("removed", remT), New: memberText("added", addT)}}
	if len(ops) > 0 {
		r.wrote()
		if err := r.tgt.PatchGroup(ctx, it.op.TargetID, ops); err != nil {
			r.note(err)
			e.failure(err, StepExport)
			r.done(it, nil, false)
			return
		}
	}
	e.Status = StatusSuccess
	e.step(StepExport, StatusSuccess, fmt.Sprintf("PATCH group %s: %d members added, %d removed", it.op.TargetID, len(addT), len(remT)))
	r.mu.Lock()
	set := r.shadow[it.id]
	for _, m := range add {
		set[m] = true
	}
	for _, m := range remove {
		delete(set, m)
	}
	if !r.opts.DryRun {
		r.pending.Members = append(r.pending.Members, MemberDelta{GroupID: it.id, Add: add, Remove: append(remove, removedGone...)})
	}
	r.mu.Unlock()
	r.done(it, nil, false)
}

func memberText(verb string, ids []string) string {
	if len(ids) == 0 {
		return "(none " + verb + ")"
	}
	if len(ids) > 10 {
		return fmt.Sprintf("%d %s: %s, ...", len(ids), verb, strings.Join(ids[:10], ", "))
	}
	return fmt.Sprintf("%d %s: %s", len(ids), verb, strings.Join(ids, ", "))
}

func sortedPaths[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
