package provisioning

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The three files of Entra's "Download logs" CSV export: the log entries
// without their steps and modified properties, the steps, and the modified
// properties. Every row carries the change id, which joins them.
const (
	ExportLogsFile     = "ProvisioningLogs.csv"
	ExportStepsFile    = "ProvisioningLogs_ProvisioningSteps.csv"
	ExportModifiedFile = "ProvisioningLogs_ModifiedProperties.csv"
)

// Column names follow Microsoft Graph's provisioningObjectSummary,
// provisioningStep and modifiedProperty (Entra does not document the
// headers of its download), flattened: sourceIdentity.id is sourceIdentityId.
var (
	exportLogsHeader = []string{"changeId", "cycleId", "jobId", "activityDateTime", "durationInMilliseconds", "provisioningAction", "status",
		"errorCode", "reason", "recommendedAction", "sourceSystem", "sourceIdentityType", "sourceIdentityId", "sourceIdentityDisplayName",
		"targetSystem", "targetIdentityId", "httpMethod", "httpUrl", "httpStatus", "scimType", "targetDetail"}
	exportStepsHeader    = []string{"changeId", "stepNumber", "provisioningStepType", "name", "status", "description"}
	exportModifiedHeader = []string{"changeId", "displayName", "oldValue", "newValue"}
)

// stepTypes maps the engine's step names to Graph's provisioningStepType.
var stepTypes = map[string]string{
	StepImport: "import", StepScope: "scoping", StepMatch: "matching", StepAction: "processing",
	StepReference: "referenceResolution", StepExport: "export",
}

// LogExport writes provisioning log entries as Entra's three CSV files.
type LogExport struct {
	// SourceSystem and TargetSystem name the two ends in every row
	// ("directory corp", the target's URL).
	SourceSystem, TargetSystem string

	logs, steps, modified *CSVWriter
	closers               []io.Closer
	// Counts of rows written (without headers).
	Entries, Steps, Modified int
}

// NewLogExport writes to three writers (tests, streams).
func NewLogExport(logs, steps, modified io.Writer) (*LogExport, error) {
	x := &LogExport{logs: NewCSVWriter(logs), steps: NewCSVWriter(steps), modified: NewCSVWriter(modified)}
	for _, h := range []struct {
		w   *CSVWriter
		row []string
	}{{x.logs, exportLogsHeader}, {x.steps, exportStepsHeader}, {x.modified, exportModifiedHeader}} {
		if err := h.w.Write(h.row); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// CreateLogExport creates the three files in dir (created if missing).
// Logs name people and carry attribute values: the directory is 0700 and
// the files 0600. Existing files are replaced.
func CreateLogExport(dir string) (*LogExport, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	var files []*os.File
	for _, name := range []string{ExportLogsFile, ExportStepsFile, ExportModifiedFile} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			for _, g := range files {
				g.Close()
			}
			return nil, fmt.Errorf("export: %w", err)
		}
		files = append(files, f)
	}
	x, err := NewLogExport(files[0], files[1], files[2])
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for _, f := range files {
		x.closers = append(x.closers, f)
	}
	return x, nil
}

// Add writes one entry: a row in the logs file, a row per step and a row
// per modified property.
func (x *LogExport) Add(e LogEntry) error {
	var method, url, status, scimType, detail string
	if r := e.Response; r != nil {
		method, url, scimType, detail = r.Method, r.URL, r.ScimType, r.Detail
		if r.Status != 0 {
			status = strconv.Itoa(r.Status)
		}
	}
	if err := x.logs.Write([]string{e.ID, e.CycleID, e.AppID, e.Time.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.DurationMS, 10),
		e.Action, e.Status, e.ErrorCode, e.Reason, e.Recommendation, x.SourceSystem, e.ObjectType, e.SourceID, e.SourceName,
		x.TargetSystem, e.TargetID, method, url, status, scimType, detail}); err != nil {
		return err
	}
	x.Entries++
	for i, s := range e.Steps {
		typ := stepTypes[s.Name]
		if typ == "" {
			typ = s.Name
		}
		if err := x.steps.Write([]string{e.ID, strconv.Itoa(i + 1), typ, s.Name, s.Status, s.Detail}); err != nil {
			return err
		}
		x.Steps++
	}
	for _, m := range e.Modified {
		if err := x.modified.Write([]string{e.ID, m.Attribute, exportValue(m.Old), exportValue(m.New)}); err != nil {
			return err
		}
		x.Modified++
	}
	return nil
}

// exportValue renders an attribute value for a cell: empty for none, text
// as it is, lists and other values as JSON.
func exportValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Close flushes the three writers and closes the files it created.
func (x *LogExport) Close() error {
	var errs []error
	for _, w := range []*CSVWriter{x.logs, x.steps, x.modified} {
		w.Flush()
		errs = append(errs, w.Error())
	}
	for _, c := range x.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// CSVWriter writes CSV whose cells a spreadsheet will not run as formulas:
// log cells carry names and attribute values that come from the source
// directory (and so from whoever can write to it), and a cell such as
// =HYPERLINK(...) would be live when an administrator opens the export. A
// cell that starts with =, +, -, @, tab or carriage return gets a leading
// apostrophe (OWASP's advice for CSV injection); every other cell is
// written as it is.
type CSVWriter struct{ *csv.Writer }

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{csv.NewWriter(w)} }

// Write writes one row with its cells neutralised.
func (w *CSVWriter) Write(row []string) error {
	out := make([]string, len(row))
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return w.Writer.Write(out)
}
