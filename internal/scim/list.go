package scim

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// listRequest holds the query parameters of a list or .search request.
type listRequest struct {
	Filter            string
	StartIndex, Count *int
	SortBy, SortOrder string
	Attributes, Excl  string
	Cursor            string
	UseCursor         bool
}

// fromQuery reads list parameters from a URL query. Parameter names are
// matched case-insensitively: clients vary (startIndex vs startindex).
func fromQuery(q url.Values) (listRequest, error) {
	var lr listRequest
	seen := map[string]bool{}
	for k, vs := range q {
		v := vs[len(vs)-1]
		lk := strings.ToLower(k)
		switch lk {
		case "filter", "startindex", "count", "sortby", "sortorder", "attributes", "excludedattributes", "cursor":
			// Given twice (or in two spellings), which one wins would depend
			// on map order: refuse rather than guess.
			if seen[lk] || len(vs) > 1 {
				return lr, fault.New(fault.InvalidValue, k, "query parameter %s is given more than once", k)
			}
			seen[lk] = true
		}
		switch lk {
		case "filter":
			if strings.TrimSpace(v) == "" { // present but empty: never "no filter"
				return lr, fault.New(fault.InvalidFilter, "filter", "filter is empty")
			}
			lr.Filter = v
		case "startindex":
			n, err := intParam("startIndex", v)
			if err != nil {
				return lr, err
			}
			lr.StartIndex = &n
		case "count":
			n, err := intParam("count", v)
			if err != nil {
				return lr, err
			}
			lr.Count = &n
		case "sortby":
			lr.SortBy = v
		case "sortorder":
			lr.SortOrder = v
		case "attributes":
			lr.Attributes = v
		case "excludedattributes":
			lr.Excl = v
		case "cursor":
			lr.Cursor, lr.UseCursor = v, true
		}
	}
	return lr, nil
}

func intParam(name, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fault.New(fault.InvalidValue, name, "%s must be an integer, got %q", name, v)
	}
	return n, nil
}

// fromSearchBody reads a SearchRequest (RFC 7644 §3.4.3).
func fromSearchBody(body map[string]any) (listRequest, error) {
	var lr listRequest
	for k, v := range body {
		switch strings.ToLower(k) {
		case "filter":
			if v == nil {
				break // null is unassigned: no filter
			}
			var ok bool
			if lr.Filter, ok = v.(string); !ok || strings.TrimSpace(lr.Filter) == "" {
				return lr, fault.New(fault.InvalidFilter, "filter", "filter must be a non-empty string")
			}
		case "startindex", "count":
			n, err := number(k, v)
			if err != nil {
				return lr, err
			}
			if strings.EqualFold(k, "count") {
				lr.Count = &n
			} else {
				lr.StartIndex = &n
			}
		case "sortby":
			lr.SortBy, _ = v.(string)
		case "sortorder":
			lr.SortOrder, _ = v.(string)
		case "attributes":
			lr.Attributes = joinList(v)
		case "excludedattributes":
			lr.Excl = joinList(v)
		case "cursor":
			lr.Cursor, _ = v.(string)
			lr.UseCursor = true
		}
	}
	return lr, nil
}

func number(name string, v any) (int, error) {
	switch t := v.(type) {
	case float64:
		return int(t), nil
	case interface{ Int64() (int64, error) }:
		n, err := t.Int64()
		if err == nil {
			return int(n), nil
		}
	case string:
		return intParam(name, t)
	}
	return 0, fault.New(fault.InvalidValue, name, "%s must be an integer", name)
}

func joinList(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// query turns a list request into a store query, applying RFC 7644
// §3.4.2.4 clamping and the directory profile's restrictions.
func (lr listRequest) query(rt *schema.ResourceType, d directory.Directory) (directory.Query, error) {
	q := directory.Query{StartIndex: 1, Count: defaultCount, Cursor: lr.Cursor, UseCursor: lr.UseCursor}
	limit := maxCount
	if d.Profile == directory.ProfileAWS {
		limit = awsMaxCount
	}
	if lr.StartIndex != nil && *lr.StartIndex > 1 {
		q.StartIndex = *lr.StartIndex
	}
	if lr.Count != nil {
		q.Count = min(max(*lr.Count, 0), limit)
	}
	q.Count = min(q.Count, limit)
	if f := strings.TrimSpace(lr.Filter); f != "" {
		e, err := filter.Parse(rt, f)
		if err != nil {
			return q, err
		}
		if d.Profile == directory.ProfileAWS {
			if err := awsFilter(rt, e); err != nil {
				return q, err
			}
		}
		q.Filter = e
	} else if lr.Filter != "" {
		return q, fault.New(fault.InvalidFilter, "filter", "filter is empty")
	}
	if lr.SortBy != "" {
		p, ok := rt.Resolve(lr.SortBy)
		if !ok {
			return q, fault.New(fault.InvalidValue, "sortBy", "sortBy: %q is not an attribute of %s", lr.SortBy, rt.Name)
		}
		q.Sort.By = p
	}
	switch strings.ToLower(lr.SortOrder) {
	case "", "ascending":
	case "descending":
		q.Sort.Descending = true
	default:
		return q, fault.New(fault.InvalidValue, "sortOrder", "sortOrder must be ascending or descending, got %q", lr.SortOrder)
	}
	return q, nil
}

// awsFilters lists the attributes AWS IAM Identity Center filters on
// (ListUsers, ListGroups); only eq and "and" are accepted.
var awsFilters = map[*schema.ResourceType][]string{
	schema.UserResource:  {"userName", "externalId", "id", "groups.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
	schema.GroupResource: {"displayName", "externalId", "id", "members.value", "members"},
}

func awsFilter(rt *schema.ResourceType, e filter.Expr) error {
	switch e := e.(type) {
	case filter.And:
		if err := awsFilter(rt, e.Left); err != nil {
			return err
		}
		return awsFilter(rt, e.Right)
	case filter.Compare:
		if e.Op != filter.Eq {
			return fault.New(fault.InvalidFilter, e.Path.String(), "operator %s is not supported by this directory's aws-identity-center profile; only eq and and are", e.Op)
		}
		for _, a := range awsFilters[rt] {
			if strings.EqualFold(a, e.Path.String()) {
				return nil
			}
		}
		return fault.New(fault.InvalidFilter, e.Path.String(), "filtering on %s is not supported by this directory's aws-identity-center profile; use one of %s", e.Path.String(), strings.Join(awsFilters[rt], ", "))
	}
	return fault.New(fault.InvalidFilter, "filter", "this directory's aws-identity-center profile supports only eq comparisons joined by and")
}

// listResponse renders a ListResponse. Resources is [] (never null) when empty.
func listResponse(total, start int, resources []any, q directory.Query, next string) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	out := map[string]any{
		"schemas":      []any{ListResponseURN},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
	if q.UseCursor {
		if next != "" {
			out["nextCursor"] = next
		}
	} else {
		out["startIndex"] = start
	}
	return out
}

// list serves GET on a collection.
func (h *Handler) list(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		lr, err := fromQuery(r.URL.Query())
		if err != nil {
			return err
		}
		return h.runList(r.Context(), w, k, c, lr)
	}
}

// search serves POST /{type}/.search.
func (h *Handler) search(k kind) func(http.ResponseWriter, *http.Request, *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		body, err := decodeObject(r)
		if err != nil {
			return err
		}
		c.addBody(r, body)
		lr, err := fromSearchBody(body)
		if err != nil {
			return err
		}
		return h.runList(r.Context(), w, k, c, lr)
	}
}

func (h *Handler) runList(ctx context.Context, w http.ResponseWriter, k kind, c *call, lr listRequest) error {
	res, total, q, next, err := h.query(ctx, k, c, lr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listResponse(total, q.StartIndex, res, q, next))
	return nil
}

// query runs a list request for one resource type and renders the page.
func (h *Handler) query(ctx context.Context, k kind, c *call, lr listRequest) ([]any, int, directory.Query, string, error) {
	q, err := lr.query(k.rt, c.dir)
	if err != nil {
		return nil, 0, q, "", err
	}
	p, err := parseProjection(k.rt, lr.Attributes, lr.Excl)
	if err != nil {
		return nil, 0, q, "", err
	}
	items, total, next, err := k.list(ctx, c, q)
	if err != nil {
		return nil, 0, q, "", err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		res, err := k.render(ctx, c, it, p)
		if err != nil {
			return nil, 0, q, "", err
		}
		out = append(out, res)
	}
	return out, total, q, next, nil
}

// searchRoot is POST /.search across both resource types: users first, then
// groups, paged as one sequence. A filter must be valid for both types.
func (h *Handler) searchRoot(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := decodeObject(r)
	if err != nil {
		return err
	}
	c.addBody(r, body)
	lr, err := fromSearchBody(body)
	if err != nil {
		return err
	}
	if lr.UseCursor {
		return fault.New(fault.InvalidValue, "cursor", "cursor paging is not supported on the root /.search; use startIndex")
	}
	ctx := r.Context()
	uq, err := lr.query(schema.UserResource, c.dir)
	if err != nil {
		return err
	}
	start, count := uq.StartIndex, uq.Count
	// Totals first, then the slice of each type that falls in the page.
	zero := 0
	lr.Count = &zero
	_, users, _, _, err := h.query(ctx, h.users(), c, lr)
	if err != nil {
		return err
	}
	_, groups, _, _, err := h.query(ctx, h.groups(), c, lr)
	if err != nil {
		return err
	}
	var out []any
	if start <= users && count > 0 {
		n := min(count, users-start+1)
		lr.StartIndex, lr.Count = &start, &n
		res, _, _, _, err := h.query(ctx, h.users(), c, lr)
		if err != nil {
			return err
		}
		out = append(out, res...)
	}
	if rest := count - len(out); rest > 0 {
		gs := max(start-users, 1)
		lr.StartIndex, lr.Count = &gs, &rest
		res, _, _, _, err := h.query(ctx, h.groups(), c, lr)
		if err != nil {
			return err
		}
		out = append(out, res...)
	}
	writeJSON(w, http.StatusOK, listResponse(users+groups, start, out, uq, ""))
	return nil
}
