// Package audit is Gatehouse's audit trail: events in CloudTrail's shape for
// every API call and engine action, written in the same transaction as the
// change they describe, queryable, retained and hash-chained.
package audit

import (
	"encoding/json"
	"time"
)

// EventVersion is the version of the event record format.
const EventVersion = "1.0"

// Identity types: who made the call.
const (
	IdentityScimToken = "ScimToken"
	IdentityAdmin     = "Admin"
	IdentitySystem    = "System"
)

// Event sources.
const (
	SourceSCIM         = "scim"
	SourceDirectory    = "directory"
	SourceProvisioning = "provisioning"
	SourceAccess       = "access"
	SourceAdmin        = "admin"
)

// ChainReads names the hash chain that holds read-only events where the
// store keeps them apart from the main chain (SQLite: a file of their own,
// so that auditing a read never invalidates the directory file's page
// caches; ADR 0003). Events of the main chain carry no chain name.
const ChainReads = "reads"

// ChainName is a chain's display name: "main" for the main chain.
func ChainName(chain string) string {
	if chain == "" {
		return "main"
	}
	return chain
}

// Error codes, CloudTrail's vocabulary.
const (
	ErrValidation   = "ValidationException"
	ErrConflict     = "ConflictException"
	ErrNotFound     = "ResourceNotFoundException"
	ErrUnauthorized = "UnauthorizedException"
	ErrAccessDenied = "AccessDeniedException"
	ErrThrottling   = "ThrottlingException"
	ErrPrecondition = "PreconditionFailedException"
	ErrInternal     = "InternalServerException"
	ErrPayloadLarge = "PayloadTooLargeException"
	ErrNotSupported = "NotImplementedException"
)

// UserIdentity says who made a call. It carries a token's id, never the token.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"` // token id, admin token id, or component name
	UserName    string `json:"userName,omitempty"`
}

// Event is one audit record in CloudTrail's shape.
type Event struct {
	EventVersion        string          `json:"eventVersion"`
	EventID             string          `json:"eventID"`
	EventTime           time.Time       `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	EventType           string          `json:"eventType"`
	ReadOnly            bool            `json:"readOnly"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	SourceIPAddress     string          `json:"sourceIPAddress,omitempty"`
	UserAgent           string          `json:"userAgent,omitempty"`
	RequestParameters   json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements    json.RawMessage `json:"responseElements,omitempty"`
	ErrorCode           string          `json:"errorCode,omitempty"`
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	RequestID           string          `json:"requestID,omitempty"`
	Directory           string          `json:"directory,omitempty"` // directory id
	ResourceID          string          `json:"resourceId,omitempty"`
	ResourceName        string          `json:"resourceName,omitempty"` // e.g. the userName acted on
	Sequence            int64           `json:"sequence,omitempty"`     // position in the hash chain
	Chain               string          `json:"chain,omitempty"`        // which chain: "" (main) or ChainReads
	PreviousHash        string          `json:"previousHash,omitempty"`
	Hash                string          `json:"hash,omitempty"`
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
}
