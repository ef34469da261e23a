// Package fault classifies domain errors by kind so that each protocol (SCIM,
// admin API, CLI) maps them to its own status codes in one place, and so that
// the audit trail can record the attribute-level reason.
package fault

import (
	"errors"
	"fmt"
)

// Kind is a closed set of failure classes. The names follow SCIM's scimType
// vocabulary (RFC 7644 §3.12) where one exists, because SCIM is the most
// demanding consumer.
type Kind string

const (
	InvalidValue  Kind = "invalidValue"  // a value is missing, malformed or violates a rule
	InvalidSyntax Kind = "invalidSyntax" // the request body is not parsable
	InvalidFilter Kind = "invalidFilter" // a filter expression is malformed or unsupported
	InvalidPath   Kind = "invalidPath"   // a PATCH path is malformed or names no attribute
	NoTarget      Kind = "noTarget"      // a PATCH path matched nothing
	Mutability    Kind = "mutability"    // an attempt to change a readOnly or immutable attribute
	TooMany       Kind = "tooMany"       // the request asks for more than the server will compute
	Uniqueness    Kind = "uniqueness"    // a unique attribute is already taken
	NotFound      Kind = "notFound"      // the addressed resource does not exist
	Precondition  Kind = "precondition"  // If-Match did not match the current version
	Unauthorized  Kind = "unauthorized"  // credentials missing, wrong, expired or revoked
	Forbidden     Kind = "forbidden"     // authenticated but not allowed
	Limit         Kind = "limit"         // a configured limit (size, count) was exceeded
	Unsupported   Kind = "unsupported"   // the operation is not implemented
)

// Error is a classified error. Field names the attribute the error is about
// (for example "name.givenName"); Message is a full sentence a person can act on.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// New returns a classified error with a formatted message.
func New(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the classified error inside err, if any.
func As(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// KindOf returns the kind of err, or "" for unclassified (internal) errors.
func KindOf(err error) Kind {
	if fe, ok := As(err); ok {
		return fe.Kind
	}
	return ""
}

// Is reports whether err is classified with kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }
