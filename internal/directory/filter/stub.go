package filter

import "github.com/gatehouse-id/gatehouse/internal/directory/schema"

// Parse parses a filter for resource type rt. Placeholder until the parser lands.
func Parse(rt *schema.ResourceType, s string) (Expr, error) { panic("filter.Parse: not implemented yet") }

// PathExpr is a parsed PATCH path (RFC 7644 §3.5.2): an attribute path
// ("name.givenName", "urn:...:enterprise:2.0:User:manager"), or a value path
// with an optional trailing sub-attribute ("emails[type eq \"work\"].value").
type PathExpr struct {
	Attr   schema.Path       // the attribute; Attr.Sub is set for "name.givenName"
	Filter Expr              // the [..] filter over Attr's elements, nil if none
	Sub    *schema.Attribute // the sub-attribute after "].", nil if none
}

// ParsePath parses a PATCH path. Placeholder until the parser lands.
func ParsePath(rt *schema.ResourceType, s string) (PathExpr, error) {
	panic("filter.ParsePath: not implemented yet")
}

// Match evaluates e against a resource document: the canonical attribute
// document plus "id", "externalId" and "meta" ({"created","lastModified",
// "resourceType","version"} with RFC 3339 strings). Placeholder.
func Match(e Expr, res map[string]any) bool { panic("filter.Match: not implemented yet") }

// MatchElement evaluates a value-path filter against one element of a
// multi-valued complex attribute. Placeholder.
func MatchElement(e Expr, elem map[string]any) bool { panic("filter.MatchElement: not implemented yet") }
