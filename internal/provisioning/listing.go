package provisioning

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// When a cycle has many unlinked objects (an initial cycle, a restart), it
// reads the target's users or groups once, in pages, and matches locally:
// a few list requests instead of one matching query per object and
// matching attribute (Entra's brownfield matching costs about as much as
// creating). Matching semantics stay the target's: userName and displayName
// compare case-insensitively, externalId exactly. An object that is not in
// the listing is created; a 409 then still falls back to the per-object
// query, so an object created meanwhile is linked, not duplicated.

// listThreshold is the number of unlinked objects from which listing pays.
const listThreshold = 50

// listPageSize is the page size asked for (AWS serves at most 100).
const listPageSize = 100

// targetIndex is a listing indexed by matching attribute and value, and
// by target id. Resources are kept compact: the id and the mapped
// attributes only, so a full cycle over 100k objects stays small.
type targetIndex struct {
	by   map[string]map[string][]target.Resource // matching path -> key -> resources
	byID map[string]target.Resource
}

func (x *targetIndex) lookup(path, value string, caseExact bool) []target.Resource {
	key := value
	if !caseExact {
		key = strings.ToLower(value)
	}
	return x.by[strings.ToLower(path)][key]
}

// listTarget pages through /Users or /Groups and indexes the resources by
// the matching attributes. It gives up (nil, nil) when the target holds so
// many objects that listing would cost more requests than querying: want is
// the number of unlinked objects the cycle has to match.
func (r *runner) listTarget(ctx context.Context, typ string, want int) (*targetIndex, error) {
	co := r.comp.Object(typ)
	rt := r.rt(typ)
	list := r.tgt.ListUsers
	if typ == TypeGroup {
		list = r.tgt.ListGroups
	}
	idx := &targetIndex{by: map[string]map[string][]target.Resource{}, byID: map[string]target.Resource{}}
	var paths []string
	for _, m := range co.Mappings {
		paths = append(paths, m.Target)
	}
	for _, m := range co.Matching {
		idx.by[strings.ToLower(m.Target)] = map[string][]target.Resource{}
	}
	start := 1
	for {
		// Through the cycle's client: its pacer, Retry-After hold, retries
		// and request count apply to the listing like to any other request.
		page, err := list(ctx, start, listPageSize)
		if err != nil {
			return nil, err
		}
		total := page.TotalResults
		if start == 1 && total/listPageSize > want*max(len(co.Matching), 1) {
			return nil, nil // querying per object is cheaper
		}
		for _, raw := range page.Resources {
			vals := ResourceValues(rt, raw, paths)
			res := CreateResource(rt, vals)
			res["id"] = raw.ID()
			idx.byID[raw.ID()] = res
			for _, m := range co.Matching {
				v, ok := vals[m.Target]
				if !ok {
					continue
				}
				s, ok := v.(string)
				if !ok {
					continue
				}
				if !m.target.CaseExact {
					s = strings.ToLower(s)
				}
				by := idx.by[strings.ToLower(m.Target)]
				by[s] = append(by[s], res)
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > total {
			return idx, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// prepareIndex lists the target when enough objects of a type are
// unlinked, and in every full cycle: there the listing is also the read of
// the target that finds objects deleted or changed out of band.
func (r *runner) prepareIndex(ctx context.Context, typ string, ids []string) {
	if r.opts.User != "" || len(ids) == 0 {
		return
	}
	want := 0
	for _, id := range ids {
		if r.index[id] == nil {
			want++
		}
	}
	if r.full() && r.cycle.Kind == KindFull {
		want = len(ids)
	} else if want < listThreshold {
		return
	}
	idx, err := r.listTarget(ctx, typ, want)
	if err != nil {
		r.s.Log.Warn("provisioning: listing the target failed; matching per object", "application", r.app.Name, "type", typ, "err", err)
		return
	}
	r.mu.Lock()
	if typ == TypeGroup {
		r.groupIndex = idx
	} else {
		r.userIndex = idx
	}
	r.mu.Unlock()
}

// matchListed matches against a listing: the listing's answer is final for
// "none" (create) and "one" (adopt); several is the usual error.
func (r *runner) matchListed(idx *targetIndex, it *item, d *Desired) (target.Resource, string, error) {
	co := r.comp.Object(it.typ)
	var tried []string
	for _, m := range co.Matching {
		v, ok := d.Values[m.Target]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok || s == "" {
			continue
		}
		found := idx.lookup(m.Target, s, m.target.CaseExact)
		q := fmt.Sprintf("%s eq %q", m.Target, s)
		switch len(found) {
		case 0:
			tried = append(tried, q+": no match")
		case 1:
			return found[0], fmt.Sprintf("matched target id %s by %s (precedence %d, from the cycle's listing of the target)", found[0].ID(), q, m.Match), nil
		default:
			ids := make([]string, len(found))
			for i, f := range found {
				ids[i] = f.ID()
			}
			return nil, "", matchError{CodeDuplicateTarget, fmt.Sprintf("%d target objects match %s: ids %s; Gatehouse does not guess which one is %s %s",
				len(found), q, strings.Join(ids, ", "), strings.ToLower(it.typ), it.name)}
		}
	}
	if len(tried) == 0 {
		return r.match(context.Background(), it, d) // no value for any matching attribute: the usual error
	}
	return nil, "no target object matches (listing): " + strings.Join(tried, "; ") + "; creating it", nil
}
