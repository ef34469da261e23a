package target

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestNewValidatesBaseURL(t *testing.T) {
	cases := []struct {
		in, want string
		notes    int
		err      bool
	}{
		{in: "https://scim.us-east-1.amazonaws.com/abc-123/scim/v2/", want: "https://scim.us-east-1.amazonaws.com/abc-123/scim/v2"},
		{in: "https://h.example/scim/v2?aadOptscim062020", want: "https://h.example/scim/v2", notes: 1},
		{in: "HTTPS://h.example/scim//", want: "https://h.example/scim"},
		{in: "https://h.example:8443/scim/v2#x", want: "https://h.example:8443/scim/v2", notes: 1},
		{in: "http://10.0.0.5:8080/scim/v2", want: "http://10.0.0.5:8080/scim/v2", notes: 1},
		{in: "", err: true},
		{in: "ftp://h.example/scim", err: true},
		{in: "h.example/scim/v2", err: true},
		{in: "https:///scim/v2", err: true},
		{in: "https://user:pw@h.example/scim/v2", err: true},
		{in: "https://h.example/%zz", err: true},
	}
	for _, tc := range cases {
		c, err := New(Config{BaseURL: tc.in}, nil)
		if tc.err {
			if err == nil {
				t.Errorf("New(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", tc.in, err)
			continue
		}
		if c.BaseURL() != tc.want || len(c.Notes()) != tc.notes {
			t.Errorf("New(%q): base %q notes %v, want %q and %d notes", tc.in, c.BaseURL(), c.Notes(), tc.want, tc.notes)
		}
	}
	if _, err := New(Config{BaseURL: "https://h.example/scim/v2", Profile: "okta"}, nil); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.RateLimit != 25 || c.Burst != 5 || c.Concurrency != 4 || c.MaxRetries != 3 || c.MaxMemberChanges != 100 ||
		c.RateDecrease != 0.5 || c.RateIncreaseStep != 1 || c.RateIncreaseEvery != 10 || c.MinRate != 1 || c.Profile != ProfileGeneric {
		t.Fatalf("defaults %+v", c)
	}
	if c := (Config{MaxRetries: -1}).withDefaults(); c.MaxRetries != 0 {
		t.Errorf("MaxRetries -1 -> %d, want 0 (no retries)", c.MaxRetries)
	}
	if c := (Config{Profile: ProfileAWS, MaxMemberChanges: 500}).withDefaults(); c.MaxMemberChanges != 100 {
		t.Errorf("aws MaxMemberChanges %d, want clamped to 100", c.MaxMemberChanges)
	}
	if c := (Config{Profile: ProfileGeneric, MaxMemberChanges: 500}).withDefaults(); c.MaxMemberChanges != 500 {
		t.Errorf("generic MaxMemberChanges %d, want 500", c.MaxMemberChanges)
	}
}

func TestEqFilter(t *testing.T) {
	cases := []struct{ attr, value, want string }{
		{"userName", "bob@example.com", `userName eq "bob@example.com"`},
		{"userName", `o"brien\x`, `userName eq "o\"brien\\x"`},
		{"displayName", "a\tb\nc", `displayName eq "a\u0009b\u000ac"`},
		{"externalId", "ünïcödé 名前", `externalId eq "ünïcödé 名前"`},
		{"emails[type eq \"work\"].value", "a@b.c", `emails[type eq "work"].value eq "a@b.c"`},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "42", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42"`},
		{"name.familyName", "", `name.familyName eq ""`},
	}
	for _, tc := range cases {
		got, err := EqFilter(tc.attr, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("EqFilter(%q, %q) = %q, %v; want %q", tc.attr, tc.value, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "userName eq \"x\" or userName", "user name", "1abc", "userName)", "a.b.c"} {
		if _, err := EqFilter(bad, "x"); err == nil {
			t.Errorf("EqFilter accepted attribute %q", bad)
		}
	}
	if _, err := EqFilter("userName", "\xff"); err == nil {
		t.Error("EqFilter accepted invalid UTF-8")
	}
}

func TestFindQuotingAndProjection(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, nil, nil)
	value := `a"b\c d&e+f=g`
	if _, err := c.FindUsers(context.Background(), "userName", value); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindGroups(context.Background(), "displayName", "Ops & Admins"); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if want := `userName eq "a\"b\\c d&e+f=g"`; calls[0].Filter != want {
		t.Errorf("server decoded filter %q, want %q", calls[0].Filter, want)
	}
	if strings.Contains(calls[0].RawQuery, "+") {
		t.Errorf("raw query %q encodes spaces as '+'; Entra sends %%20", calls[0].RawQuery)
	}
	if calls[1].RawQuery != "excludedAttributes=members&filter=displayName%20eq%20%22Ops%20%26%20Admins%22" {
		t.Errorf("groups query %q", calls[1].RawQuery)
	}
	if _, err := c.FindUsers(context.Background(), "userName or 1", "x"); mustError(t, err).Code() != CodeInvalidRequest {
		t.Errorf("bad attribute sent: %v", err)
	}
	if len(f.Calls()) != 2 {
		t.Error("an invalid filter was sent")
	}
}

func TestFindResults(t *testing.T) {
	f := newFake(t, nil,
		reply(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[{"id":"1","userName":"a","meta":{"version":"W/\"3\""},"n":12}, {"id":"2","userName":"a"}]}`),
		reply(200, `{"totalResults":0}`),
		reply(200, `{"totalResults":1,"Resources":[{"userName":"no id"}]}`),
	)
	c := newTestClient(t, f.URL(), nil, nil, nil)
	got, err := c.FindUsers(context.Background(), "userName", "a")
	if err != nil || len(got) != 2 || got[0].ID() != "1" || got[0]["n"] != int64(12) {
		t.Fatalf("FindUsers = %v, %v", got, err)
	}
	if got, err := c.FindUsers(context.Background(), "userName", "a"); err != nil || len(got) != 0 {
		t.Fatalf("ListResponse without Resources: %v, %v", got, err)
	}
	if _, err := c.FindUsers(context.Background(), "userName", "a"); mustError(t, err).Code() != CodeNotSCIM {
		t.Fatalf("a resource without id: %v", err)
	}
}

func TestGetPathEscapingAndNotFound(t *testing.T) {
	f := newFake(t, nil, reply(404, scimError(404, "", "User a/b not found")))
	c := newTestClient(t, f.URL(), nil, nil, nil)
	_, err := c.GetUser(context.Background(), "a/b")
	if !IsNotFound(err) || mustError(t, err).Code() != CodeNotFound {
		t.Fatalf("GetUser: %v", err)
	}
	if _, err := c.GetGroup(context.Background(), "g 1"); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if calls[0].Path != "/scim/v2/Users/a/b" && !strings.HasSuffix(calls[0].Path, "a%2Fb") {
		t.Errorf("path %q", calls[0].Path)
	}
	if calls[1].Path != "/scim/v2/Groups/g 1" || calls[1].RawQuery != "excludedAttributes=members" {
		t.Errorf("GetGroup %q ?%s", calls[1].Path, calls[1].RawQuery)
	}
	if _, err := c.GetUser(context.Background(), ""); mustError(t, err).Code() != CodeInvalidRequest {
		t.Error("empty id sent")
	}
}

func TestCreateAddsSchemas(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, nil, nil)
	in := Resource{"userName": "bob", EnterpriseURN: map[string]any{"department": "Ops"}}
	u, err := c.CreateUser(context.Background(), in)
	if err != nil || u.ID() == "" {
		t.Fatalf("CreateUser = %v, %v", u, err)
	}
	if _, ok := in["schemas"]; ok {
		t.Error("CreateUser modified the caller's resource")
	}
	var sent map[string]any
	json.Unmarshal(f.Calls()[0].Body, &sent)
	if fmt.Sprint(sent["schemas"]) != fmt.Sprint([]any{UserURN, EnterpriseURN}) {
		t.Errorf("schemas %v", sent["schemas"])
	}
	f.push(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	if _, err := c.CreateGroup(context.Background(), Resource{"displayName": "g"}); mustError(t, err).Code() != CodeNotSCIM {
		t.Errorf("a create without a body: %v", err)
	}
}

func TestPatchOpsLowerCase(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, nil, nil)
	err := c.PatchUser(context.Background(), "u1", []PatchOp{
		{Op: "Replace", Path: "active", Value: false},
		{Op: " ADD ", Path: "nickName", Value: "Babs"},
		{Op: "remove", Path: `emails[type eq "other"]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Operations":[{"op":"replace","path":"active","value":false},{"op":"add","path":"nickName","value":"Babs"},{"op":"remove","path":"emails[type eq \"other\"]"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`
	if got := string(f.Calls()[0].Body); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	for _, bad := range [][]PatchOp{nil, {{Op: "move", Path: "a", Value: 1}}, {{Op: "remove"}}, {{Op: "add", Path: "a"}}} {
		if err := c.PatchUser(context.Background(), "u1", bad); mustError(t, err).Code() != CodeInvalidRequest {
			t.Errorf("PatchUser(%v): %v", bad, err)
		}
	}
	if len(f.Calls()) != 1 {
		t.Error("invalid operations were sent")
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// memberCount counts member changes in a PATCH body, and checks ops are lower-case.
func memberCount(t *testing.T, body []byte) (changes int, ops []PatchOp) {
	t.Helper()
	var req struct {
		Schemas    []string
		Operations []PatchOp
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	for _, o := range req.Operations {
		n, _ := memberChanges(o)
		changes += n
	}
	return changes, req.Operations
}

func TestPatchGroupBatches(t *testing.T) {
	ops := append([]PatchOp{Replace("displayName", "Ops")}, AddMembers(ids("a", 250)...))
	ops = append(ops, RemoveMembers(ids("r", 30)...)...)

	t.Run("aws: at most 100 member changes per request, in order", func(t *testing.T) {
		f := newFake(t, nil)
		c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS; c.MaxMemberChanges = 1000 }, nil)
		if err := c.PatchGroup(context.Background(), "g1", ops); err != nil {
			t.Fatal(err)
		}
		calls := f.Calls()
		if len(calls) != 3 { // ceil(280 / 100)
			t.Fatalf("%d requests, want 3", len(calls))
		}
		var seen []string
		for i, cl := range calls {
			n, sent := memberCount(t, cl.Body)
			if n > 100 || (i < 2 && n != 100) {
				t.Errorf("request %d carries %d member changes", i, n)
			}
			for _, o := range sent {
				if vals, ok := o.Value.([]any); ok && o.Path == "members" {
					for _, v := range vals {
						seen = append(seen, "+"+v.(map[string]any)["value"].(string))
					}
				} else if strings.HasPrefix(o.Path, "members[") {
					seen = append(seen, "-"+o.Path)
				} else {
					seen = append(seen, o.Op+" "+o.Path)
				}
			}
		}
		if seen[0] != "replace displayName" || len(seen) != 281 || seen[1] != "+a000" || seen[250] != "+a249" || seen[251] != `-members[value eq "r000"]` {
			t.Errorf("order lost: %v ... %v", seen[:3], seen[249:253])
		}
	})
	t.Run("generic: configurable batch size", func(t *testing.T) {
		f := newFake(t, nil)
		c := newTestClient(t, f.URL(), nil, func(c *Config) { c.MaxMemberChanges = 50 }, nil)
		if err := c.PatchGroup(context.Background(), "g1", ops); err != nil {
			t.Fatal(err)
		}
		if n := len(f.Calls()); n != 6 { // ceil(280 / 50)
			t.Fatalf("%d requests, want 6", n)
		}
	})
	t.Run("typed member slices are split too", func(t *testing.T) {
		type member struct {
			Value string `json:"value"`
		}
		ms := make([]member, 150)
		for i := range ms {
			ms[i] = member{fmt.Sprint(i)}
		}
		b := splitMemberOps([]PatchOp{{Op: "add", Path: "members", Value: ms}}, 100)
		if len(b) != 2 {
			t.Fatalf("%d batches", len(b))
		}
	})
	t.Run("a failing batch says how far it got", func(t *testing.T) {
		f := newFake(t, nil)
		f.push(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, reply(400, scimError(400, "invalidValue", "member x does not exist")))
		c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS }, nil)
		err := c.PatchGroup(context.Background(), "g1", ops)
		e := mustError(t, err)
		if !strings.Contains(e.Detail, "request 2 of 3; the first 1 were applied") || len(f.Calls()) != 2 {
			t.Fatalf("%v after %d requests", e, len(f.Calls()))
		}
	})
}

func TestAWSPatchRules(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS }, nil)
	for _, bad := range [][]PatchOp{
		{{Op: "replace", Path: "members", Value: []any{}}},
		{{Op: "remove", Path: "members"}},
		{{Op: "replace", Value: map[string]any{"members": []any{}}}},
		{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "g2", "type": "Group"}}}},
	} {
		if err := c.PatchGroup(context.Background(), "g1", bad); mustError(t, err).Code() != CodeInvalidRequest {
			t.Errorf("PatchGroup(%v): %v", bad, err)
		}
	}
	if err := c.PatchUser(context.Background(), "u1", []PatchOp{Remove("active")}); mustError(t, err).Code() != CodeInvalidRequest {
		t.Errorf("remove active: %v", err)
	}
	if _, err := c.CreateGroup(context.Background(), Resource{"displayName": "outer", "members": []any{map[string]any{"value": "g2", "type": "Group"}}}); mustError(t, err).Code() != CodeInvalidRequest {
		t.Errorf("nested group on create: %v", err)
	}
	if len(f.Calls()) != 0 {
		t.Fatal("a request AWS rejects was sent")
	}
	// The generic profile sends a members replace as is.
	g := newTestClient(t, f.URL(), nil, nil, nil)
	if err := g.PatchGroup(context.Background(), "g1", []PatchOp{{Op: "replace", Path: "members", Value: []any{map[string]any{"value": "a"}}}}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateGroupWithManyMembers(t *testing.T) {
	f := newFake(t, nil)
	c := newTestClient(t, f.URL(), nil, func(c *Config) { c.Profile = ProfileAWS }, nil)
	members := make([]any, 250)
	for i := range members {
		members[i] = map[string]any{"value": fmt.Sprint(i)}
	}
	g, err := c.CreateGroup(context.Background(), Resource{"displayName": "big", "members": members})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 3 || calls[0].Method != "POST" || calls[1].Method != "PATCH" || calls[1].Path != "/scim/v2/Groups/"+g.ID() {
		t.Fatalf("requests %v", calls)
	}
	var created map[string]any
	json.Unmarshal(calls[0].Body, &created)
	if n := len(created["members"].([]any)); n != 100 {
		t.Errorf("POST carried %d members, want 100", n)
	}
	if n, _ := memberCount(t, calls[1].Body); n != 100 {
		t.Errorf("first PATCH %d", n)
	}
	if n, _ := memberCount(t, calls[2].Body); n != 50 {
		t.Errorf("second PATCH %d", n)
	}
}

func TestReplaceAndDelete(t *testing.T) {
	f := newFake(t, nil, nil, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c := newTestClient(t, f.URL(), nil, nil, nil)
	u, err := c.ReplaceUser(context.Background(), "u1", Resource{"userName": "bob"})
	if err != nil || u == nil {
		t.Fatalf("ReplaceUser = %v, %v", u, err)
	}
	if u, err := c.ReplaceUser(context.Background(), "u1", Resource{"userName": "bob"}); err != nil || u != nil {
		t.Fatalf("ReplaceUser with 204 = %v, %v", u, err)
	}
	if err := c.DeleteUser(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(context.Background(), "g1"); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if calls[0].Method != "PUT" || calls[2].Method != "DELETE" || calls[2].Path != "/scim/v2/Users/u1" || calls[3].Path != "/scim/v2/Groups/g1" {
		t.Fatalf("requests %+v", calls)
	}
}

func TestPacerAIMD(t *testing.T) {
	clock := newFakeClock()
	cfg := Config{RateLimit: 20, Now: clock.Now, Sleep: clock.Sleep}.withDefaults()
	p := newPacer(cfg)
	sent := clock.Now()
	clock.Sleep(context.Background(), time.Second)
	p.throttled(sent, 0)
	if p.rate() != 10 {
		t.Fatalf("rate %v after a 429, want 10", p.rate())
	}
	// Requests sent before that decrease (in flight together) do not halve again.
	p.throttled(sent, 0)
	p.throttled(sent, 0)
	if p.rate() != 10 {
		t.Fatalf("rate %v: one congestion event counted several times", p.rate())
	}
	for range 5 {
		clock.Sleep(context.Background(), time.Millisecond)
		p.throttled(clock.Now(), 0)
	}
	if p.rate() != cfg.MinRate {
		t.Fatalf("rate %v, want the floor %v", p.rate(), cfg.MinRate)
	}
	for range 9 {
		p.succeeded()
	}
	if p.rate() != 1 {
		t.Fatalf("rate %v raised before 10 successes", p.rate())
	}
	p.succeeded()
	if p.rate() != 1.8 { // + 4% of 20
		t.Fatalf("rate %v, want 1.8", p.rate())
	}
	for range 1000 {
		p.succeeded()
	}
	if p.rate() != 20 {
		t.Fatalf("rate %v, want back to the configured 20", p.rate())
	}
	// Retry-After holds.
	p.throttled(clock.Now(), 7*time.Second)
	before := clock.Now()
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := clock.Now().Sub(before); d < 7*time.Second {
		t.Fatalf("wait returned after %v, before the 7s hold", d)
	}
}

func TestPacerUnlimited(t *testing.T) {
	clock := newFakeClock()
	p := newPacer(Config{RateLimit: -1, Now: clock.Now, Sleep: clock.Sleep}.withDefaults())
	for range 1000 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(clock.Sleeps()) != 0 || p.rate() != 0 {
		t.Fatalf("unlimited pacer slept %d times, rate %v", len(clock.Sleeps()), p.rate())
	}
	p.throttled(clock.Now(), 2*time.Second)
	p.wait(context.Background())
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 2*time.Second {
		t.Fatalf("Retry-After not honoured when unlimited: %v", s)
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Catalogue {
		if seen[c.Code] {
			t.Errorf("duplicate %s", c.Code)
		}
		seen[c.Code] = true
		if c.Meaning == "" || c.Recommendation == "" {
			t.Errorf("%s is undocumented", c.Code)
		}
	}
	for _, code := range []string{CodeInvalidValue, CodeInvalidSyntax, CodeInvalidFilter, CodeInvalidPath, CodeNoTarget, CodeMutability,
		CodeTooMany, CodeInvalidVersion, CodeSensitive, CodeBadRequest, CodeUnauthorized, CodeForbidden, CodeNotFound,
		CodeMethodNotAllowed, CodeUniqueness, CodePrecondition, CodePayloadTooLarge, CodeUnsupportedMedia, CodeThrottled,
		CodeClientError, CodeNotImplemented, CodeServerError, CodeDNS, CodeConnectRefused, CodeTimeout, CodeTLS, CodeBlocked,
		CodeNetwork, CodeNotSCIM, CodeContentType, CodeRedirect, CodeFilterIgnored, CodeResponseTooLarge, CodeInvalidRequest, CodeCanceled} {
		if !seen[code] {
			t.Errorf("%s missing from Catalogue", code)
		}
	}
	// Status/scimType mapping.
	for _, tc := range []struct {
		status   int
		scimType string
		code     string
	}{
		{400, "invalidValue", CodeInvalidValue}, {400, "INVALIDFILTER", CodeInvalidFilter}, {400, "uniqueness", CodeUniqueness},
		{400, "", CodeBadRequest}, {418, "", CodeClientError}, {502, "", CodeServerError}, {429, "", CodeThrottled},
		{415, "", CodeUnsupportedMedia}, {413, "", CodePayloadTooLarge}, {308, "", CodeRedirect},
	} {
		if got := (&Error{Status: tc.status, ScimType: tc.scimType}).Code(); got != tc.code {
			t.Errorf("status %d scimType %q -> %s, want %s", tc.status, tc.scimType, got, tc.code)
		}
	}
	if info, ok := Describe(CodeThrottled); !ok || !info.Transient {
		t.Error("429 should be documented as transient")
	}
}

// The ADR reproduces the catalogue; keep them in step.
func TestCatalogueDocumented(t *testing.T) {
	adr, err := os.ReadFile("../../../docs/adr/0005-outbound-http.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Catalogue {
		if !strings.Contains(string(adr), "| `"+c.Code+"` | "+c.Meaning+" |") || !strings.Contains(string(adr), c.Recommendation) {
			t.Errorf("docs/adr/0005-outbound-http.md does not document %s as in Catalogue", c.Code)
		}
	}
}
