package target

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
)

// SchemaInfo is what the engine needs to know about a target's data model
// before sending: the target's /Schemas (or RFC 7643's core schemas when it
// publishes none) merged with the target profile's hard rules, and the
// capabilities of its /ServiceProviderConfig.
type SchemaInfo struct {
	Profile string
	// Source says where the attribute definitions came from: "target"
	// (its /Schemas) or "builtin" (RFC 7643 core; see Warnings for why).
	Source string
	User   *ResourceSchema
	Group  *ResourceSchema

	// From /ServiceProviderConfig (zero when unavailable).
	PatchSupported  bool
	FilterSupported bool
	BulkSupported   bool
	ETagSupported   bool
	MaxResults      int

	// Profile rules.
	MaxMemberChanges int      // per PATCH /Groups request and per POST /Groups
	NestedGroups     bool     // whether groups may be members of groups
	UserFilters      []string // attributes the target filters users on (nil: unknown, try any)
	GroupFilters     []string

	Warnings []string
}

// ResourceSchema answers questions about one resource type's attributes.
// Paths are case-insensitive and may carry a schema URN prefix
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department)
// and a value filter (emails[type eq "work"].value).
type ResourceSchema struct {
	Name        string
	schemas     []*schema.Schema // core first, then extensions
	required    map[string]string
	single      map[string]bool
	unsupported map[string]bool
	forbidden   map[string]string // path -> characters the profile rejects
	aws         bool
}

// resolve finds the attribute (and parent, for a sub-attribute) of path.
func (s *ResourceSchema) resolve(path string) (parent, attr *schema.Attribute, canonical string) {
	sc, rest := s.schemas[0], path
	if strings.HasPrefix(strings.ToLower(path), "urn:") {
		sc = nil
		for _, x := range s.schemas {
			if len(path) > len(x.ID) && strings.EqualFold(path[:len(x.ID)], x.ID) && path[len(x.ID)] == ':' {
				sc, rest = x, path[len(x.ID)+1:]
				break
			}
		}
		if sc == nil {
			return nil, nil, ""
		}
	}
	rest = stripFilters(rest)
	name, sub, _ := strings.Cut(rest, ".")
	a := sc.Attr(name)
	if a == nil {
		a = schema.Common.Attr(name)
	}
	if a == nil {
		return nil, nil, ""
	}
	prefix := ""
	if sc.Extension {
		prefix = strings.ToLower(sc.ID) + ":"
	}
	if sub == "" {
		return nil, a, prefix + strings.ToLower(a.Name)
	}
	sa := a.Sub(sub)
	if sa == nil {
		return nil, nil, ""
	}
	return a, sa, prefix + strings.ToLower(a.Name+"."+sa.Name)
}

// stripFilters turns emails[type eq "work"].value into emails.value.
func stripFilters(p string) string {
	var b strings.Builder
	depth, inString := 0, false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case inString:
			if ch == '\\' {
				i++
			} else if ch == '"' {
				inString = false
			}
		case ch == '"' && depth > 0:
			inString = true
		case ch == '[':
			depth++
		case ch == ']':
			depth--
		case depth == 0:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// Known reports whether the target has the attribute and the profile does
// not forbid it.
func (s *ResourceSchema) Known(path string) bool {
	_, a, canon := s.resolve(path)
	return a != nil && !s.unsupported[canon] && !s.unsupported[topLevel(canon)]
}

// Required reports whether the attribute is required, by the target's
// schema or by the profile. A required sub-attribute is required whenever
// its parent is present (RFC 7643 §2.2), except for profile rules such as
// AWS's name.givenName, which are unconditional.
func (s *ResourceSchema) Required(path string) bool {
	_, a, canon := s.resolve(path)
	if a == nil {
		return false
	}
	_, byProfile := s.required[canon]
	return a.Required || byProfile
}

// MultiValued reports whether the target accepts more than one value. Under
// aws-identity-center, emails, addresses, phoneNumbers and roles are lists
// of at most one value: MultiValued is false, Array is true.
func (s *ResourceSchema) MultiValued(path string) bool {
	_, a, canon := s.resolve(path)
	return a != nil && a.MultiValued && !s.single[canon]
}

// CaseExact reports whether the target compares the attribute's values
// case-sensitively; known is false when the target lacks the attribute.
func (s *ResourceSchema) CaseExact(path string) (exact, known bool) {
	_, a, _ := s.resolve(path)
	if a == nil {
		return false, false
	}
	return a.CaseExact, true
}

// Array reports whether the attribute is sent as a JSON array.
func (s *ResourceSchema) Array(path string) bool {
	_, a, _ := s.resolve(path)
	return a != nil && a.MultiValued
}

// RequiredPaths lists the unconditionally required attributes (top-level
// required attributes and the profile's required paths), sorted.
func (s *ResourceSchema) RequiredPaths() []string {
	set := map[string]bool{}
	for _, a := range s.schemas[0].Attributes {
		if a.Required {
			set[a.Name] = true
		}
	}
	for _, p := range s.required {
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Violation is a reason the target would certainly reject an object.
type Violation struct {
	Path    string
	Rule    string // required, single-valued, unsupported, primary, characters
	Source  string // "schema" (the target's /Schemas) or the profile name
	Message string
}

// Check lists the reasons the target would certainly reject r as a create
// (or replace): missing required attributes, several values where one is
// allowed, attributes the profile forbids, and under aws-identity-center a
// non-primary email and the characters it rejects in names.
func (s *ResourceSchema) Check(r Resource) []Violation {
	var out []Violation
	profile := ProfileGeneric
	if s.aws {
		profile = ProfileAWS
	}
	for _, p := range s.RequiredPaths() {
		if isEmpty(valueAt(r, p)) {
			src := "schema"
			if _, ok := s.required[strings.ToLower(p)]; ok {
				src = profile
			}
			out = append(out, Violation{Path: p, Rule: "required", Source: src,
				Message: fmt.Sprintf("the target requires %s (%s) and it has no value", p, sourceText(src))})
		}
	}
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_, a, canon := s.resolve(k)
		if a == nil {
			continue
		}
		if s.unsupported[canon] {
			out = append(out, Violation{Path: k, Rule: "unsupported", Source: profile,
				Message: fmt.Sprintf("the target does not accept %s (%s)", k, sourceText(profile))})
			continue
		}
		if list, ok := r[k].([]any); ok && len(list) > 1 && a.MultiValued && s.single[canon] {
			out = append(out, Violation{Path: k, Rule: "single-valued", Source: profile,
				Message: fmt.Sprintf("the target accepts one value of %s and it has %d (%s)", k, len(list), sourceText(profile))})
		}
	}
	if s.aws && s.Name == "User" {
		if list, ok := r["emails"].([]any); ok && len(list) == 1 {
			if m, _ := list[0].(map[string]any); m != nil && m["primary"] != true {
				out = append(out, Violation{Path: "emails[0].primary", Rule: "primary", Source: profile,
					Message: "the target requires the email to be marked primary (" + sourceText(profile) + ")"})
			}
		}
	}
	paths := make([]string, 0, len(s.forbidden))
	for p := range s.forbidden {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		v, _ := valueAt(r, p).(string)
		if i := strings.IndexFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f || strings.ContainsRune(s.forbidden[p], c) }); i >= 0 {
			out = append(out, Violation{Path: p, Rule: "characters", Source: profile,
				Message: fmt.Sprintf("%s contains %q, which the target rejects (%s: control characters and %s)", p, v[i:i+1], sourceText(profile), s.forbidden[p])})
		}
	}
	return out
}

func sourceText(src string) string {
	if src == "schema" {
		return "required in its /Schemas"
	}
	return "a rule of the " + src + " target profile"
}

// valueAt reads a dotted path (name.givenName, case-insensitive keys).
func valueAt(r Resource, path string) any {
	var cur any = map[string]any(r)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, _ = lookupFold(m, part)
	}
	return cur
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func topLevel(canon string) string {
	name, _, _ := strings.Cut(canon, ".")
	return name
}

// AWS IAM Identity Center's documented rules (developer guide CreateUser,
// PatchGroup, limitations; shared/reference/provisioning-engine.md §2).
var (
	awsRequiredUser = []string{"userName", "displayName", "name.givenName", "name.familyName"}
	awsSingleValued = []string{"emails", "addresses", "phoneNumbers", "roles"}
	awsUnsupported  = []string{"ims", "photos", "x509Certificates", "entitlements", "password", "groups"}
	awsUserFilters  = []string{"userName", "externalId", "id"}
	awsGroupFilters = []string{"displayName", "externalId", "id"}
	// Characters rejected in names: those every aws-identity-center target
	// we test against refuses (control characters and these). The Entra
	// tutorial for AWS also lists " and |; they are not enforced here.
	awsForbiddenChars = "<>;:%"
)

// Schemas reads the target's /ServiceProviderConfig and /Schemas. A target
// without them (404, 501, not SCIM) gets RFC 7643's core schemas and a
// warning; authentication and network failures are returned.
func (c *Client) Schemas(ctx context.Context) (*SchemaInfo, error) {
	info := &SchemaInfo{Profile: c.cfg.Profile, MaxMemberChanges: c.cfg.MaxMemberChanges, NestedGroups: c.cfg.Profile != ProfileAWS}
	if c.cfg.Profile == ProfileAWS {
		info.UserFilters, info.GroupFilters = awsUserFilters, awsGroupFilters
	}
	spc, err := c.discover(ctx, "/ServiceProviderConfig")
	if err != nil {
		if !optionalMissing(err) {
			return nil, err
		}
		info.Warnings = append(info.Warnings, "no /ServiceProviderConfig: "+err.Error())
	} else {
		info.PatchSupported = supported(spc, "patch")
		info.FilterSupported = supported(spc, "filter")
		info.BulkSupported = supported(spc, "bulk") && c.cfg.Profile != ProfileAWS
		info.ETagSupported = supported(spc, "etag")
		if f, ok := spc["filter"].(map[string]any); ok {
			if n, ok := f["maxResults"].(int64); ok {
				info.MaxResults = int(n)
			}
		}
	}
	var user, group []*schema.Schema
	raw, err := c.discover(ctx, "/Schemas")
	if err != nil {
		if !optionalMissing(err) {
			return nil, err
		}
		info.Warnings = append(info.Warnings, "no /Schemas, using RFC 7643's core schemas: "+err.Error())
	} else {
		user, group = parseSchemas(raw)
	}
	info.Source = "target"
	if user == nil || group == nil {
		if raw != nil {
			info.Warnings = append(info.Warnings, "the target's /Schemas lacks the core User or Group schema; using RFC 7643's for it")
		}
		info.Source = "builtin"
	}
	if user == nil {
		user = []*schema.Schema{schema.User, schema.EnterpriseUser}
	}
	if group == nil {
		group = []*schema.Schema{schema.Group}
	}
	info.User = newResourceSchema("User", user, c.cfg.Profile)
	info.Group = newResourceSchema("Group", group, c.cfg.Profile)
	return info, nil
}

func newResourceSchema(name string, schemas []*schema.Schema, profile string) *ResourceSchema {
	s := &ResourceSchema{Name: name, schemas: schemas, required: map[string]string{}, single: map[string]bool{},
		unsupported: map[string]bool{}, forbidden: map[string]string{}, aws: profile == ProfileAWS}
	if profile != ProfileAWS {
		return s
	}
	if name == "User" {
		for _, p := range awsRequiredUser {
			s.required[strings.ToLower(p)] = p
		}
		for _, p := range awsSingleValued {
			s.single[strings.ToLower(p)] = true
		}
		for _, p := range awsUnsupported {
			s.unsupported[strings.ToLower(p)] = true
		}
		s.forbidden["userName"] = awsForbiddenChars
		s.forbidden["displayName"] = awsForbiddenChars
	} else {
		s.required["displayname"] = "displayName"
		s.forbidden["displayName"] = awsForbiddenChars
	}
	return s
}

// discover GETs a discovery endpoint as a JSON object.
func (c *Client) discover(ctx context.Context, path string) (map[string]any, error) {
	resp, err := c.do(ctx, &request{op: "Schemas", method: http.MethodGet, path: path, retries: -1})
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(resp.body))) > 0 && strings.TrimSpace(string(resp.body))[0] == '[' {
		// A bare array of schemas (some older servers).
		m, err := decodeObject("Schemas", &response{method: resp.method, url: resp.url, status: resp.status, contentType: resp.contentType,
			body: append(append([]byte(`{"Resources":`), resp.body...), '}')})
		return m, err
	}
	return decodeObject("Schemas", resp)
}

func optionalMissing(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	switch e.Code() {
	case CodeNotFound, CodeNotImplemented, CodeMethodNotAllowed, CodeNotSCIM, CodeBadRequest:
		return true
	}
	return false
}

func supported(spc map[string]any, key string) bool {
	m, ok := spc[key].(map[string]any)
	if !ok {
		return false
	}
	b, _ := m["supported"].(bool)
	return b
}

// parseSchemas converts a /Schemas ListResponse into schema definitions for
// User (core first, then extensions) and Group; nil when a core schema is
// missing.
func parseSchemas(raw map[string]any) (user, group []*schema.Schema) {
	list, _ := lookupFold(raw, "Resources")
	items, _ := list.([]any)
	var userCore, groupCore *schema.Schema
	var userExt, groupExt []*schema.Schema
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		sc := &schema.Schema{ID: id, Attributes: parseAttributes(m["attributes"])}
		switch {
		case strings.EqualFold(id, UserURN):
			userCore = sc
		case strings.EqualFold(id, GroupURN):
			groupCore = sc
		default:
			sc.Extension = true
			last := id[strings.LastIndex(id, ":")+1:]
			if strings.EqualFold(last, "Group") {
				groupExt = append(groupExt, sc)
			} else if strings.Contains(strings.ToLower(id), "user") || strings.Contains(strings.ToLower(id), "extension") {
				userExt = append(userExt, sc)
			}
		}
	}
	if userCore != nil {
		user = append([]*schema.Schema{userCore}, userExt...)
	}
	if groupCore != nil {
		group = append([]*schema.Schema{groupCore}, groupExt...)
	}
	return user, group
}

func parseAttributes(v any) []*schema.Attribute {
	list, _ := v.([]any)
	out := make([]*schema.Attribute, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		if name == "" {
			continue
		}
		a := &schema.Attribute{Name: name}
		if t, ok := m["type"].(string); ok {
			a.Type = schema.Type(t)
		}
		a.MultiValued, _ = m["multiValued"].(bool)
		a.Required, _ = m["required"].(bool)
		a.CaseExact, _ = m["caseExact"].(bool)
		a.Mutability, _ = m["mutability"].(string)
		a.Uniqueness, _ = m["uniqueness"].(string)
		a.SubAttributes = parseAttributes(m["subAttributes"])
		out = append(out, a)
	}
	return out
}
