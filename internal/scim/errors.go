package scim

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Error is the RFC 7644 §3.12 error body; status is a string, as the RFC's
// examples and AWS and Okta's clients expect.
type Error struct {
	Schemas  []string `json:"schemas"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
	Status   string   `json:"status"`
}

// classify maps an error to HTTP status, scimType and detail. Unclassified
// errors are internal: the client gets a generic detail with the request id,
// never the internal text, and the log gets the rest.
func classify(err error) (int, string, string) {
	fe, ok := fault.As(err)
	if !ok {
		if errors.Is(err, store.ErrVersionMismatch) {
			return http.StatusPreconditionFailed, "", "the resource changed concurrently; read it again and retry"
		}
		return http.StatusInternalServerError, "", ""
	}
	switch fe.Kind {
	case fault.Uniqueness:
		return http.StatusConflict, "uniqueness", fe.Message
	case fault.NotFound:
		return http.StatusNotFound, "", fe.Message
	case fault.Precondition:
		return http.StatusPreconditionFailed, "", fe.Message
	case fault.Unauthorized:
		return http.StatusUnauthorized, "", fe.Message
	case fault.Forbidden:
		return http.StatusForbidden, "", fe.Message
	case fault.Unsupported:
		if fe.Field == "Content-Type" {
			return http.StatusUnsupportedMediaType, "", fe.Message
		}
		return http.StatusNotImplemented, "", fe.Message
	case fault.Limit:
		if fe.Field == "body" || fe.Field == "Operations" {
			return http.StatusRequestEntityTooLarge, "", fe.Message
		}
		return http.StatusBadRequest, "invalidValue", fe.Message
	case fault.TooMany:
		return http.StatusBadRequest, "tooMany", fe.Message
	}
	return http.StatusBadRequest, string(fe.Kind), fe.Message
}

// writeError writes err as a SCIM error and returns the status and detail
// for the audit event.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) (int, string) {
	status, scimType, detail := classify(err)
	if status == http.StatusInternalServerError {
		id := httpx.RequestID(r.Context())
		h.Log.Error("scim: internal error", "request_id", id, "err", err)
		detail = "internal server error; quote request id " + id + " to the operator"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-scim"`)
	}
	writeJSON(w, status, Error{Schemas: []string{ErrorURN}, ScimType: scimType, Detail: detail, Status: itoa(status)})
	if status == http.StatusInternalServerError {
		return status, "internal server error"
	}
	return status, detail
}

// errorCode maps a status to the audit trail's CloudTrail error vocabulary.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return audit.ErrValidation
	case http.StatusUnauthorized:
		return audit.ErrUnauthorized
	case http.StatusForbidden:
		return audit.ErrAccessDenied
	case http.StatusNotFound:
		return audit.ErrNotFound
	case http.StatusConflict:
		return audit.ErrConflict
	case http.StatusPreconditionFailed:
		return audit.ErrPrecondition
	case http.StatusRequestEntityTooLarge:
		return audit.ErrPayloadLarge
	case http.StatusUnsupportedMediaType:
		return audit.ErrValidation
	case http.StatusNotImplemented:
		return audit.ErrNotSupported
	case http.StatusTooManyRequests:
		return audit.ErrThrottling
	}
	return audit.ErrInternal
}
