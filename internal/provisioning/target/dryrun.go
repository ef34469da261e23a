package target

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Write is a request a dry run recorded instead of sending.
type Write struct {
	Op     string          // CreateUser, PatchGroup, ...
	Method string          // POST, PATCH, PUT, DELETE
	Path   string          // under the tenant URL: /Users, /Groups/{id}
	Body   json.RawMessage // exactly the body that would be sent; nil for DELETE
}

func (w Write) String() string {
	if len(w.Body) == 0 {
		return w.Method + " " + w.Path
	}
	return w.Method + " " + w.Path + " " + string(w.Body)
}

// DryRunTarget passes reads through to a target and records writes. It is
// safe for concurrent use.
type DryRunTarget struct {
	inner   Operations
	profile string
	max     int

	mu      sync.Mutex
	writes  []Write
	created map[string]Resource
	seq     int
}

var _ Operations = (*DryRunTarget)(nil)

// DryRunIDPrefix starts the synthetic ids a dry run gives created objects.
const DryRunIDPrefix = "dryrun-"

// DryRun wraps t: reads (Schemas, Find*, Get*) go to t; writes are recorded
// with the exact method, path and body the client would send (group
// member changes already split into the requests that would be sent) and
// return synthetic results: a created object gets the id "dryrun-N", and
// Get of such an id returns it without asking the target.
func DryRun(t Operations) *DryRunTarget {
	d := &DryRunTarget{inner: t, profile: ProfileGeneric, max: DefaultMaxMemberChanges, created: map[string]Resource{}}
	if p, ok := t.(interface {
		Profile() string
		MaxMemberChanges() int
	}); ok {
		d.profile, d.max = p.Profile(), p.MaxMemberChanges()
	}
	return d
}

// Recorded returns the writes so far, in order.
func (d *DryRunTarget) Recorded() []Write {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Write(nil), d.writes...)
}

func (d *DryRunTarget) record(ws ...Write) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes = append(d.writes, ws...)
}

// Stats are the wrapped target's (the reads that were sent).
func (d *DryRunTarget) Stats() Stats { return d.inner.Stats() }

func (d *DryRunTarget) Schemas(ctx context.Context) (*SchemaInfo, error) { return d.inner.Schemas(ctx) }

func (d *DryRunTarget) FindUsers(ctx context.Context, attr, value string) ([]Resource, error) {
	return d.inner.FindUsers(ctx, attr, value)
}

func (d *DryRunTarget) FindGroups(ctx context.Context, attr, value string) ([]Resource, error) {
	return d.inner.FindGroups(ctx, attr, value)
}

func (d *DryRunTarget) GetUser(ctx context.Context, id string) (Resource, error) {
	if r, ok := d.synthetic(id); ok {
		return r, nil
	}
	return d.inner.GetUser(ctx, id)
}

func (d *DryRunTarget) GetGroup(ctx context.Context, id string) (Resource, error) {
	if r, ok := d.synthetic(id); ok {
		return r, nil
	}
	return d.inner.GetGroup(ctx, id)
}

func (d *DryRunTarget) synthetic(id string) (Resource, bool) {
	if !strings.HasPrefix(id, DryRunIDPrefix) {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.created[id]
	return r, ok
}

func (d *DryRunTarget) CreateUser(ctx context.Context, r Resource) (Resource, error) {
	body, err := createBody(userKind, r)
	if err != nil {
		return nil, invalidRequest("CreateUser", err.Error())
	}
	d.record(Write{Op: "CreateUser", Method: http.MethodPost, Path: userKind.endpoint, Body: body})
	return d.newID(userKind, body), nil
}

func (d *DryRunTarget) CreateGroup(ctx context.Context, r Resource) (Resource, error) {
	first, rest, err := splitCreateMembers(r, d.profile, d.max)
	if err != nil {
		return nil, invalidRequest("CreateGroup", err.Error())
	}
	body, err := createBody(groupKind, first)
	if err != nil {
		return nil, invalidRequest("CreateGroup", err.Error())
	}
	d.record(Write{Op: "CreateGroup", Method: http.MethodPost, Path: groupKind.endpoint, Body: body})
	created := d.newID(groupKind, body)
	if rest != nil {
		if err := d.patch("PatchGroup", groupKind, created.ID(), []PatchOp{{Op: "add", Path: "members", Value: rest}}); err != nil {
			return created, err
		}
	}
	return created, nil
}

// newID returns the synthetic created object: the body plus id and meta.
func (d *DryRunTarget) newID(k kind, body []byte) Resource {
	var r Resource
	json.Unmarshal(body, &r)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	id := fmt.Sprintf("%s%d", DryRunIDPrefix, d.seq)
	r["id"] = id
	r["meta"] = map[string]any{"resourceType": k.name}
	d.created[id] = r
	out := make(Resource, len(r))
	for key, v := range r {
		out[key] = v
	}
	return out
}

func (d *DryRunTarget) PatchUser(ctx context.Context, id string, ops []PatchOp) error {
	return d.patch("PatchUser", userKind, id, ops)
}

func (d *DryRunTarget) PatchGroup(ctx context.Context, id string, ops []PatchOp) error {
	return d.patch("PatchGroup", groupKind, id, ops)
}

func (d *DryRunTarget) patch(op string, k kind, id string, ops []PatchOp) error {
	if id == "" {
		return invalidRequest(op, "the target id is empty")
	}
	batches, err := patchBatches(k, ops, d.profile, d.max)
	if err != nil {
		return invalidRequest(op, err.Error())
	}
	ws := make([]Write, len(batches))
	for i, b := range batches {
		ws[i] = Write{Op: op, Method: http.MethodPatch, Path: k.endpoint + "/" + url.PathEscape(id), Body: patchBody(b)}
	}
	d.record(ws...)
	return nil
}

func (d *DryRunTarget) ReplaceUser(ctx context.Context, id string, r Resource) (Resource, error) {
	if id == "" {
		return nil, invalidRequest("ReplaceUser", "the target id is empty")
	}
	body, err := createBody(userKind, r)
	if err != nil {
		return nil, invalidRequest("ReplaceUser", err.Error())
	}
	d.record(Write{Op: "ReplaceUser", Method: http.MethodPut, Path: "/Users/" + url.PathEscape(id), Body: body})
	var out Resource
	json.Unmarshal(body, &out)
	out["id"] = id
	return out, nil
}

func (d *DryRunTarget) DeleteUser(ctx context.Context, id string) error {
	return d.remove("DeleteUser", userKind, id)
}

func (d *DryRunTarget) DeleteGroup(ctx context.Context, id string) error {
	return d.remove("DeleteGroup", groupKind, id)
}

func (d *DryRunTarget) remove(op string, k kind, id string) error {
	if id == "" {
		return invalidRequest(op, "the target id is empty")
	}
	d.record(Write{Op: op, Method: http.MethodDelete, Path: k.endpoint + "/" + url.PathEscape(id)})
	return nil
}
