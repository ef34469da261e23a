package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// AuditStore is what the API needs of the audit trail.
type AuditStore interface {
	LookupEvents(ctx context.Context, q audit.Query) ([]audit.Event, string, error)
}

// DirectoryResolver turns a directory name into its id.
type DirectoryResolver func(ctx context.Context, name string) (string, error)

// API serves /api/v1.
type API struct {
	Tokens   *Tokens
	Audit    AuditStore
	Recorder interface {
		RecordRead(context.Context, *audit.Event)
	}
	Directory DirectoryResolver
	Log       *slog.Logger
}

// Routes mounts the admin API.
func (api *API) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/audit/events", api.serve("LookupEvents", api.lookupEvents))
	mux.Handle("/api/v1/", api.serve("UnknownEndpoint", func(w http.ResponseWriter, r *http.Request, ev *audit.Event) error {
		return fault.New(fault.NotFound, "path", "%s %s is not an admin API endpoint", r.Method, r.URL.Path)
	}))
}

func (api *API) serve(name string, fn func(http.ResponseWriter, *http.Request, *audit.Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin}, SourceIP: httpx.ClientIP(r), UserAgent: r.UserAgent(), RequestID: httpx.RequestID(r.Context())}
		ev := actor.NewEvent(audit.SourceAdmin, name, true)
		err := api.authenticate(r, ev)
		if err == nil {
			err = fn(w, r, ev)
		}
		if err != nil {
			status := api.writeError(w, r, err)
			ev.ErrorCode = errorCode(status)
			if fe, ok := fault.As(err); ok {
				ev.ErrorMessage = fe.Message
			}
		}
		api.Recorder.RecordRead(r.Context(), ev)
	})
}

func (api *API) authenticate(r *http.Request, ev *audit.Event) error {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return fault.New(fault.Unauthorized, "Authorization", "an Authorization: Bearer <admin token> header is required (gatehouse admin token create)")
	}
	t, err := api.Tokens.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		return err
	}
	ev.UserIdentity.PrincipalID = t.ID
	return nil
}

func (api *API) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	fe, ok := fault.As(err)
	if !ok {
		api.Log.Error("admin api: internal error", "request_id", httpx.RequestID(r.Context()), "err", err)
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusInternalServerError, Detail: "internal server error; quote the request id to the operator"})
		return http.StatusInternalServerError
	}
	status := http.StatusBadRequest
	switch fe.Kind {
	case fault.NotFound:
		status = http.StatusNotFound
	case fault.Unauthorized:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
	case fault.Forbidden:
		status = http.StatusForbidden
	case fault.Uniqueness:
		status = http.StatusConflict
	case fault.Precondition:
		status = http.StatusPreconditionFailed
	}
	httpx.WriteProblem(w, r, httpx.Problem{Type: "https://gatehouse.dev/problems/" + string(fe.Kind), Status: status, Detail: fe.Message, Field: fe.Field})
	return status
}

func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return audit.ErrUnauthorized
	case http.StatusNotFound:
		return audit.ErrNotFound
	case http.StatusInternalServerError:
		return audit.ErrInternal
	}
	return audit.ErrValidation
}

// lookupEvents is CloudTrail's LookupEvents over the query string:
// eventName, eventSource, userName, resourceId, errorCode, directory,
// startTime, endTime, maxResults, nextToken.
func (api *API) lookupEvents(w http.ResponseWriter, r *http.Request, ev *audit.Event) error {
	q, err := api.parseQuery(r.Context(), r.URL.Query(), time.Now())
	if err != nil {
		return err
	}
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = strings.Join(v, ",")
	}
	ev.SetParameters(params)
	events, next, err := api.Audit.LookupEvents(r.Context(), q)
	if err != nil {
		return err
	}
	if events == nil {
		events = []audit.Event{}
	}
	body := map[string]any{"Events": events}
	if next != "" {
		body["NextToken"] = next
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (api *API) parseQuery(ctx context.Context, v url.Values, now time.Time) (audit.Query, error) {
	q := audit.Query{EventName: v.Get("eventName"), EventSource: v.Get("eventSource"), UserName: v.Get("userName"),
		ResourceID: v.Get("resourceId"), ErrorCode: v.Get("errorCode"), NextToken: v.Get("nextToken")}
	var errs []error
	if d := v.Get("directory"); d != "" {
		id, err := api.Directory(ctx, d)
		if err != nil {
			errs = append(errs, err)
		}
		q.Directory = id
	}
	var err error
	if q.Start, err = audit.ParseTimeArg("startTime", v.Get("startTime"), now); err != nil {
		errs = append(errs, err)
	}
	if q.End, err = audit.ParseTimeArg("endTime", v.Get("endTime"), now); err != nil {
		errs = append(errs, err)
	}
	if m := v.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > audit.MaxMaxResults {
			errs = append(errs, fault.New(fault.InvalidValue, "maxResults", "maxResults must be an integer from 1 to %d, got %q", audit.MaxMaxResults, m))
		}
		q.MaxResults = n
	}
	if len(errs) > 0 {
		return q, errs[0]
	}
	if q.EventName != "" && !audit.Names[q.EventName] {
		return q, fault.New(fault.InvalidValue, "eventName", "eventName %q is not an event this server records", q.EventName)
	}
	return q, nil
}
