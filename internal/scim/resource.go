package scim

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func itoa(i int) string { return strconv.Itoa(i) }

// dateTime renders timestamps as RFC 3339 with milliseconds, UTC.
func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (h *Handler) location(endpoint, id string) string {
	return h.BaseURL + Prefix + endpoint + "/" + url.PathEscape(id)
}

func meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType, "created": dateTime(created), "lastModified": dateTime(modified),
		"location": location, "version": directory.ETag(version),
	}
}

// projection is a parsed attributes/excludedAttributes pair (RFC 7644 §3.9).
type projection struct {
	include map[string]map[string]bool // top-level key -> sub keys (nil = whole attribute)
	exclude map[string]map[string]bool
	lazy    string // a derived attribute to load only when named in attributes
}

// unlessAsked returns p with the derived attribute key loaded only when the
// client names it in attributes: a user created a moment ago has no groups
// to look up.
func (p projection) unlessAsked(key string) projection {
	p.lazy = key
	return p
}

// parseProjection parses comma-separated attribute paths. Value filters in
// a path (attributes=emails[type eq "work"], sent by Microsoft's collection)
// select the whole attribute: projection does not filter values.
func parseProjection(rt *schema.ResourceType, attributes, excluded string) (projection, error) {
	var p projection
	var err error
	if p.include, err = projectionSet(rt, attributes, "attributes"); err != nil {
		return p, err
	}
	p.exclude, err = projectionSet(rt, excluded, "excludedAttributes")
	return p, err
}

func projectionSet(rt *schema.ResourceType, list, param string) (map[string]map[string]bool, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	set := map[string]map[string]bool{}
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if i := strings.IndexByte(raw, '['); i > 0 {
			raw = raw[:i]
		}
		p, ok := rt.Resolve(raw)
		if !ok {
			return nil, fault.New(fault.InvalidValue, param, "%s: %q is not an attribute of %s", param, raw, rt.Name)
		}
		key := p.Attr.Name
		if p.IsExtension() {
			key = p.Schema.ID
			if _, ok := set[key]; !ok {
				set[key] = map[string]bool{}
			}
			if set[key] != nil {
				set[key][p.Attr.Name] = true
			}
			continue
		}
		if p.Sub == nil {
			set[key] = nil
			continue
		}
		if subs, ok := set[key]; !ok || subs != nil {
			if !ok {
				set[key] = map[string]bool{}
			}
			set[key][p.Sub.Name] = true
		}
	}
	return set, nil
}

// wants reports whether a top-level key is in the response (to skip loading
// expensive derived attributes such as members).
func (p projection) wants(key string) bool {
	if key == p.lazy {
		_, asked := p.include[key]
		return asked
	}
	if p.include != nil {
		_, ok := p.include[key]
		return ok
	}
	if p.exclude != nil {
		if subs, ok := p.exclude[key]; ok && subs == nil {
			return false
		}
	}
	return true
}

// apply filters a rendered resource. id and schemas are returned always.
func (p projection) apply(res map[string]any) map[string]any {
	always := func(k string) bool { return k == "id" || k == "schemas" }
	if p.include != nil {
		out := map[string]any{}
		for k, v := range res {
			if always(k) {
				out[k] = v
				continue
			}
			subs, ok := p.include[k]
			if !ok {
				continue
			}
			if subs == nil {
				out[k] = v
				continue
			}
			if picked := pick(v, subs, true); picked != nil {
				out[k] = picked
			}
		}
		return out
	}
	if p.exclude != nil {
		for k, subs := range p.exclude {
			if always(k) {
				continue
			}
			if subs == nil {
				delete(res, k)
			} else if v, ok := res[k]; ok {
				if left := pick(v, subs, false); left != nil {
					res[k] = left
				} else {
					delete(res, k)
				}
			}
		}
	}
	return res
}

// pick keeps (keep=true) or drops the named sub-keys of a complex value or
// of each element of a multi-valued one.
func pick(v any, subs map[string]bool, keep bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if subs[k] == keep {
				out[k] = x
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range t {
			if x := pick(e, subs, keep); x != nil {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}

// userResource renders a user. groups is nil when not requested.
func (h *Handler) userResource(u directory.User, groups []directory.GroupRef) map[string]any {
	res := u.Doc()
	schemas := []any{schema.UserURN}
	if _, ok := res[schema.EnterpriseUserURN]; ok {
		schemas = append(schemas, schema.EnterpriseUserURN)
	}
	res["schemas"] = schemas
	res["id"] = u.ID
	res["active"] = u.Active
	res["meta"] = meta("User", h.location("/Users", u.ID), u.Created, u.Modified, u.Version)
	if len(groups) > 0 {
		list := make([]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{"value": g.ID, "$ref": h.location("/Groups", g.ID), "display": g.Display, "type": g.Type}
		}
		res["groups"] = list
	}
	return res
}

// groupResource renders a group. members is nil when not requested.
func (h *Handler) groupResource(g directory.Group, members []directory.Member) map[string]any {
	res := map[string]any{}
	for k, v := range g.Attrs {
		res[k] = v
	}
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	res["schemas"] = []any{schema.GroupURN}
	res["id"] = g.ID
	res["displayName"] = g.DisplayName
	res["meta"] = meta("Group", h.location("/Groups", g.ID), g.Created, g.Modified, g.Version)
	if members != nil {
		list := make([]any, len(members))
		for i, m := range members {
			ep := "/Users"
			if m.Type == directory.MemberGroup {
				ep = "/Groups"
			}
			e := map[string]any{"value": m.ID, "$ref": h.location(ep, m.ID), "type": m.Type}
			if m.Display != "" {
				e["display"] = m.Display
			}
			list[i] = e
		}
		res["members"] = list
	}
	return res
}

// renderUser loads derived attributes as the projection needs them.
func (h *Handler) renderUser(ctx context.Context, c *call, u directory.User, p projection) (map[string]any, error) {
	var groups []directory.GroupRef
	if p.wants("groups") {
		var err error
		if groups, err = h.Svc.UserGroups(ctx, c.dir, u.ID); err != nil {
			return nil, err
		}
	}
	return p.apply(h.userResource(u, groups)), nil
}

func (h *Handler) renderGroup(ctx context.Context, c *call, g directory.Group, p projection) (map[string]any, error) {
	var members []directory.Member
	if p.wants("members") {
		var err error
		if members, err = h.Svc.Members(ctx, c.dir, g.ID); err != nil {
			return nil, err
		}
	}
	return p.apply(h.groupResource(g, members)), nil
}

// UserJSON renders a user as the SCIM endpoint would (for the CLI's --json).
func (h *Handler) UserJSON(u directory.User, groups []directory.GroupRef) map[string]any {
	return h.userResource(u, groups)
}

// GroupJSON renders a group as the SCIM endpoint would.
func (h *Handler) GroupJSON(g directory.Group, members []directory.Member) map[string]any {
	return h.groupResource(g, members)
}
