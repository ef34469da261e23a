package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// accessUser and accessGroup provision like an IdP does and return the id.
func (s *server) accessUser(tok, userName string) string {
	s.t.Helper()
	st, body, _ := s.do("POST", "/scim/v2/Users", tok, map[string]any{"userName": userName, "name": map[string]any{"givenName": userName, "familyName": "X"},
		"emails": []any{map[string]any{"value": userName + "@example.com", "primary": true}}})
	if st != http.StatusCreated {
		s.t.Fatalf("create user %s: %d %v", userName, st, body)
	}
	return body["id"].(string)
}

func (s *server) accessGroup(tok, name string, members ...string) string {
	s.t.Helper()
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	st, body, _ := s.do("POST", "/scim/v2/Groups", tok, map[string]any{"displayName": name, "members": ms})
	if st != http.StatusCreated {
		s.t.Fatalf("create group %s: %d %v", name, st, body)
	}
	return body["id"].(string)
}

// accessPaths runs access show --json and returns every reason's path.
func (s *server) accessPaths(user string) []string {
	s.t.Helper()
	var ua struct {
		Entitlements []struct {
			Via []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(s.mustGH("access", "show", "--user", user, "--json")), &ua); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range ua.Entitlements {
		for _, r := range e.Via {
			out = append(out, r.Path)
		}
	}
	return out
}

func (s *server) accessEvents(extra ...string) []map[string]any {
	s.t.Helper()
	var look struct{ Events []map[string]any }
	args := append([]string{"audit", "lookup", "--event-source", "access", "--max-results", "1000", "--json"}, extra...)
	if err := json.Unmarshal([]byte(s.mustGH(args...)), &look); err != nil {
		s.t.Fatal(err)
	}
	return look.Events
}

// TestAccessThroughTheCLI walks the classic setup: an IdP provisions users
// and nested groups over SCIM, an operator grants access with the CLI, and
// the entitlements explain themselves and follow membership changes.
func TestAccessThroughTheCLI(t *testing.T) {
	s := startServer(t)
	tok := s.token("default")
	bob, alice := s.accessUser(tok, "bob"), s.accessUser(tok, "alice")
	teamA := s.accessGroup(tok, "team-a", bob)
	eng := s.accessGroup(tok, "all-engineers", teamA)
	ro := s.accessGroup(tok, "aws-sso-read-only", bob)
	_ = eng

	s.mustGH("account", "create", "111122223333", "--name", "Production", "--email", "aws-prod@example.com", "--tag", "env=prod")
	s.mustGH("account", "create", "444455556666", "--name", "Development")
	if _, err := s.gh("account", "create", "11112222333", "--name", "Short"); err == nil || !strings.Contains(err.Error(), "12-digit") {
		t.Fatalf("11-digit account id: %v", err)
	}
	s.mustGH("permission-set", "create", "ViewOnlyAccess", "--description", "Read-only access", "--session-duration", "PT8H")
	s.mustGH("permission-set", "attach-policy", "ViewOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
	policy := filepath.Join(t.TempDir(), "power.json")
	os.WriteFile(policy, []byte(`{"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}`), 0o600)
	s.mustGH("permission-set", "create", "PowerUser", "--relay-state", "https://console.aws.amazon.com/ec2/home")
	s.mustGH("permission-set", "put-inline-policy", "PowerUser", "--file", policy)
	s.mustGH("permission-set", "attach-policy", "PowerUser", "--customer-managed", "/team/ReadBuckets")
	s.mustGH("permission-set", "put-permissions-boundary", "PowerUser", "arn:aws:iam::aws:policy/PowerUserAccess")

	// Rules name the field.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"permission-set", "create", "ThisNameIsMuchTooLongForAnAWSRole1"}, "limit is 32"},
		{[]string{"permission-set", "create", "Bad", "--session-duration", "PT13H"}, "PT1H to PT12H"},
		{[]string{"permission-set", "create", "Bad", "--relay-state", "http://console.aws.amazon.com"}, "https://"},
		{[]string{"permission-set", "attach-policy", "PowerUser", "arn:aws:iam::aws:role/Admin"}, "not a managed policy ARN"},
		{[]string{"permission-set", "put-inline-policy", "PowerUser", "--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Permit","Action":"*","Resource":"*"}]}`},
			"inlinePolicy.Statement[1].Effect must be Allow or Deny"},
		{[]string{"permission-set", "put-inline-policy", "PowerUser", "--policy", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`},
			"inlinePolicy.Statement.Principal is not allowed"},
		{[]string{"permission-set", "create", "viewonlyaccess"}, "already exists"},
		{[]string{"assignment", "create", "--account", "Production", "--permission-set", "Nope", "--group", "team-a"}, `no permission set with id or name "Nope"`},
	} {
		if _, err := s.gh(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}

	s.mustGH("assignment", "create", "--account", "111122223333", "--permission-set", "ViewOnlyAccess", "--group", "aws-sso-read-only")
	s.mustGH("assignment", "create", "--account", "Development", "--permission-set", "poweruser", "--group", "all-engineers")
	s.mustGH("assignment", "create", "--account", "Development", "--permission-set", "PowerUser", "--user", "alice")
	if _, err := s.gh("assignment", "create", "--account", "Development", "--permission-set", "PowerUser", "--user", "alice"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate assignment: %v", err)
	}

	want := []string{
		"bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333",
		"bob -> team-a -> all-engineers -> PowerUser on 444455556666",
	}
	if got := s.accessPaths("bob"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("access show bob:\n got %q\nwant %q", got, want)
	}
	table := s.mustGH("access", "show", "--user", "bob")
	if !strings.Contains(table, "bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333") || !strings.Contains(table, "Production") {
		t.Fatalf("access show table:\n%s", table)
	}
	who := s.mustGH("access", "who", "--account", "444455556666")
	if !strings.Contains(who, "2 users") || !strings.Contains(who, "alice -> PowerUser on 444455556666") || !strings.Contains(who, "bob -> team-a -> all-engineers -> PowerUser") {
		t.Fatalf("access who:\n%s", who)
	}
	if who := s.mustGH("access", "who", "--account", "444455556666", "--permission-set", "ViewOnlyAccess"); !strings.Contains(who, "0 users") {
		t.Fatalf("access who, other permission set:\n%s", who)
	}

	// A cycle in nesting (all-engineers -> team-a -> all-engineers) is refused
	// at write time, naming both groups; entitlements are unchanged. (Reads
	// that meet a cycle made some other way terminate: the store contract
	// suites cover that with cycles written directly.)
	st, body, _ := s.do("PATCH", "/scim/v2/Groups/"+teamA, tok, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": eng}}}}})
	if st != 400 || !strings.Contains(fmt.Sprint(body["detail"]), "would create a cycle") {
		t.Fatalf("make a cycle: %d %v", st, body)
	}
	if got := s.accessPaths("bob"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a refused cycle:\n got %q\nwant %q", got, want)
	}

	// Membership changes from SCIM are visible at once.
	st, _, _ = s.do("PATCH", "/scim/v2/Groups/"+ro, tok, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", bob)}}})
	if st >= 300 {
		t.Fatalf("remove bob: %d", st)
	}
	if got := s.accessPaths("bob"); fmt.Sprint(got) != fmt.Sprint(want[1:]) {
		t.Fatalf("after removing bob from aws-sso-read-only: %q", got)
	}
	s.mustGH("group", "add-member", "aws-sso-read-only", "bob")
	if got := s.accessPaths("bob"); len(got) != 2 {
		t.Fatalf("after adding bob back: %q", got)
	}

	// Reference protection: refused with the references listed, unless --cascade.
	if _, err := s.gh("account", "delete", "Development"); err == nil ||
		!strings.Contains(err.Error(), "account 444455556666 (Development) is still used by 2 account assignments") ||
		!strings.Contains(err.Error(), "PowerUser on 444455556666 to GROUP all-engineers") {
		t.Fatalf("account delete: %v", err)
	}
	if _, err := s.gh("permission-set", "delete", "ViewOnlyAccess"); err == nil || !strings.Contains(err.Error(), "still used by 1 account assignment") {
		t.Fatalf("permission set delete: %v", err)
	}
	if _, err := s.gh("user", "delete", "alice"); err == nil || !strings.Contains(err.Error(), `user "alice" is still used by 1 account assignment`) {
		t.Fatalf("user delete: %v", err)
	}
	// The refusal is in the audit trail with its reason.
	if out := s.mustGH("audit", "lookup", "--event-name", "DeleteUser", "--user-name", "alice", "--json"); !strings.Contains(out, "is still used by 1 account assignment") {
		t.Fatalf("refused delete not audited: %s", out)
	}
	if _, err := s.gh("group", "delete", "aws-sso-read-only"); err == nil || !strings.Contains(err.Error(), `group "aws-sso-read-only" is still used`) {
		t.Fatalf("group delete: %v", err)
	}
	if st, _, _ := s.do("GET", "/scim/v2/Users/"+alice, tok, nil); st != 200 {
		t.Fatalf("refused delete removed alice: %d", st)
	}
	out := s.mustGH("user", "delete", "alice", "--cascade")
	if !strings.Contains(out, "deleted user alice") {
		t.Fatalf("user delete --cascade: %s", out)
	}
	// The IdP is the source of truth: a SCIM DELETE cascades, atomically.
	if st, _, _ := s.do("DELETE", "/scim/v2/Groups/"+eng, tok, nil); st != http.StatusNoContent {
		t.Fatalf("SCIM delete group: %d", st)
	}
	if got := s.accessPaths("bob"); fmt.Sprint(got) != fmt.Sprint(want[:1]) {
		t.Fatalf("after the SCIM delete: %q", got)
	}
	var removed struct {
		RemovedAssignments []map[string]any
	}
	json.Unmarshal([]byte(s.mustGH("account", "delete", "Production", "--cascade", "--json")), &removed)
	if len(removed.RemovedAssignments) != 1 {
		t.Fatalf("account delete --cascade: %+v", removed)
	}
	if list := s.mustGH("assignment", "list"); !strings.Contains(list, "(none)") {
		t.Fatalf("assignments left:\n%s", list)
	}

	// Every change is in the audit trail, each cascaded removal with its own event.
	evs := s.accessEvents()
	for name, n := range map[string]int{"CreateAccount": 2, "CreatePermissionSet": 2, "AttachManagedPolicyToPermissionSet": 1,
		"AttachCustomerManagedPolicyReferenceToPermissionSet": 1, "PutInlinePolicyToPermissionSet": 1, "PutPermissionsBoundaryToPermissionSet": 1,
		"CreateAccountAssignment": 3, "DeleteAccountAssignment": 3, "DeleteAccount": 1} {
		ok := 0
		for _, e := range evs {
			if e["eventName"] == name && e["errorCode"] == nil {
				ok++
			}
		}
		if ok != n {
			t.Errorf("%d successful %s events, want %d", ok, name, n)
		}
	}
	var scimCascade, conflicts int
	for _, e := range evs {
		if e["eventName"] == "DeleteAccountAssignment" && e["userIdentity"].(map[string]any)["type"] == "ScimToken" {
			scimCascade++
			if !strings.Contains(fmt.Sprint(e["additionalEventData"]), "DeleteGroup") {
				t.Errorf("cascade event without its cause: %v", e)
			}
		}
		if e["errorCode"] == "ConflictException" && strings.HasPrefix(e["eventName"].(string), "Delete") {
			conflicts++
		}
	}
	if scimCascade != 1 || conflicts != 2 {
		t.Errorf("SCIM cascade events %d (want 1), conflicts %d (want 2: account and permission set)", scimCascade, conflicts)
	}
	if out := s.mustGH("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("verify: %s", out)
	}
}

// accessAdmin sends an admin API request and decodes the JSON answer.
func (s *server) accessAdmin(token, method, path string, body any) (int, map[string]any, http.Header) {
	s.t.Helper()
	var rd *bytes.Reader
	switch v := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(v))
	default:
		b, _ := json.Marshal(v)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// TestAccessAdminAPI drives the same model through /api/v1 with an admin token.
func TestAccessAdminAPI(t *testing.T) {
	s := startServer(t)
	tok := s.token("default")
	bob := s.accessUser(tok, "bob")
	teamA := s.accessGroup(tok, "team-a", bob)
	ro := s.accessGroup(tok, "aws-sso-read-only", teamA)
	var adm struct{ Token string }
	json.Unmarshal([]byte(s.mustGH("admin", "token", "create", "--json")), &adm)
	a := adm.Token

	expectProblem := func(name string, st int, body map[string]any, wantStatus int, field, detail string) {
		t.Helper()
		if st != wantStatus || body["field"] != field || !strings.Contains(fmt.Sprint(body["detail"]), detail) || body["requestId"] == "" {
			t.Errorf("%s: %d %v; want %d naming %q with %q", name, st, body, wantStatus, field, detail)
		}
	}
	if st, body, _ := s.accessAdmin("", "GET", "/api/v1/accounts", nil); st != 401 {
		t.Fatalf("no token: %d %v", st, body)
	}
	if st, body, _ := s.accessAdmin(tok, "GET", "/api/v1/accounts", nil); st != 401 {
		t.Fatalf("SCIM token: %d %v", st, body)
	}
	st, body, hdr := s.accessAdmin(a, "POST", "/api/v1/accounts", map[string]any{"id": "111122223333", "name": "Production", "tags": map[string]string{"env": "prod"}})
	if st != 201 || hdr.Get("Location") != "/api/v1/accounts/111122223333" || body["type"] != "AWS_ACCOUNT" {
		t.Fatalf("create account: %d %v %v", st, body, hdr)
	}
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/accounts", map[string]any{"id": "111122223333", "name": "Again"})
	expectProblem("duplicate account", st, body, 409, "id", "already exists")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/accounts", map[string]any{"id": "1111", "name": "Short"})
	expectProblem("short account id", st, body, 400, "id", "12-digit")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/accounts", map[string]any{"id": "444455556666", "name": "Dev", "owner": "me"})
	expectProblem("unknown field", st, body, 400, "owner", "not a field")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/accounts", map[string]any{"id": 444455556666, "name": "Dev"})
	expectProblem("wrong type", st, body, 400, "id", "string")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/accounts", `{"id": "444455556666",`)
	expectProblem("bad JSON", st, body, 400, "body", "JSON")
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/accounts/production", nil)
	if st != 200 || body["id"] != "111122223333" {
		t.Fatalf("get account by name: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/accounts?directory=nope", nil)
	expectProblem("unknown directory", st, body, 404, "directory", `"nope" does not exist`)

	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/permission-sets", map[string]any{"name": "View Only"})
	expectProblem("bad name", st, body, 400, "name", "may contain only")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/permission-sets", map[string]any{"name": "ViewOnlyAccess",
		"inlinePolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "s3:Get*"}}}})
	expectProblem("inline policy without Resource", st, body, 400, "inlinePolicy.Statement[0].Resource", "Resource or NotResource")
	st, body, hdr = s.accessAdmin(a, "POST", "/api/v1/permission-sets", map[string]any{"name": "ViewOnlyAccess", "sessionDuration": "PT4H",
		"managedPolicies": []string{"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"},
		"inlinePolicy":    `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}}`})
	if st != 201 || !strings.HasPrefix(fmt.Sprint(body["id"]), "ps-") || body["sessionDuration"] != "PT4H" {
		t.Fatalf("create permission set: %d %v", st, body)
	}
	psPath := hdr.Get("Location")
	st, body, _ = s.accessAdmin(a, "POST", psPath+"/managed-policies", map[string]any{"managedPolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"})
	if st != 200 || len(body["managedPolicies"].([]any)) != 2 || body["version"].(float64) != 2 {
		t.Fatalf("attach: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "POST", psPath+"/managed-policies", map[string]any{"managedPolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"})
	expectProblem("attach twice", st, body, 409, "managedPolicyArn", "already attached")
	st, body, _ = s.accessAdmin(a, "DELETE", psPath+"/managed-policies?managedPolicyArn=arn:aws:iam::aws:policy/AWSSupportAccess", nil)
	if st != 200 || len(body["managedPolicies"].([]any)) != 1 {
		t.Fatalf("detach: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "POST", psPath+"/customer-managed-policies", map[string]any{"name": "ReadLogs", "path": "ops/"})
	expectProblem("bad path", st, body, 400, "customerManagedPolicyReference.path", "start and end with /")
	st, body, _ = s.accessAdmin(a, "PUT", psPath+"/inline-policy", `{"inlinePolicy": {"Version": "2012-10-17",
		"Statement": {"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}}}`)
	if st != 200 || !strings.Contains(fmt.Sprint(body["inlinePolicy"]), "logs:Get*") {
		t.Fatalf("put inline policy: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "GET", psPath+"/inline-policy", nil)
	if st != 200 || body["inlinePolicy"] != `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:Get*","Resource":"*"}}` {
		t.Fatalf("get inline policy: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "PUT", psPath+"/permissions-boundary", map[string]any{"customerManagedPolicyReference": map[string]any{"name": "Boundary"}})
	if st != 200 || body["permissionsBoundary"].(map[string]any)["customerManagedPolicyReference"].(map[string]any)["path"] != "/" {
		t.Fatalf("put boundary: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "PATCH", psPath, map[string]any{"sessionDuration": "PT24H"})
	expectProblem("24h session", st, body, 400, "sessionDuration", "PT1H to PT12H")
	st, body, _ = s.accessAdmin(a, "PATCH", psPath, map[string]any{"description": "Read-only", "relayState": "https://console.aws.amazon.com/"})
	if st != 200 || body["description"] != "Read-only" {
		t.Fatalf("update: %d %v", st, body)
	}

	st, body, hdr = s.accessAdmin(a, "POST", "/api/v1/assignments", map[string]any{"accountId": "111122223333", "permissionSetName": "ViewOnlyAccess",
		"principalType": "GROUP", "principalId": ro})
	if st != 201 || body["principalName"] != "aws-sso-read-only" {
		t.Fatalf("create assignment: %d %v", st, body)
	}
	asPath := hdr.Get("Location")
	st, body, _ = s.accessAdmin(a, "POST", "/api/v1/assignments", map[string]any{"accountId": "111122223333", "permissionSetName": "ViewOnlyAccess",
		"principalType": "USER", "principalId": ro})
	expectProblem("group id as a user", st, body, 404, "principalId", "not a user")
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/assignments?principalType=GROUP&principalId="+ro, nil)
	if st != 200 || len(body["assignments"].([]any)) != 1 {
		t.Fatalf("list by principal: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/users/bob/entitlements", nil)
	if st != 200 {
		t.Fatalf("entitlements: %d %v", st, body)
	}
	via := body["entitlements"].([]any)[0].(map[string]any)["via"].([]any)[0].(map[string]any)
	if via["path"] != "bob -> team-a -> aws-sso-read-only -> ViewOnlyAccess on 111122223333" || len(via["groups"].([]any)) != 2 {
		t.Fatalf("entitlement: %v", via)
	}
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/accounts/111122223333/access?permissionSet=ViewOnlyAccess", nil)
	if st != 200 || len(body["entitlements"].([]any)) != 1 {
		t.Fatalf("who: %d %v", st, body)
	}

	st, body, _ = s.accessAdmin(a, "DELETE", "/api/v1/accounts/111122223333", nil)
	expectProblem("delete referenced account", st, body, 409, "cascade", "still used by 1 account assignment")
	st, body, _ = s.accessAdmin(a, "DELETE", "/api/v1/permission-sets/ViewOnlyAccess?cascade=maybe", nil)
	expectProblem("bad cascade", st, body, 400, "cascade", "true or false")
	st, body, _ = s.accessAdmin(a, "DELETE", asPath, nil)
	if st != 200 || body["principalName"] != "aws-sso-read-only" {
		t.Fatalf("delete assignment: %d %v", st, body)
	}
	s.accessAdmin(a, "POST", "/api/v1/assignments", map[string]any{"accountId": "111122223333", "permissionSetId": psPath[len("/api/v1/permission-sets/"):],
		"principalType": "USER", "principalId": bob})
	st, body, _ = s.accessAdmin(a, "DELETE", "/api/v1/permission-sets/ViewOnlyAccess?cascade=true", nil)
	if st != 200 || len(body["removedAssignments"].([]any)) != 1 {
		t.Fatalf("delete permission set with cascade: %d %v", st, body)
	}
	st, body, _ = s.accessAdmin(a, "DELETE", "/api/v1/accounts/111122223333", nil)
	if st != 200 || len(body["removedAssignments"].([]any)) != 0 {
		t.Fatalf("delete account: %d %v", st, body)
	}

	// The API's changes and refusals are audited under source "access"
	// (LookupEvents over the admin API, too).
	// Reads are buffered by the recorder (flushed every 200 ms): wait for them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, body, _ = s.accessAdmin(a, "GET", "/api/v1/audit/events?eventSource=access&eventName=ListAccountAccess", nil)
		if st != 200 || len(body["Events"].([]any)) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, body, _ = s.accessAdmin(a, "GET", "/api/v1/audit/events?eventSource=access&maxResults=1000", nil)
	if st != 200 {
		t.Fatalf("audit lookup: %d %v", st, body)
	}
	evs := body["Events"].([]any)
	names := map[string]int{}
	for _, e := range evs {
		m := e.(map[string]any)
		key := m["eventName"].(string)
		if m["errorCode"] != nil {
			key += ":" + m["errorCode"].(string)
		}
		names[key]++
		if m["requestID"] == "" || m["userIdentity"].(map[string]any)["principalId"] == "" {
			t.Errorf("event without request id or caller: %v", m)
		}
	}
	for _, k := range []string{"CreateAccount", "CreateAccount:ConflictException", "CreateAccount:ValidationException", "CreatePermissionSet",
		"AttachManagedPolicyToPermissionSet", "AttachManagedPolicyToPermissionSet:ConflictException", "DetachManagedPolicyFromPermissionSet",
		"PutInlinePolicyToPermissionSet", "PutPermissionsBoundaryToPermissionSet", "UpdatePermissionSet", "UpdatePermissionSet:ValidationException",
		"CreateAccountAssignment", "DeleteAccountAssignment", "DeleteAccount:ConflictException", "DeletePermissionSet", "DeleteAccount",
		"ListUserEntitlements", "ListAccountAccess", "DescribeAccount"} {
		if names[k] == 0 {
			t.Errorf("no %s event; have %v", k, names)
		}
	}
	if names["DeleteAccountAssignment"] != 2 {
		t.Errorf("DeleteAccountAssignment events: %d, want 2 (one direct, one cascaded)", names["DeleteAccountAssignment"])
	}
}
