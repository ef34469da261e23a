package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// bulkOp is one operation of a BulkRequest (RFC 7644 §3.7).
type bulkOp struct {
	index   int
	method  string
	path    string
	bulkID  string
	version string
	data    any
	refs    []string // bulkIds this operation's path or data refers to
}

// bulk executes a BulkRequest. Operations run in request order, except that
// an operation referring to a bulkId created later waits until it exists;
// references that can never resolve (unknown or circular) fail that
// operation. Each operation is audited as its own event (CreateUser, ...).
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request, c *call) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	body, err := parseObject(raw)
	if err != nil {
		return err
	}
	c.addBody(r, map[string]any{"bytes": len(raw)})
	list, ok := lookupFold(body, "Operations").([]any)
	if !ok {
		return fault.New(fault.InvalidSyntax, "Operations", "Operations must be an array of bulk operations")
	}
	if len(list) > maxBulkOperations {
		return fault.New(fault.Limit, "Operations", "%d bulk operations exceed maxOperations %d", len(list), maxBulkOperations)
	}
	failOn := 0
	if v := lookupFold(body, "failOnErrors"); v != nil {
		if failOn, err = number("failOnErrors", v); err != nil {
			return err
		}
	}
	ops := make([]bulkOp, 0, len(list))
	for i, x := range list {
		op, err := parseBulkOp(i, x)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	created := map[string]string{} // bulkId -> id
	declared := map[string]bool{}
	for _, op := range ops {
		if op.bulkID != "" {
			declared[op.bulkID] = true
		}
	}
	results := make([]any, len(ops))
	failures := 0
	pending := ops
	for len(pending) > 0 && (failOn == 0 || failures < failOn) {
		var next []bulkOp
		progressed := false
		for _, op := range pending {
			if failOn > 0 && failures >= failOn {
				break
			}
			if waiting(op, created, declared) {
				next = append(next, op)
				continue
			}
			progressed = true
			res := h.runBulkOp(r, c, op, created)
			if st, _ := res["status"].(string); st >= "400" {
				failures++
			}
			results[op.index] = res
		}
		if !progressed { // only unresolvable references remain
			for _, op := range next {
				results[op.index] = bulkError(op, fault.New(fault.InvalidValue, "bulkId", "Operations[%d] refers to a bulkId that is never created or is part of a circular reference", op.index))
				failures++
			}
			break
		}
		pending = next
	}
	out := []any{}
	for _, res := range results {
		if res != nil {
			out = append(out, res)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"schemas": []any{BulkResponseURN}, "Operations": out})
	return nil
}

func parseBulkOp(i int, x any) (bulkOp, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return bulkOp{}, fault.New(fault.InvalidSyntax, fmt.Sprintf("Operations[%d]", i), "Operations[%d] must be an object", i)
	}
	op := bulkOp{index: i, data: lookupFold(m, "data")}
	op.method, _ = lookupFold(m, "method").(string)
	op.method = strings.ToUpper(op.method)
	op.path, _ = lookupFold(m, "path").(string)
	op.bulkID, _ = lookupFold(m, "bulkId").(string)
	op.version, _ = lookupFold(m, "version").(string)
	switch op.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return op, fault.New(fault.InvalidSyntax, fmt.Sprintf("Operations[%d].method", i), "Operations[%d].method must be POST, PUT, PATCH or DELETE, got %q", i, op.method)
	}
	if op.method == http.MethodPost && op.bulkID == "" {
		return op, fault.New(fault.InvalidSyntax, fmt.Sprintf("Operations[%d].bulkId", i), "Operations[%d].bulkId is required for POST (RFC 7644 §3.7)", i)
	}
	op.refs = bulkRefs(op.path, nil)
	op.refs = bulkRefs(op.data, op.refs)
	return op, nil
}

// bulkRefs collects "bulkId:x" references in strings anywhere in v.
func bulkRefs(v any, acc []string) []string {
	switch t := v.(type) {
	case string:
		for _, part := range strings.Split(t, "/") {
			if id, ok := strings.CutPrefix(part, "bulkId:"); ok {
				acc = append(acc, id)
			}
		}
	case map[string]any:
		for _, x := range t {
			acc = bulkRefs(x, acc)
		}
	case []any:
		for _, x := range t {
			acc = bulkRefs(x, acc)
		}
	}
	return acc
}

func waiting(op bulkOp, created map[string]string, declared map[string]bool) bool {
	for _, ref := range op.refs {
		if _, ok := created[ref]; !ok && declared[ref] && ref != op.bulkID {
			return true
		}
	}
	return false
}

// substitute replaces "bulkId:x" with the created id everywhere in v.
func substitute(v any, created map[string]string) (any, error) {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "bulkId:") {
			return t, nil
		}
		parts := strings.Split(t, "/")
		for i, part := range parts {
			if ref, ok := strings.CutPrefix(part, "bulkId:"); ok {
				id, ok := created[ref]
				if !ok {
					return nil, fault.New(fault.InvalidValue, "bulkId", "bulkId %q does not name a resource created earlier in this request", ref)
				}
				parts[i] = id
			}
		}
		return strings.Join(parts, "/"), nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			y, err := substitute(x, created)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, err := substitute(x, created)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

func (h *Handler) runBulkOp(r *http.Request, parent *call, op bulkOp, created map[string]string) map[string]any {
	ctx := r.Context()
	path, err := substitute(op.path, created)
	if err != nil {
		return bulkError(op, err)
	}
	data, err := substitute(op.data, created)
	if err != nil {
		return bulkError(op, err)
	}
	p := strings.Trim(strings.TrimPrefix(path.(string), Prefix), "/")
	typ, id, _ := strings.Cut(p, "/")
	var k kind
	switch {
	case equalFold(typ, "Users"):
		k = h.users()
	case equalFold(typ, "Groups"):
		k = h.groups()
	default:
		return bulkError(op, fault.New(fault.InvalidPath, "path", "Operations[%d].path %q must start with /Users or /Groups", op.index, op.path))
	}
	if id != "" && !validID(id) {
		return bulkError(op, notAnID(k, id))
	}
	if (op.method == http.MethodPost) != (id == "") {
		return bulkError(op, fault.New(fault.InvalidPath, "path", "Operations[%d].path %q: POST takes a collection, PUT/PATCH/DELETE a resource", op.index, op.path))
	}
	name := map[string]string{http.MethodPost: "Create", http.MethodPut: "Put", http.MethodPatch: "Patch", http.MethodDelete: "Delete"}[op.method] + k.rt.Name
	actor := audit.Actor{Identity: parent.ev.UserIdentity, SourceIP: parent.ev.SourceIPAddress, UserAgent: parent.ev.UserAgent, RequestID: httpx.RequestID(ctx)}
	c := &call{dir: parent.dir, token: parent.token, ev: actor.NewEvent(audit.SourceSCIM, name, false)}
	c.ev.Directory = parent.dir.ID
	c.ev.SetParameters(map[string]any{"method": op.method, "path": op.path, "bulkId": op.bulkID, "body": data})
	res, err := h.execBulk(ctx, k, c, op, id, data)
	if err != nil {
		status, _, detail := classify(err)
		c.ev.ErrorCode, c.ev.ErrorMessage = errorCode(status), detail
		h.Audit.Record(ctx, c.ev)
		return bulkError(op, err)
	}
	if !c.committed {
		h.Audit.Record(ctx, c.ev)
	}
	out := map[string]any{"method": op.method, "status": itoa(res.status)}
	if op.bulkID != "" {
		out["bulkId"] = op.bulkID
	}
	if res.location != "" {
		out["location"] = res.location
		if op.method == http.MethodPost {
			created[op.bulkID] = res.location[strings.LastIndex(res.location, "/")+1:]
		}
	} else if id != "" && op.method != http.MethodDelete {
		out["location"] = h.location(k.endpoint, id)
	}
	if res.etag != "" {
		out["version"] = res.etag
	}
	return out
}

func (h *Handler) execBulk(ctx context.Context, k kind, c *call, op bulkOp, id string, data any) (result, error) {
	obj := func() (map[string]any, error) {
		m, ok := data.(map[string]any)
		if !ok {
			return nil, fault.New(fault.InvalidSyntax, "data", "Operations[%d].data must be an object", op.index)
		}
		return m, nil
	}
	switch op.method {
	case http.MethodPost:
		m, err := obj()
		if err != nil {
			return result{}, err
		}
		return h.doCreate(ctx, k, c, m, projection{})
	case http.MethodPut:
		m, err := obj()
		if err != nil {
			return result{}, err
		}
		return h.doReplace(ctx, k, c, id, m, op.version, projection{})
	case http.MethodPatch:
		b, err := json.Marshal(data)
		if err != nil {
			return result{}, err
		}
		ops, err := patch.ParseRequest(b)
		if err != nil {
			return result{}, err
		}
		return h.doPatch(ctx, k, c, id, ops, op.version, projection{})
	}
	return h.doDelete(ctx, k, c, id, op.version)
}

func bulkError(op bulkOp, err error) map[string]any {
	status, scimType, detail := classify(err)
	if status == http.StatusInternalServerError {
		detail = "internal server error"
	}
	out := map[string]any{"method": op.method, "status": itoa(status),
		"response": Error{Schemas: []string{ErrorURN}, ScimType: scimType, Detail: detail, Status: itoa(status)}}
	if op.bulkID != "" {
		out["bulkId"] = op.bulkID
	}
	return out
}

// lookupFold finds a key case-insensitively (RFC 7643 §2.1).
func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if equalFold(k, key) {
			return v
		}
	}
	return nil
}
