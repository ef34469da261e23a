package provisioning

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// Engine error codes: failures decided before or around a request, beside
// the target package's catalogue (SCIM_*, NETWORK_*, PROTOCOL_*).
const (
	CodePresend          = "PRESEND_VALIDATION"
	CodeDuplicateTarget  = "DUPLICATE_TARGET_ENTRIES"
	CodeMappingFailed    = "MAPPING_EVALUATION"
	CodeNoMatchingValue  = "NO_MATCHING_VALUE"
	CodeSourceRead       = "SOURCE_READ"
	CodeStaged           = "DELETION_THRESHOLD"
	CodeSuspiciousSource = "SUSPICIOUS_SOURCE_READ"
	CodeTargetGone       = "TARGET_OBJECT_GONE"
	CodeNoUniqueValue    = "NO_UNIQUE_VALUE"
)

// EngineCatalogue documents the engine's own codes (docs/provisioning.md).
var EngineCatalogue = []target.CodeInfo{
	{Code: CodePresend, Meaning: "Pre-send validation: the target would certainly reject the object (a required attribute without a value, several values where one is allowed, an attribute the target profile forbids), so it was not sent.",
		Recommendation: "Set the attribute in the directory or give the mapping a default value (gatehouse app mappings export/import); to send anyway and see the target's own answer, switch pre-send validation off (gatehouse app update NAME --presend-validation=false)."},
	{Code: CodeDuplicateTarget, Meaning: "Several target objects match the object's matching attribute; Gatehouse does not guess.",
		Recommendation: "Remove or rename the duplicates in the target, or make the matching attribute unique (matching precedence in the mappings)."},
	{Code: CodeMappingFailed, Meaning: "A mapping expression failed for this object.",
		Recommendation: "Fix the expression or the source value it reads; the reason names the mapping and the function."},
	{Code: CodeNoMatchingValue, Meaning: "The object has no value for any matching attribute, so it cannot be matched (Entra's ImportSkipped).",
		Recommendation: "Give the object a value for a matching attribute (userName or externalId by default), or a default value in the mapping."},
	{Code: CodeSourceRead, Meaning: "Reading the object from the source directory failed; nothing was sent for it.",
		Recommendation: "Check the database; the object is retried in the next cycle."},
	{Code: CodeStaged, Meaning: "The cycle's disables and deletes exceed the accidental-deletion threshold; they were staged, not sent.",
		Recommendation: "Review the staged objects (gatehouse app status NAME); if they are intended run gatehouse app approve-deletes NAME, otherwise fix the assignment or scoping mistake and run gatehouse app reject-deletes NAME."},
	{Code: CodeSuspiciousSource, Meaning: "The source read returned nothing in scope while objects are provisioned; no disable or delete was sent.",
		Recommendation: "Check that the source directory and the assignments are intact; if the scope really is empty now, unassign explicitly or approve the deletes."},
	{Code: CodeNoUniqueValue, Meaning: "SelectUniqueValue found every candidate value already taken in the target (Entra escrows such objects too); nothing was sent.",
		Recommendation: "Add another candidate rule to the SelectUniqueValue expression (for example with a number or the middle name), or free one of the values in the target; the object is retried on the escrow schedule."},
	{Code: CodeTargetGone, Meaning: "The linked target object no longer exists (deleted in the target out of band); the engine re-matched or re-created it.",
		Recommendation: "None needed; if objects keep disappearing, find what deletes them in the target."},
}

// Describe returns the documentation of an engine or target error code.
func Describe(code string) (target.CodeInfo, bool) {
	for _, c := range EngineCatalogue {
		if c.Code == code {
			return c, true
		}
	}
	return target.Describe(code)
}

func recommendation(code string) string {
	if c, ok := Describe(code); ok {
		return c.Recommendation
	}
	return ""
}

// failure fills an entry from an error: target errors carry the HTTP
// status, scimType, detail, catalogue code and recommendation.
func (e *LogEntry) failure(err error, step string) {
	e.Status = StatusFailure
	var te *target.Error
	var me *MappingError
	switch {
	case errors.As(err, &te):
		e.ErrorCode = te.Code()
		e.Recommendation = te.Recommendation()
		e.Response = &Response{Method: te.Method, URL: te.URL, Status: te.Status, ScimType: te.ScimType, Detail: te.Detail}
		e.Reason = te.Error()
		if errors.As(err, &me) {
			e.Reason = me.Error() // names the mapping whose query failed
		}
	case errors.As(err, &me) && fault.Is(me.Err, fault.Uniqueness):
		e.ErrorCode, e.Reason, e.Recommendation = CodeNoUniqueValue, me.Error(), recommendation(CodeNoUniqueValue)
	case errors.As(err, &me):
		e.ErrorCode, e.Reason, e.Recommendation = CodeMappingFailed, me.Error(), recommendation(CodeMappingFailed)
	default:
		e.ErrorCode, e.Reason, e.Recommendation = CodeSourceRead, err.Error(), recommendation(CodeSourceRead)
	}
	e.step(step, StatusFailure, e.Reason)
}

func (e *LogEntry) step(name, status, detail string) {
	e.Steps = append(e.Steps, Step{Name: name, Status: status, Detail: detail})
}

func (e *LogEntry) fail(code, step, reason string) {
	e.Status, e.ErrorCode, e.Reason, e.Recommendation = StatusFailure, code, reason, recommendation(code)
	e.step(step, StatusFailure, reason)
}

// Summary renders an entry on one line for the CLI.
func (e LogEntry) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %-8s %s %s", e.Action, e.Status, strings.ToLower(e.ObjectType), e.SourceName)
	if e.TargetID != "" {
		fmt.Fprintf(&b, " -> %s", e.TargetID)
	}
	if e.Reason != "" && e.Status != StatusSuccess {
		reason := strings.TrimPrefix(e.Reason, strings.ToLower(e.ObjectType)+" "+e.SourceName+": ")
		fmt.Fprintf(&b, ": %s", reason)
	}
	return b.String()
}

// ModifiedText renders modified properties as "attr: old -> new" lines.
func (e LogEntry) ModifiedText() []string {
	var out []string
	for _, m := range e.Modified {
		out = append(out, fmt.Sprintf("%s: %s -> %s", m.Attribute, show(m.Old), show(m.New)))
	}
	return out
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
