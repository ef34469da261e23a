package provisioning

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/mapping"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/scoping"
)

// Compiled is an application schema ready to evaluate: expressions parsed
// and type-checked, target paths resolved, scoping filters validated.
type Compiled struct {
	Users  *CompiledObject
	Groups *CompiledObject
}

// Object returns the compiled schema of an object type.
func (c *Compiled) Object(objectType string) *CompiledObject {
	if objectType == TypeGroup {
		return c.Groups
	}
	return c.Users
}

// CompiledObject is one object type's compiled mappings.
type CompiledObject struct {
	Type     string
	Disabled bool
	Mappings []*CompiledMapping
	// Matching are the matching mappings in precedence order.
	Matching []*CompiledMapping
	Scoping  scoping.Set
	// Members is true when the group mapping provisions members.
	Members bool
	rt      *schema.ResourceType
}

// CompiledMapping is one mapping ready to evaluate.
type CompiledMapping struct {
	Mapping
	Field string // "users.mappings[3]", for messages
	// Ref marks a reference to another user (the enterprise manager): the
	// mapped value is a source user id, sent as that user's target id once
	// it is linked.
	Ref    bool
	expr   *mapping.Expr
	path   filter.PathExpr
	target *schema.Attribute // the attribute the path finally names
	// roles is set when the mapping writes the whole roles list with a
	// complex role function: Diff then adds or replaces roles elements.
	roles roleMode
}

// SourceText describes where the value comes from, for messages:
// "the mapped source attribute givenName", "the expression Join(...)".
func (m *CompiledMapping) SourceText() string {
	switch m.Type {
	case MapDirect:
		return "the mapped source attribute " + m.Source
	case MapConstant:
		return fmt.Sprintf("the constant %q", m.Source)
	}
	return "the expression " + m.Source
}

// KnownFunc reports whether the target knows an attribute path of an object
// type (from its /Schemas); nil accepts whatever RFC 7643 defines.
type KnownFunc func(objectType, path string) bool

// CompileSchema validates and compiles an application schema. Every error
// is a *fault.Error of kind InvalidValue whose Field and message name the
// mapping (for example `users.mappings[3] (name.givenName): expression:
// position 6: ...`).
func CompileSchema(s Schema, known KnownFunc) (*Compiled, error) {
	users, err := compileObject(TypeUser, "users", s.Users, known)
	if err != nil {
		return nil, err
	}
	groups, err := compileObject(TypeGroup, "groups", s.Groups, known)
	if err != nil {
		return nil, err
	}
	return &Compiled{Users: users, Groups: groups}, nil
}

func compileObject(objectType, prefix string, o ObjectSchema, known KnownFunc) (*CompiledObject, error) {
	rt := schema.UserResource
	if objectType == TypeGroup {
		rt = schema.GroupResource
	}
	co := &CompiledObject{Type: objectType, Disabled: o.Disabled, rt: rt}
	if objectType == TypeUser && o.Disabled {
		return nil, fault.New(fault.InvalidValue, prefix+".disabled", "%s: user provisioning cannot be disabled (disable the application instead)", prefix)
	}
	seen := map[string]string{}
	for i, m := range o.Mappings {
		field := fmt.Sprintf("%s.mappings[%d]", prefix, i)
		cm, err := compileMapping(rt, objectType, field, m, known)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(cm.Target)
		if prev, dup := seen[key]; dup {
			return nil, fault.New(fault.InvalidValue, field, "%s (%s): the target attribute is already mapped by %s", field, m.Target, prev)
		}
		seen[key] = field
		if strings.EqualFold(cm.Target, "members") {
			co.Members = true
			continue
		}
		co.Mappings = append(co.Mappings, cm)
		if cm.Match > 0 {
			co.Matching = append(co.Matching, cm)
		}
	}
	if err := roleConflict(co); err != nil {
		return nil, err
	}
	if !o.Disabled && len(co.Matching) == 0 {
		return nil, fault.New(fault.InvalidValue, prefix+".mappings", "%s: at least one mapping must be a matching attribute (match: 1), so that existing %ss are found instead of duplicated", prefix, strings.ToLower(objectType))
	}
	sort.SliceStable(co.Matching, func(i, j int) bool { return co.Matching[i].Match < co.Matching[j].Match })
	for i := 1; i < len(co.Matching); i++ {
		if co.Matching[i].Match == co.Matching[i-1].Match {
			return nil, fault.New(fault.InvalidValue, co.Matching[i].Field, "%s (%s): matching precedence %d is also used by %s (%s); precedences must differ",
				co.Matching[i].Field, co.Matching[i].Target, co.Matching[i].Match, co.Matching[i-1].Field, co.Matching[i-1].Target)
		}
	}
	set := make(scoping.Set, 0, len(o.Scoping))
	for _, f := range o.Scoping {
		sf := scoping.Filter{Name: f.Name}
		for _, c := range f.Clauses {
			sf.Clauses = append(sf.Clauses, scoping.Clause{Attribute: c.Attribute, Operator: c.Operator, Value: c.Value})
		}
		set = append(set, sf)
	}
	if err := set.Validate(); err != nil {
		if fe, ok := fault.As(err); ok {
			return nil, fault.New(fault.InvalidValue, prefix+".scoping", "%s.scoping: %s", prefix, fe.Message)
		}
		return nil, fault.New(fault.InvalidValue, prefix+".scoping", "%s.scoping: %v", prefix, err)
	}
	co.Scoping = set
	return co, nil
}

func compileMapping(rt *schema.ResourceType, objectType, field string, m Mapping, known KnownFunc) (*CompiledMapping, error) {
	m.Target = strings.TrimSpace(m.Target)
	m.Type = strings.ToLower(strings.TrimSpace(m.Type))
	if m.Type == "" {
		m.Type = MapDirect
	}
	if m.Apply == "" {
		m.Apply = ApplyAlways
	}
	fail := func(format string, args ...any) error {
		return fault.New(fault.InvalidValue, field, "%s (%s): %s", field, m.Target, fmt.Sprintf(format, args...))
	}
	if m.Target == "" {
		return nil, fault.New(fault.InvalidValue, field, "%s: the target attribute is empty", field)
	}
	if m.Apply != ApplyAlways && m.Apply != ApplyOnCreate {
		return nil, fail("apply %q is not one of always, on-create", m.Apply)
	}
	if m.Match < 0 {
		return nil, fail("matching precedence must be 1 or more (0: not a matching attribute)")
	}
	cm := &CompiledMapping{Mapping: m, Field: field}
	if strings.EqualFold(m.Target, "members") {
		if objectType != TypeGroup {
			return nil, fail("members can only be mapped for groups")
		}
		if m.Type != MapDirect || !strings.EqualFold(m.Source, "members") {
			return nil, fail("members must be a direct mapping from members")
		}
		if m.Match > 0 {
			return nil, fail("members cannot be a matching attribute")
		}
		return cm, nil
	}
	if strings.EqualFold(m.Target, "id") {
		return nil, fail("the target's id is assigned by the target and cannot be mapped")
	}
	pe, err := filter.ParsePath(rt, m.Target)
	if err != nil {
		msg := err.Error()
		if fe, ok := fault.As(err); ok {
			msg = fe.Message
		}
		return nil, fail("the target attribute is not a %s attribute: %s", rt.Name, msg)
	}
	cm.path = pe
	cm.target = finalAttr(pe)
	if pe.Attr.IsExtension() && strings.EqualFold(pe.Attr.Attr.Name, "manager") {
		if pe.Attr.Sub == nil {
			return nil, fail("map manager.value (the manager's id), e.g. %s.value", m.Target)
		}
		if !strings.EqualFold(pe.Attr.Sub.Name, "value") {
			return nil, fail("only manager.value can be mapped; the target derives the rest")
		}
		cm.Ref = true
		if m.Match > 0 {
			return nil, fail("a reference cannot be a matching attribute")
		}
	}
	if cm.target.Mutability == schema.ReadOnly {
		return nil, fail("the target attribute is read-only")
	}
	if cm.target.Type == schema.Complex && !isRoleList(pe) {
		return nil, fail("the target attribute is complex; map its sub-attributes, e.g. %s.value or %s[type eq \"work\"].value", m.Target, m.Target)
	}
	if known != nil && !known(objectType, m.Target) {
		return nil, fail("the target does not know this attribute (it is not in the target's /Schemas or its profile forbids it)")
	}
	if m.Match > 0 && pe.Filter == nil && cm.target.MultiValued {
		return nil, fail("a multi-valued attribute cannot be a matching attribute")
	}
	switch m.Type {
	case MapConstant:
		if m.Match > 0 {
			return nil, fail("a constant cannot be a matching attribute")
		}
	case MapDirect:
		src := strings.TrimSpace(m.Source)
		if src == "" {
			return nil, fail("a direct mapping needs a source attribute")
		}
		if !knownSourceAttr(rt, src) {
			return nil, fail("the source attribute %q is not a %s attribute", src, rt.Name)
		}
		if cm.expr, err = mapping.CompileField(field, "["+src+"]"); err != nil {
			return nil, fail("%s", faultMessage(err))
		}
	case MapExpression:
		if cm.expr, err = mapping.CompileField(field, m.Source); err != nil {
			return nil, fail("%s", faultMessage(err))
		}
		if cm.expr.SelectsUniqueValue() && m.Match > 0 {
			// Entra's rule too: the value depends on what the target already
			// holds, so matching on it would find the object it avoided.
			return nil, fail("a SelectUniqueValue mapping cannot be a matching attribute; match on another attribute (externalId) instead")
		}
	default:
		return nil, fail("type %q is not one of direct, constant, expression", m.Type)
	}
	var fn string
	if cm.expr != nil && m.Type == MapExpression {
		fn = cm.expr.Function()
	}
	switch {
	case isRoleList(pe):
		if cm.roles = roleModeOf(fn); cm.roles == rolesNone {
			return nil, fail("roles is a list of complex values: map it with AppRoleAssignmentsComplex([appRoleAssignments]) (adds the roles the target lacks, never removes one) or AssertiveAppRoleAssignmentsComplex([appRoleAssignments]) (makes the target's roles equal the list), or map one role to roles[primary eq true].value")
		}
	case roleModeOf(fn) != rolesNone && !pe.Attr.IsExtension() && strings.EqualFold(pe.Attr.Attr.Name, "roles") && pe.Filter == nil:
		// roles.value would be written as one object holding a list, not
		// as roles elements.
		return nil, fail("%s gives roles elements (value, display, type, primary); map it to roles itself", fn)
	}
	return cm, nil
}

func faultMessage(err error) string {
	if fe, ok := fault.As(err); ok {
		return fe.Message
	}
	return err.Error()
}

// knownSourceAttr reports whether a direct mapping's source names something
// a directory object has.
func knownSourceAttr(rt *schema.ResourceType, src string) bool {
	switch strings.ToLower(src) {
	case "id", "objectid", "externalid", "meta.created", "meta.lastmodified":
		return true
	case "active", "accountenabled", "issoftdeleted":
		return rt == schema.UserResource
	case "members":
		return rt == schema.GroupResource
	}
	_, err := filter.ParsePath(rt, src)
	return err == nil
}

func finalAttr(pe filter.PathExpr) *schema.Attribute {
	if pe.Sub != nil {
		return pe.Sub
	}
	return pe.Attr.Target()
}

// Desired is what the mappings produce for one source object.
type Desired struct {
	// Values are the target paths with a value, normalised to the target
	// attribute's type (string, bool, float64, []string).
	Values map[string]any
	// OnCreate marks paths mapped "on-create only".
	OnCreate map[string]bool
	// Ignored paths were dropped by IgnoreFlowIfNullOrEmpty: not sent, not cleared.
	Ignored map[string]bool
	// Empty maps target paths whose mapping produced no value to the mapping.
	Empty map[string]*CompiledMapping
	// By maps every target path to its mapping.
	By map[string]*CompiledMapping
	// rolesExact is the target's own word (from its /Schemas) on whether
	// roles.value is caseExact; nil uses RFC 7643's (it is not).
	rolesExact *bool
}

// MappingError is a mapping that failed to evaluate for one object.
type MappingError struct {
	Mapping *CompiledMapping
	Err     error
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.Mapping.Field, e.Mapping.Target, faultMessage(e.Err))
}

func (e *MappingError) Unwrap() error { return e.Err }

// Unique reports whether a value SelectUniqueValue proposes for the target
// attribute of mapping m is still free in the target.
type Unique func(m *CompiledMapping, value string) (bool, error)

// EvalOptions is what a cycle knows about an object beyond its attributes.
type EvalOptions struct {
	// Roles are the object's app roles, from the assignments that bring it
	// into scope: SingleAppRoleAssignment, AppRoleAssignmentsComplex and
	// [appRoleAssignments] read them.
	Roles []string
	// Unique checks SelectUniqueValue candidates against the target; nil
	// leaves SelectUniqueValue unsupported (it fails with fault.Unsupported).
	Unique Unique
	// Linked says the object exists in the target: SelectUniqueValue
	// mappings applied on create only are then not evaluated at all, since
	// their value would not be sent and each evaluation queries the target.
	Linked bool
	// RolesCaseExact, when not nil, says whether the target compares role
	// values case-sensitively (its /Schemas for roles.value).
	RolesCaseExact *bool
}

// Evaluate runs every mapping over env alone: no app roles from
// assignments, no uniqueness check (the planner's tests, previews).
func (co *CompiledObject) Evaluate(env mapping.Env) (*Desired, error) {
	return co.evaluate(env, nil, EvalOptions{})
}

// EvaluateWith runs every mapping over env extended by what the cycle
// knows (o).
func (co *CompiledObject) EvaluateWith(env mapping.Env, o EvalOptions) (*Desired, error) {
	return co.evaluate(env, &evalEnv{base: env, roles: o.Roles}, o)
}

func (co *CompiledObject) evaluate(env mapping.Env, ext *evalEnv, o EvalOptions) (*Desired, error) {
	d := &Desired{Values: map[string]any{}, OnCreate: map[string]bool{}, Ignored: map[string]bool{}, Empty: map[string]*CompiledMapping{}, By: map[string]*CompiledMapping{}, rolesExact: o.RolesCaseExact}
	for _, m := range co.Mappings {
		d.By[m.Target] = m
		var v mapping.Value
		if m.Type == MapConstant {
			v = m.Source
		} else {
			menv := env
			if ext != nil {
				unique := m.expr.SelectsUniqueValue()
				if unique && o.Linked && m.Apply == ApplyOnCreate {
					d.OnCreate[m.Target] = true // create-only: left alone on existing objects
					continue
				}
				ext.unique = nil
				if unique && o.Unique != nil {
					ext.unique = func(value string) (bool, error) { return o.Unique(m, value) }
				}
				menv = ext
			}
			var err error
			v, err = m.expr.Eval(menv)
			if errors.Is(err, mapping.ErrIgnoreFlow) {
				d.Ignored[m.Target] = true
				continue
			}
			if err != nil {
				return nil, &MappingError{Mapping: m, Err: err}
			}
		}
		if m.Apply == ApplyOnCreate {
			// Marked whether or not it has a value: an on-create attribute
			// that is empty now must not be removed from an existing object.
			d.OnCreate[m.Target] = true
		}
		if mapping.IsNullOrEmpty(v) && m.Default != "" {
			v = m.Default
		}
		if mapping.IsNullOrEmpty(v) {
			d.Empty[m.Target] = m
			continue
		}
		nv, err := normalize(m.target, v)
		if err != nil {
			return nil, &MappingError{Mapping: m, Err: err}
		}
		d.Values[m.Target] = nv
	}
	return d, nil
}

// UniqueFilterPath is the attribute a SelectUniqueValue candidate is looked
// up by in the target: the mapping's target path without its value filter
// (emails[type eq "work"].value -> emails.value), so a value taken under
// any type counts as taken and the filter stays plain RFC 7644.
func (m *CompiledMapping) UniqueFilterPath() string { return stripIndex(m.Target) }

// CaseExact reports whether the target attribute compares case-sensitively.
func (m *CompiledMapping) CaseExact() bool { return m.target != nil && m.target.CaseExact }

// normalize converts an expression value to the target attribute's type.
func normalize(a *schema.Attribute, v mapping.Value) (any, error) {
	if list, ok := v.([]string); ok && !a.MultiValued {
		if len(list) == 1 {
			v = list[0]
		} else {
			return list, nil // kept as a list: pre-send validation reports "one value allowed"
		}
	}
	switch a.Type {
	case schema.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		case float64:
			return x != 0, nil
		}
		return nil, fmt.Errorf("the value %q is not a boolean (expected True or False)", mapping.Text(v))
	case schema.Integer, schema.Decimal:
		switch x := v.(type) {
		case float64:
			if a.Type == schema.Integer && x != math.Trunc(x) {
				return nil, fmt.Errorf("the value %v is not an integer", x)
			}
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err == nil && (a.Type == schema.Decimal || f == math.Trunc(f)) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("the value %q is not a number", mapping.Text(v))
	case schema.DateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339), nil
		case string:
			if t, err := schema.ParseDateTime(x); err == nil {
				return t.UTC().Format(time.RFC3339), nil
			}
			if t, err := time.Parse(mapping.DateLayout, x); err == nil {
				return t.UTC().Format(time.RFC3339), nil
			}
		}
		return nil, fmt.Errorf("the value %q is not a date-time", mapping.Text(v))
	}
	if list, ok := v.([]string); ok {
		return list, nil
	}
	return mapping.Text(v), nil
}
