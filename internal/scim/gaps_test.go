package scim_test

import (
	"testing"

	"github.com/google/uuid"
)

// TestKnownGaps holds behaviour that differs from the reference
// (shared/reference/scim-server.md, reliability-security.md) and was left
// for a decision. Each subtest skips with KNOWN GAP while the gap exists and
// asserts the expected behaviour once it is closed.
func TestKnownGaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("a group membership cycle is refused", func(t *testing.T) {
		c := e.client(t)
		a, b := c.createGroup("cycle a"), c.createGroup("cycle b")
		wantStatus(t, c.patch("/Groups/"+b, op("add", "members", []any{map[string]any{"value": a}})), 200)
		r := c.patch("/Groups/"+a, op("add", "members", []any{map[string]any{"value": b}}))
		if r.Status == 200 {
			t.Skip("KNOWN GAP: A in B and B in A is accepted; only a group containing itself directly is refused")
		}
		wantError(t, r, 400, "invalidValue")
	})
	t.Run("If-None-Match star on GET is 304 (RFC 7232 §3.2)", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("gap.inm")
		r := c.do(req{Method: "GET", Path: "/Users/" + id, Header: map[string]string{"If-None-Match": "*"}})
		if r.Status == 200 {
			t.Skip("KNOWN GAP: If-None-Match: * is ignored on GET (doGet excludes it explicitly)")
		}
		wantStatus(t, r, 304)
	})
	t.Run("a group member given without a value is refused on POST and PUT too", func(t *testing.T) {
		c := e.client(t)
		uid := c.createUser("gap.member")
		r := c.post("/Groups", map[string]any{"displayName": "gap members", "members": []any{map[string]any{"id": uid}}})
		if r.Status == 201 {
			t.Skip("KNOWN GAP: POST/PUT /Groups drop members that normalise to nothing ({\"id\": x}) silently; PATCH refuses them")
		}
		wantError(t, r, 400, "invalidValue", "value")
	})
	t.Run("manager.value must name a user of the directory", func(t *testing.T) {
		r := e.client(t).post("/Users", map[string]any{"userName": "gap.manager", enterpriseURN: map[string]any{"manager": map[string]any{"value": uuid.NewString()}}})
		if r.Status == 201 {
			t.Skip("KNOWN GAP: enterprise manager.value is stored without checking that the user exists")
		}
		wantError(t, r, 400, "invalidValue", "manager")
	})
	t.Run("PUT without active keeps a deactivated user inactive", func(t *testing.T) {
		c := e.client(t)
		id := c.createUser("gap.active")
		wantStatus(t, c.patch("/Users/"+id, op("replace", "active", false)), 200)
		body := userBody("gap.active")
		delete(body, "active")
		r := c.put("/Users/"+id, body)
		wantStatus(t, r, 200)
		if r.at("active") == true {
			t.Skip("KNOWN GAP: a PUT that omits active re-activates the user (RFC 7644 §3.5.1 allows either; clearing to the default is the riskier choice)")
		}
	})
	t.Run("the CreateUser event records the new id in responseElements", func(t *testing.T) {
		r := e.client(t).post("/Users", userBody("gap.response"))
		wantStatus(t, r, 201)
		evs := e.eventsFor(t, r.Header.Get("X-Request-Id"))
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
		if evs[0].str("resourceId") != r.str("id") {
			t.Errorf("resourceId %q, want %q", evs[0].str("resourceId"), r.str("id"))
		}
		if evs[0].str("responseElements/id") == "" {
			t.Skip("KNOWN GAP: doCreate sets responseElements after the store has written the event in its transaction, so it is never stored (resourceId carries the id)")
		}
	})
}
