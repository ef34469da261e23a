package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Policy versions IAM accepts.
var policyVersions = map[string]bool{"2012-10-17": true, "2008-10-17": true}

var (
	// actionPattern: "*" or service:Action, with * and ? wildcards in the action.
	actionPattern = regexp.MustCompile(`^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$`)
	sidPattern    = regexp.MustCompile(`^[A-Za-z0-9]*$`)
)

// statementKeys are the elements an identity-based policy statement may have.
var statementKeys = map[string]bool{"Sid": true, "Effect": true, "Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}

// ValidateInlinePolicy checks that doc is valid JSON and a structurally
// valid IAM identity-based policy: Version "2012-10-17" or "2008-10-17", an
// optional Id, and Statement (one object or a non-empty array), each
// statement with Effect Allow or Deny, exactly one of Action and NotAction,
// exactly one of Resource and NotResource, and optionally Sid and
// Condition; Principal is not allowed (the policy is attached to a role).
// Size: at most 32,768 characters, at most 10,240 of them other than white
// space. Errors name the element, e.g. inlinePolicy.Statement[1].Effect.
func ValidateInlinePolicy(doc string) error {
	const f = "inlinePolicy"
	if n := utf8.RuneCountInString(doc); n > MaxInlinePolicy {
		return fault.New(fault.Limit, f, "inlinePolicy is %d characters; the limit is %d", n, MaxInlinePolicy)
	}
	compact := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			compact++
		}
	}
	if compact > MaxInlinePolicyCompact {
		return fault.New(fault.Limit, f, "inlinePolicy has %d characters other than white space; IAM allows %d in a role's inline policy", compact, MaxInlinePolicyCompact)
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fault.New(fault.InvalidValue, f, "inlinePolicy is not valid JSON: %s", jsonError(err, dec))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.New(fault.InvalidValue, f, "inlinePolicy is not valid JSON: unexpected data after the policy object at offset %d", dec.InputOffset())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fault.New(fault.InvalidValue, f, "inlinePolicy must be a JSON object with Version and Statement")
	}
	for _, k := range sortedKeys(obj) {
		if k != "Version" && k != "Id" && k != "Statement" {
			return fault.New(fault.InvalidValue, f+"."+k, "inlinePolicy.%s is not a policy element; a policy has Version, Id and Statement", k)
		}
	}
	ver, present := obj["Version"]
	if !present {
		return fault.New(fault.InvalidValue, f+".Version", `inlinePolicy.Version is required: use "2012-10-17"`)
	}
	if s, ok := ver.(string); !ok || !policyVersions[s] {
		return fault.New(fault.InvalidValue, f+".Version", `inlinePolicy.Version must be "2012-10-17" or "2008-10-17", got %s`, show(ver))
	}
	if id, present := obj["Id"]; present {
		if _, ok := id.(string); !ok {
			return fault.New(fault.InvalidValue, f+".Id", "inlinePolicy.Id must be a string")
		}
	}
	st, present := obj["Statement"]
	if !present {
		return fault.New(fault.InvalidValue, f+".Statement", "inlinePolicy.Statement is required")
	}
	sids := map[string]string{}
	switch t := st.(type) {
	case map[string]any:
		return checkStatement(f+".Statement", t, sids)
	case []any:
		if len(t) == 0 {
			return fault.New(fault.InvalidValue, f+".Statement", "inlinePolicy.Statement must not be empty")
		}
		for i, e := range t {
			field := fmt.Sprintf("%s.Statement[%d]", f, i)
			m, ok := e.(map[string]any)
			if !ok {
				return fault.New(fault.InvalidValue, field, "%s must be an object", field)
			}
			if err := checkStatement(field, m, sids); err != nil {
				return err
			}
		}
		return nil
	}
	return fault.New(fault.InvalidValue, f+".Statement", "inlinePolicy.Statement must be an object or an array of objects")
}

func checkStatement(field string, st map[string]any, sids map[string]string) error {
	for _, k := range sortedKeys(st) {
		switch {
		case k == "Principal" || k == "NotPrincipal":
			return fault.New(fault.InvalidValue, field+"."+k, "%s.%s is not allowed: a permission set's inline policy is an identity-based policy (attached to a role), which has no %s", field, k, k)
		case !statementKeys[k]:
			return fault.New(fault.InvalidValue, field+"."+k, "%s.%s is not a statement element; use Sid, Effect, Action or NotAction, Resource or NotResource, Condition", field, k)
		}
	}
	if sid, present := st["Sid"]; present {
		s, ok := sid.(string)
		if !ok || !sidPattern.MatchString(s) {
			return fault.New(fault.InvalidValue, field+".Sid", "%s.Sid must be a string of letters and digits, got %s", field, show(sid))
		}
		if s != "" {
			if other, dup := sids[s]; dup {
				return fault.New(fault.Uniqueness, field+".Sid", "%s.Sid %q is already used by %s; Sids must be unique in a policy", field, s, other)
			}
			sids[s] = field
		}
	}
	eff, present := st["Effect"]
	if !present {
		return fault.New(fault.InvalidValue, field+".Effect", "%s.Effect is required: Allow or Deny", field)
	}
	if e, ok := eff.(string); !ok || (e != "Allow" && e != "Deny") {
		return fault.New(fault.InvalidValue, field+".Effect", "%s.Effect must be Allow or Deny, got %s", field, show(eff))
	}
	if err := exactlyOne(field, st, "Action", "NotAction", func(f, s string) error {
		if !actionPattern.MatchString(s) {
			return fault.New(fault.InvalidValue, f, `%s %q is not an action: use "*" or service:Action, e.g. s3:GetObject or ec2:Describe*`, f, s)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := exactlyOne(field, st, "Resource", "NotResource", func(f, s string) error {
		if s != "*" && !strings.HasPrefix(s, "arn:") {
			return fault.New(fault.InvalidValue, f, `%s %q is not a resource: use "*" or an ARN (arn:...)`, f, s)
		}
		return nil
	}); err != nil {
		return err
	}
	if c, present := st["Condition"]; present {
		return checkCondition(field+".Condition", c)
	}
	return nil
}

// exactlyOne checks that st has exactly one of a and b, as a string or a
// non-empty array of strings, each accepted by check.
func exactlyOne(field string, st map[string]any, a, b string, check func(field, s string) error) error {
	va, hasA := st[a]
	vb, hasB := st[b]
	switch {
	case hasA && hasB:
		return fault.New(fault.InvalidValue, field+"."+b, "%s has both %s and %s; use one of them", field, a, b)
	case !hasA && !hasB:
		return fault.New(fault.InvalidValue, field+"."+a, "%s needs %s or %s", field, a, b)
	case hasB:
		a, va = b, vb
	}
	f := field + "." + a
	switch t := va.(type) {
	case string:
		return check(f, t)
	case []any:
		if len(t) == 0 {
			return fault.New(fault.InvalidValue, f, "%s must not be empty", f)
		}
		for i, e := range t {
			ef := fmt.Sprintf("%s[%d]", f, i)
			s, ok := e.(string)
			if !ok {
				return fault.New(fault.InvalidValue, ef, "%s must be a string, got %s", ef, show(e))
			}
			if err := check(ef, s); err != nil {
				return err
			}
		}
		return nil
	}
	return fault.New(fault.InvalidValue, f, "%s must be a string or an array of strings, got %s", f, show(va))
}

// checkCondition: {"Operator": {"key": value or [values]}} with scalar values.
func checkCondition(field string, c any) error {
	ops, ok := c.(map[string]any)
	if !ok {
		return fault.New(fault.InvalidValue, field, "%s must be an object of condition operators, e.g. {\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}", field)
	}
	for _, op := range sortedKeys(ops) {
		of := field + "." + op
		if op == "" {
			return fault.New(fault.InvalidValue, field, "%s has an empty condition operator", field)
		}
		keys, ok := ops[op].(map[string]any)
		if !ok || len(keys) == 0 {
			return fault.New(fault.InvalidValue, of, "%s must be a non-empty object of condition keys and values", of)
		}
		for _, k := range sortedKeys(keys) {
			kf := of + "." + k
			if k == "" {
				return fault.New(fault.InvalidValue, of, "%s has an empty condition key", of)
			}
			switch t := keys[k].(type) {
			case string, bool, json.Number:
			case []any:
				if len(t) == 0 {
					return fault.New(fault.InvalidValue, kf, "%s must not be empty", kf)
				}
				for i, e := range t {
					switch e.(type) {
					case string, bool, json.Number:
					default:
						return fault.New(fault.InvalidValue, fmt.Sprintf("%s[%d]", kf, i), "%s[%d] must be a string, number or boolean", kf, i)
					}
				}
			default:
				return fault.New(fault.InvalidValue, kf, "%s must be a string, number, boolean or an array of them", kf)
			}
		}
	}
	return nil
}

// CompactPolicy returns the policy document re-encoded without
// insignificant white space (for callers that send it as a JSON value).
func CompactPolicy(raw json.RawMessage) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", fault.New(fault.InvalidValue, "inlinePolicy", "inlinePolicy is not valid JSON: %v", err)
	}
	return b.String(), nil
}

func jsonError(err error, dec *json.Decoder) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the document is empty or ends early"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("unexpected %s at offset %d", te.Value, dec.InputOffset())
	}
	return err.Error()
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
