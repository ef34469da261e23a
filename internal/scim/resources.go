package scim

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// item is a stored resource of either type, with what HTTP needs of it.
type item struct {
	id      string
	version int64
	user    *directory.User
	group   *directory.Group
}

func userItem(u directory.User) item   { return item{id: u.ID, version: u.Version, user: &u} }
func groupItem(g directory.Group) item { return item{id: g.ID, version: g.Version, group: &g} }

// kind binds a resource type to its service operations, so the HTTP
// handlers and Bulk share one implementation for users and groups.
type kind struct {
	rt       *schema.ResourceType
	endpoint string
	create   func(ctx context.Context, c *call, body map[string]any) (item, error)
	get      func(ctx context.Context, c *call, id string) (item, error)
	replace  func(ctx context.Context, c *call, id string, body map[string]any, ifMatch string) (item, error)
	patch    func(ctx context.Context, c *call, id string, ops []patch.Op, ifMatch string) (item, bool, error)
	delete   func(ctx context.Context, c *call, id, ifMatch string) error
	list     func(ctx context.Context, c *call, q directory.Query) ([]item, int, string, error)
	render   func(ctx context.Context, c *call, it item, p projection) (map[string]any, error)
}

func (h *Handler) users() kind {
	s := h.Svc
	return kind{
		rt: schema.UserResource, endpoint: "/Users",
		create: func(ctx context.Context, c *call, body map[string]any) (item, error) {
			u, err := s.CreateUser(ctx, c.dir, body, c.ev)
			return userItem(u), err
		},
		get: func(ctx context.Context, c *call, id string) (item, error) {
			u, err := s.GetUser(ctx, c.dir, id)
			return userItem(u), err
		},
		replace: func(ctx context.Context, c *call, id string, body map[string]any, ifMatch string) (item, error) {
			u, err := s.ReplaceUser(ctx, c.dir, id, body, ifMatch, c.ev)
			return userItem(u), err
		},
		patch: func(ctx context.Context, c *call, id string, ops []patch.Op, ifMatch string) (item, bool, error) {
			u, changed, err := s.PatchUser(ctx, c.dir, id, ops, ifMatch, c.ev)
			return userItem(u), changed, err
		},
		delete: func(ctx context.Context, c *call, id, ifMatch string) error {
			return s.DeleteUser(ctx, c.dir, id, ifMatch, c.ev)
		},
		list: func(ctx context.Context, c *call, q directory.Query) ([]item, int, string, error) {
			page, err := s.ListUsers(ctx, c.dir, q)
			items := make([]item, len(page.Items))
			for i, u := range page.Items {
				items[i] = userItem(u)
			}
			return items, page.Total, page.NextCursor, err
		},
		render: func(ctx context.Context, c *call, it item, p projection) (map[string]any, error) {
			return h.renderUser(ctx, c, *it.user, p)
		},
	}
}

func (h *Handler) groups() kind {
	s := h.Svc
	return kind{
		rt: schema.GroupResource, endpoint: "/Groups",
		create: func(ctx context.Context, c *call, body map[string]any) (item, error) {
			g, err := s.CreateGroup(ctx, c.dir, body, c.ev)
			return groupItem(g), err
		},
		get: func(ctx context.Context, c *call, id string) (item, error) {
			g, err := s.GetGroup(ctx, c.dir, id)
			return groupItem(g), err
		},
		replace: func(ctx context.Context, c *call, id string, body map[string]any, ifMatch string) (item, error) {
			g, err := s.ReplaceGroup(ctx, c.dir, id, body, ifMatch, c.ev)
			return groupItem(g), err
		},
		patch: func(ctx context.Context, c *call, id string, ops []patch.Op, ifMatch string) (item, bool, error) {
			g, changed, err := s.PatchGroup(ctx, c.dir, id, ops, ifMatch, c.ev)
			return groupItem(g), changed, err
		},
		delete: func(ctx context.Context, c *call, id, ifMatch string) error {
			return s.DeleteGroup(ctx, c.dir, id, ifMatch, c.ev)
		},
		list: func(ctx context.Context, c *call, q directory.Query) ([]item, int, string, error) {
			page, err := s.ListGroups(ctx, c.dir, q)
			items := make([]item, len(page.Items))
			for i, g := range page.Items {
				items[i] = groupItem(g)
			}
			return items, page.Total, page.NextCursor, err
		},
		render: func(ctx context.Context, c *call, it item, p projection) (map[string]any, error) {
			return h.renderGroup(ctx, c, *it.group, p)
		},
	}
}

// result is an operation's HTTP outcome, shared by handlers and Bulk.
type result struct {
	status   int
	body     map[string]any // nil for 204/304
	location string
	etag     string
}

func (r result) write(w http.ResponseWriter) {
	if r.location != "" {
		w.Header().Set("Location", r.location)
	}
	if r.etag != "" {
		w.Header().Set("ETag", r.etag)
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	writeJSON(w, r.status, r.body)
}

func (h *Handler) doCreate(ctx context.Context, k kind, c *call, body map[string]any, p projection) (result, error) {
	it, err := k.create(ctx, c, body)
	if err != nil {
		return result{}, err
	}
	c.committed = true
	if it.user != nil {
		p = p.unlessAsked("groups") // a user created a moment ago is in no group
	}
	res, err := k.render(ctx, c, it, p)
	if err != nil {
		return result{}, err
	}
	c.ev.SetResponse(map[string]any{"id": it.id})
	return result{status: http.StatusCreated, body: res, location: h.location(k.endpoint, it.id), etag: directory.ETag(it.version)}, nil
}

func (h *Handler) doGet(ctx context.Context, k kind, c *call, id, ifNoneMatch string, p projection) (result, error) {
	c.ev.ResourceID = id
	it, err := k.get(ctx, c, id)
	if err != nil {
		return result{}, err
	}
	etag := directory.ETag(it.version)
	if ifNoneMatch != "" && directory.CheckIfMatch(ifNoneMatch, it.version) == nil { // "*" matches any current version (RFC 9110 §13.1.2)
		return result{status: http.StatusNotModified, etag: etag}, nil
	}
	res, err := k.render(ctx, c, it, p)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusOK, body: res, location: "", etag: etag}, nil
}

func (h *Handler) doReplace(ctx context.Context, k kind, c *call, id string, body map[string]any, ifMatch string, p projection) (result, error) {
	it, err := k.replace(ctx, c, id, body, ifMatch)
	if err != nil {
		return result{}, err
	}
	c.committed = true
	res, err := k.render(ctx, c, it, p)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusOK, body: res, etag: directory.ETag(it.version)}, nil
}

func (h *Handler) doPatch(ctx context.Context, k kind, c *call, id string, ops []patch.Op, ifMatch string, p projection) (result, error) {
	it, changed, err := k.patch(ctx, c, id, ops, ifMatch)
	if err != nil {
		return result{}, err
	}
	c.committed = changed
	etag := directory.ETag(it.version)
	if c.dir.Settings.PatchReturns204 {
		return result{status: http.StatusNoContent, etag: etag}, nil
	}
	res, err := k.render(ctx, c, it, p)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusOK, body: res, etag: etag}, nil
}

func (h *Handler) doDelete(ctx context.Context, k kind, c *call, id, ifMatch string) (result, error) {
	c.ev.ResourceID = id // also when the delete fails early (If-Match)
	if err := k.delete(ctx, c, id, ifMatch); err != nil {
		return result{}, err
	}
	c.committed = true
	return result{status: http.StatusNoContent}, nil
}

// HTTP handlers: thin wrappers that read the request and write the result.

func (h *Handler) create(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		body, err := decodeObject(r)
		if err != nil {
			return err
		}
		c.addBody(r, body)
		p, err := parseProjection(k.rt, queryFold(r, "attributes"), queryFold(r, "excludedAttributes"))
		if err != nil {
			return err
		}
		res, err := h.doCreate(r.Context(), k, c, body, p)
		if err == nil {
			res.write(w)
		}
		return err
	}
}

func (h *Handler) get(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		p, err := parseProjection(k.rt, queryFold(r, "attributes"), queryFold(r, "excludedAttributes"))
		if err != nil {
			return err
		}
		id, err := resourceID(r, k)
		if err != nil {
			return err
		}
		res, err := h.doGet(r.Context(), k, c, id, r.Header.Get("If-None-Match"), p)
		if err == nil {
			res.write(w)
		}
		return err
	}
}

func (h *Handler) replace(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		body, err := decodeObject(r)
		if err != nil {
			return err
		}
		c.addBody(r, body)
		p, err := parseProjection(k.rt, queryFold(r, "attributes"), queryFold(r, "excludedAttributes"))
		if err != nil {
			return err
		}
		id, err := resourceID(r, k)
		if err != nil {
			return err
		}
		res, err := h.doReplace(r.Context(), k, c, id, body, r.Header.Get("If-Match"), p)
		if err == nil {
			res.write(w)
		}
		return err
	}
}

func (h *Handler) patchOp(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		raw, err := readBody(r)
		if err != nil {
			return err
		}
		if body, err := parseObject(raw); err == nil {
			c.addBody(r, body)
		}
		ops, err := patch.ParseRequest(raw)
		if err != nil {
			return err
		}
		p, err := parseProjection(k.rt, queryFold(r, "attributes"), queryFold(r, "excludedAttributes"))
		if err != nil {
			return err
		}
		id, err := resourceID(r, k)
		if err != nil {
			return err
		}
		res, err := h.doPatch(r.Context(), k, c, id, ops, r.Header.Get("If-Match"), p)
		if err == nil {
			res.write(w)
		}
		return err
	}
}

func (h *Handler) remove(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id, err := resourceID(r, k)
		if err != nil {
			return err
		}
		res, err := h.doDelete(r.Context(), k, c, id, r.Header.Get("If-Match"))
		if err == nil {
			res.write(w)
		}
		return err
	}
}

// queryFold reads a query parameter case-insensitively.
func queryFold(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if len(v) > 0 && equalFold(k, name) {
			return v[len(v)-1]
		}
	}
	return ""
}
