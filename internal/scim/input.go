package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// maxJSONDepth bounds nesting in request bodies. The deepest legitimate
// SCIM body, a Bulk PATCH adding members, nests eight levels.
const maxJSONDepth = 32

// maxIDLength bounds a resource id taken from a path. Ids this server issues
// are 36-character UUIDs; a far longer one, one that is not UTF-8 or one
// holding NUL names no resource and must not reach the database or the audit
// trail's indexed columns (PostgreSQL refuses NUL in text and index keys over
// about 2.7 KB, which would turn a client's mistake into a 500).
const maxIDLength = 256

func validID(id string) bool {
	return id != "" && len(id) <= maxIDLength && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// resourceID returns the {id} of a resource path, or a 404 for an id that
// can name no resource.
func resourceID(r *http.Request, k kind) (string, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", notAnID(k, id)
	}
	return id, nil
}

func notAnID(k kind, id string) error {
	if len(id) > 40 {
		id = id[:40] + "..."
	}
	return fault.New(fault.NotFound, "id", "%s %q not found: it is not an id this server issues", k.rt.Name, strings.ToValidUTF8(id, "?"))
}

// checkJSON rejects bodies that encoding/json would accept but that no SCIM
// client sends and that make a request ambiguous or expensive
// (reliability-security.md §4.1 item 30): invalid UTF-8 (silently replaced
// by U+FFFD otherwise), a member name given twice in one object (the last
// would win; compared case-insensitively because attribute names are, RFC
// 7643 §2.1), nesting deeper than maxJSONDepth, and the NUL character in a
// string (\u0000: no attribute has a use for it, and PostgreSQL refuses it
// in text and JSONB, which would make it a 500).
//
// It is a single pass over the bytes that trusts the JSON to be well formed:
// on anything else it gives up and returns nil, leaving the error to the
// parser that follows, which reports it with its position.
func checkJSON(b []byte) error {
	if !utf8.Valid(b) {
		return fault.New(fault.InvalidSyntax, "body", "request body is not valid UTF-8")
	}
	type frame struct {
		object    bool
		expectKey bool                // the next string is a member name
		names     []string            // member names so far (folded) ...
		set       map[string]struct{} // ... or, past a few, a set
	}
	stack := make([]frame, 0, 8)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return fault.New(fault.InvalidSyntax, "body", "request body nests deeper than %d levels", maxJSONDepth)
			}
			stack = append(stack, frame{object: c == '{', expectKey: c == '{'})
		case '}', ']':
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
		case '"':
			j, escaped := i+1, false
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					escaped = true
					if j+5 < len(b) && string(b[j+1:j+6]) == "u0000" {
						return fault.New(fault.InvalidValue, "body", "request body has a string holding the NUL character (\\u0000), which no attribute accepts")
					}
					j++
				}
				j++
			}
			if j >= len(b) {
				return nil
			}
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].expectKey {
				f := &stack[n-1]
				f.expectKey = false
				var name string
				if escaped {
					if json.Unmarshal(b[i:j+1], &name) != nil {
						return nil
					}
				} else {
					name = string(b[i+1 : j])
				}
				if dup(&f.names, &f.set, strings.ToLower(name)) {
					return fault.New(fault.InvalidSyntax, name, "request body has the member %q twice in one object (names are case-insensitive)", name)
				}
			}
			i = j
		}
	}
	return nil
}

// dup records name and reports whether it was already there. Small objects
// use a slice; large ones switch to a set so a hostile object with many
// members costs linear time.
func dup(names *[]string, set *map[string]struct{}, name string) bool {
	if *set != nil {
		if _, ok := (*set)[name]; ok {
			return true
		}
		(*set)[name] = struct{}{}
		return false
	}
	for _, n := range *names {
		if n == name {
			return true
		}
	}
	*names = append(*names, name)
	if len(*names) > 16 {
		*set = make(map[string]struct{}, 2*len(*names))
		for _, n := range *names {
			(*set)[n] = struct{}{}
		}
		*names = nil
	}
	return false
}
