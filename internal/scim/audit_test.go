package scim_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// auditCase is one request and the single audit event it must produce.
type auditCase struct {
	name      string
	r         req
	status    int
	eventName string
	errorCode string // "" for success
	mentions  []string
	readOnly  bool
	resource  string // expected resourceId, "" to skip
	requestID string // filled in when sent
}

// TestAuditTrail sends each SCIM operation, successful and failing in each
// way, and checks after the app is closed (which flushes buffered read
// events) that each request produced exactly one event with the right name,
// error code and a message naming the attribute; that Bulk records one event
// per operation; that the hash chain verifies; and that no token or password
// used anywhere appears in any stored event.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	pw1 := e.secret("Audit-Create-Pw-" + uuid.NewString())
	pw2 := e.secret("Audit-Patch-Pw-" + uuid.NewString())
	pw3 := e.secret("Audit-Put-Pw-" + uuid.NewString())
	pw4 := e.secret("Audit-Bulk-Pw-" + uuid.NewString())
	pw5 := e.secret("Audit-Failed-Pw-" + uuid.NewString())
	badToken := e.secret(directory.TokenPrefix + "notAToken" + strings.ReplaceAll(uuid.NewString(), "-", ""))

	withPw := userBody("audit.user")
	withPw["password"] = pw1
	created := c.post("/Users", withPw)
	wantStatus(t, created, 201)
	uid := created.str("id")
	staleTag := created.Header.Get("ETag")
	wantStatus(t, c.patch("/Users/"+uid, op("replace", "title", "moved on")), 200)
	gid := c.createGroup("audit group")
	missing := uuid.NewString()
	tokenID := e.tokenID(t, e.token)

	cases := []*auditCase{
		{name: "CreateUser with a password", r: req{Method: "POST", Path: "/Users", Body: func() map[string]any {
			b := userBody("audit.second")
			b["password"] = pw5
			return b
		}()}, status: 201, eventName: "CreateUser"},
		{name: "CreateUser missing userName", r: req{Method: "POST", Path: "/Users", Body: map[string]any{"displayName": "x", "password": pw5}},
			status: 400, eventName: "CreateUser", errorCode: audit.ErrValidation, mentions: []string{"userName"}},
		{name: "CreateUser with a bad boolean", r: req{Method: "POST", Path: "/Users", Body: map[string]any{"userName": "audit.bool", "active": "perhaps"}},
			status: 400, eventName: "CreateUser", errorCode: audit.ErrValidation, mentions: []string{"active"}},
		{name: "CreateUser duplicate", r: req{Method: "POST", Path: "/Users", Body: userBody("AUDIT.USER")},
			status: 409, eventName: "CreateUser", errorCode: audit.ErrConflict, mentions: []string{"userName"}},
		{name: "GetUser", r: req{Method: "GET", Path: "/Users/" + uid}, status: 200, eventName: "GetUser", readOnly: true, resource: uid},
		{name: "GetUser unknown", r: req{Method: "GET", Path: "/Users/" + missing}, status: 404, eventName: "GetUser",
			errorCode: audit.ErrNotFound, mentions: []string{missing}, readOnly: true, resource: missing},
		{name: "ListUsers", r: req{Method: "GET", Path: `/Users?filter=userName eq "audit.user"`}, status: 200, eventName: "ListUsers", readOnly: true},
		{name: "ListUsers with a bad filter", r: req{Method: "GET", Path: `/Users?filter=userName eq`}, status: 400, eventName: "ListUsers",
			errorCode: audit.ErrValidation, mentions: []string{"filter"}, readOnly: true},
		{name: "ListUsers with a bad token", r: req{Method: "GET", Path: "/Users", Header: map[string]string{"Authorization": "Bearer " + badToken}, Token: ptr("")},
			status: 401, eventName: "ListUsers", errorCode: audit.ErrUnauthorized, mentions: []string{"token"}, readOnly: true},
		{name: "GetUser without a token", r: req{Method: "GET", Path: "/Users/" + uid, Token: ptr("")},
			status: 401, eventName: "GetUser", errorCode: audit.ErrUnauthorized, mentions: []string{"Authorization"}, readOnly: true},
		{name: "PatchUser", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "nickName", "Audi"))},
			status: 200, eventName: "PatchUser", resource: uid},
		{name: "PatchUser that changes nothing", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "nickName", "Audi"))},
			status: 200, eventName: "PatchUser", resource: uid},
		{name: "PatchUser password", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "password", pw2))},
			status: 200, eventName: "PatchUser", resource: uid},
		{name: "PatchUser no-path password", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "", map[string]any{"password": pw2 + "x"}))},
			status: 200, eventName: "PatchUser", resource: uid},
		{name: "PatchUser invalid value", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "active", "perhaps"))},
			status: 400, eventName: "PatchUser", errorCode: audit.ErrValidation, mentions: []string{"active"}, resource: uid},
		{name: "PatchUser stale If-Match", r: req{Method: "PATCH", Path: "/Users/" + uid, Body: patchBody(op("replace", "title", "x")), Header: map[string]string{"If-Match": staleTag}},
			status: 412, eventName: "PatchUser", errorCode: audit.ErrPrecondition, mentions: []string{"If-Match"}, resource: uid},
		{name: "PatchUser unknown", r: req{Method: "PATCH", Path: "/Users/" + missing, Body: patchBody(op("replace", "title", "x"))},
			status: 404, eventName: "PatchUser", errorCode: audit.ErrNotFound, mentions: []string{missing}, resource: missing},
		{name: "PutUser with a password", r: req{Method: "PUT", Path: "/Users/" + uid, Body: func() map[string]any {
			b := userBody("audit.user")
			b["password"] = pw3
			return b
		}()}, status: 200, eventName: "PutUser", resource: uid},
		{name: "PutUser stale If-Match", r: req{Method: "PUT", Path: "/Users/" + uid, Body: userBody("audit.user"), Header: map[string]string{"If-Match": staleTag}},
			status: 412, eventName: "PutUser", errorCode: audit.ErrPrecondition, mentions: []string{"If-Match"}, resource: uid},
		{name: "PutUser without userName", r: req{Method: "PUT", Path: "/Users/" + uid, Body: map[string]any{"displayName": "x"}},
			status: 400, eventName: "PutUser", errorCode: audit.ErrValidation, mentions: []string{"userName"}, resource: uid},
		{name: "DeleteUser stale If-Match", r: req{Method: "DELETE", Path: "/Users/" + uid, Header: map[string]string{"If-Match": staleTag}},
			status: 412, eventName: "DeleteUser", errorCode: audit.ErrPrecondition, mentions: []string{"If-Match"}, resource: uid},
		{name: "CreateGroup duplicate", r: req{Method: "POST", Path: "/Groups", Body: map[string]any{"displayName": "AUDIT GROUP"}},
			status: 409, eventName: "CreateGroup", errorCode: audit.ErrConflict, mentions: []string{"displayName"}},
		{name: "PatchGroup add member", r: req{Method: "PATCH", Path: "/Groups/" + gid, Body: patchBody(op("add", "members", []any{map[string]any{"value": uid}}))},
			status: 200, eventName: "PatchGroup", resource: gid},
		{name: "PatchGroup unknown member", r: req{Method: "PATCH", Path: "/Groups/" + gid, Body: patchBody(op("add", "members", []any{map[string]any{"value": missing}}))},
			status: 400, eventName: "PatchGroup", errorCode: audit.ErrValidation, mentions: []string{"members[0].value", missing}, resource: gid},
		{name: "GetGroup", r: req{Method: "GET", Path: "/Groups/" + gid}, status: 200, eventName: "GetGroup", readOnly: true, resource: gid},
		{name: "ListGroups", r: req{Method: "GET", Path: "/Groups"}, status: 200, eventName: "ListGroups", readOnly: true},
		{name: "Search", r: req{Method: "POST", Path: "/.search", Body: map[string]any{"filter": "displayName pr"}}, status: 200, eventName: "SearchResources", readOnly: true},
		{name: "ServiceProviderConfig", r: req{Method: "GET", Path: "/ServiceProviderConfig"}, status: 200, eventName: "GetServiceProviderConfig", readOnly: true},
		{name: "Schemas with a filter", r: req{Method: "GET", Path: `/Schemas?filter=id eq "x"`}, status: 403, eventName: "ListSchemas",
			errorCode: audit.ErrAccessDenied, mentions: []string{"filter"}, readOnly: true},
		{name: "Me", r: req{Method: "GET", Path: "/Me"}, status: 501, eventName: "GetMe", errorCode: audit.ErrNotSupported, mentions: []string{"/Me"}, readOnly: true},
		{name: "unknown endpoint", r: req{Method: "GET", Path: "/Printers"}, status: 404, eventName: "UnknownEndpoint", errorCode: audit.ErrNotFound, mentions: []string{"/Printers"}, readOnly: true},
		{name: "text/plain", r: req{Method: "POST", Path: "/Users", Body: `{"userName":"x"}`, Header: map[string]string{"Content-Type": "text/plain"}},
			status: 415, eventName: "CreateUser", errorCode: audit.ErrValidation, mentions: []string{"Content-Type"}},
		{name: "oversized body", r: req{Method: "POST", Path: "/Users", Body: `{"userName":"` + strings.Repeat("x", 2<<20) + `"}`},
			status: 413, eventName: "CreateUser", errorCode: audit.ErrPayloadLarge, mentions: []string{"limit"}},
		{name: "DeleteGroup", r: req{Method: "DELETE", Path: "/Groups/" + gid}, status: 204, eventName: "DeleteGroup", resource: gid},
		{name: "DeleteUser", r: req{Method: "DELETE", Path: "/Users/" + uid}, status: 204, eventName: "DeleteUser", resource: uid},
		{name: "DeleteUser again", r: req{Method: "DELETE", Path: "/Users/" + uid}, status: 404, eventName: "DeleteUser", errorCode: audit.ErrNotFound, mentions: []string{uid}, resource: uid},
	}
	for _, ac := range cases {
		r := c.do(ac.r)
		if r.Status != ac.status {
			t.Fatalf("%s: status %d, want %d: %s", ac.name, r.Status, ac.status, truncate(string(r.Raw), 300))
		}
		ac.requestID = r.Header.Get("X-Request-Id")
		if ac.requestID == "" {
			t.Fatalf("%s: no X-Request-Id", ac.name)
		}
	}
	bulkResp := c.post("/Bulk", map[string]any{"schemas": []any{bulkURN}, "Operations": []any{
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "b1", "data": func() map[string]any {
			b := userBody("audit.bulk")
			b["password"] = pw4
			return b
		}()},
		map[string]any{"method": "POST", "path": "/Groups", "bulkId": "b2", "data": map[string]any{"displayName": "audit bulk group", "members": []any{map[string]any{"value": "bulkId:b1"}}}},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "b3", "data": map[string]any{"displayName": "no userName"}},
		map[string]any{"method": "PATCH", "path": "/Users/" + missing, "data": patchBody(op("replace", "title", "x"))},
	}})
	wantStatus(t, bulkResp, 200)
	bulkID := bulkResp.Header.Get("X-Request-Id")

	// Closing the app flushes the read events the recorder buffers.
	e.close()
	events := e.events(t)

	for _, ac := range cases {
		t.Run(ac.name+" yields one "+ac.eventName+" event", func(t *testing.T) {
			var mine []event
			for _, ev := range events {
				if ev.RequestID == ac.requestID {
					mine = append(mine, ev)
				}
			}
			if len(mine) != 1 {
				t.Fatalf("%d events for the request, want exactly 1: %v", len(mine), names(mine))
			}
			ev := mine[0]
			checkEvent(t, ev, ac.eventName, ac.errorCode, ac.readOnly)
			msg := ev.str("errorMessage")
			if ac.errorCode == "" && msg != "" {
				t.Errorf("a success carries errorMessage %q", msg)
			}
			if ac.errorCode != "" && msg == "" {
				t.Errorf("a failure without errorMessage")
			}
			for _, m := range ac.mentions {
				if !strings.Contains(msg, m) {
					t.Errorf("errorMessage %q does not name %q", msg, m)
				}
			}
			if ac.resource != "" && ev.str("resourceId") != ac.resource {
				t.Errorf("resourceId %q, want %q", ev.str("resourceId"), ac.resource)
			}
			if ac.errorCode != audit.ErrUnauthorized {
				if ev.str("userIdentity/principalId") != tokenID {
					t.Errorf("principalId %q, want the token id %q", ev.str("userIdentity/principalId"), tokenID)
				}
				if ev.str("directory") == "" {
					t.Errorf("no directory on an authenticated call")
				}
			} else if ev.str("directory") != "" || ev.str("userIdentity/principalId") != "" {
				t.Errorf("a 401 names a directory or principal: %s", ev.Body)
			}
			if strings.HasPrefix(ac.eventName, "Create") && ac.errorCode == "" && ev.str("resourceId") == "" {
				t.Errorf("%s without the created resource's id", ac.eventName)
			}
			if strings.Contains(strings.ToLower(ev.Body), `"password":`) {
				t.Errorf("the event mentions a password field: %s", truncate(ev.Body, 600))
			}
		})
	}
	t.Run("Bulk yields one Bulk event and one event per operation", func(t *testing.T) {
		var mine []event
		for _, ev := range events {
			if ev.RequestID == bulkID {
				mine = append(mine, ev)
			}
		}
		got := names(mine)
		want := []string{"CreateUser", "CreateGroup", "CreateUser:ValidationException", "PatchUser:ResourceNotFoundException", "Bulk"}
		if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(want), ",") {
			t.Fatalf("events %v, want %v", got, want)
		}
		for _, ev := range mine {
			if ev.Name == "CreateUser" && ev.ErrorCode != "" && !strings.Contains(ev.str("errorMessage"), "userName") {
				t.Errorf("bulk failure message %q does not name userName", ev.str("errorMessage"))
			}
			if ev.str("eventSource") != audit.SourceSCIM || ev.str("userIdentity/principalId") != tokenID {
				t.Errorf("bulk operation event: %s", truncate(ev.Body, 400))
			}
		}
	})
	t.Run("every event of the test is a SCIM event with a request id", func(t *testing.T) {
		for _, ev := range events {
			if ev.str("eventSource") != audit.SourceSCIM || ev.RequestID == "" || ev.str("userIdentity/type") != audit.IdentityScimToken {
				t.Errorf("event %d %s: source %q request %q identity %q", ev.Seq, ev.Name, ev.str("eventSource"), ev.RequestID, ev.str("userIdentity/type"))
			}
			if ev.str("sourceIPAddress") != "127.0.0.1" {
				t.Errorf("event %d sourceIPAddress %q", ev.Seq, ev.str("sourceIPAddress"))
			}
		}
	})
	t.Run("the hash chains verify", func(t *testing.T) {
		// events lists each chain in sequence order, the main chain first.
		verifiers := map[string]*audit.Verifier{}
		for _, ev := range events {
			var decoded audit.Event
			if err := json.Unmarshal([]byte(ev.Body), &decoded); err != nil {
				t.Fatal(err)
			}
			v := verifiers[decoded.Chain]
			if v == nil {
				v = audit.NewChainVerifier(decoded.Chain, nil)
				verifiers[decoded.Chain] = v
			}
			v.Next(audit.Stored{Seq: ev.Seq, PrevHash: ev.PrevHash, Hash: ev.Hash, Body: []byte(ev.Body), Event: decoded,
				EventName: ev.Name, EventSource: decoded.EventSource, ResourceID: decoded.ResourceID, ErrorCode: ev.ErrorCode})
		}
		var total int64
		for chain, v := range verifiers {
			n, p := v.Result()
			if p != nil {
				t.Errorf("%s chain: problem %+v", audit.ChainName(chain), p)
			}
			total += n
		}
		if total != int64(len(events)) {
			t.Errorf("verified %d of %d events", total, len(events))
		}
	})
	t.Run("no token or password appears in any event", func(t *testing.T) {
		secrets := []string{pw1, pw2, pw2 + "x", pw3, pw4, pw5, badToken, e.token}
		for _, ev := range events {
			for _, s := range secrets {
				if strings.Contains(ev.Body, s) {
					t.Errorf("event %d (%s) contains the secret %s", ev.Seq, ev.Name, mask(s))
				}
			}
		}
	})
}

// TestAuditReadEventsOff: with audit.read_events off, successful reads are
// not recorded but failed ones still are.
func TestAuditReadEventsOff(t *testing.T) {
	t.Parallel()
	off := false
	e := newEnv(t, func(c *config.Config) { c.Audit.ReadEvents = &off })
	c := e.client(t)
	id := c.createUser("quiet.reader")
	ok := c.get("/Users/" + id)
	bad := c.get("/Users/" + uuid.NewString())
	write := c.patch("/Users/"+id, op("replace", "title", "x"))
	e.close()
	count := func(r response) int {
		n := 0
		for _, ev := range e.events(t) {
			if ev.RequestID == r.Header.Get("X-Request-Id") {
				n++
			}
		}
		return n
	}
	if n := count(ok); n != 0 {
		t.Errorf("a successful read produced %d events", n)
	}
	if n := count(bad); n != 1 {
		t.Errorf("a failed read produced %d events, want 1", n)
	}
	if n := count(write); n != 1 {
		t.Errorf("a write produced %d events, want 1", n)
	}
}

func checkEvent(t *testing.T, ev event, name, code string, readOnly bool) {
	t.Helper()
	if ev.Name != name || ev.str("eventName") != name {
		t.Errorf("eventName %q (column %q), want %q", ev.str("eventName"), ev.Name, name)
	}
	if ev.ErrorCode != code || ev.str("errorCode") != code {
		t.Errorf("errorCode %q (column %q), want %q; message %q", ev.str("errorCode"), ev.ErrorCode, code, ev.str("errorMessage"))
	}
	if ro, _ := at(ev.Ev, "readOnly").(bool); ro != readOnly {
		t.Errorf("readOnly %v, want %v", ro, readOnly)
	}
	if ev.str("eventSource") != audit.SourceSCIM {
		t.Errorf("eventSource %q", ev.str("eventSource"))
	}
}

func names(evs []event) []string {
	var out []string
	for _, ev := range evs {
		n := ev.Name
		if ev.ErrorCode != "" {
			n += ":" + ev.ErrorCode
		}
		out = append(out, n)
	}
	return out
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }

func ptr[T any](v T) *T { return &v }

// tokenID finds the id of a token by its secret (the audit trail names
// tokens by id).
func (e *env) tokenID(t *testing.T, secret string) string {
	t.Helper()
	ctx := context.Background()
	tok, _, err := e.a.Dir.Authenticate(ctx, secret)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok.ID
}
