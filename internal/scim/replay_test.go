package scim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
)

// update rewrites the golden responses of the replay tests:
//
//	go test ./internal/scim -run TestReplay -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/replay/golden")

// scenario is a recorded client conversation (testdata/replay/*.json): the
// requests a real client sends, in order, with what it expects back.
type scenario struct {
	Name      string            `json:"name"`
	Client    string            `json:"client"`
	Sources   []string          `json:"sources"`
	Directory *replayDirectory  `json:"directory"`
	Vars      map[string]string `json:"vars"` // "$uuid" is replaced by a random UUID
	Steps     []step            `json:"steps"`
}

type replayDirectory struct {
	Name     string             `json:"name"`
	Profile  string             `json:"profile"`
	Settings directory.Settings `json:"settings"`
}

// step is one request and its expectations. {{name}} in path, headers, body
// and expectations is replaced by a variable: one from vars, one captured
// from an earlier response, or {{base}} (the SCIM base URL).
type step struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"` // relative to /scim/v2; query values unescaped
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	RawBody *string           `json:"rawBody"` // sent as is (malformed JSON)
	// Capture stores values of the response as variables: a "/"-separated
	// body path ("id", "Resources/0/id") or "header:Name".
	Capture map[string]string `json:"capture"`
	Expect  expectation       `json:"expect"`
}

type expectation struct {
	Status int `json:"status"`
	// Headers must be equal after substitution; "<absent>" means unset.
	Headers map[string]string `json:"headers"`
	// Body is a subset of the response body; see match for the markers.
	Body json.RawMessage `json:"body"`
	// Absent lists body paths that must not exist (password, members).
	Absent []string `json:"absent"`
	// EmptyBody requires no response body (204, 304).
	EmptyBody bool `json:"emptyBody"`
	// Golden compares the whole body with testdata/replay/golden/<file>/<step>.json
	// after masking volatile values.
	Golden bool `json:"golden"`
}

func TestReplay(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no replay files: %v", err)
	}
	for _, f := range files {
		stem := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(stem, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var sc scenario
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			replay(t, stem, sc)
		})
	}
}

// replay plays a scenario against a fresh server. Steps run as subtests but
// a failed step stops the scenario: later steps depend on its captures.
func replay(t *testing.T, stem string, sc scenario) {
	e := newEnv(t)
	token := e.token
	if d := sc.Directory; d != nil {
		token = e.directory(d.Name, d.Profile, d.Settings)
	}
	vars := map[string]string{"base": e.base}
	for k, v := range sc.Vars {
		if v == "$uuid" {
			v = uuid.NewString()
		}
		vars[k] = v
	}
	// Passwords in the recorded bodies must never be stored or logged.
	for k, v := range vars {
		if strings.Contains(strings.ToLower(k), "password") {
			e.secret(v)
		}
	}
	for i, st := range sc.Steps {
		name := fmt.Sprintf("%02d_%s", i+1, st.Name)
		ok := t.Run(name, func(t *testing.T) {
			c := e.client(t).as(token)
			r := req{Method: st.Method, Path: subst(st.Path, vars), Header: map[string]string{}}
			for k, v := range st.Headers {
				r.Header[k] = subst(v, vars)
			}
			if st.RawBody != nil {
				r.Body = subst(*st.RawBody, vars)
			} else if len(st.Body) > 0 {
				r.Body = []byte(subst(string(st.Body), vars))
			}
			if _, ok := r.Header["Authorization"]; ok {
				c = c.as("")
			}
			resp := c.do(r)
			for name, from := range st.Capture {
				var v string
				if h, ok := strings.CutPrefix(from, "header:"); ok {
					v = resp.Header.Get(h)
				} else {
					v, _ = resp.at(from).(string)
				}
				if v == "" {
					t.Errorf("capture %s from %s: nothing there; body %s", name, from, truncate(string(resp.Raw), 500))
				}
				vars[name] = v
			}
			check(t, st.Expect, resp, vars, filepath.Join("testdata", "replay", "golden", stem, slug(i+1, st.Name)+".json"))
		})
		if !ok {
			t.Fatalf("step %s failed; stopping the scenario", name)
		}
	}
}

// slug names a golden file after a step: "03-create-user-with-the-documented".
func slug(n int, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return fmt.Sprintf("%02d-%s", n, strings.TrimRight(b.String(), "-"))
}

var varRef = regexp.MustCompile(`\{\{([A-Za-z0-9_]+)\}\}`)

func subst(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-2]]; ok {
			return v
		}
		return m
	})
}

func check(t *testing.T, x expectation, r response, vars map[string]string, golden string) {
	t.Helper()
	if r.Status != x.Status {
		t.Fatalf("status %d, want %d; body %s", r.Status, x.Status, truncate(string(r.Raw), 1000))
	}
	for h, want := range x.Headers {
		got, has := r.Header.Get(h), len(r.Header.Values(h)) > 0
		want = subst(want, vars)
		switch {
		case want == "<absent>" && has:
			t.Errorf("header %s: %q, want none", h, got)
		case want == "<present>" && !has:
			t.Errorf("header %s missing", h)
		case want != "<absent>" && want != "<present>" && got != want:
			t.Errorf("header %s: %q, want %q", h, got, want)
		}
	}
	if x.EmptyBody && len(bytes.TrimSpace(r.Raw)) > 0 {
		t.Errorf("body %s, want none", truncate(string(r.Raw), 300))
	}
	if len(x.Body) > 0 {
		var want any
		if err := json.Unmarshal([]byte(subst(string(x.Body), vars)), &want); err != nil {
			t.Fatalf("expected body: %v", err)
		}
		if r.Body == nil {
			t.Fatalf("response body is not a JSON object: %q", truncate(string(r.Raw), 300))
		}
		if err := match("", want, map[string]any(r.Body)); err != nil {
			t.Errorf("body: %v\nresponse: %s", err, truncate(string(r.Raw), 2000))
		}
	}
	for _, p := range x.Absent {
		if v := r.at(p); v != nil {
			t.Errorf("%s is present (%v), want absent", p, v)
		}
	}
	if x.Golden {
		compareGolden(t, golden, maskBody(r.Body, vars))
	}
}

// match reports whether got contains want. Objects: every key of want must
// match (attribute names exactly); "<absent>" requires the key to be missing.
// Arrays: same length and every element matches a distinct element, in any
// order; an array starting with "<contains>" only needs its other elements
// to match. Strings: "<any>" is any non-null value, "<nonempty>" a non-empty
// string, "<number>" a number, "<bool>" a boolean.
func match(path string, want, got any) error {
	switch w := want.(type) {
	case string:
		switch w {
		case "<any>":
			if got == nil {
				return fmt.Errorf("%s: missing", path)
			}
			return nil
		case "<nonempty>":
			if s, ok := got.(string); !ok || s == "" {
				return fmt.Errorf("%s: %#v, want a non-empty string", path, got)
			}
			return nil
		case "<number>":
			if _, ok := got.(float64); !ok {
				return fmt.Errorf("%s: %#v, want a number", path, got)
			}
			return nil
		case "<bool>":
			if _, ok := got.(bool); !ok {
				return fmt.Errorf("%s: %#v, want a boolean", path, got)
			}
			return nil
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %#v, want an object", path, got)
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, has := g[k]
			if w[k] == "<absent>" {
				if has {
					return fmt.Errorf("%s/%s: %#v, want absent", path, k, gv)
				}
				continue
			}
			if !has {
				return fmt.Errorf("%s/%s: missing", path, k)
			}
			if err := match(path+"/"+k, w[k], gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: %#v, want an array", path, got)
		}
		contains := len(w) > 0 && w[0] == "<contains>"
		if contains {
			w = w[1:]
		} else if len(w) != len(g) {
			return fmt.Errorf("%s: %d elements, want %d: %v", path, len(g), len(w), compact(g))
		}
		used := make([]bool, len(g))
	next:
		for i, we := range w {
			var first error
			for j, ge := range g {
				if used[j] {
					continue
				}
				err := match(fmt.Sprintf("%s/%d", path, j), we, ge)
				if err == nil {
					used[j] = true
					continue next
				}
				if first == nil {
					first = err
				}
			}
			return fmt.Errorf("%s: no element matches expected element %d %v (first mismatch: %v)", path, i, compact(we), first)
		}
		return nil
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("%s: %#v, want %#v", path, got, want)
	}
	return nil
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return truncate(string(b), 400)
}

// maskBody replaces volatile values so a response can be compared with a
// golden file: variable values (captured ids, the base URL) become their
// {{name}}, meta timestamps and versions fixed markers, and any other id
// "<id>".
func maskBody(body map[string]any, vars map[string]string) any {
	type kv struct{ k, v string }
	var subs []kv
	for k, v := range vars {
		if len(v) >= 6 {
			subs = append(subs, kv{k, v})
		}
	}
	// Longest first, so that {{base}} wins over a variable inside it.
	sort.Slice(subs, func(i, j int) bool {
		if len(subs[i].v) != len(subs[j].v) {
			return len(subs[i].v) > len(subs[j].v)
		}
		return subs[i].k < subs[j].k
	})
	var walk func(key string, parent string, v any) any
	walk = func(key, parent string, v any) any {
		switch t := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, x := range t {
				out[k] = walk(k, key, x)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, x := range t {
				out[i] = walk(key, parent, x)
			}
			return out
		case string:
			if key == "meta" || parent == "meta" {
				switch key {
				case "created", "lastModified":
					return "<time>"
				case "version":
					return "<version>"
				}
			}
			s := t
			for _, x := range subs {
				s = strings.ReplaceAll(s, x.v, "{{"+x.k+"}}")
			}
			if key == "id" && s == t {
				return "<id>"
			}
			return s
		}
		return v
	}
	return walk("", "", map[string]any(body))
}

func compareGolden(t *testing.T, path string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the <time> markers readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run with -update to create it)", path, err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden file %s: %v", path, err)
	}
	json.Unmarshal(b, &g)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("response differs from %s (run with -update if intended)\n--- want\n%s\n--- got\n%s", path, want, b)
	}
}

// TestReplayHarness checks the matcher the replay files rely on.
func TestReplayHarness(t *testing.T) {
	t.Parallel()
	got := map[string]any{"a": []any{map[string]any{"v": "x", "t": "work"}, map[string]any{"v": "y"}}, "n": 1.0, "s": "str"}
	for _, tc := range []struct {
		name string
		want string
		ok   bool
	}{
		{"subset of an object matches", `{"s":"str"}`, true},
		{"arrays match in any order", `{"a":[{"v":"y"},{"v":"x"}]}`, true},
		{"arrays of a different length do not match", `{"a":[{"v":"y"}]}`, false},
		{"contains matches a subset of elements", `{"a":["<contains>",{"t":"work"}]}`, true},
		{"absent marker fails on a present key", `{"s":"<absent>"}`, false},
		{"absent marker passes on a missing key", `{"zz":"<absent>"}`, true},
		{"number marker", `{"n":"<number>"}`, true},
		{"a different scalar does not match", `{"n":2}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w any
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			err := match("", w, got)
			if (err == nil) != tc.ok {
				t.Errorf("match(%s) = %v, want ok=%v", tc.want, err, tc.ok)
			}
		})
	}
}
