package target

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"
)

// PatchOp is one RFC 7644 §3.5.2 operation. Op is sent lower-case (add,
// replace, remove) whatever the caller wrote.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Replace sets path to v (one operation per changed attribute, as Entra sends).
func Replace(path string, v any) PatchOp { return PatchOp{Op: "replace", Path: path, Value: v} }

// Add adds v at path.
func Add(path string, v any) PatchOp { return PatchOp{Op: "add", Path: path, Value: v} }

// Remove clears path.
func Remove(path string) PatchOp { return PatchOp{Op: "remove", Path: path} }

// AddMembers adds the target ids to a group: {"op":"add","path":"members",
// "value":[{"value":id},...]}. PatchGroup splits it into batches.
func AddMembers(ids ...string) PatchOp {
	v := make([]any, len(ids))
	for i, id := range ids {
		v[i] = map[string]any{"value": id}
	}
	return PatchOp{Op: "add", Path: "members", Value: v}
}

// RemoveMembers removes the target ids from a group, one RFC filter op per
// member: {"op":"remove","path":"members[value eq \"id\"]"} (what AWS and
// Entra with aadOptscim062020 use; a value list on a remove is not RFC).
func RemoveMembers(ids ...string) []PatchOp {
	out := make([]PatchOp, len(ids))
	for i, id := range ids {
		out[i] = PatchOp{Op: "remove", Path: "members[value eq " + quote(id) + "]"}
	}
	return out
}

// kind is a SCIM resource type the client writes.
type kind struct {
	name     string // User, Group
	endpoint string // /Users
	urn      string
}

var (
	userKind  = kind{"User", "/Users", UserURN}
	groupKind = kind{"Group", "/Groups", GroupURN}
)

// attrPathRE accepts an attribute path usable on the left of eq: an
// optional schema URN prefix, a name, an optional value filter and a
// sub-attribute (emails[type eq "work"].value).
var attrPathRE = regexp.MustCompile(`^(urn:[A-Za-z0-9._:-]+:)?[A-Za-z$][A-Za-z0-9_$-]*(\[[^\[\]]+\])?(\.[A-Za-z$][A-Za-z0-9_$-]*)?$`)

// EqFilter returns the filter `attr eq "value"` with the value quoted as a
// SCIM (JSON) string: quotes and backslashes escaped, control characters
// as \u escapes.
func EqFilter(attr, value string) (string, error) {
	if !attrPathRE.MatchString(attr) {
		return "", fmt.Errorf("%q is not an attribute path", attr)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("the value for %s is not valid UTF-8", attr)
	}
	return attr + " eq " + quote(value), nil
}

func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// queryEscape encodes a query value with %20 for spaces, as Entra does;
// some servers do not decode '+'.
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// FindUsers runs the matching query GET /Users?filter=attr eq "value".
func (c *Client) FindUsers(ctx context.Context, attr, value string) ([]Resource, error) {
	return c.find(ctx, "FindUsers", userKind, attr, value)
}

// FindGroups runs GET /Groups?excludedAttributes=members&filter=attr eq "value".
func (c *Client) FindGroups(ctx context.Context, attr, value string) ([]Resource, error) {
	return c.find(ctx, "FindGroups", groupKind, attr, value)
}

func (c *Client) find(ctx context.Context, op string, k kind, attr, value string) ([]Resource, error) {
	f, err := EqFilter(attr, value)
	if err != nil {
		return nil, invalidRequest(op, err.Error())
	}
	q := "filter=" + queryEscape(f)
	if k == groupKind {
		q = "excludedAttributes=members&" + q
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: k.endpoint, query: q, retries: -1})
	if err != nil {
		return nil, err
	}
	m, err := decodeObject(op, resp)
	if err != nil {
		return nil, err
	}
	return listResources(op, resp, m)
}

// listResources reads a ListResponse's Resources, each of which must have an id.
func listResources(op string, resp *response, m map[string]any) ([]Resource, error) {
	raw, hasResources := lookupFold(m, "Resources")
	_, hasTotal := lookupFold(m, "totalResults")
	if !hasResources && !hasTotal {
		return nil, notSCIM(op, resp, "the response is JSON but not a SCIM ListResponse (no totalResults or Resources)")
	}
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, notSCIM(op, resp, "the ListResponse's Resources is not an array")
	}
	out := make([]Resource, 0, len(list))
	for i, x := range list {
		r, ok := x.(map[string]any)
		if !ok || Resource(r).ID() == "" {
			return nil, notSCIM(op, resp, fmt.Sprintf("Resources[%d] is not a resource with an id", i))
		}
		out = append(out, r)
	}
	return out, nil
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// GetUser reads GET /Users/{id}. A 404 is an *Error matching ErrNotFound
// (IsNotFound): the user was deleted on the target out of band.
func (c *Client) GetUser(ctx context.Context, id string) (Resource, error) {
	return c.get(ctx, "GetUser", userKind, id)
}

// GetGroup reads GET /Groups/{id}?excludedAttributes=members (members are
// not read back: AWS returns none and large groups are expensive).
func (c *Client) GetGroup(ctx context.Context, id string) (Resource, error) {
	return c.get(ctx, "GetGroup", groupKind, id)
}

func (c *Client) get(ctx context.Context, op string, k kind, id string) (Resource, error) {
	if id == "" {
		return nil, invalidRequest(op, "the target id is empty")
	}
	r := &request{op: op, method: http.MethodGet, path: k.endpoint + "/" + url.PathEscape(id), retries: -1}
	if k == groupKind {
		r.query = "excludedAttributes=members"
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resourceFrom(op, resp)
}

func resourceFrom(op string, resp *response) (Resource, error) {
	m, err := decodeObject(op, resp)
	if err != nil {
		return nil, err
	}
	if Resource(m).ID() == "" {
		return nil, notSCIM(op, resp, "the response is not a resource with an id")
	}
	return m, nil
}

// CreateUser sends POST /Users and returns the created user (with the
// target's id). A 409 is an *Error matching ErrConflict: look the user up
// by its matching attributes and link it.
func (c *Client) CreateUser(ctx context.Context, r Resource) (Resource, error) {
	body, err := createBody(userKind, r)
	if err != nil {
		return nil, invalidRequest("CreateUser", err.Error())
	}
	return c.create(ctx, "CreateUser", userKind, body)
}

// CreateGroup sends POST /Groups. Members beyond MaxMemberChanges are not
// sent inline but added by PatchGroup batches after the create; if one of
// those fails, CreateGroup returns the created group AND the error, and the
// caller must keep (link) the group.
func (c *Client) CreateGroup(ctx context.Context, r Resource) (Resource, error) {
	first, rest, err := splitCreateMembers(r, c.cfg.Profile, c.cfg.MaxMemberChanges)
	if err != nil {
		return nil, invalidRequest("CreateGroup", err.Error())
	}
	body, err := createBody(groupKind, first)
	if err != nil {
		return nil, invalidRequest("CreateGroup", err.Error())
	}
	created, err := c.create(ctx, "CreateGroup", groupKind, body)
	if err != nil || rest == nil {
		return created, err
	}
	if err := c.PatchGroup(ctx, created.ID(), []PatchOp{{Op: "add", Path: "members", Value: rest}}); err != nil {
		return created, err
	}
	return created, nil
}

func (c *Client) create(ctx context.Context, op string, k kind, body []byte) (Resource, error) {
	resp, err := c.do(ctx, &request{op: op, method: http.MethodPost, path: k.endpoint, body: body, retries: -1})
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(resp.body))) == 0 {
		return nil, notSCIM(op, resp, "the create returned no resource; a SCIM target returns the created resource with its id (RFC 7644 §3.3)")
	}
	return resourceFrom(op, resp)
}

// createBody adds the schemas attribute when the caller left it out.
func createBody(k kind, r Resource) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("the %s is empty", strings.ToLower(k.name))
	}
	out := make(Resource, len(r)+1)
	for key, v := range r {
		out[key] = v
	}
	if _, ok := lookupFold(out, "schemas"); !ok {
		schemas := []any{k.urn}
		if _, ok := lookupFold(out, EnterpriseURN); ok && k == userKind {
			schemas = append(schemas, EnterpriseURN)
		}
		out["schemas"] = schemas
	}
	return json.Marshal(out)
}

// splitCreateMembers keeps at most max members inline; the rest (nil if
// none) is added by PATCH after the create.
func splitCreateMembers(r Resource, profile string, max int) (Resource, []any, error) {
	if profile == ProfileAWS {
		m, _ := lookupFold(r, "members")
		if err := noNestedGroups(m); err != nil {
			return nil, nil, err
		}
	}
	key := ""
	for k := range r {
		if strings.EqualFold(k, "members") {
			key = k
		}
	}
	if key == "" || r[key] == nil {
		return r, nil, nil
	}
	all, ok := sliceValues(r[key])
	if !ok {
		return nil, nil, fmt.Errorf("members is not a list")
	}
	if len(all) <= max {
		return r, nil, nil
	}
	first := make(Resource, len(r))
	for k, v := range r {
		first[k] = v
	}
	first[key] = all[:max]
	return first, all[max:], nil
}

// PatchUser sends PATCH /Users/{id} with ops (RFC lower-case ops; the
// engine sends one operation per changed attribute).
func (c *Client) PatchUser(ctx context.Context, id string, ops []PatchOp) error {
	return c.patch(ctx, "PatchUser", userKind, id, ops)
}

// PatchGroup sends PATCH /Groups/{id}. Member additions and removals are
// split into requests of at most MaxMemberChanges changes (100 for
// aws-identity-center), in order; other operations travel in the request
// their position puts them in. Requests are sent one after another; if one
// fails the error says how many were applied (member adds and filtered
// removes are idempotent, so the engine may resend all ops).
func (c *Client) PatchGroup(ctx context.Context, id string, ops []PatchOp) error {
	return c.patch(ctx, "PatchGroup", groupKind, id, ops)
}

func (c *Client) patch(ctx context.Context, op string, k kind, id string, ops []PatchOp) error {
	if id == "" {
		return invalidRequest(op, "the target id is empty")
	}
	batches, err := patchBatches(k, ops, c.cfg.Profile, c.cfg.MaxMemberChanges)
	if err != nil {
		return invalidRequest(op, err.Error())
	}
	for i, b := range batches {
		_, err := c.do(ctx, &request{op: op, method: http.MethodPatch, path: k.endpoint + "/" + url.PathEscape(id), body: patchBody(b), retries: -1})
		if err != nil {
			if e, ok := AsError(err); ok && len(batches) > 1 {
				e.Detail = strings.TrimSpace(fmt.Sprintf("%s (request %d of %d; the first %d were applied)", e.Detail, i+1, len(batches), i))
			}
			return err
		}
	}
	return nil
}

func patchBody(ops []PatchOp) []byte {
	b, _ := json.Marshal(map[string]any{"schemas": []string{PatchOpURN}, "Operations": ops})
	return b
}

// patchBatches validates and normalises ops and splits group member
// changes into batches of at most max.
func patchBatches(k kind, ops []PatchOp, profile string, max int) ([][]PatchOp, error) {
	if len(ops) == 0 {
		return nil, fmt.Errorf("no operations")
	}
	norm := make([]PatchOp, len(ops))
	for i, o := range ops {
		o.Op = strings.ToLower(strings.TrimSpace(o.Op))
		switch o.Op {
		case "add", "replace":
			if o.Value == nil {
				return nil, fmt.Errorf("Operations[%d]: %s needs a value", i, o.Op)
			}
		case "remove":
			if o.Path == "" {
				return nil, fmt.Errorf("Operations[%d]: remove needs a path", i)
			}
		default:
			return nil, fmt.Errorf("Operations[%d]: op %q is not add, replace or remove", i, o.Op)
		}
		if profile == ProfileAWS {
			if err := awsPatchRule(k, i, o); err != nil {
				return nil, err
			}
		}
		norm[i] = o
	}
	if k != groupKind {
		return [][]PatchOp{norm}, nil
	}
	return splitMemberOps(norm, max), nil
}

// awsPatchRule refuses what AWS IAM Identity Center documents it rejects.
func awsPatchRule(k kind, i int, o PatchOp) error {
	path := strings.ToLower(o.Path)
	if k == userKind {
		if o.Op == "remove" && (path == "username" || path == "active") {
			return fmt.Errorf("Operations[%d]: AWS IAM Identity Center does not allow removing %s", i, o.Path)
		}
		return nil
	}
	if path == "members" && (o.Op == "replace" || (o.Op == "remove" && o.Value == nil)) {
		return fmt.Errorf("Operations[%d]: AWS IAM Identity Center does not allow replacing or removing all members; add and remove members by id", i)
	}
	if path == "members" && o.Op == "add" {
		if err := noNestedGroups(o.Value); err != nil {
			return fmt.Errorf("Operations[%d]: %v", i, err)
		}
	}
	if path == "" && o.Op == "replace" {
		if m, ok := o.Value.(map[string]any); ok {
			if _, has := lookupFold(m, "members"); has {
				return fmt.Errorf("Operations[%d]: AWS IAM Identity Center does not allow replacing all members; add and remove members by id", i)
			}
		}
	}
	return nil
}

// noNestedGroups refuses members typed as groups: AWS IAM Identity Center
// has no nested groups (the engine flattens them).
func noNestedGroups(v any) error {
	vals, _ := sliceValues(v)
	for _, x := range vals {
		if m, ok := x.(map[string]any); ok {
			if t, _ := m["type"].(string); strings.EqualFold(t, "Group") {
				return fmt.Errorf("member %v is a group; AWS IAM Identity Center does not support nested groups (flatten them)", m["value"])
			}
		}
	}
	return nil
}

// memberChanges counts the membership changes in o and whether o can be
// split across requests.
func memberChanges(o PatchOp) (n int, splittable bool) {
	path := strings.ToLower(o.Path)
	switch {
	case path == "members":
		vals, ok := sliceValues(o.Value)
		if !ok {
			return 0, false
		}
		return len(vals), o.Op == "add" || o.Op == "remove"
	case strings.HasPrefix(path, "members["):
		return 1, false
	case path == "":
		if m, ok := o.Value.(map[string]any); ok {
			if v, has := lookupFold(m, "members"); has {
				vals, _ := sliceValues(v)
				return len(vals), false
			}
		}
	}
	return 0, false
}

// splitMemberOps packs ops, in order, into requests of at most max member
// changes, splitting large member lists to fill each request: N changes
// take ceil(N/max) requests when all are splittable.
func splitMemberOps(ops []PatchOp, max int) [][]PatchOp {
	var (
		batches [][]PatchOp
		cur     []PatchOp
		n       int
	)
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		cur, n = nil, 0
	}
	for _, o := range ops {
		k, splittable := memberChanges(o)
		switch {
		case k == 0:
			cur = append(cur, o)
		case !splittable:
			if n > 0 && n+k > max {
				flush()
			}
			cur = append(cur, o)
			n += k
		default:
			vals, _ := sliceValues(o.Value)
			for i := 0; i < len(vals); {
				if n >= max {
					flush()
				}
				j := min(len(vals), i+max-n)
				cur = append(cur, PatchOp{Op: o.Op, Path: o.Path, Value: vals[i:j]})
				n += j - i
				i = j
			}
		}
	}
	flush()
	return batches
}

// sliceValues returns v's elements if v is a slice or array of any type.
func sliceValues(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// ReplaceUser sends PUT /Users/{id} with the whole user, for targets that
// update by replacement. It returns the target's representation (nil if the
// target answered without a body).
func (c *Client) ReplaceUser(ctx context.Context, id string, r Resource) (Resource, error) {
	if id == "" {
		return nil, invalidRequest("ReplaceUser", "the target id is empty")
	}
	body, err := createBody(userKind, r)
	if err != nil {
		return nil, invalidRequest("ReplaceUser", err.Error())
	}
	resp, err := c.do(ctx, &request{op: "ReplaceUser", method: http.MethodPut, path: "/Users/" + url.PathEscape(id), body: body, retries: -1})
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(resp.body))) == 0 {
		return nil, nil
	}
	return resourceFrom("ReplaceUser", resp)
}

// DeleteUser sends DELETE /Users/{id}. A 404 matches ErrNotFound (already gone).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.remove(ctx, "DeleteUser", userKind, id)
}

// DeleteGroup sends DELETE /Groups/{id}. A 404 matches ErrNotFound.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.remove(ctx, "DeleteGroup", groupKind, id)
}

func (c *Client) remove(ctx context.Context, op string, k kind, id string) error {
	if id == "" {
		return invalidRequest(op, "the target id is empty")
	}
	_, err := c.do(ctx, &request{op: op, method: http.MethodDelete, path: k.endpoint + "/" + url.PathEscape(id), retries: -1})
	return err
}
