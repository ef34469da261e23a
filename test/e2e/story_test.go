package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestStoryEntraToIdentityCenter is issue 7, the classic story end to end
// with two real servers: "idp" plays Entra ID and provisions into "idc",
// which plays AWS IAM Identity Center. Bob, who has no name, fails (the
// target's answer, then pre-send validation), is fixed in the source and
// provisioned, gets ViewOnlyAccess through his group, and Alice joins and
// leaves that group with the scheduler doing the work. The same story is
// examples/aws-sso-from-entra/run.sh.
func TestStoryEntraToIdentityCenter(t *testing.T) {
	idc := startServer(t)
	idp := startServer(t)
	const bob, alice = "bob@corp.example", "alice@corp.example"

	// 1. idc: "Enable automatic provisioning" prints the endpoint and the token.
	idc.mustGH("directory", "create", "idc", "--profile", "aws-identity-center")
	out := idc.mustGH("scim", "token", "create", "--directory", "idc", "--description", "Entra ID")
	if !strings.Contains(out, "SCIM endpoint:  "+idc.base+"/scim/v2\n") {
		t.Fatalf("step 1: token create does not print the endpoint:\n%s", out)
	}
	m := regexp.MustCompile(`Access token:\s+(ghscim_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("step 1: token create does not print the token:\n%s", out)
	}
	token := m[1]
	tokenFile := filepath.Join(t.TempDir(), "idc.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// 2. idp: groups, Bob without a name, the application, its mappings, assignments.
	idp.mustGH("user", "create", "--user-name", bob, "--display-name", "Bob", "--email", bob)
	idp.mustGH("group", "create", "aws-sso-read-only", "--member", bob)
	idp.mustGH("group", "create", "aws-sso-admins")
	idp.mustGH("app", "create", "aws-sso", "--directory", "default", "--scim-url", idc.base+"/scim/v2", "--token-file", tokenFile,
		"--target-profile", "aws-identity-center", "--interval", "1h")
	// Step 3 wants the target's own answer: switch pre-send validation off
	// before anything is in scope, so that every cycle (the scheduler's too) sends.
	idp.mustGH("app", "update", "aws-sso", "--no-presend-validation")
	if out := idp.mustGH("app", "test", "aws-sso"); !strings.Contains(out, "OK:") {
		t.Fatalf("step 2: app test:\n%s", out)
	}
	doc := idp.mustGH("app", "mappings", "export", "aws-sso")
	fixed := setExternalIDOnCreate(t, doc)
	mfile := filepath.Join(t.TempDir(), "mappings.yaml")
	if err := os.WriteFile(mfile, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	idp.mustGH("app", "mappings", "import", "aws-sso", "--file", mfile)
	ext := userMapping(t, idp.mustGH("app", "mappings", "export", "aws-sso"), "externalId")
	if ext.Type != "direct" || ext.Source != "id" || ext.Match != 1 || ext.Apply != "on-create" {
		t.Fatalf("step 2: externalId mapping after import: %+v", ext)
	}
	idp.mustGH("app", "assign", "aws-sso", "--user", bob)
	idp.mustGH("app", "assign", "aws-sso", "--group", "aws-sso-read-only")
	idp.mustGH("app", "assign", "aws-sso", "--group", "aws-sso-admins")

	// 3. Without pre-send validation: Bob fails at the target, explained on both sides.
	// The cycle that sends Bob may be this one or the scheduler's (the import
	// and the assignments request one); either way the output points at the logs.
	if out := idp.mustGH("app", "provision", "aws-sso"); !strings.Contains(out, "gatehouse app logs aws-sso --status failure") {
		t.Fatalf("step 3: app provision does not point at Bob's failure:\n%s", out)
	}
	var logs []map[string]any
	if err := json.Unmarshal([]byte(idp.mustGH("app", "logs", "aws-sso", "--status", "failure", "--json")), &logs); err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		t.Fatal("step 3: no failure in the provisioning logs")
	}
	e := logs[0]
	tr, _ := e["targetResponse"].(map[string]any)
	if e["sourceName"] != bob || e["errorCode"] != "SCIM_400_INVALID_VALUE" || !strings.Contains(e["reason"].(string), "name.givenName") ||
		tr == nil || tr["status"] != float64(400) || !strings.Contains(tr["detail"].(string), "name.givenName is required by this directory's aws-identity-center profile") ||
		!strings.Contains(e["recommendation"].(string), "default value") {
		t.Fatalf("step 3: Bob's log entry: %v", e)
	}
	var audit struct{ Events []map[string]any }
	lookup := func() int {
		t.Helper()
		audit.Events = nil
		if err := json.Unmarshal([]byte(idc.mustGH("audit", "lookup", "--event-name", "CreateUser", "--error-code", "ValidationException", "--json")), &audit); err != nil {
			t.Fatal(err)
		}
		return len(audit.Events)
	}
	if lookup() != 1 || !strings.Contains(audit.Events[0]["errorMessage"].(string), "name.givenName is required") ||
		!strings.Contains(string(mustJSON(audit.Events[0]["requestParameters"])), bob) {
		t.Fatalf("step 3: idc audit trail: %v", audit.Events)
	}
	users := scimUsers(t, idc, token)
	if len(users) != 0 {
		t.Fatalf("step 3: users in idc: %v", keys(users))
	}
	for _, g := range []string{"aws-sso-read-only", "aws-sso-admins"} {
		if got := groupMembers(t, idc, token, g, users); len(got) != 0 {
			t.Fatalf("step 3: %s in idc has members %v", g, got)
		}
	}

	// 4. Pre-send validation on (the default): caught before sending.
	idp.mustGH("app", "update", "aws-sso", "--presend-validation")
	out = idp.mustGH("app", "provision", "aws-sso", "--user", bob)
	if !strings.Contains(out, "not sent, pre-send validation caught it") {
		t.Fatalf("step 4: on-demand Bob:\n%s", out)
	}
	logs = nil // (Unmarshal would reuse the old entries' maps)
	if err := json.Unmarshal([]byte(idp.mustGH("app", "logs", "aws-sso", "--user", bob, "--limit", "1", "--json")), &logs); err != nil {
		t.Fatal(err)
	}
	if e = logs[0]; e["errorCode"] != "PRESEND_VALIDATION" || e["targetResponse"] != nil ||
		!strings.Contains(e["reason"].(string), "not sent, pre-send validation caught it") ||
		!strings.Contains(e["reason"].(string), "name.givenName") || !strings.Contains(e["reason"].(string), "name.familyName") {
		t.Fatalf("step 4: Bob's log entry: %v", e)
	}
	if n := lookup(); n != 1 {
		t.Fatalf("step 4: pre-send validation sent a CreateUser anyway (%d failed events)", n)
	}

	// 5. Bob gets a name in the source; the next cycle creates him and his membership.
	idp.mustGH("user", "update", bob, "--given-name", "Bob", "--family-name", "Builder")
	idp.mustGH("app", "provision", "aws-sso")
	users = scimUsers(t, idc, token)
	if users[bob] == nil || users[bob]["name"].(map[string]any)["givenName"] != "Bob" {
		t.Fatalf("step 5: Bob in idc: %v", users[bob])
	}
	if got := groupMembers(t, idc, token, "aws-sso-read-only", users); strings.Join(got, ",") != bob {
		t.Fatalf("step 5: aws-sso-read-only members in idc: %v", got)
	}

	// 6. Access in idc: ViewOnlyAccess on 111122223333 through aws-sso-read-only.
	idc.mustGH("account", "create", "111122223333", "--name", "Production", "--directory", "idc")
	idc.mustGH("permission-set", "create", "ViewOnlyAccess", "--managed-policy", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", "--directory", "idc")
	idc.mustGH("assignment", "create", "--account", "111122223333", "--permission-set", "ViewOnlyAccess", "--group", "aws-sso-read-only", "--directory", "idc")
	out = idc.mustGH("access", "show", "--user", bob, "--directory", "idc")
	if !strings.Contains(out, "1 entitlement\n") || !strings.Contains(out, bob+" -> aws-sso-read-only -> ViewOnlyAccess on 111122223333") {
		t.Fatalf("step 6: access show:\n%s", out)
	}

	// 7. Alice joins the group; the scheduler provisions her, she inherits the
	// access; she leaves, and the scheduler takes both away again.
	idp.mustGH("app", "update", "aws-sso", "--interval", "2s")
	idp.mustGH("user", "create", "--user-name", alice, "--given-name", "Alice", "--family-name", "Archer", "--display-name", "Alice Archer", "--email", alice)
	idp.mustGH("group", "add-member", "aws-sso-read-only", alice)
	waitFor(t, "the scheduler to provision Alice", func() bool {
		users := scimUsers(t, idc, token)
		return users[alice] != nil && strings.Join(groupMembers(t, idc, token, "aws-sso-read-only", users), ",") == alice+","+bob
	})
	if ents := entitlements(t, idc, alice); len(ents) != 1 || ents[0] != "ViewOnlyAccess on 111122223333 via "+alice+" -> aws-sso-read-only -> ViewOnlyAccess on 111122223333" {
		t.Fatalf("step 7: Alice's entitlements: %v", ents)
	}
	idp.mustGH("group", "remove-member", "aws-sso-read-only", alice)
	waitFor(t, "the scheduler to remove Alice from aws-sso-read-only", func() bool {
		return strings.Join(groupMembers(t, idc, token, "aws-sso-read-only", scimUsers(t, idc, token)), ",") == bob
	})
	if ents := entitlements(t, idc, alice); len(ents) != 0 {
		t.Fatalf("step 7: Alice keeps entitlements: %v", ents)
	}
	if ents := entitlements(t, idc, bob); len(ents) != 1 {
		t.Fatalf("step 7: Bob's entitlements: %v", ents)
	}
}

type storyMapping struct {
	Target, Type, Source, Apply string
	Match                       int
}

func userMapping(t *testing.T, doc, target string) storyMapping {
	t.Helper()
	var d struct {
		Users struct{ Mappings []storyMapping }
	}
	if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("mappings yaml: %v\n%s", err, doc)
	}
	for _, m := range d.Users.Mappings {
		if m.Target == target {
			return m
		}
	}
	t.Fatalf("no user mapping for %s:\n%s", target, doc)
	return storyMapping{}
}

// setExternalIDOnCreate checks the exported default (externalId <- id,
// direct, match 1) and adds "apply: on-create", as an administrator editing
// the exported file would.
func setExternalIDOnCreate(t *testing.T, doc string) string {
	t.Helper()
	ext := userMapping(t, doc, "externalId")
	if ext.Type != "direct" || ext.Source != "id" || ext.Match != 1 {
		t.Fatalf("default externalId mapping: %+v", ext)
	}
	const block = "    - target: externalId\n      type: direct\n      source: id\n      match: 1\n"
	i := strings.Index(doc, block)
	if i < 0 {
		t.Fatalf("export layout changed:\n%s", doc)
	}
	return doc[:i] + block + "      apply: on-create\n" + doc[i+len(block):]
}

// entitlements lists a user's entitlements in idc as "PS on ACCOUNT via PATH".
func entitlements(t *testing.T, s *server, user string) []string {
	t.Helper()
	var ua struct {
		Entitlements []struct {
			AccountID, PermissionSetName string
			Via                          []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(s.mustGH("access", "show", "--user", user, "--directory", "idc", "--json")), &ua); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ua.Entitlements {
		for _, v := range e.Via {
			out = append(out, e.PermissionSetName+" on "+e.AccountID+" via "+v.Path)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
