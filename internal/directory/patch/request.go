package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// PatchOpURN is the schema of a PATCH request body (RFC 7644 §3.5.2).
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// MaxOperations bounds the operations in one request: the whole request is
// applied in one transaction, so an unbounded list is an unbounded lock.
const MaxOperations = 1000

// Op is one PATCH operation. Op is "add", "remove" or "replace" (lower-cased:
// Entra sends "Add", "Replace", "Remove"). Path is empty when the client sent
// none. HasValue distinguishes an absent "value" from "value": null, which
// matters for Entra's remove-members-with-a-value dialect.
type Op struct {
	Op       string
	Path     string
	Value    any
	HasValue bool
}

// ParseRequest decodes a PatchOp body. It is lenient where clients differ
// and the meaning is still clear: "schemas" is not checked (some clients omit
// it or send odd URNs), member names are matched case-insensitively, extra
// members such as Microsoft's "name" are ignored, and an empty path means no
// path. Numbers stay json.Number so that long numeric strings survive intact;
// schema.Value accepts them.
func ParseRequest(body []byte) ([]Op, error) {
	var raw map[string]json.RawMessage
	if err := decode(body, &raw); err != nil || raw == nil {
		return nil, fault.New(fault.InvalidSyntax, "", "the PATCH body must be a JSON object with an Operations array (RFC 7644 §3.5.2)")
	}
	opsRaw, ok := lookupRaw(raw, "Operations")
	var list []json.RawMessage
	if !ok || decode(opsRaw, &list) != nil || len(list) == 0 {
		return nil, fault.New(fault.InvalidSyntax, "Operations", "the PATCH body must contain a non-empty Operations array (RFC 7644 §3.5.2)")
	}
	if len(list) > MaxOperations {
		return nil, fault.New(fault.InvalidValue, "Operations", "a PATCH request may contain at most %d operations, got %d", MaxOperations, len(list))
	}
	ops := make([]Op, 0, len(list))
	for i, r := range list {
		op, err := parseOp(i, r)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOp(i int, r json.RawMessage) (Op, error) {
	var m map[string]json.RawMessage
	if err := decode(r, &m); err != nil || m == nil {
		return Op{}, fault.New(fault.InvalidSyntax, "Operations", "Operations[%d] must be a JSON object", i)
	}
	var op Op
	nameRaw, ok := lookupRaw(m, "op")
	var name string
	if !ok || decode(nameRaw, &name) != nil {
		return Op{}, fault.New(fault.InvalidSyntax, "Operations", "Operations[%d] needs an \"op\" string: add, remove or replace", i)
	}
	op.Op = strings.ToLower(strings.TrimSpace(name))
	switch op.Op {
	case "add", "remove", "replace":
	default:
		return Op{}, fault.New(fault.InvalidSyntax, "Operations", "Operations[%d]: unknown op %q; expected add, remove or replace", i, name)
	}
	if p, ok := lookupRaw(m, "path"); ok && string(p) != "null" {
		if decode(p, &op.Path) != nil {
			return Op{}, fault.New(fault.InvalidSyntax, "Operations", "Operations[%d]: path must be a string", i)
		}
		op.Path = strings.TrimSpace(op.Path)
	}
	if v, ok := lookupRaw(m, "value"); ok {
		op.HasValue = true
		if err := decode(v, &op.Value); err != nil {
			return Op{}, fault.New(fault.InvalidSyntax, "Operations", "Operations[%d]: value is not valid JSON", i)
		}
	}
	return op, nil
}

// decode unmarshals one JSON value with UseNumber and rejects trailing data.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// lookupRaw finds a member case-insensitively, preferring the exact spelling
// (attribute names are case-insensitive, RFC 7643 §2.1).
func lookupRaw(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	// Several spellings: take the smallest so the outcome is deterministic.
	best, found := "", false
	for k := range m {
		if strings.EqualFold(k, key) && (!found || k < best) {
			best, found = k, true
		}
	}
	return m[best], found
}
