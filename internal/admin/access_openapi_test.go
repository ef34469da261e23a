package admin

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// TestOpenAPIDescribesEveryRoute keeps docs/openapi.yaml and the mux in
// step: every access route and the audit lookup are documented, every
// documented operation is served, operation ids are the audit event names,
// and every $ref resolves.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string                               `yaml:"openapi"`
		Paths      map[string]map[string]any            `yaml:"paths"`
		Components map[string]map[string]map[string]any `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	served := append(AccessRouteList(), "GET /api/v1/audit/events")
	events := map[string]string{"GET /api/v1/audit/events": "LookupEvents"}
	for _, rt := range accessRoutes {
		events[rt.method+" "+rt.path] = rt.event
	}
	var documented []string
	for path, item := range doc.Paths {
		for method, v := range item {
			op, ok := v.(map[string]any)
			if method == "parameters" || !ok {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented = append(documented, key)
			if id, _ := op["operationId"].(string); id != events[key] {
				t.Errorf("%s: operationId %q, want the audit event name %q", key, id, events[key])
			}
			if id, _ := op["operationId"].(string); !audit.Names[id] {
				t.Errorf("%s: operationId %q is not an audit event name", key, id)
			}
		}
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("docs/openapi.yaml documents %s, which is not served", d)
		}
	}
	// Every $ref points at a component that exists.
	for _, line := range strings.Split(string(b), "\n") {
		i := strings.Index(line, `$ref: "#/components/`)
		if i < 0 {
			continue
		}
		ref := line[i+len(`$ref: "#/components/`):]
		ref = ref[:strings.Index(ref, `"`)]
		kind, name, _ := strings.Cut(ref, "/")
		if _, ok := doc.Components[kind][name]; !ok {
			t.Errorf("dangling $ref #/components/%s", ref)
		}
	}
}
