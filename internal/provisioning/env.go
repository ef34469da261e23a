package provisioning

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
)

// Source is one source object as the planner sees it: its identity and an
// attribute environment for mappings and scoping filters.
type Source struct {
	Type    string // TypeUser or TypeGroup
	ID      string
	Name    string // userName or displayName
	Active  bool   // users: the source's active flag; groups: true
	Deleted bool   // deleted in the source (only the id is known)
	// Members are the source ids of a group's members as the target should
	// have them (flattened to users for targets without nested groups).
	Members []string
	Env     mapping.Env
}

// userSource builds the Source of a directory user.
func userSource(u directory.User) Source {
	return Source{Type: TypeUser, ID: u.ID, Name: u.UserName, Active: u.Active,
		Env: &docEnv{rt: schema.UserResource, doc: u.Attrs, id: u.ID, externalID: u.ExternalID, active: &u.Active, created: u.Created, modified: u.Modified}}
}

// groupSource builds the Source of a directory group with its members.
func groupSource(g directory.Group, members []string) Source {
	return Source{Type: TypeGroup, ID: g.ID, Name: g.DisplayName, Active: true, Members: members,
		Env: &docEnv{rt: schema.GroupResource, doc: g.Attrs, id: g.ID, externalID: g.ExternalID, members: members, created: g.Created, modified: g.Modified}}
}

// docEnv answers mapping.Env over a canonical attribute document. Names are
// SCIM paths: "userName", "name.givenName", `emails[type eq "work"].value`,
// "emails.value" (every value), extension attributes with their URN, and
// "id", "externalId", "active", "members", "meta.created".
type docEnv struct {
	rt         *schema.ResourceType
	doc        map[string]any
	id         string
	externalID string
	active     *bool
	members    []string
	created    time.Time
	modified   time.Time
	now        time.Time
}

// Now implements mapping.Clock when a cycle fixed the time.
func (e *docEnv) Now() time.Time {
	if e.now.IsZero() {
		return time.Now().UTC()
	}
	return e.now
}

var pathCache sync.Map // resource type name + "\x00" + path -> filter.PathExpr or error

func parsePath(rt *schema.ResourceType, name string) (filter.PathExpr, bool) {
	key := rt.Name + "\x00" + name
	if v, ok := pathCache.Load(key); ok {
		pe, ok := v.(filter.PathExpr)
		return pe, ok
	}
	pe, err := filter.ParsePath(rt, name)
	if err != nil {
		pathCache.Store(key, err)
		return pe, false
	}
	pathCache.Store(key, pe)
	return pe, true
}

// Attr implements mapping.Env.
func (e *docEnv) Attr(name string) (mapping.Value, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "id", "objectid":
		return e.id, true
	case "externalid":
		if e.externalID == "" {
			return nil, false
		}
		return e.externalID, true
	case "active", "accountenabled":
		if e.active != nil {
			return *e.active, true
		}
	case "issoftdeleted":
		if e.active != nil {
			return !*e.active, true
		}
	case "members":
		if e.rt == schema.GroupResource {
			return append([]string(nil), e.members...), true
		}
	case "meta.created":
		return e.created, true
	case "meta.lastmodified":
		return e.modified, true
	}
	pe, ok := parsePath(e.rt, name)
	if !ok {
		return nil, false
	}
	v := lookupPath(e.doc, pe)
	if v == nil {
		return nil, false
	}
	return v, true
}

// lookupPath reads a parsed path from a canonical document.
func lookupPath(doc map[string]any, pe filter.PathExpr) mapping.Value {
	container := doc
	if pe.Attr.IsExtension() {
		ext, _ := get(doc, pe.Attr.Schema.ID).(map[string]any)
		container = ext
	}
	if container == nil {
		return nil
	}
	raw := get(container, pe.Attr.Attr.Name)
	if raw == nil {
		return nil
	}
	sub := pe.Sub
	if sub == nil && pe.Attr.Sub != nil {
		sub = pe.Attr.Sub
	}
	list, isList := raw.([]any)
	if !isList {
		if m, ok := raw.(map[string]any); ok {
			if sub == nil {
				return nil // a complex attribute as a whole is not a mapping value
			}
			return scalarValue(get(m, sub.Name))
		}
		return scalarValue(raw)
	}
	var out []string
	for _, el := range list {
		m, isMap := el.(map[string]any)
		if pe.Filter != nil && (!isMap || !filter.MatchElement(pe.Filter, m)) {
			continue
		}
		var v any = el
		if isMap {
			if sub == nil {
				sub = pe.Attr.Attr.Sub("value")
			}
			if sub == nil {
				continue
			}
			v = get(m, sub.Name)
		}
		if s := mapping.Text(scalarValue(v)); s != "" {
			out = append(out, s)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		if pe.Filter != nil {
			return out[0]
		}
	}
	if pe.Filter != nil && len(out) > 1 {
		return out
	}
	if len(out) == 1 {
		return []string{out[0]}
	}
	return out
}

func scalarValue(v any) mapping.Value {
	switch x := v.(type) {
	case nil:
		return nil
	case string, bool, float64:
		return x
	case json.Number:
		f, _ := x.Float64()
		return f
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return nil
}

// get reads a key case-insensitively (canonical documents use the schema's
// spelling, so the exact lookup nearly always hits).
func get(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// evalEnv extends a source object's Env with what only the cycle knows: the
// app roles of the assignments that bring the object into scope, and a
// uniqueness check against the target for SelectUniqueValue. It forwards
// the base's Clock and Randomness, so wrapping changes neither Now() nor
// Guid and RandomString.
type evalEnv struct {
	base   mapping.Env
	roles  []string
	unique func(value string) (bool, error) // set per mapping
}

var (
	_ mapping.Clock             = (*evalEnv)(nil)
	_ mapping.Randomness        = (*evalEnv)(nil)
	_ mapping.UniquenessChecker = (*evalEnv)(nil)
	_ mapping.AppRoles          = (*evalEnv)(nil)
)

// Attr implements mapping.Env. [appRoleAssignments] is the roles list, the
// same one the role functions see.
func (e *evalEnv) Attr(name string) (mapping.Value, bool) {
	if strings.EqualFold(strings.TrimSpace(name), "appRoleAssignments") {
		if len(e.roles) == 0 {
			return nil, false
		}
		return append([]string(nil), e.roles...), true
	}
	if e.base == nil {
		return nil, false
	}
	return e.base.Attr(name)
}

// Now implements mapping.Clock: the base's clock when it has one.
func (e *evalEnv) Now() time.Time {
	if c, ok := e.base.(mapping.Clock); ok {
		return c.Now()
	}
	return time.Now().UTC()
}

// Random implements mapping.Randomness: the base's source when it has one;
// nil lets the evaluator use crypto/rand.
func (e *evalEnv) Random() io.Reader {
	if r, ok := e.base.(mapping.Randomness); ok {
		return r.Random()
	}
	return nil
}

// IsUnique implements mapping.UniquenessChecker.
func (e *evalEnv) IsUnique(value string) (bool, error) {
	if e.unique == nil {
		return false, fault.New(fault.Unsupported, "", "SelectUniqueValue needs a uniqueness check against the target, which this evaluation does not provide")
	}
	return e.unique(value)
}

// AppRoles implements mapping.AppRoles: in a cycle, roles come from the
// application's assignments only (Gatehouse has no other source of them).
func (e *evalEnv) AppRoles() []string { return append([]string(nil), e.roles...) }
