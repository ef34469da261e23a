package target

import (
	"context"
	"fmt"
	"net/http"
)

// Page is one page of a listing: the resources and the target's
// totalResults (the number of objects in the whole listing).
type Page struct {
	Resources    []Resource
	TotalResults int
}

// ListUsers reads one page of GET /Users?startIndex=N&count=M (1-based
// startIndex, RFC 7644 §3.4.2.4). Full reconciliation and bulk matching
// page through it; it goes through the same concurrency slot, pacer,
// Retry-After hold and retries as every other request, so a listing cannot
// outrun the rate the target asked for.
func (c *Client) ListUsers(ctx context.Context, startIndex, count int) (Page, error) {
	return c.list(ctx, "ListUsers", userKind, startIndex, count)
}

// ListGroups reads one page of GET /Groups?excludedAttributes=members
// &startIndex=N&count=M: members are left out (AWS returns none, and a
// page of large groups would be huge).
func (c *Client) ListGroups(ctx context.Context, startIndex, count int) (Page, error) {
	return c.list(ctx, "ListGroups", groupKind, startIndex, count)
}

func (c *Client) list(ctx context.Context, op string, k kind, startIndex, count int) (Page, error) {
	if startIndex < 1 || count < 1 {
		return Page{}, invalidRequest(op, fmt.Sprintf("startIndex %d and count %d must be at least 1", startIndex, count))
	}
	q := fmt.Sprintf("startIndex=%d&count=%d", startIndex, count)
	if k == groupKind {
		q = "excludedAttributes=members&" + q
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: k.endpoint, query: q, retries: -1})
	if err != nil {
		return Page{}, err
	}
	m, err := decodeObject(op, resp)
	if err != nil {
		return Page{}, err
	}
	res, err := listResources(op, resp, m)
	if err != nil {
		return Page{}, err
	}
	p := Page{Resources: res, TotalResults: len(res)}
	if v, ok := lookupFold(m, "totalResults"); ok {
		switch n := v.(type) {
		case int64:
			p.TotalResults = int(n)
		case float64:
			p.TotalResults = int(n)
		}
	}
	return p, nil
}

func (d *DryRunTarget) ListUsers(ctx context.Context, startIndex, count int) (Page, error) {
	return d.inner.ListUsers(ctx, startIndex, count)
}

func (d *DryRunTarget) ListGroups(ctx context.Context, startIndex, count int) (Page, error) {
	return d.inner.ListGroups(ctx, startIndex, count)
}
