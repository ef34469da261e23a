// Package scim is Gatehouse's SCIM 2.0 service provider (RFC 7643, RFC 7644):
// the endpoint identity providers such as Entra ID and Okta provision into.
// It decodes requests, authenticates the directory's bearer token, calls the
// directory service, renders resources with projections, maps every error to
// an RFC 7644 error body whose detail names the attribute, and hands each
// request to the audit trail as exactly one event.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Message URNs (RFC 7644 §3).
const (
	ErrorURN          = "urn:ietf:params:scim:api:messages:2.0:Error"
	ListResponseURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	BulkRequestURN    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	BulkResponseURN   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	ContentType       = "application/scim+json"
	Prefix            = "/scim/v2"
	defaultCount      = 100
	maxCount          = 1000
	awsMaxCount       = 100
	maxBulkOperations = 1000
)

// Auditor records events that no data change carries. *audit.Recorder
// implements it.
type Auditor interface {
	Record(ctx context.Context, ev *audit.Event)
	RecordRead(ctx context.Context, ev *audit.Event)
}

// Handler serves /scim/v2.
type Handler struct {
	Svc         *directory.Service
	Audit       Auditor
	Log         *slog.Logger
	BaseURL     string // public URL without trailing slash
	MaxBody     int64  // also advertised as bulk.maxPayloadSize
	RecordReads bool   // audit read-only calls too
}

// Routes mounts the endpoint on mux. Endpoint names are matched
// case-insensitively (Microsoft's collection requests /users), by
// canonicalising the segment after the prefix before routing.
func (h *Handler) Routes(mux *http.ServeMux) {
	inner := http.NewServeMux()
	h.routes(inner)
	mux.Handle(Prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A trailing slash on a collection (/Users/?filter=...) is dropped too.
		// The escaped path is rewritten, so that an id holding %2F stays one
		// segment instead of becoming "../.." for the inner mux to clean.
		rest := strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), Prefix+"/"), "/")
		seg, tail, _ := strings.Cut(rest, "/")
		if canon, ok := endpoints[strings.ToLower(seg)]; ok {
			raw := Prefix + "/" + canon
			if tail != "" {
				raw += "/" + tail
			}
			if p, err := url.PathUnescape(raw); err == nil {
				r.URL.Path, r.URL.RawPath = p, raw
			}
		}
		inner.ServeHTTP(w, r)
	}))
}

// endpoints are the canonical spellings of the first path segment.
var endpoints = map[string]string{}

func init() {
	for _, e := range []string{"Users", "Groups", ".search", "Bulk", "Me", "ServiceProviderConfig", "serviceConfiguration", "ResourceTypes", "Schemas"} {
		endpoints[strings.ToLower(e)] = e
	}
}

func (h *Handler) routes(mux *http.ServeMux) {
	p := Prefix
	mux.Handle("GET "+p+"/Users", h.serve("ListUsers", true, h.list(h.users())))
	mux.Handle("POST "+p+"/Users", h.serve("CreateUser", false, h.create(h.users())))
	mux.Handle("POST "+p+"/Users/.search", h.serve("ListUsers", true, h.search(h.users())))
	mux.Handle("GET "+p+"/Users/{id}", h.serve("GetUser", true, h.get(h.users())))
	mux.Handle("PUT "+p+"/Users/{id}", h.serve("PutUser", false, h.replace(h.users())))
	mux.Handle("PATCH "+p+"/Users/{id}", h.serve("PatchUser", false, h.patchOp(h.users())))
	mux.Handle("DELETE "+p+"/Users/{id}", h.serve("DeleteUser", false, h.remove(h.users())))
	mux.Handle("GET "+p+"/Groups", h.serve("ListGroups", true, h.list(h.groups())))
	mux.Handle("POST "+p+"/Groups", h.serve("CreateGroup", false, h.create(h.groups())))
	mux.Handle("POST "+p+"/Groups/.search", h.serve("ListGroups", true, h.search(h.groups())))
	mux.Handle("GET "+p+"/Groups/{id}", h.serve("GetGroup", true, h.get(h.groups())))
	mux.Handle("PUT "+p+"/Groups/{id}", h.serve("PutGroup", false, h.replace(h.groups())))
	mux.Handle("PATCH "+p+"/Groups/{id}", h.serve("PatchGroup", false, h.patchOp(h.groups())))
	mux.Handle("DELETE "+p+"/Groups/{id}", h.serve("DeleteGroup", false, h.remove(h.groups())))
	mux.Handle("POST "+p+"/.search", h.serve("SearchResources", true, h.searchRoot))
	mux.Handle("POST "+p+"/Bulk", h.serve("Bulk", false, h.bulk))
	mux.Handle(p+"/Me", h.serve("GetMe", true, h.me))
	mux.Handle("GET "+p+"/ServiceProviderConfig", h.serve("GetServiceProviderConfig", true, h.serviceProviderConfig))
	// Microsoft's reference collection asks for /serviceConfiguration.
	mux.Handle("GET "+p+"/serviceConfiguration", h.serve("GetServiceProviderConfig", true, h.serviceProviderConfig))
	mux.Handle("GET "+p+"/ResourceTypes", h.serve("ListResourceTypes", true, h.resourceTypes))
	mux.Handle("GET "+p+"/ResourceTypes/{id}", h.serve("GetResourceType", true, h.resourceType))
	mux.Handle("GET "+p+"/Schemas", h.serve("ListSchemas", true, h.schemas))
	mux.Handle("GET "+p+"/Schemas/{id}", h.serve("GetSchema", true, h.schema))
	mux.Handle(p+"/", h.serve("UnknownEndpoint", true, h.unknown))
}

// call is one request's context: its directory, token and audit event.
type call struct {
	dir       directory.Directory
	token     directory.Token
	ev        *audit.Event
	committed bool // the event was written in the data change's transaction
}

// serve wraps an operation: authenticate, run, map errors, audit once.
func (h *Handler) serve(name string, readOnly bool, fn func(w http.ResponseWriter, r *http.Request, c *call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityScimToken}, SourceIP: httpx.ClientIP(r),
			UserAgent: r.UserAgent(), RequestID: httpx.RequestID(r.Context())}
		c := &call{ev: actor.NewEvent(audit.SourceSCIM, name, readOnly)}
		c.ev.SetParameters(requestParameters(r))
		err := h.authenticate(r, c)
		if err == nil {
			err = fn(w, r, c)
		}
		if err != nil {
			status, detail := h.writeError(w, r, err)
			c.ev.ErrorCode, c.ev.ErrorMessage = errorCode(status), detail
			h.Audit.Record(r.Context(), c.ev)
			return
		}
		switch {
		case c.committed:
		case readOnly && !h.RecordReads:
		case readOnly:
			h.Audit.RecordRead(r.Context(), c.ev)
		default:
			h.Audit.Record(r.Context(), c.ev)
		}
	})
}

// authenticate resolves the bearer token to a directory (RFC 6750).
func (h *Handler) authenticate(r *http.Request, c *call) error {
	authz := r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return fault.New(fault.Unauthorized, "Authorization", "an Authorization: Bearer <token> header is required")
	}
	t, d, err := h.Svc.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		return err
	}
	c.dir, c.token = d, t
	c.ev.UserIdentity.PrincipalID = t.ID
	c.ev.Directory = d.ID
	return nil
}

// requestParameters is what the audit event keeps of the request line.
func requestParameters(r *http.Request) map[string]any {
	p := map[string]any{"method": r.Method, "path": r.URL.Path}
	if q := r.URL.Query(); len(q) > 0 {
		qm := map[string]any{}
		for k, v := range q {
			qm[k] = strings.Join(v, ",")
		}
		p["query"] = qm
	}
	return p
}

// addBody adds the decoded, redacted body to the event's parameters.
func (c *call) addBody(r *http.Request, body any) {
	p := requestParameters(r)
	p["body"] = body
	c.ev.SetParameters(p)
}

// decodeObject reads a JSON object body. Content types other than the two
// SCIM clients send are refused; a body over the size limit is a 413.
func decodeObject(r *http.Request) (map[string]any, error) {
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fault.New(fault.Limit, "body", "request body exceeds the limit of %d bytes", mbe.Limit)
		}
		return nil, fault.New(fault.InvalidSyntax, "body", "reading request body: %v", err)
	}
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	return parseObject(b)
}

func parseObject(b []byte) (map[string]any, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fault.New(fault.InvalidSyntax, "body", "request body is not valid JSON: %v", jsonErr(err))
	}
	if dec.More() {
		return nil, fault.New(fault.InvalidSyntax, "body", "request body has data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fault.New(fault.InvalidSyntax, "body", "request body must be a JSON object")
	}
	return m, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return err.Error()
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil // curl and scripts often omit it; the body must still parse
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == ContentType || mt == "application/json") {
		return nil
	}
	return fault.New(fault.Unsupported, "Content-Type", "Content-Type %q is not supported; send application/scim+json or application/json", ct)
}

// readBody reads a raw body with the same limits (PATCH and Bulk parse it
// themselves).
func readBody(r *http.Request) ([]byte, error) {
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fault.New(fault.Limit, "body", "request body exceeds the limit of %d bytes", mbe.Limit)
		}
		return nil, fault.New(fault.InvalidSyntax, "body", "reading request body: %v", err)
	}
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	return b, nil
}

// writeJSON writes a SCIM response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

func (h *Handler) me(w http.ResponseWriter, r *http.Request, c *call) error {
	return fault.New(fault.Unsupported, "/Me", "/Me is not implemented: a SCIM token authenticates a provisioning client, not a user (RFC 7644 §3.11 allows 501)")
}

func (h *Handler) unknown(w http.ResponseWriter, r *http.Request, c *call) error {
	return fault.New(fault.NotFound, "path", "%s %s is not a SCIM endpoint of this server", r.Method, r.URL.Path)
}
