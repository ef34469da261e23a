package scim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestOktaSPEC re-implements the assertions of Okta's Runscope SPEC test
// (OIN QA), in its order, with its headers (shared/reference/scim-server.md
// §5.2). The server must already hold one full user.
func TestOktaSPEC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	okta := map[string]string{"Accept": "application/scim+json", "Content-Type": "application/scim+json; charset=utf-8", "User-Agent": "OKTA SCIM Integration"}
	do := func(t *testing.T, method, path string, body any, extra ...string) response {
		t.Helper()
		h := map[string]string{}
		for k, v := range okta {
			h[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return e.client(t).do(req{Method: method, Path: path, Body: body, Header: h})
	}
	seeded := c.createUser("seed.user@okta.local")

	fullUser := func(t *testing.T, r response, prefix string) {
		t.Helper()
		for _, p := range []string{"id", "name/familyName", "name/givenName", "userName", "emails/0/value"} {
			if s, _ := r.at(prefix + p).(string); s == "" {
				t.Errorf("%s%s is empty or missing", prefix, p)
			}
		}
		if _, ok := r.at(prefix + "active").(bool); !ok {
			t.Errorf("%sactive is not a boolean: %#v", prefix, r.at(prefix+"active"))
		}
	}
	var firstID string
	t.Run("01 GET Users with count=1 startIndex=1 returns a full user", func(t *testing.T) {
		r := do(t, "GET", "/Users?count=1&startIndex=1", nil)
		wantStatus(t, r, 200)
		if len(r.list("Resources")) == 0 {
			t.Fatal("Resources is empty")
		}
		if !containsString(r.list("schemas"), listURN) {
			t.Errorf("schemas %v lack ListResponse", r.at("schemas"))
		}
		for _, k := range []string{"itemsPerPage", "startIndex", "totalResults"} {
			if _, ok := r.at(k).(float64); !ok {
				t.Errorf("%s is not a number: %#v", k, r.at(k))
			}
		}
		fullUser(t, r, "Resources/0/")
		firstID = r.str("Resources/0/id")
		if firstID != seeded {
			t.Errorf("first user %s, want the seeded %s", firstID, seeded)
		}
	})
	t.Run("02 GET the user by id returns the same user", func(t *testing.T) {
		r := do(t, "GET", "/Users/"+firstID, nil)
		wantStatus(t, r, 200)
		fullUser(t, r, "")
		if r.str("id") != firstID {
			t.Errorf("id %q, want %q", r.str("id"), firstID)
		}
	})
	t.Run("03 filter on an unknown userName is an empty ListResponse", func(t *testing.T) {
		r := do(t, "GET", `/Users?filter=userName eq "invalid-`+uuid.NewString()+`@example.com"`, nil)
		wantStatus(t, r, 200)
		if !containsString(r.list("schemas"), listURN) || r.num("totalResults") != 0 {
			t.Errorf("want an empty ListResponse, got %s", r.Raw)
		}
	})
	t.Run("04 GET an unknown id is a 404 error", func(t *testing.T) {
		r := do(t, "GET", "/Users/"+uuid.NewString(), nil)
		wantError(t, r, 404, "")
	})
	randomUser := "randomUser-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "@example.com"
	t.Run("05 filter on a random userName is empty", func(t *testing.T) {
		r := do(t, "GET", `/Users?filter=userName eq "`+randomUser+`"`, nil)
		wantStatus(t, r, 200)
		if r.num("totalResults") != 0 {
			t.Errorf("totalResults %d, want 0", r.num("totalResults"))
		}
	})
	body := map[string]any{
		"schemas":  []any{userURN},
		"userName": randomUser,
		"name":     map[string]any{"givenName": "Random", "familyName": "User"},
		"emails":   []any{map[string]any{"primary": true, "value": randomUser, "type": "work"}},
		"active":   true,
		"password": e.secret("spec-" + uuid.NewString()),
	}
	var created string
	t.Run("06 POST a user with application/json is 201 with the user", func(t *testing.T) {
		r := do(t, "POST", "/Users", body, "Content-Type", "application/json")
		wantStatus(t, r, 201)
		if r.at("active") != true {
			t.Errorf("active %#v, want true", r.at("active"))
		}
		created = r.str("id")
		if created == "" {
			t.Fatal("id is empty")
		}
		if r.str("name/familyName") != "User" || r.str("name/givenName") != "Random" || r.str("userName") != randomUser {
			t.Errorf("values differ: %s", r.Raw)
		}
		if !containsString(r.list("schemas"), userURN) {
			t.Errorf("schemas %v lack the core User schema", r.at("schemas"))
		}
	})
	t.Run("07 GET the created user returns the same values", func(t *testing.T) {
		r := do(t, "GET", "/Users/"+created, nil)
		wantStatus(t, r, 200)
		if r.str("id") != created || r.str("userName") != randomUser || r.str("name/familyName") != "User" || r.str("name/givenName") != "Random" {
			t.Errorf("values differ: %s", r.Raw)
		}
	})
	t.Run("08 the same POST again is a 409", func(t *testing.T) {
		r := do(t, "POST", "/Users", body, "Content-Type", "application/json")
		wantError(t, r, http.StatusConflict, "uniqueness", "userName")
	})
	t.Run("09 filter with the userName in capitals finds the user", func(t *testing.T) {
		r := do(t, "GET", `/Users?filter=userName eq "`+strings.ToUpper(randomUser)+`"`, nil)
		wantStatus(t, r, 200)
		if r.num("totalResults") != 1 || r.str("Resources/0/id") != created {
			t.Errorf("case-insensitive userName filter: %s", r.Raw)
		}
	})
	t.Run("10 GET Groups answers within 600 ms", func(t *testing.T) {
		start := time.Now()
		r := do(t, "GET", "/Groups", nil)
		d := time.Since(start)
		wantStatus(t, r, 200)
		if d > 600*time.Millisecond {
			t.Errorf("GET /Groups took %s; Okta's test allows 600ms", d)
		}
	})
	t.Run("11 a request with Authorization non-token is a 401 whose status is the string 401", func(t *testing.T) {
		r := e.client(t).as("").do(req{Method: "GET", Path: `/Users?filter=userName eq "` + randomUser + `"`,
			Header: map[string]string{"Authorization": "non-token", "Accept": "application/scim+json", "User-Agent": "OKTA SCIM Integration"}})
		wantError(t, r, 401, "")
		if r.Body["status"] != "401" {
			t.Errorf("status %#v, want \"401\"", r.Body["status"])
		}
	})
	t.Run("12 GET a numeric unknown id is a 404 whose status is the string 404", func(t *testing.T) {
		r := do(t, "GET", "/Users/00919288221112222", nil)
		wantError(t, r, 404, "")
		if r.Body["status"] != "404" {
			t.Errorf("status %#v, want \"404\"", r.Body["status"])
		}
	})
}
