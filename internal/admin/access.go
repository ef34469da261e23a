package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// AccessAPI serves the access model on the admin API: accounts, permission
// sets, assignments and entitlements, in the directory named by the
// "directory" query parameter (default "default"). Every call is audited
// with event source "access": changes in the store's transaction, reads and
// refusals through the recorder. docs/openapi.yaml describes the routes.
type AccessAPI struct {
	API      *API // admin token checks and problem+json errors
	Access   *access.Service
	Dir      *directory.Service
	Recorder interface {
		Record(context.Context, *audit.Event)
		RecordRead(context.Context, *audit.Event)
	}
}

// accessRoute is one endpoint: method and path, audit event name, handler.
type accessRoute struct {
	method, path, event string
	readOnly            bool
	fn                  func(x *AccessAPI, w http.ResponseWriter, r *http.Request, c *accessCall) error
}

// accessRoutes is the route table (also checked against docs/openapi.yaml).
var accessRoutes = []accessRoute{
	{"GET", "/api/v1/accounts", "ListAccounts", true, (*AccessAPI).listAccounts},
	{"POST", "/api/v1/accounts", "CreateAccount", false, (*AccessAPI).createAccount},
	{"GET", "/api/v1/accounts/{account}", "DescribeAccount", true, (*AccessAPI).getAccount},
	{"DELETE", "/api/v1/accounts/{account}", "DeleteAccount", false, (*AccessAPI).deleteAccount},
	{"GET", "/api/v1/accounts/{account}/access", "ListAccountAccess", true, (*AccessAPI).accountAccess},
	{"GET", "/api/v1/permission-sets", "ListPermissionSets", true, (*AccessAPI).listPermissionSets},
	{"POST", "/api/v1/permission-sets", "CreatePermissionSet", false, (*AccessAPI).createPermissionSet},
	{"GET", "/api/v1/permission-sets/{permissionSet}", "DescribePermissionSet", true, (*AccessAPI).getPermissionSet},
	{"PATCH", "/api/v1/permission-sets/{permissionSet}", "UpdatePermissionSet", false, (*AccessAPI).updatePermissionSet},
	{"DELETE", "/api/v1/permission-sets/{permissionSet}", "DeletePermissionSet", false, (*AccessAPI).deletePermissionSet},
	{"POST", "/api/v1/permission-sets/{permissionSet}/managed-policies", "AttachManagedPolicyToPermissionSet", false, (*AccessAPI).attachManaged},
	{"DELETE", "/api/v1/permission-sets/{permissionSet}/managed-policies", "DetachManagedPolicyFromPermissionSet", false, (*AccessAPI).detachManaged},
	{"POST", "/api/v1/permission-sets/{permissionSet}/customer-managed-policies", "AttachCustomerManagedPolicyReferenceToPermissionSet", false, (*AccessAPI).attachCustomer},
	{"DELETE", "/api/v1/permission-sets/{permissionSet}/customer-managed-policies", "DetachCustomerManagedPolicyReferenceFromPermissionSet", false, (*AccessAPI).detachCustomer},
	{"GET", "/api/v1/permission-sets/{permissionSet}/inline-policy", "GetInlinePolicyForPermissionSet", true, (*AccessAPI).getInline},
	{"PUT", "/api/v1/permission-sets/{permissionSet}/inline-policy", "PutInlinePolicyToPermissionSet", false, (*AccessAPI).putInline},
	{"DELETE", "/api/v1/permission-sets/{permissionSet}/inline-policy", "DeleteInlinePolicyFromPermissionSet", false, (*AccessAPI).deleteInline},
	{"PUT", "/api/v1/permission-sets/{permissionSet}/permissions-boundary", "PutPermissionsBoundaryToPermissionSet", false, (*AccessAPI).putBoundary},
	{"DELETE", "/api/v1/permission-sets/{permissionSet}/permissions-boundary", "DeletePermissionsBoundaryFromPermissionSet", false, (*AccessAPI).deleteBoundary},
	{"GET", "/api/v1/assignments", "ListAccountAssignments", true, (*AccessAPI).listAssignments},
	{"POST", "/api/v1/assignments", "CreateAccountAssignment", false, (*AccessAPI).createAssignment},
	{"DELETE", "/api/v1/assignments/{id}", "DeleteAccountAssignment", false, (*AccessAPI).deleteAssignment},
	{"GET", "/api/v1/users/{user}/entitlements", "ListUserEntitlements", true, (*AccessAPI).userEntitlements},
}

// Routes mounts the access endpoints (more specific than API.Routes'
// catch-all, so the order of mounting does not matter).
func (x *AccessAPI) Routes(mux *http.ServeMux) {
	for _, rt := range accessRoutes {
		mux.Handle(rt.method+" "+rt.path, x.serve(rt))
	}
}

// accessCall is one request's state.
type accessCall struct {
	d         directory.Directory
	ev        *audit.Event
	committed bool // the event was written in the change's transaction
}

func (x *AccessAPI) serve(rt accessRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin}, SourceIP: httpx.ClientIP(r), UserAgent: r.UserAgent(), RequestID: httpx.RequestID(r.Context())}
		c := &accessCall{ev: actor.NewEvent(audit.SourceAccess, rt.event, rt.readOnly)}
		if q := r.URL.Query(); len(q) > 0 {
			c.setParameters(r, nil)
		}
		err := x.begin(r, c)
		if err == nil {
			err = rt.fn(x, w, r, c)
		}
		if err != nil {
			status := x.writeError(w, r, err)
			c.ev.ErrorCode, c.ev.ErrorMessage = accessErrorCode(status), "internal error"
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

// begin authenticates the admin token and selects the directory.
func (x *AccessAPI) begin(r *http.Request, c *accessCall) error {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return fault.New(fault.Unauthorized, "Authorization", "an Authorization: Bearer <admin token> header is required (gatehouse admin token create)")
	}
	t, err := x.API.Tokens.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		return err
	}
	c.ev.UserIdentity.PrincipalID = t.ID
	name := r.URL.Query().Get("directory")
	if name == "" {
		name = directory.DefaultDirectory
	}
	d, err := x.Dir.Directory(r.Context(), name)
	if err != nil {
		return err
	}
	if t.DirectoryID != "" && t.DirectoryID != d.ID {
		return fault.New(fault.Forbidden, "directory", "this admin token is not valid for directory %q", name)
	}
	c.d, c.ev.Directory = d, d.ID
	return nil
}

// writeError maps a refused delete to 409 Conflict and everything else the
// way the rest of the admin API does.
func (x *AccessAPI) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	var re *directory.ReferencedError
	if errors.As(err, &re) {
		httpx.WriteProblem(w, r, httpx.Problem{Type: "https://gatehouse.dev/problems/referenced", Status: http.StatusConflict, Detail: re.Error(), Field: "cascade"})
		return http.StatusConflict
	}
	return x.API.writeError(w, r, err)
}

func accessErrorCode(status int) string {
	switch status {
	case http.StatusConflict:
		return audit.ErrConflict
	case http.StatusForbidden:
		return audit.ErrAccessDenied
	case http.StatusPreconditionFailed:
		return audit.ErrPrecondition
	case http.StatusRequestEntityTooLarge:
		return audit.ErrPayloadLarge
	}
	return errorCode(status)
}

// setParameters records the query string and the (decoded) body.
func (c *accessCall) setParameters(r *http.Request, body any) {
	p := map[string]any{}
	for k, v := range r.URL.Query() {
		p[k] = strings.Join(v, ",")
	}
	for _, k := range []string{"account", "permissionSet", "id", "user"} {
		if v := r.PathValue(k); v != "" {
			p[k] = v
		}
	}
	if body != nil {
		p["body"] = body
	}
	c.ev.SetParameters(p)
}

// decode reads a JSON request body into v, strictly: unknown fields and
// wrong types are errors naming the field.
func decode(r *http.Request, c *accessCall, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.New(fault.InvalidSyntax, "Content-Type", "Content-Type %q is not supported; send application/json", ct)
		}
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.Limit, "body", "the request body is larger than %d bytes", mbe.Limit)
		}
		return err
	}
	var raw any
	if json.Unmarshal(b, &raw) == nil {
		c.setParameters(r, raw)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fault.New(fault.InvalidValue, te.Field, "%s must be a JSON %s, not %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return fault.New(fault.InvalidSyntax, "body", "the request body is not valid JSON: %v at offset %d", se, se.Offset)
		case errors.Is(err, io.EOF):
			return fault.New(fault.InvalidSyntax, "body", "a JSON object is required as the request body")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fault.New(fault.InvalidSyntax, "body", "the request body is not valid JSON: it ends early")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fault.New(fault.InvalidValue, f, "%s is not a field of this request", f)
		}
		return fault.New(fault.InvalidSyntax, "body", "the request body is not valid: %v", err)
	}
	if dec.More() {
		return fault.New(fault.InvalidSyntax, "body", "the request body has data after the JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); strings.ToLower(v) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, fault.New(fault.InvalidValue, name, "%s must be true or false, got %q", name, v)
	}
}

func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	httpx.WriteJSON(w, http.StatusCreated, v)
}

// ---- accounts ---------------------------------------------------------

type accountInput struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Email       string            `json:"email"`
	Tags        map[string]string `json:"tags"`
}

func (x *AccessAPI) listAccounts(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	list, err := x.Access.ListAccounts(r.Context(), c.d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"accounts": list})
	return nil
}

func (x *AccessAPI) createAccount(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in accountInput
	if err := decode(r, c, &in); err != nil {
		return err
	}
	a, err := x.Access.CreateAccount(r.Context(), c.d, access.Account{ID: in.ID, Type: in.Type, Name: in.Name, Description: in.Description, Email: in.Email, Tags: in.Tags}, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	created(w, "/api/v1/accounts/"+url.PathEscape(a.ID)+dirQuery(c), a)
	return nil
}

func dirQuery(c *accessCall) string {
	if c.d.Name == directory.DefaultDirectory {
		return ""
	}
	return "?directory=" + url.QueryEscape(c.d.Name)
}

func (x *AccessAPI) getAccount(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	a, err := x.Access.Account(r.Context(), c.d, r.PathValue("account"))
	if err != nil {
		return err
	}
	c.ev.ResourceID, c.ev.ResourceName = a.ID, a.Name
	httpx.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (x *AccessAPI) deleteAccount(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	cascade, err := boolParam(r, "cascade")
	if err != nil {
		return err
	}
	a, err := x.Access.Account(r.Context(), c.d, r.PathValue("account"))
	if err != nil {
		return err
	}
	removed, err := x.Access.DeleteAccount(r.Context(), c.d, a, cascade, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"account": a, "removedAssignments": nonNilAssignments(removed)})
	return nil
}

func nonNilAssignments(list []access.Assignment) []access.Assignment {
	if list == nil {
		return []access.Assignment{}
	}
	return list
}

func (x *AccessAPI) accountAccess(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	a, err := x.Access.Account(r.Context(), c.d, r.PathValue("account"))
	if err != nil {
		return err
	}
	c.ev.ResourceID, c.ev.ResourceName = a.ID, a.Name
	var ps *access.PermissionSet
	if ref := r.URL.Query().Get("permissionSet"); ref != "" {
		p, err := x.Access.PermissionSet(r.Context(), c.d, ref)
		if err != nil {
			return err
		}
		ps = &p
	}
	res, err := x.Access.AccountAccess(r.Context(), c.d, a, ps)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// ---- permission sets --------------------------------------------------

type permissionSetInput struct {
	Name                    string                   `json:"name"`
	Description             string                   `json:"description"`
	SessionDuration         string                   `json:"sessionDuration"`
	RelayState              string                   `json:"relayState"`
	ManagedPolicies         []string                 `json:"managedPolicies"`
	CustomerManagedPolicies []access.PolicyReference `json:"customerManagedPolicies"`
	InlinePolicy            json.RawMessage          `json:"inlinePolicy"`
	PermissionsBoundary     *access.Boundary         `json:"permissionsBoundary"`
	Tags                    map[string]string        `json:"tags"`
}

// inlinePolicy accepts the policy as a JSON string (AWS's shape) or as the
// policy object itself.
func inlinePolicy(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	if raw[0] == '{' {
		return access.CompactPolicy(raw)
	}
	return "", fault.New(fault.InvalidValue, "inlinePolicy", "inlinePolicy must be the policy document as a JSON string or object")
}

func (x *AccessAPI) listPermissionSets(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	list, err := x.Access.ListPermissionSets(r.Context(), c.d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"permissionSets": list})
	return nil
}

func (x *AccessAPI) createPermissionSet(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in permissionSetInput
	if err := decode(r, c, &in); err != nil {
		return err
	}
	doc, err := inlinePolicy(in.InlinePolicy)
	if err != nil {
		return err
	}
	p, err := x.Access.CreatePermissionSet(r.Context(), c.d, access.PermissionSet{Name: in.Name, Description: in.Description, SessionDuration: in.SessionDuration,
		RelayState: in.RelayState, ManagedPolicies: in.ManagedPolicies, CustomerManagedPolicies: in.CustomerManagedPolicies, InlinePolicy: doc,
		PermissionsBoundary: in.PermissionsBoundary, Tags: in.Tags}, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	created(w, "/api/v1/permission-sets/"+p.ID+dirQuery(c), p)
	return nil
}

func (x *AccessAPI) permissionSet(r *http.Request, c *accessCall) (access.PermissionSet, error) {
	p, err := x.Access.PermissionSet(r.Context(), c.d, r.PathValue("permissionSet"))
	if err == nil {
		c.ev.ResourceID, c.ev.ResourceName = p.ID, p.Name
	}
	return p, err
}

func (x *AccessAPI) getPermissionSet(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	p, err := x.permissionSet(r, c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// changePermissionSet runs one change on the addressed permission set and
// answers with the result.
func (x *AccessAPI) changePermissionSet(w http.ResponseWriter, r *http.Request, c *accessCall, fn func(p access.PermissionSet) (access.PermissionSet, error)) error {
	p, err := x.permissionSet(r, c)
	if err != nil {
		return err
	}
	out, err := fn(p)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (x *AccessAPI) updatePermissionSet(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var u access.PermissionSetUpdate
	if err := decode(r, c, &u); err != nil {
		return err
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.UpdatePermissionSet(r.Context(), c.d, p, u, c.ev)
	})
}

func (x *AccessAPI) deletePermissionSet(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	cascade, err := boolParam(r, "cascade")
	if err != nil {
		return err
	}
	p, err := x.permissionSet(r, c)
	if err != nil {
		return err
	}
	removed, err := x.Access.DeletePermissionSet(r.Context(), c.d, p, cascade, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"permissionSet": p, "removedAssignments": nonNilAssignments(removed)})
	return nil
}

func (x *AccessAPI) attachManaged(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in struct {
		ManagedPolicyARN string `json:"managedPolicyArn"`
	}
	if err := decode(r, c, &in); err != nil {
		return err
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.AttachManagedPolicy(r.Context(), c.d, p, in.ManagedPolicyARN, c.ev)
	})
}

func (x *AccessAPI) detachManaged(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	arn := r.URL.Query().Get("managedPolicyArn")
	if arn == "" {
		return fault.New(fault.InvalidValue, "managedPolicyArn", "the managedPolicyArn query parameter is required")
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.DetachManagedPolicy(r.Context(), c.d, p, arn, c.ev)
	})
}

func (x *AccessAPI) attachCustomer(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in access.PolicyReference
	if err := decode(r, c, &in); err != nil {
		return err
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.AttachCustomerManagedPolicy(r.Context(), c.d, p, in, c.ev)
	})
}

func (x *AccessAPI) detachCustomer(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	q := r.URL.Query()
	if q.Get("name") == "" {
		return fault.New(fault.InvalidValue, "name", "the name query parameter is required")
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.DetachCustomerManagedPolicy(r.Context(), c.d, p, access.PolicyReference{Name: q.Get("name"), Path: q.Get("path")}, c.ev)
	})
}

func (x *AccessAPI) getInline(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	p, err := x.permissionSet(r, c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"inlinePolicy": p.InlinePolicy})
	return nil
}

func (x *AccessAPI) putInline(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in struct {
		InlinePolicy json.RawMessage `json:"inlinePolicy"`
	}
	if err := decode(r, c, &in); err != nil {
		return err
	}
	doc, err := inlinePolicy(in.InlinePolicy)
	if err != nil {
		return err
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.PutInlinePolicy(r.Context(), c.d, p, doc, c.ev)
	})
}

func (x *AccessAPI) deleteInline(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.DeleteInlinePolicy(r.Context(), c.d, p, c.ev)
	})
}

func (x *AccessAPI) putBoundary(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var b access.Boundary
	if err := decode(r, c, &b); err != nil {
		return err
	}
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.PutPermissionsBoundary(r.Context(), c.d, p, b, c.ev)
	})
}

func (x *AccessAPI) deleteBoundary(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	return x.changePermissionSet(w, r, c, func(p access.PermissionSet) (access.PermissionSet, error) {
		return x.Access.DeletePermissionsBoundary(r.Context(), c.d, p, c.ev)
	})
}

// ---- assignments ------------------------------------------------------

func (x *AccessAPI) listAssignments(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	q := r.URL.Query()
	f := access.AssignmentFilter{AccountID: q.Get("accountId"), PrincipalType: q.Get("principalType"), PrincipalID: q.Get("principalId")}
	if ref := q.Get("permissionSet"); ref != "" {
		p, err := x.Access.PermissionSet(r.Context(), c.d, ref)
		if err != nil {
			return err
		}
		f.PermissionSetID = p.ID
	}
	list, err := x.Access.ListAssignments(r.Context(), c.d, f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"assignments": list})
	return nil
}

func (x *AccessAPI) createAssignment(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	var in struct {
		access.AssignmentInput
		PermissionSetName string `json:"permissionSetName"`
	}
	if err := decode(r, c, &in); err != nil {
		return err
	}
	if in.PermissionSetID == "" && in.PermissionSetName != "" {
		p, err := x.Access.PermissionSet(r.Context(), c.d, in.PermissionSetName)
		if err != nil {
			return fault.New(fault.NotFound, "permissionSetName", "%s", err.Error())
		}
		in.PermissionSetID = p.ID
	}
	a, err := x.Access.CreateAssignment(r.Context(), c.d, in.AssignmentInput, c.ev)
	if err != nil {
		return err
	}
	c.committed = true
	created(w, "/api/v1/assignments/"+a.ID+dirQuery(c), a)
	return nil
}

func (x *AccessAPI) deleteAssignment(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	a, err := x.Access.Assignment(r.Context(), c.d, r.PathValue("id"))
	if err != nil {
		return err
	}
	c.ev.SetParameters(access.AssignmentParameters(a))
	if a, err = x.Access.DeleteAssignment(r.Context(), c.d, a, c.ev); err != nil {
		return err
	}
	c.committed = true
	httpx.WriteJSON(w, http.StatusOK, a)
	return nil
}

// ---- entitlements -----------------------------------------------------

func (x *AccessAPI) userEntitlements(w http.ResponseWriter, r *http.Request, c *accessCall) error {
	u, err := x.findUser(r.Context(), c.d, r.PathValue("user"))
	if err != nil {
		return err
	}
	c.ev.ResourceID, c.ev.ResourceName = u.ID, u.UserName
	res, err := x.Access.UserEntitlements(r.Context(), c.d, u.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// findUser resolves a user id, or else a userName.
func (x *AccessAPI) findUser(ctx context.Context, d directory.Directory, ref string) (directory.User, error) {
	u, err := x.Dir.GetUser(ctx, d, ref)
	if err == nil || !fault.Is(err, fault.NotFound) {
		return u, err
	}
	q, _ := json.Marshal(ref)
	f, err := filter.Parse(schema.UserResource, "userName eq "+string(q))
	if err != nil {
		return u, err
	}
	page, err := x.Dir.ListUsers(ctx, d, directory.Query{Filter: f, Count: 1})
	if err != nil {
		return u, err
	}
	if len(page.Items) == 0 {
		return u, fault.New(fault.NotFound, "user", "no user with id or userName %q in directory %q", ref, d.Name)
	}
	return page.Items[0], nil
}

// AccessRouteList returns "METHOD path" for every access route (for the
// OpenAPI coverage test and documentation).
func AccessRouteList() []string {
	out := make([]string, len(accessRoutes))
	for i, rt := range accessRoutes {
		out[i] = fmt.Sprintf("%s %s", rt.method, rt.path)
	}
	return out
}
