package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newmanBin finds newman: $GATEHOUSE_NEWMAN (set by .ci/run) or the copy
// `npm ci` installs under test/newman.
func newmanBin(t *testing.T) string {
	if p := os.Getenv("GATEHOUSE_NEWMAN"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../newman/node_modules/.bin/newman")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("newman is not installed; .ci/run installs it with npm ci in test/newman")
	}
	t.Skip("newman not installed (cd test/newman && npm ci)")
	return ""
}

// TestMicrosoftSCIMCollection runs Microsoft's SCIM reference Postman
// collection against a real server. The "Get Token" folder is dropped (the
// token comes from gatehouse scim token create) and the default directory
// gets the settings the collection needs (docs/scim.md explains them):
// PATCH answers 204, and member ids that name nothing are dropped.
func TestMicrosoftSCIMCollection(t *testing.T) {
	newman := newmanBin(t)
	src := "../../../shared/conformance/microsoft-scim-postman.json"
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("collection not available: %v", err)
	}
	var coll map[string]any
	if err := json.Unmarshal(raw, &coll); err != nil {
		t.Fatal(err)
	}
	var items []any
	for _, it := range coll["item"].([]any) {
		if it.(map[string]any)["name"] != "Get Token" {
			items = append(items, it)
		}
	}
	coll["item"] = items
	dir := t.TempDir()
	path := filepath.Join(dir, "collection.json")
	b, _ := json.Marshal(coll)
	os.WriteFile(path, b, 0o600)

	s := startServer(t)
	s.mustGH("directory", "update", "default", "--patch-returns-204", "--accept-unknown-members")
	tok := s.token("default")
	port := s.base[strings.LastIndex(s.base, ":"):]
	cmd := exec.Command(newman, "run", path,
		"--env-var", "Protocol=http", "--env-var", "Server=127.0.0.1", "--env-var", "Port="+port,
		"--env-var", "Api=scim/v2", "--env-var", "token="+tok,
		"--reporters", "cli,json", "--reporter-json-export", filepath.Join(dir, "report.json"),
		"--disable-unicode", "--color", "off")
	out, err := cmd.CombinedOutput()
	var report struct {
		Run struct {
			Stats struct {
				Assertions struct{ Total, Failed int } `json:"assertions"`
				Requests   struct{ Total, Failed int } `json:"requests"`
			} `json:"stats"`
			Failures []struct {
				Source struct{ Name string }    `json:"source"`
				Error  struct{ Message string } `json:"error"`
			} `json:"failures"`
		} `json:"run"`
	}
	if rb, rerr := os.ReadFile(filepath.Join(dir, "report.json")); rerr == nil {
		json.Unmarshal(rb, &report)
	}
	st := report.Run.Stats
	t.Logf("newman: %d requests, %d assertions, %d failed", st.Requests.Total, st.Assertions.Total, st.Assertions.Failed)
	for _, f := range report.Run.Failures {
		t.Errorf("%s: %s", f.Source.Name, f.Error.Message)
	}
	if err != nil || st.Assertions.Total == 0 {
		t.Fatalf("newman: %v\n%s", err, out)
	}
}
