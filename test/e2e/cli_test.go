package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokensAndDirectoriesThroughTheCLI walks the "enable automatic
// provisioning" step: tokens per directory, the two-token limit, revocation.
func TestTokensAndDirectoriesThroughTheCLI(t *testing.T) {
	s := startServer(t)
	s.mustGH("directory", "create", "idc", "--profile", "aws-identity-center")
	out := s.mustGH("directory", "list")
	if !strings.Contains(out, "default") || !strings.Contains(out, "aws-identity-center") {
		t.Fatalf("directory list:\n%s", out)
	}
	human := s.mustGH("scim", "token", "create", "--directory", "idc", "--description", "entra")
	if !strings.Contains(human, "SCIM endpoint:  "+s.base+"/scim/v2") || !strings.Contains(human, "Access token:   ghscim_") {
		t.Fatalf("token create output:\n%s", human)
	}
	tok2 := s.token("idc")
	if _, err := s.gh("scim", "token", "create", "--directory", "idc"); err == nil || !strings.Contains(err.Error(), "revoke one") {
		t.Fatalf("third active token: %v", err)
	}
	// The token selects the directory: a user created with an idc token is
	// invisible to a default-directory token.
	st, _, _ := s.do("POST", "/scim/v2/Users", tok2, map[string]any{"userName": "bob", "displayName": "Bob B",
		"name": map[string]any{"givenName": "Bob", "familyName": "B"}, "emails": []any{map[string]any{"value": "bob@x.example", "primary": true}}})
	if st != http.StatusCreated {
		t.Fatalf("create in idc: %d", st)
	}
	def := s.token("default")
	_, body, _ := s.do("GET", "/scim/v2/Users", def, nil)
	if body["totalResults"].(float64) != 0 {
		t.Fatalf("default directory sees idc's users: %v", body)
	}
	var list []struct{ ID, Status string }
	json.Unmarshal([]byte(s.mustGH("scim", "token", "list", "--directory", "idc", "--json")), &list)
	if len(list) != 2 {
		t.Fatalf("token list: %+v", list)
	}
	listing := s.mustGH("scim", "token", "list", "--directory", "idc")
	if strings.Contains(listing, tok2) || strings.Contains(s.mustGH("scim", "token", "list", "--directory", "idc", "--json"), "ghscim_") {
		t.Fatal("token list shows a secret")
	}
	for _, tk := range list {
		s.mustGH("scim", "token", "revoke", tk.ID)
	}
	st, body, _ = s.do("GET", "/scim/v2/Users", tok2, nil)
	if st != 401 || body["status"] != "401" || body["detail"] == "" {
		t.Fatalf("revoked token: %d %v", st, body)
	}
	if _, err := s.gh("scim", "token", "create", "--directory", "nope"); err == nil || !strings.Contains(err.Error(), `directory "nope" does not exist`) {
		t.Fatalf("unknown directory: %v", err)
	}
}

// TestUsersAndGroupsThroughTheCLI: CLI writes while the server runs are
// visible over SCIM, with the same validation and audit.
func TestUsersAndGroupsThroughTheCLI(t *testing.T) {
	s := startServer(t)
	tok := s.token("default")
	s.mustGH("user", "create", "--user-name", "bob", "--given-name", "Bob", "--family-name", "Builder", "--email", "bob@example.com")
	s.mustGH("group", "create", "aws-sso-read-only", "--member", "bob")
	s.mustGH("group", "create", "all-staff", "--member", "aws-sso-read-only")
	_, body, _ := s.do("GET", `/scim/v2/Users?filter=userName%20eq%20%22bob%22`, tok, nil)
	res := body["Resources"].([]any)[0].(map[string]any)
	groups := res["groups"].([]any)
	if len(groups) != 2 {
		t.Fatalf("bob's groups over SCIM: %v", groups)
	}
	out := s.mustGH("user", "update", "bob", "--given-name", "Robert", "--active=false")
	if !strings.Contains(out, "false") {
		t.Fatalf("update output:\n%s", out)
	}
	var shown map[string]any
	json.Unmarshal([]byte(s.mustGH("user", "show", "bob", "--json")), &shown)
	if shown["name"].(map[string]any)["givenName"] != "Robert" || shown["active"] != false {
		t.Fatalf("user show: %v", shown)
	}
	if _, err := s.gh("user", "create", "--user-name", "BOB"); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("duplicate userName via CLI: %v", err)
	}
	s.mustGH("group", "remove-member", "aws-sso-read-only", "bob")
	if out := s.mustGH("group", "show", "aws-sso-read-only"); !strings.Contains(out, "0 members") {
		t.Fatalf("after remove-member:\n%s", out)
	}
	// Bulk import: bad rows are reported, good rows load.
	csv := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(csv, []byte("userName,givenName,familyName,email,title\nalice,Alice,A,alice@example.com,Engineer\n,No,Name,x@example.com,\ncarol,Carol,C,carol@example.com,\n"), 0o600)
	out, err := s.gh("user", "import", "--file", csv)
	if err == nil || !strings.Contains(out, "2 created, 1 failed") || !strings.Contains(out, "userName is required") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	var all struct{ TotalResults int }
	json.Unmarshal([]byte(s.mustGH("user", "list", "--json")), &all)
	if all.TotalResults != 3 {
		t.Fatalf("users after import: %d", all.TotalResults)
	}
	// Every action above is in the audit trail, the failures with their reason.
	var look struct{ Events []map[string]any }
	json.Unmarshal([]byte(s.mustGH("audit", "lookup", "--error-code", "ValidationException", "--json")), &look)
	if len(look.Events) != 1 || !strings.Contains(look.Events[0]["errorMessage"].(string), "userName is required") {
		t.Fatalf("validation failures in audit: %v", look.Events)
	}
	if out := s.mustGH("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("verify: %s", out)
	}
}

// TestAuditAPI: the admin API serves LookupEvents with an admin token.
func TestAuditAPI(t *testing.T) {
	s := startServer(t)
	tok := s.token("default")
	s.do("POST", "/scim/v2/Users", tok, map[string]any{"displayName": "no user name"})
	var adm struct{ Token string }
	json.Unmarshal([]byte(s.mustGH("admin", "token", "create", "--json")), &adm)
	get := func(token, query string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/audit/events?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	st, body := get(adm.Token, "eventName=CreateUser&errorCode=ValidationException")
	if st != 200 {
		t.Fatalf("lookup: %d %v", st, body)
	}
	evs := body["Events"].([]any)
	if len(evs) != 1 {
		t.Fatalf("events: %v", evs)
	}
	ev := evs[0].(map[string]any)
	if ev["eventSource"] != "scim" || !strings.Contains(ev["errorMessage"].(string), "userName") || ev["requestID"] == "" {
		t.Fatalf("event: %v", ev)
	}
	if strings.Contains(body["Events"].([]any)[0].(map[string]any)["userIdentity"].(map[string]any)["principalId"].(string), "ghscim_") {
		t.Fatal("token secret in userIdentity")
	}
	if st, body := get(adm.Token, "startTime=yesterday-ish"); st != 400 || body["field"] != "startTime" {
		t.Fatalf("bad startTime: %d %v", st, body)
	}
	if st, _ := get(tok, ""); st != 401 {
		t.Fatalf("SCIM token on admin API: %d", st)
	}
}
