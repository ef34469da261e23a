package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestProvisioningIntoASecondGatehouse is the classic setup with two real
// servers: the source directory in one gatehouse serve, an
// aws-identity-center directory in another as the SCIM target. It creates
// the application, tests the connection, assigns a group with a nested
// group, provisions, checks the target over SCIM, reads the failing user's
// log entry (pre-send validation, then the target's own answer), and lets
// the server's scheduler pick up a new member without a command.
func TestProvisioningIntoASecondGatehouse(t *testing.T) {
	src := startServer(t)
	tgt := startServer(t)

	tgt.mustGH("directory", "create", "idc", "--profile", "aws-identity-center")
	token := tgt.token("idc")
	tokenFile := filepath.Join(t.TempDir(), "target.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	src.mustGH("user", "create", "--user-name", "alice", "--given-name", "Alice", "--family-name", "Archer", "--display-name", "Alice Archer", "--email", "alice@corp.example")
	src.mustGH("user", "create", "--user-name", "bob", "--display-name", "Bob", "--email", "bob@corp.example") // no given or family name
	src.mustGH("user", "create", "--user-name", "carol", "--given-name", "Carol", "--family-name", "Cooper", "--display-name", "Carol Cooper", "--email", "carol@corp.example")
	src.mustGH("user", "create", "--user-name", "outsider", "--given-name", "Out", "--family-name", "Sider", "--display-name", "Out Sider")
	src.mustGH("group", "create", "platform", "--member", "carol")
	src.mustGH("group", "create", "engineering", "--member", "alice", "--member", "bob", "--member", "platform")

	out := src.mustGH("app", "create", "aws", "--directory", "default", "--scim-url", tgt.base+"/scim/v2", "--token-file", tokenFile,
		"--target-profile", "aws-identity-center", "--interval", "1h")
	if !strings.Contains(out, "created application aws") {
		t.Fatalf("app create:\n%s", out)
	}
	if strings.Contains(src.mustGH("app", "show", "aws"), token) {
		t.Fatal("app show prints the target token")
	}
	keyBytes, err := os.ReadFile(src.db + ".key")
	if err != nil {
		t.Fatalf("no generated secrets key next to the database: %v", err)
	}
	if st, _ := os.Stat(src.db + ".key"); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
	_ = keyBytes

	out = src.mustGH("app", "test", "aws")
	if !strings.Contains(out, "OK:") {
		t.Fatalf("app test:\n%s", out)
	}
	// A wrong URL is diagnosed precisely.
	src.mustGH("app", "create", "broken", "--directory", "default", "--scim-url", tgt.base+"/nothing/here", "--token-file", tokenFile)
	if out, err := src.gh("app", "test", "broken"); err == nil || !strings.Contains(out, "FAILED") {
		t.Fatalf("test of a wrong URL: %v\n%s", err, out)
	}
	src.mustGH("app", "delete", "broken")

	src.mustGH("app", "assign", "aws", "--group", "engineering")
	out = src.mustGH("app", "provision", "aws")
	if !strings.Contains(out, "cycle ") {
		t.Fatalf("app provision:\n%s", out)
	}

	// The target, over SCIM: alice and carol (nested through platform), not
	// bob (no given name) and not the unassigned outsider.
	users := scimUsers(t, tgt, token)
	if len(users) != 2 || users["alice"] == nil || users["carol"] == nil {
		t.Fatalf("target users: %v", keys(users))
	}
	if users["alice"]["externalId"] == "" || users["alice"]["externalId"] == nil {
		t.Fatalf("alice has no externalId: %v", users["alice"])
	}
	if got := groupMembers(t, tgt, token, "engineering", users); strings.Join(got, ",") != "alice,carol" {
		t.Fatalf("engineering members in the target: %v", got)
	}

	// bob's log entry says why, naming name.givenName: pre-send validation.
	var logs []map[string]any
	if err := json.Unmarshal([]byte(src.mustGH("app", "logs", "aws", "--status", "failure", "--user", "bob", "--json")), &logs); err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 || logs[0]["errorCode"] != "PRESEND_VALIDATION" || !strings.Contains(logs[0]["reason"].(string), "name.givenName") ||
		!strings.Contains(logs[0]["reason"].(string), "give the mapping a default value") {
		t.Fatalf("bob's log entry: %v", logs)
	}
	human := src.mustGH("app", "logs", "aws", "--status", "failure")
	if !strings.Contains(human, "user bob") || !strings.Contains(human, "what to do:") {
		t.Fatalf("human logs:\n%s", human)
	}

	// With pre-send validation off, the target's own answer is in the log.
	src.mustGH("app", "update", "aws", "--no-presend-validation")
	out = src.mustGH("app", "provision", "aws", "--user", "bob")
	if !strings.Contains(out, "import") || !strings.Contains(out, "target answered 400") {
		t.Fatalf("on-demand bob:\n%s", out)
	}
	if err := json.Unmarshal([]byte(src.mustGH("app", "logs", "aws", "--user", "bob", "--limit", "1", "--json")), &logs); err != nil {
		t.Fatal(err)
	}
	resp, _ := logs[0]["targetResponse"].(map[string]any)
	if resp == nil || resp["status"] != float64(400) || !strings.Contains(resp["detail"].(string), "name.givenName") || logs[0]["errorCode"] != "SCIM_400_INVALID_VALUE" {
		t.Fatalf("bob without pre-send validation: %v", logs[0])
	}

	// Status shows the cycles.
	status := src.mustGH("app", "status", "aws")
	if !strings.Contains(status, "2 users and 1 group provisioned") || !strings.Contains(status, "next run:") {
		t.Fatalf("status:\n%s", status)
	}

	// The server's scheduler picks up a new member of the nested group.
	src.mustGH("app", "update", "aws", "--interval", "2s")
	src.mustGH("user", "create", "--user-name", "dave", "--given-name", "Dave", "--family-name", "Doe", "--display-name", "Dave Doe", "--email", "dave@corp.example")
	src.mustGH("group", "add-member", "platform", "dave")
	deadline := time.Now().Add(20 * time.Second)
	for {
		users = scimUsers(t, tgt, token)
		if users["dave"] != nil {
			if got := groupMembers(t, tgt, token, "engineering", users); strings.Join(got, ",") == "alice,carol,dave" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler did not provision dave; status:\n%s", src.mustGH("app", "status", "aws"))
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Give the name mappings defaults (the fix the log recommends): bob goes through.
	if _, err := src.gh("app", "mappings", "set", "aws", "--target", "name.formatted", "--type", "expression", "--source", `Join(" ", [name.givenName]`); err == nil ||
		!strings.Contains(err.Error(), "(name.formatted): expression") {
		t.Fatalf("a broken expression was accepted: %v", err)
	}
	src.mustGH("app", "mappings", "set", "aws", "--target", "name.givenName", "--source", "name.givenName", "--default", "Unknown")
	src.mustGH("app", "mappings", "set", "aws", "--target", "name.familyName", "--source", "name.familyName", "--default", "Unknown")
	src.mustGH("app", "update", "aws", "--presend-validation")
	src.mustGH("app", "provision", "aws")
	users = scimUsers(t, tgt, token)
	if users["bob"] == nil || users["bob"]["name"].(map[string]any)["givenName"] != "Unknown" {
		t.Fatalf("bob after the mapping fix: %v", users["bob"])
	}

	// The audit trail has the engine's events.
	audit := src.mustGH("audit", "lookup", "--json", "--event-source", "provisioning", "--max-results", "200")
	for _, name := range []string{"CreateApplication", "TestConnection", "AssignToApplication", "UpdateAttributeMappings", "StartProvisioningCycle", "EndProvisioningCycle", "ProvisionObject"} {
		if !strings.Contains(audit, `"`+name+`"`) {
			t.Errorf("audit trail lacks %s", name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scimUsers lists the target's users by userName.
func scimUsers(t *testing.T, s *server, token string) map[string]map[string]any {
	t.Helper()
	st, body, _ := s.do("GET", "/scim/v2/Users?count=100", token, nil)
	if st != 200 {
		t.Fatalf("list users: %d %v", st, body)
	}
	out := map[string]map[string]any{}
	list, _ := body["Resources"].([]any)
	for _, r := range list {
		m := r.(map[string]any)
		out[m["userName"].(string)] = m
	}
	return out
}

// groupMembers returns the userNames of a target group's members.
func groupMembers(t *testing.T, s *server, token, name string, users map[string]map[string]any) []string {
	t.Helper()
	st, body, _ := s.do("GET", "/scim/v2/Groups?filter="+url.QueryEscape(`displayName eq "`+name+`"`), token, nil)
	if st != 200 {
		t.Fatalf("find group: %d %v", st, body)
	}
	list, _ := body["Resources"].([]any)
	if len(list) != 1 {
		t.Fatalf("group %s: %v", name, body)
	}
	g := list[0].(map[string]any)
	byID := map[string]string{}
	for n, u := range users {
		byID[u["id"].(string)] = n
	}
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		id := m.(map[string]any)["value"].(string)
		if n, ok := byID[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, "?"+id)
		}
	}
	sort.Strings(out)
	return out
}

// provAdmin calls the admin API with a JSON (or raw string) body.
func (s *server) provAdmin(token, method, path string, body any, hdr ...string) (int, map[string]any, string) {
	s.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
		rd = http.NoBody
	case string:
		rd = strings.NewReader(v)
	default:
		b, _ := json.Marshal(v)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

// TestProvisioningAdminAPI drives applications through /api/v1.
func TestProvisioningAdminAPI(t *testing.T) {
	src := startServer(t)
	tgt := startServer(t)
	tgt.mustGH("directory", "create", "idc", "--profile", "aws-identity-center")
	token := tgt.token("idc")
	src.mustGH("user", "create", "--user-name", "alice", "--given-name", "Alice", "--family-name", "Archer", "--display-name", "Alice Archer")
	var adm struct{ Token string }
	json.Unmarshal([]byte(src.mustGH("admin", "token", "create", "--json")), &adm)
	a := adm.Token

	if st, _, _ := src.provAdmin("", "GET", "/api/v1/applications", nil); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	create := map[string]any{"name": "aws", "targetUrl": tgt.base + "/scim/v2", "token": token, "targetProfile": "aws-identity-center", "interval": "1h"}
	st, body, raw := src.provAdmin(a, "POST", "/api/v1/applications", create)
	if st != 201 || body["name"] != "aws" || strings.Contains(raw, token) {
		t.Fatalf("create: %d %s", st, raw)
	}
	if st, body, _ = src.provAdmin(a, "POST", "/api/v1/applications", create); st != 409 {
		t.Fatalf("duplicate: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "POST", "/api/v1/applications", map[string]any{"name": "x", "targetUrl": "ftp://nope", "token": "t"}); st != 400 || body["field"] != "targetUrl" {
		t.Fatalf("bad url: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "POST", "/api/v1/applications/aws/test", nil); st != 200 || body["ok"] != true {
		t.Fatalf("test: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "POST", "/api/v1/applications/aws/assignments", map[string]any{"type": "User", "principal": "alice"}); st != 201 || body["name"] != "alice" {
		t.Fatalf("assign: %d %v", st, body)
	}
	st, body, raw = src.provAdmin(a, "POST", "/api/v1/applications/aws/provision", map[string]any{"dryRun": true})
	if st != 200 || !strings.Contains(raw, `"writes":["POST /Users`) {
		t.Fatalf("dry run: %d %s", st, raw)
	}
	st, body, raw = src.provAdmin(a, "POST", "/api/v1/applications/aws/provision", map[string]any{"user": "alice"})
	entries, _ := body["entries"].([]any)
	if st != 200 || len(entries) != 1 || entries[0].(map[string]any)["action"] != "Create" {
		t.Fatalf("on demand: %d %s", st, raw)
	}
	if users := scimUsers(t, tgt, token); users["alice"] == nil {
		t.Fatal("alice not in the target")
	}
	if st, body, _ = src.provAdmin(a, "POST", "/api/v1/applications/aws/provision", nil); st != 202 {
		t.Fatalf("run: %d %v", st, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, body, raw = src.provAdmin(a, "GET", "/api/v1/applications/aws/status", nil)
		if cs, _ := body["cycles"].([]any); st == 200 && len(cs) > 0 && cs[0].(map[string]any)["trigger"] == "schedule" && cs[0].(map[string]any)["status"] != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requested cycle did not run: %s", raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, body, raw = src.provAdmin(a, "GET", "/api/v1/applications/aws/logs?user=alice&action=create", nil)
	if es, _ := body["Entries"].([]any); st != 200 || len(es) != 1 {
		t.Fatalf("logs: %d %s", st, raw)
	}
	st, _, raw = src.provAdmin(a, "GET", "/api/v1/applications/aws/mappings", nil, "Accept", "application/yaml")
	if st != 200 || !strings.Contains(raw, "target: externalId") {
		t.Fatalf("mappings yaml: %d %s", st, raw)
	}
	bad := strings.Replace(raw, `source: Join(" ", [name.givenName], [name.familyName])`, `source: Join(" ", [name.givenName]`, 1)
	if st, body, _ = src.provAdmin(a, "PUT", "/api/v1/applications/aws/mappings", bad, "Content-Type", "application/yaml"); st != 400 || !strings.Contains(fmt.Sprint(body["detail"]), "users.mappings[9] (name.formatted)") {
		t.Fatalf("bad mappings: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "PUT", "/api/v1/applications/aws/mappings", raw, "Content-Type", "application/yaml"); st != 200 {
		t.Fatalf("put mappings: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "PATCH", "/api/v1/applications/aws", map[string]any{"settings": map[string]any{"deleteThreshold": 3}, "interval": "30s"}); st != 200 ||
		body["interval"] != "30s" || body["settings"].(map[string]any)["deleteThreshold"] != float64(3) {
		t.Fatalf("patch: %d %v", st, body)
	}
	if st, body, _ = src.provAdmin(a, "PATCH", "/api/v1/applications/aws", map[string]any{"settings": map[string]any{"bogus": 1}}); st != 400 {
		t.Fatalf("unknown setting: %d %v", st, body)
	}
	if st, _, _ = src.provAdmin(a, "DELETE", "/api/v1/applications/aws/assignments/alice?type=User", nil); st != 204 {
		t.Fatalf("unassign: %d", st)
	}
	if st, _, _ = src.provAdmin(a, "DELETE", "/api/v1/applications/aws", nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ = src.provAdmin(a, "GET", "/api/v1/applications/aws", nil); st != 404 {
		t.Fatalf("after delete: %d", st)
	}
}
