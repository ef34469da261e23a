// Package filter parses SCIM filter expressions (RFC 7644 §3.4.2.2) into a
// small AST whose attribute paths are already resolved against the schema,
// and evaluates that AST in memory. The SQL translation lives in the store;
// both consume the same AST so they cannot disagree about what a filter means.
package filter

import "github.com/gatehouse-id/gatehouse/internal/directory/schema"

// Op is a comparison operator.
type Op string

const (
	Eq Op = "eq"
	Ne Op = "ne"
	Co Op = "co"
	Sw Op = "sw"
	Ew Op = "ew"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
	Pr Op = "pr"
)

// Expr is a filter expression node.
type Expr interface{ expr() }

// And is a logical conjunction.
type And struct{ Left, Right Expr }

// Or is a logical disjunction.
type Or struct{ Left, Right Expr }

// Not negates its operand.
type Not struct{ X Expr }

// Compare is an attribute expression: Path Op Value. For Op == Pr, Value is
// nil. Value is a string, bool, float64, nil (JSON null) or, when the target
// attribute is a dateTime, a time.Time. Inside a ValuePath, Path.Attr is the
// multi-valued attribute and Path.Sub the sub-attribute compared.
type Compare struct {
	Path  schema.Path
	Op    Op
	Value any
}

// ValuePath filters the elements of a multi-valued complex attribute:
// emails[type eq "work" and value co "@example.com"]. It matches when one
// element satisfies Filter. Every Compare inside Filter has Path.Attr == Attr.Attr.
type ValuePath struct {
	Attr   schema.Path
	Filter Expr
}

func (And) expr()       {}
func (Or) expr()        {}
func (Not) expr()       {}
func (Compare) expr()   {}
func (ValuePath) expr() {}
