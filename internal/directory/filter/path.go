package filter

import (
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// PathExpr is a parsed PATCH path (RFC 7644 §3.5.2): an attribute path
// ("name.givenName", "urn:...:enterprise:2.0:User:manager"), or a value path
// with an optional trailing sub-attribute ("emails[type eq \"work\"].value").
type PathExpr struct {
	Attr   schema.Path       // the attribute; Attr.Sub is set for "name.givenName"
	Filter Expr              // the [..] filter over Attr's elements, nil if none
	Sub    *schema.Attribute // the sub-attribute after "].", nil if none
}

// ParsePath parses a PATCH path for resource type rt:
//
//	PATH = attrPath / valuePath [subAttr]
//
// Names resolve case-insensitively (Entra sends `emails[type eq "other"].Value`).
// The [..] filter follows Parse's grammar and leniency, with names relative
// to the bracketed attribute. Every error is a *fault.Error of kind
// fault.InvalidPath whose message quotes the path.
func ParsePath(rt *schema.ResourceType, s string) (PathExpr, error) {
	if rt == nil {
		return PathExpr{}, errors.New("filter.ParsePath: nil resource type")
	}
	p, err := newParser(rt, s, fault.InvalidPath, "path "+quote(s)+": ", "path")
	if err != nil {
		return PathExpr{}, err
	}
	name := p.next()
	if name.kind != tWord {
		return PathExpr{}, p.expected(name, "an attribute name")
	}
	var pe PathExpr
	if p.peek().kind == tLBrack {
		if pe.Attr, err = p.valuePathAttr(name); err != nil {
			return PathExpr{}, err
		}
		var closing token
		if pe.Filter, closing, err = p.valueFilter(pe.Attr); err != nil {
			return PathExpr{}, err
		}
		if t := p.peek(); t.kind == tWord && t.pos == closing.pos+1 && strings.HasPrefix(t.text, ".") {
			p.next()
			if pe.Sub = subAttr(pe.Attr.Attr, t.text[1:]); pe.Sub == nil {
				return PathExpr{}, p.fail(pe.Attr.String()+t.text, "unknown sub-attribute %s of %s", quote(t.text[1:]), pe.Attr.String())
			}
		}
	} else {
		path, ok := resolvePath(rt, name.text)
		if !ok {
			if ext := rt.Extension(name.text); ext != nil && len(ext.Attributes) > 0 {
				return PathExpr{}, p.fail(name.text, "%s names a schema extension, not an attribute; name one of its attributes, as in %s:%s", ext.ID, ext.ID, ext.Attributes[0].Name)
			}
			return PathExpr{}, p.fail(name.text, "unknown attribute %s of %s", quote(name.text), rt.Name)
		}
		pe.Attr = path
	}
	if t := p.peek(); t.kind != tEOF {
		return PathExpr{}, p.trailing(t, "the end of the path")
	}
	return pe, nil
}
