package e2e

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProvisioningRolesUniqueNamesExportAndStart drives, through the real
// binary against a second Gatehouse: app roles on assignments mapped with
// SingleAppRoleAssignment, userNames chosen by SelectUniqueValue against
// what the target holds (dry run, then a real cycle), the three-file log
// export, and pause/start with status and audit.
func TestProvisioningRolesUniqueNamesExportAndStart(t *testing.T) {
	src := startServer(t)
	tgt := startServer(t)
	tgt.mustGH("directory", "create", "gen")
	token := tgt.token("gen")
	tokenFile := filepath.Join(t.TempDir(), "target.token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	// aarcher is taken in the target already.
	if st, body, _ := tgt.do("POST", "/scim/v2/Users", token, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "aarcher"}); st != 201 {
		t.Fatalf("pre-existing target user: %d %v", st, body)
	}
	src.mustGH("user", "create", "--user-name", "alice", "--given-name", "Alice", "--family-name", "Archer", "--display-name", "Alice Archer")
	src.mustGH("user", "create", "--user-name", "adam", "--given-name", "Adam", "--family-name", "Archer", "--display-name", "Adam Archer")
	src.mustGH("group", "create", "eng", "--member", "alice")
	src.mustGH("app", "create", "gen", "--directory", "default", "--scim-url", tgt.base+"/scim/v2", "--token-file", tokenFile, "--interval", "1h")
	// Paused, the server's scheduler leaves it alone: the cycles below are
	// the CLI's (a paused application can still be provisioned by hand).
	if out := src.mustGH("app", "pause", "gen"); !strings.Contains(out, "paused application gen") {
		t.Fatalf("pause:\n%s", out)
	}

	unique := `SelectUniqueValue(ToLower(Join("", Left([name.givenName], 1), [name.familyName])), ToLower(Join(".", [name.givenName], [name.familyName])))`
	if _, err := src.gh("app", "mappings", "set", "gen", "--target", "userName", "--type", "expression", "--source", unique, "--match", "2"); err == nil ||
		!strings.Contains(err.Error(), "cannot be a matching attribute") {
		t.Fatalf("SelectUniqueValue as a matching attribute: %v", err)
	}
	src.mustGH("app", "mappings", "set", "gen", "--target", "userName", "--type", "expression", "--source", unique, "--apply", "on-create")
	src.mustGH("app", "mappings", "set", "gen", "--target", "roles[primary eq true].value", "--type", "expression", "--source", "SingleAppRoleAssignment([appRoleAssignments])")
	if out := src.mustGH("app", "assign", "gen", "--group", "eng", "--role", "Developer"); !strings.Contains(out, "with role Developer") {
		t.Fatalf("assign with role:\n%s", out)
	}
	src.mustGH("app", "assign", "gen", "--user", "adam", "--role", "Admin")
	if out := src.mustGH("app", "show", "gen"); !strings.Contains(out, "eng") || !strings.Contains(out, "role Developer") {
		t.Fatalf("app show:\n%s", out)
	}

	// Dry run: the plan has the free names and the roles; nothing is sent.
	out := src.mustGH("app", "provision", "gen", "--dry-run")
	for _, want := range []string{`"alice.archer"`, `"adam.archer"`, `"Developer"`, `"Admin"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("dry run lacks %s:\n%s", want, out)
		}
	}
	if users := scimUsers(t, tgt, token); len(users) != 1 {
		t.Fatalf("the dry run wrote: %v", keys(users))
	}

	src.mustGH("app", "provision", "gen")
	users := scimUsers(t, tgt, token)
	if len(users) != 3 || users["alice.archer"] == nil || users["adam.archer"] == nil || users["aarcher"]["externalId"] != nil {
		t.Fatalf("target users: %v", keys(users))
	}
	for name, role := range map[string]string{"alice.archer": "Developer", "adam.archer": "Admin"} {
		b, _ := json.Marshal(users[name]["roles"])
		if !strings.Contains(string(b), `"value":"`+role+`"`) {
			t.Fatalf("%s roles in the target: %s", name, b)
		}
	}

	// Entra's three-file export, joined by changeId.
	dir := filepath.Join(t.TempDir(), "logs")
	if out := src.mustGH("app", "logs", "gen", "--export-dir", dir); !strings.Contains(out, "ProvisioningLogs_ModifiedProperties.csv") {
		t.Fatalf("export:\n%s", out)
	}
	changes := map[string]bool{}
	for i, name := range []string{"ProvisioningLogs.csv", "ProvisioningLogs_ProvisioningSteps.csv", "ProvisioningLogs_ModifiedProperties.csv"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(recs) < 2 || recs[0][0] != "changeId" {
			t.Fatalf("%s: %v %v", name, err, recs)
		}
		for _, r := range recs[1:] {
			if i == 0 {
				changes[r[0]] = true
			} else if !changes[r[0]] {
				t.Fatalf("%s row %v joins no entry", name, r)
			}
		}
		if i == 2 && !strings.Contains(fmt.Sprint(recs), "alice.archer") {
			t.Fatalf("modified properties lack alice's userName: %v", recs)
		}
	}
	if _, err := src.gh("app", "logs", "gen", "--export-dir", dir, "--format", "csv"); err == nil {
		t.Fatal("--export-dir with --format was accepted")
	}

	// Paused and started, in status and in the audit trail.
	if st := src.mustGH("app", "status", "gen"); !strings.Contains(st, "state: disabled") || !strings.Contains(st, "gatehouse app start gen") {
		t.Fatalf("status after pause:\n%s", st)
	}
	src.mustGH("app", "start", "gen")
	var status map[string]any
	json.Unmarshal([]byte(src.mustGH("app", "status", "gen", "--json")), &status)
	if status["enabled"] != true || status["disabled"] != nil {
		t.Fatalf("status after start: %v", status)
	}

	// The same through the admin API.
	var adm struct{ Token string }
	json.Unmarshal([]byte(src.mustGH("admin", "token", "create", "--json")), &adm)
	if st, body, raw := src.provAdmin(adm.Token, "POST", "/api/v1/applications/gen/pause", nil); st != 200 || body["enabled"] != false {
		t.Fatalf("pause: %d %s", st, raw)
	}
	if st, body, raw := src.provAdmin(adm.Token, "GET", "/api/v1/applications/gen/status", nil); st != 200 || body["enabled"] != false ||
		!strings.Contains(raw, `"reason":"Paused"`) {
		t.Fatalf("status after pause: %d %s", st, raw)
	}
	if st, body, raw := src.provAdmin(adm.Token, "POST", "/api/v1/applications/gen/start", nil); st != 200 || body["enabled"] != true {
		t.Fatalf("start: %d %s", st, raw)
	}
	if st, _, raw := src.provAdmin(adm.Token, "GET", "/api/v1/applications/gen/assignments", nil); st != 200 || !strings.Contains(raw, `"role":"Admin"`) {
		t.Fatalf("assignments: %d %s", st, raw)
	}
	src.mustGH("user", "create", "--user-name", "ava", "--given-name", "Ava", "--family-name", "Archer", "--display-name", "Ava Archer")
	if st, body, raw := src.provAdmin(adm.Token, "POST", "/api/v1/applications/gen/assignments", map[string]any{"type": "User", "principal": "ava", "role": "Reader"}); st != 201 || body["role"] != "Reader" {
		t.Fatalf("assign with a role: %d %s", st, raw)
	}

	audit := src.mustGH("audit", "lookup", "--json", "--event-source", "provisioning", "--max-results", "200")
	for _, name := range []string{"DisableApplication", "EnableApplication", "AssignToApplication"} {
		if !strings.Contains(audit, `"`+name+`"`) {
			t.Errorf("audit trail lacks %s", name)
		}
	}
	if !regexp.MustCompile(`"role":\s*"Developer"`).MatchString(audit) {
		t.Errorf("the assignment's audit event does not carry its role")
	}
}
