// Package schema is the identity store's data model: the SCIM core User,
// Group and enterprise-extension attribute definitions (RFC 7643) with their
// characteristics, and the functions that resolve attribute paths
// case-insensitively and normalise incoming resources. The SCIM endpoint, the
// admin CLI and the provisioning engine all validate through it, so a rule
// lives in exactly one place.
package schema

import "strings"

// Type is a SCIM attribute data type (RFC 7643 §2.3).
type Type string

const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Reference Type = "reference"
	Complex   Type = "complex"
	Binary    Type = "binary"
)

// Mutability values (RFC 7643 §2.2).
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"
)

// Returned values (RFC 7643 §2.2).
const (
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Attribute describes one attribute with all of its characteristics.
type Attribute struct {
	Name            string
	Type            Type
	MultiValued     bool
	Description     string
	Required        bool
	CaseExact       bool
	Mutability      string
	Returned        string
	Uniqueness      string
	CanonicalValues []string
	ReferenceTypes  []string
	SubAttributes   []*Attribute
}

// Sub returns the sub-attribute with the given name (case-insensitive), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Schema is one schema (core or extension) and its attributes.
type Schema struct {
	ID          string
	Name        string
	Description string
	Attributes  []*Attribute
	Extension   bool // stored under its URN key inside a resource
}

// Attr returns the attribute with the given name (case-insensitive), or nil.
func (s *Schema) Attr(name string) *Attribute {
	for _, a := range s.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// ResourceType binds an endpoint to a core schema and its extensions.
type ResourceType struct {
	ID          string
	Name        string
	Endpoint    string
	Description string
	Schema      *Schema
	Extensions  []*Schema
}

// Extension returns the extension schema with the given URN (case-insensitive), or nil.
func (rt *ResourceType) Extension(urn string) *Schema {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.ID, urn) {
			return e
		}
	}
	return nil
}

// Path is a resolved attribute path: an attribute of a schema, optionally a
// sub-attribute of it. Schema is the core schema or an extension.
type Path struct {
	Schema *Schema
	Attr   *Attribute
	Sub    *Attribute // nil when the path names the attribute itself
}

// IsExtension reports whether the path lives in an extension schema (stored
// under the extension's URN key in a resource).
func (p Path) IsExtension() bool {
	return p.Schema != nil && p.Schema.ID != "" && p.Schema != User && p.Schema != Group
}

// IsCommon reports whether the path names a common attribute (id, externalId,
// meta, schemas), which is stored outside the attribute document.
func (p Path) IsCommon() bool { return p.Schema == Common }

// String renders the canonical dotted path, URN-prefixed for extensions.
func (p Path) String() string {
	s := p.Attr.Name
	if p.IsExtension() {
		s = p.Schema.ID + ":" + s
	}
	if p.Sub != nil {
		s += "." + p.Sub.Name
	}
	return s
}

// Target returns the attribute the path finally names (the sub-attribute if any).
func (p Path) Target() *Attribute {
	if p.Sub != nil {
		return p.Sub
	}
	return p.Attr
}

// Resolve resolves an attribute path such as "userName", "name.givenName",
// "emails.value", "urn:ietf:params:scim:schemas:core:2.0:User:userName" or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
// Names are matched case-insensitively (RFC 7643 §2.1). ok is false when the
// path names no known attribute.
func (rt *ResourceType) Resolve(path string) (Path, bool) {
	sch := rt.Schema
	rest := path
	if strings.HasPrefix(strings.ToLower(path), "urn:") {
		found := false
		for _, s := range append([]*Schema{rt.Schema}, rt.Extensions...) {
			if len(path) > len(s.ID) && strings.EqualFold(path[:len(s.ID)], s.ID) && path[len(s.ID)] == ':' {
				sch, rest, found = s, path[len(s.ID)+1:], true
				break
			}
		}
		if !found {
			return Path{}, false
		}
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	a := sch.Attr(name)
	if a == nil && sch == rt.Schema {
		a, sch = Common.Attr(name), Common
	}
	if a == nil {
		return Path{}, false
	}
	p := Path{Schema: sch, Attr: a}
	if hasSub {
		if a.Type != Complex {
			return Path{}, false
		}
		if p.Sub = a.Sub(sub); p.Sub == nil {
			return Path{}, false
		}
	}
	return p, true
}

// ResourceTypes lists the resource types in the order /ResourceTypes returns
// them (User first: Microsoft's conformance collection asserts it).
func ResourceTypes() []*ResourceType { return []*ResourceType{UserResource, GroupResource} }

// Schemas lists every schema in the order /Schemas returns them.
func Schemas() []*Schema { return []*Schema{User, EnterpriseUser, Group} }
