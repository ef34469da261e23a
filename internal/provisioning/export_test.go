package provisioning_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

func readCSV(t *testing.T, path string) (header []string, rows []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	header = recs[0]
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return header, rows
}

// The export writes Entra's three files; every step and modified property
// joins its entry by changeId, and values survive CSV quoting.
func TestLogExportWritesEntrasThreeFiles(t *testing.T) {
	w := newWorld(t)
	ann := w.user("ann", "Ann", "Smith")
	w.user("bob", "", "") // fails pre-send validation
	w.app("aws", func(n *provisioning.NewApp) { n.Scope = provisioning.ScopeAll })
	w.run("aws")
	w.dir.PatchUser(ctx, w.srcDir, ann.ID, []patch.Op{{Op: "replace", Path: "title", Value: `Head of "R&D", EMEA` + "\nsecond line", HasValue: true}}, "", nil)
	w.run("aws")
	entries := w.logs("aws", provisioning.LogQuery{Limit: 1000})

	dir := filepath.Join(t.TempDir(), "export")
	ex, err := provisioning.CreateLogExport(dir)
	if err != nil {
		t.Fatal(err)
	}
	ex.SourceSystem, ex.TargetSystem = "Gatehouse directory corp", w.srv.URL+"/scim/v2"
	for _, e := range entries {
		if err := ex.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, provisioning.ExportLogsFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("logs file: %v %v", st, err)
	}

	header, logs := readCSV(t, filepath.Join(dir, provisioning.ExportLogsFile))
	if header[0] != "changeId" || len(logs) != len(entries) || ex.Entries != len(entries) {
		t.Fatalf("logs file: header %v, %d rows for %d entries", header, len(logs), len(entries))
	}
	byChange := map[string]map[string]string{}
	for _, r := range logs {
		byChange[r["changeId"]] = r
	}
	_, steps := readCSV(t, filepath.Join(dir, provisioning.ExportStepsFile))
	_, mods := readCSV(t, filepath.Join(dir, provisioning.ExportModifiedFile))
	nSteps, nMods := 0, 0
	for _, e := range entries {
		nSteps += len(e.Steps)
		nMods += len(e.Modified)
	}
	if len(steps) != nSteps || len(mods) != nMods || nMods == 0 || ex.Steps != nSteps || ex.Modified != nMods {
		t.Fatalf("%d step rows for %d steps, %d property rows for %d properties", len(steps), nSteps, len(mods), nMods)
	}
	for _, r := range append(append([]map[string]string{}, steps...), mods...) {
		if byChange[r["changeId"]] == nil {
			t.Fatalf("row %v does not join an entry", r)
		}
	}

	// bob: a failure with its reason and the steps in order, typed as Graph types them.
	var bob map[string]string
	for _, r := range logs {
		if r["sourceIdentityDisplayName"] == "bob" && r["status"] == provisioning.StatusFailure {
			bob = r
		}
	}
	if bob == nil || bob["errorCode"] != provisioning.CodePresend || !strings.Contains(bob["reason"], "name.givenName") ||
		bob["sourceSystem"] != "Gatehouse directory corp" || bob["sourceIdentityType"] != provisioning.TypeUser || bob["recommendedAction"] == "" {
		t.Fatalf("bob's row: %v", bob)
	}
	var types []string
	for _, s := range steps {
		if s["changeId"] == bob["changeId"] {
			types = append(types, s["stepNumber"]+":"+s["provisioningStepType"])
		}
	}
	if strings.Join(types, ",") != "1:import,2:scoping,3:export" {
		t.Fatalf("bob's steps: %v", types)
	}

	// ann's update: the title with quotes, a comma and a newline, old -> new.
	found := false
	for _, m := range mods {
		e := byChange[m["changeId"]]
		if e["sourceIdentityId"] == ann.ID && e["provisioningAction"] == provisioning.ActionUpdate && m["displayName"] == "title" {
			found = m["oldValue"] == "" && m["newValue"] == `Head of "R&D", EMEA`+"\nsecond line" && e["targetIdentityId"] != ""
		}
	}
	if !found {
		t.Fatalf("ann's title change is not in the modified properties: %v", mods)
	}
}

// TestCSVCellsAreNotFormulas: a display name from the directory such as
// =HYPERLINK(...) must not become a live formula in a spreadsheet.
func TestCSVCellsAreNotFormulas(t *testing.T) {
	var b strings.Builder
	w := provisioning.NewCSVWriter(&b)
	in := []string{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "plain", "", "a=b"}
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	got, err := csv.NewReader(strings.NewReader(b.String())).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain", "", "a=b"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("cells %q, want %q", got, want)
	}
}
