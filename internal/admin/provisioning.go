package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// ProvisioningAPI serves the provisioning engine on the admin API:
// applications, assignments, mappings, cycles, status and logs. Changes are
// audited in the store's transaction (event source "provisioning"); reads
// and refusals through the recorder. The token is write-only: no response
// contains it.
type ProvisioningAPI struct {
	API      *API // admin token checks and problem+json errors
	Prov     *provisioning.Service
	Recorder interface {
		Record(context.Context, *audit.Event)
		RecordRead(context.Context, *audit.Event)
	}
}

type provRoute struct {
	method, path, event string
	readOnly            bool
	fn                  func(x *ProvisioningAPI, w http.ResponseWriter, r *http.Request, c *provCall) error
}

var provRoutes = []provRoute{
	{"GET", "/api/v1/applications", "ListApplications", true, (*ProvisioningAPI).list},
	{"POST", "/api/v1/applications", "CreateApplication", false, (*ProvisioningAPI).create},
	{"GET", "/api/v1/applications/{app}", "GetApplication", true, (*ProvisioningAPI).get},
	{"PATCH", "/api/v1/applications/{app}", "UpdateApplication", false, (*ProvisioningAPI).update},
	{"DELETE", "/api/v1/applications/{app}", "DeleteApplication", false, (*ProvisioningAPI).delete},
	{"POST", "/api/v1/applications/{app}/test", "TestConnection", true, (*ProvisioningAPI).test},
	{"GET", "/api/v1/applications/{app}/assignments", "ListApplicationAssignments", true, (*ProvisioningAPI).assignments},
	{"POST", "/api/v1/applications/{app}/assignments", "AssignToApplication", false, (*ProvisioningAPI).assign},
	{"DELETE", "/api/v1/applications/{app}/assignments/{principal}", "UnassignFromApplication", false, (*ProvisioningAPI).unassign},
	{"GET", "/api/v1/applications/{app}/mappings", "GetAttributeMappings", true, (*ProvisioningAPI).getMappings},
	{"PUT", "/api/v1/applications/{app}/mappings", "UpdateAttributeMappings", false, (*ProvisioningAPI).putMappings},
	{"POST", "/api/v1/applications/{app}/provision", "StartProvisioning", false, (*ProvisioningAPI).provision},
	{"GET", "/api/v1/applications/{app}/status", "GetProvisioningStatus", true, (*ProvisioningAPI).status},
	{"GET", "/api/v1/applications/{app}/logs", "ListProvisioningLogs", true, (*ProvisioningAPI).logs},
	{"POST", "/api/v1/applications/{app}/approve-deletes", "ApproveDeletes", false, (*ProvisioningAPI).approve},
	{"POST", "/api/v1/applications/{app}/reject-deletes", "RejectDeletes", false, (*ProvisioningAPI).reject},
	{"POST", "/api/v1/applications/{app}/start", "EnableApplication", false, (*ProvisioningAPI).start},
	{"POST", "/api/v1/applications/{app}/pause", "DisableApplication", false, (*ProvisioningAPI).pause},
}

// Routes mounts the provisioning endpoints.
func (x *ProvisioningAPI) Routes(mux *http.ServeMux) {
	for _, rt := range provRoutes {
		mux.Handle(rt.method+" "+rt.path, x.serve(rt))
	}
}

type provCall struct {
	ev        *audit.Event
	committed bool // the event went into the change's transaction
	params    map[string]any
}

func (x *ProvisioningAPI) serve(rt provRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin}, SourceIP: httpx.ClientIP(r), UserAgent: r.UserAgent(), RequestID: httpx.RequestID(r.Context())}
		c := &provCall{ev: actor.NewEvent(audit.SourceProvisioning, rt.event, rt.readOnly), params: map[string]any{}}
		for k, v := range r.URL.Query() {
			c.params[k] = strings.Join(v, ",")
		}
		if a := r.PathValue("app"); a != "" {
			c.params["application"] = a
		}
		err := x.API.authenticate(r, c.ev)
		if err == nil {
			c.ev.SetParameters(c.params)
			err = rt.fn(x, w, r, c)
		}
		if err != nil {
			status := x.API.writeError(w, r, err)
			c.ev.ErrorCode, c.ev.ErrorMessage = errorCode(status), "internal error"
			if status == http.StatusConflict {
				c.ev.ErrorCode = audit.ErrConflict
			}
			if fe, ok := fault.As(err); ok {
				c.ev.ErrorMessage = fe.Message
			}
			x.Recorder.Record(r.Context(), c.ev)
			return
		}
		switch {
		case c.committed:
		case rt.readOnly:
			x.Recorder.RecordRead(r.Context(), c.ev)
		default:
			x.Recorder.Record(r.Context(), c.ev)
		}
	})
}

// decodeJSON reads a JSON body strictly (unknown fields are errors).
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.New(fault.InvalidSyntax, "Content-Type", "Content-Type %q is not supported; send application/json", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.Limit, "body", "the request body is larger than %d bytes", mbe.Limit)
		}
		if errors.Is(err, io.EOF) {
			return fault.New(fault.InvalidSyntax, "body", "the request body is empty; send a JSON object")
		}
		return fault.New(fault.InvalidSyntax, "body", "the request body is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// appView is an application as the API returns it (never the token).
type appView struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Directory     string                `json:"directory,omitempty"`
	DirectoryID   string                `json:"directoryId"`
	TargetURL     string                `json:"targetUrl"`
	TargetProfile string                `json:"targetProfile"`
	Scope         string                `json:"scope"`
	Interval      string                `json:"interval"`
	Enabled       bool                  `json:"enabled"`
	Settings      provisioning.Settings `json:"settings"`
	SchemaVersion int64                 `json:"schemaVersion"`
	Version       int64                 `json:"version"`
	Created       time.Time             `json:"created"`
	Modified      time.Time             `json:"modified"`
}

func viewApp(a provisioning.Application, dir string) appView {
	return appView{ID: a.ID, Name: a.Name, Directory: dir, DirectoryID: a.DirectoryID, TargetURL: a.TargetURL, TargetProfile: a.TargetProfile,
		Scope: a.Scope, Interval: config.Duration(a.Interval).String(), Enabled: a.Enabled, Settings: a.Settings, SchemaVersion: a.SchemaVersion,
		Version: a.Version, Created: a.Created, Modified: a.Modified}
}

func (x *ProvisioningAPI) list(w http.ResponseWriter, r *http.Request, c *provCall) error {
	apps, err := x.Prov.Store.ListApps(r.Context())
	if err != nil {
		return err
	}
	out := []appView{}
	for _, a := range apps {
		out = append(out, viewApp(a, ""))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"Applications": out})
	return nil
}

func parseInterval(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d config.Duration
	if err := d.Set(s); err != nil {
		return 0, fault.New(fault.InvalidValue, field, "%s: %v", field, err)
	}
	return time.Duration(d), nil
}

func (x *ProvisioningAPI) create(w http.ResponseWriter, r *http.Request, c *provCall) error {
	var body struct {
		Name          string                `json:"name"`
		Directory     string                `json:"directory"`
		TargetURL     string                `json:"targetUrl"`
		Token         string                `json:"token"`
		TargetProfile string                `json:"targetProfile"`
		Scope         string                `json:"scope"`
		Interval      string                `json:"interval"`
		Settings      provisioning.Settings `json:"settings"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	iv, err := parseInterval("interval", body.Interval)
	if err != nil {
		return err
	}
	if body.Directory == "" {
		body.Directory = "default"
	}
	a, err := x.Prov.CreateApp(r.Context(), provisioning.NewApp{Name: body.Name, Directory: body.Directory, TargetURL: body.TargetURL, Token: body.Token,
		TargetProfile: body.TargetProfile, Scope: body.Scope, Interval: iv, Settings: body.Settings}, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	w.Header().Set("Location", "/api/v1/applications/"+a.Name)
	httpx.WriteJSON(w, http.StatusCreated, viewApp(a, body.Directory))
	return nil
}

func (x *ProvisioningAPI) get(w http.ResponseWriter, r *http.Request, c *provCall) error {
	st, err := x.Prov.Status(r.Context(), r.PathValue("app"), 1)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"application": viewApp(st.App, st.Directory), "assignments": assignmentViews(st.Assignments),
		"linked": st.Linked, "deprovisioned": st.Disabled})
	return nil
}

func assignmentViews(as []provisioning.Assignment) []map[string]any {
	out := []map[string]any{}
	for _, a := range as {
		v := map[string]any{"type": a.ObjectType, "id": a.ObjectID, "name": a.Display, "assigned": a.Created}
		if a.Role != "" {
			v["role"] = a.Role
		}
		out = append(out, v)
	}
	return out
}

func (x *ProvisioningAPI) update(w http.ResponseWriter, r *http.Request, c *provCall) error {
	var body struct {
		TargetURL     *string          `json:"targetUrl"`
		Token         *string          `json:"token"`
		TargetProfile *string          `json:"targetProfile"`
		Scope         *string          `json:"scope"`
		Interval      *string          `json:"interval"`
		Enabled       *bool            `json:"enabled"`
		Settings      *json.RawMessage `json:"settings"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	u := provisioning.Update{TargetURL: body.TargetURL, Token: body.Token, TargetProfile: body.TargetProfile, Scope: body.Scope, Enabled: body.Enabled}
	if body.Interval != nil {
		iv, err := parseInterval("interval", *body.Interval)
		if err != nil {
			return err
		}
		u.Interval = &iv
	}
	if body.Settings != nil {
		raw := *body.Settings
		// Settings merge over the current ones: only the fields sent change.
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fault.New(fault.InvalidSyntax, "settings", "settings must be a JSON object")
		}
		var check provisioning.Settings
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&check); err != nil {
			return fault.New(fault.InvalidValue, "settings", "settings: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		u.Settings = func(s *provisioning.Settings) { _ = json.Unmarshal(raw, s) }
	}
	a, err := x.Prov.UpdateApp(r.Context(), r.PathValue("app"), u, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, viewApp(a, ""))
	return nil
}

func (x *ProvisioningAPI) delete(w http.ResponseWriter, r *http.Request, c *provCall) error {
	if err := x.Prov.DeleteApp(r.Context(), r.PathValue("app"), c.ev); err != nil {
		return err
	}
	c.committed = true
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (x *ProvisioningAPI) test(w http.ResponseWriter, r *http.Request, c *provCall) error {
	d, err := x.Prov.Test(r.Context(), r.PathValue("app"), c.ev)
	if err != nil {
		return err
	}
	checks := []map[string]any{}
	for _, ch := range d.Checks {
		checks = append(checks, map[string]any{"name": ch.Name, "method": ch.Method, "url": ch.URL, "ok": ch.OK, "status": ch.Status, "code": ch.Code, "durationMs": ch.Duration.Milliseconds()})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"ok": d.OK, "code": d.Code, "summary": d.Summary, "detail": d.Detail,
		"recommendation": d.Recommendation, "checks": checks, "notes": d.Notes})
	return nil
}

func (x *ProvisioningAPI) assignments(w http.ResponseWriter, r *http.Request, c *provCall) error {
	a, err := x.Prov.App(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	as, err := x.Prov.Store.Assignments(r.Context(), a.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"Assignments": assignmentViews(as)})
	return nil
}

func principalType(t string) (string, error) {
	switch strings.ToLower(t) {
	case "user":
		return provisioning.TypeUser, nil
	case "group":
		return provisioning.TypeGroup, nil
	}
	return "", fault.New(fault.InvalidValue, "type", "type %q is not User or Group", t)
}

func (x *ProvisioningAPI) assign(w http.ResponseWriter, r *http.Request, c *provCall) error {
	var body struct {
		Type      string `json:"type"`
		Principal string `json:"principal"`
		Role      string `json:"role"` // app role the assignment grants (optional)
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	typ, err := principalType(body.Type)
	if err != nil {
		return err
	}
	as, err := x.Prov.AssignWithRole(r.Context(), r.PathValue("app"), typ, body.Principal, body.Role, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusCreated, assignmentViews([]provisioning.Assignment{as})[0])
	return nil
}

func (x *ProvisioningAPI) unassign(w http.ResponseWriter, r *http.Request, c *provCall) error {
	types := []string{provisioning.TypeUser, provisioning.TypeGroup}
	if t := r.URL.Query().Get("type"); t != "" {
		typ, err := principalType(t)
		if err != nil {
			return err
		}
		types = []string{typ}
	}
	var err error
	for _, typ := range types {
		if _, err = x.Prov.Unassign(r.Context(), r.PathValue("app"), typ, r.PathValue("principal"), c.ev); err == nil || !fault.Is(err, fault.NotFound) {
			break
		}
	}
	if err != nil {
		return err
	}
	c.committed = true
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func wantsYAML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "yaml")
}

func (x *ProvisioningAPI) getMappings(w http.ResponseWriter, r *http.Request, c *provCall) error {
	if wantsYAML(r) {
		b, err := x.Prov.ExportSchema(r.Context(), r.PathValue("app"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
		return nil
	}
	a, err := x.Prov.App(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.Schema)
	return nil
}

// putMappings takes the mappings document as YAML (application/yaml) or
// JSON (YAML's superset reader parses both).
func (x *ProvisioningAPI) putMappings(w http.ResponseWriter, r *http.Request, c *provCall) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.Limit, "body", "the request body is larger than %d bytes", mbe.Limit)
		}
		return err
	}
	a, warnings, err := x.Prov.ImportSchema(r.Context(), r.PathValue("app"), b, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	if warnings == nil {
		warnings = []string{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"schemaVersion": a.SchemaVersion, "warnings": warnings, "mappings": a.Schema})
	return nil
}

// provision runs a dry run or an on-demand user synchronously; a full cycle
// is handed to the scheduler (202), optionally after a restart.
func (x *ProvisioningAPI) provision(w http.ResponseWriter, r *http.Request, c *provCall) error {
	var body struct {
		DryRun  bool   `json:"dryRun"`
		Restart bool   `json:"restart"`
		User    string `json:"user"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	c.params["body"] = body
	c.ev.SetParameters(c.params)
	name := r.PathValue("app")
	if body.DryRun || body.User != "" {
		if body.Restart {
			return fault.New(fault.InvalidValue, "restart", "restart cannot be combined with dryRun or user")
		}
		c.ev.EventName = "ProvisionOnDemand"
		res, err := x.Prov.Provision(r.Context(), name, provisioning.RunOptions{Trigger: "api", DryRun: body.DryRun, User: body.User})
		if errors.Is(err, provisioning.ErrBusy) {
			return fault.New(fault.Precondition, "application", "%s", err.Error())
		}
		if res == nil {
			return err
		}
		writes := []string{}
		for _, wr := range res.Writes {
			writes = append(writes, wr.String())
		}
		entries := res.Entries
		if entries == nil {
			entries = []provisioning.LogEntry{}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"cycle": cycleView(res.Cycle), "entries": entries, "writes": writes, "staged": res.Staged})
		return nil
	}
	if body.Restart {
		c.ev.EventName = "RestartProvisioning"
		if err := x.Prov.Restart(r.Context(), name, c.ev); err != nil {
			return err
		}
		c.committed = true
	} else if err := x.Prov.RequestRun(r.Context(), name); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "requested", "detail": "the scheduler starts the cycle within a second; follow it with GET /api/v1/applications/" + name + "/status"})
	return nil
}

func cycleView(c provisioning.Cycle) map[string]any {
	m := map[string]any{"id": c.ID, "kind": c.Kind, "trigger": c.Trigger, "dryRun": c.DryRun, "status": c.Status, "started": c.Started,
		"watermarkFrom": c.WatermarkFrom, "watermarkTo": c.WatermarkTo, "counts": c.Counts, "requests": c.Requests}
	if !c.Ended.IsZero() {
		m["ended"], m["durationMs"] = c.Ended, c.Ended.Sub(c.Started).Milliseconds()
	}
	if c.Error != "" {
		m["error"] = c.Error
	}
	if c.Progress != "" {
		m["progress"] = c.Progress
	}
	return m
}

func (x *ProvisioningAPI) status(w http.ResponseWriter, r *http.Request, c *provCall) error {
	n := 10
	if v := r.URL.Query().Get("cycles"); v != "" {
		if k, err := strconv.Atoi(v); err == nil && k > 0 && k <= 100 {
			n = k
		}
	}
	st, err := x.Prov.Status(r.Context(), r.PathValue("app"), n)
	if err != nil {
		return err
	}
	cycles := []map[string]any{}
	for _, cy := range st.Cycles {
		cycles = append(cycles, cycleView(cy))
	}
	out := map[string]any{"application": st.App.Name, "enabled": st.App.Enabled, "watermark": st.State.Watermark, "cycles": cycles,
		"staged": nonNil(st.Staged), "escrows": nonNil(st.Escrows), "linked": st.Linked, "deprovisioned": st.Disabled, "runRequested": st.State.RunRequested}
	if !st.State.NextRun.IsZero() {
		out["nextRun"] = st.State.NextRun
	}
	if st.State.Quarantine != nil {
		out["quarantine"] = st.State.Quarantine
	}
	if st.State.Disabled != nil && !st.App.Enabled {
		out["disabled"] = st.State.Disabled
	}
	if st.State.LeaseOwner != "" && st.State.LeaseExpires.After(time.Now()) {
		out["runningOn"] = st.State.LeaseOwner
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (x *ProvisioningAPI) logs(w http.ResponseWriter, r *http.Request, c *provCall) error {
	a, err := x.Prov.App(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := provisioning.LogQuery{AppID: a.ID, CycleID: v.Get("cycle"), Source: v.Get("user"), NextToken: v.Get("nextToken")}
	if s := v.Get("status"); s != "" {
		for _, o := range []string{provisioning.StatusSuccess, provisioning.StatusFailure, provisioning.StatusSkipped, provisioning.StatusWarning} {
			if strings.EqualFold(s, o) {
				q.Status = o
			}
		}
		if q.Status == "" {
			return fault.New(fault.InvalidValue, "status", "status %q is not one of Success, Failure, Skipped, Warning", s)
		}
	}
	if s := v.Get("action"); s != "" {
		for _, o := range []string{provisioning.ActionCreate, provisioning.ActionUpdate, provisioning.ActionDisable, provisioning.ActionDelete,
			provisioning.ActionStagedDelete, provisioning.ActionSkip, provisioning.ActionOther} {
			if strings.EqualFold(s, o) {
				q.Action = o
			}
		}
		if q.Action == "" {
			return fault.New(fault.InvalidValue, "action", "action %q is not a provisioning action", s)
		}
	}
	if m := v.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 1000 {
			return fault.New(fault.InvalidValue, "maxResults", "maxResults must be an integer from 1 to 1000, got %q", m)
		}
		q.Limit = n
	}
	entries, next, err := x.Prov.Store.Logs(r.Context(), q)
	if err != nil {
		return err
	}
	body := map[string]any{"Entries": nonNil(entries)}
	if next != "" {
		body["NextToken"] = next
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (x *ProvisioningAPI) approve(w http.ResponseWriter, r *http.Request, c *provCall) error {
	n, err := x.Prov.ApproveDeletes(r.Context(), r.PathValue("app"), c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"approved": n})
	return nil
}

func (x *ProvisioningAPI) reject(w http.ResponseWriter, r *http.Request, c *provCall) error {
	n, err := x.Prov.RejectDeletes(r.Context(), r.PathValue("app"), c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rejected": n})
	return nil
}

// start enables an application (Entra's Start): quarantine and the reason it
// was disabled are cleared and a cycle is requested.
func (x *ProvisioningAPI) start(w http.ResponseWriter, r *http.Request, c *provCall) error {
	return x.setEnabled(w, r, c, x.Prov.Start)
}

// pause disables an application until start; its state is kept.
func (x *ProvisioningAPI) pause(w http.ResponseWriter, r *http.Request, c *provCall) error {
	return x.setEnabled(w, r, c, x.Prov.Pause)
}

func (x *ProvisioningAPI) setEnabled(w http.ResponseWriter, r *http.Request, c *provCall,
	op func(context.Context, string, *audit.Event) (provisioning.Application, error)) error {
	a, err := op(r.Context(), r.PathValue("app"), c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"application": a.Name, "enabled": a.Enabled})
	return nil
}
