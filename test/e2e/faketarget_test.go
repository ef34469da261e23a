package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTarget is a deliberately naive SCIM service provider for fault and
// crash tests: it enforces no uniqueness at all, so a duplicate create by
// the engine shows up as two objects with the same externalId.
type fakeTarget struct {
	srv     *httptest.Server
	mu      sync.Mutex
	users   map[string]map[string]any
	groups  map[string]map[string]any
	members map[string]map[string]bool
	next    int
	delay   time.Duration
	posts   int
}

func newFakeTarget(t *testing.T, delay time.Duration) *fakeTarget {
	f := &fakeTarget{users: map[string]map[string]any{}, groups: map[string]map[string]any{}, members: map[string]map[string]bool{}, delay: delay}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTarget) url() string { return f.srv.URL + "/scim/v2" }

var eqFilter = regexp.MustCompile(`^(\w+) eq "((?:[^"\\]|\\.)*)"$`)

func writeSCIM(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeTarget) serve(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 && r.Method != http.MethodGet {
		time.Sleep(f.delay)
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	var store map[string]map[string]any
	switch parts[0] {
	case "Users":
		store = f.users
	case "Groups":
		store = f.groups
	case "ServiceProviderConfig":
		writeSCIM(w, 200, map[string]any{"patch": map[string]any{"supported": true}, "filter": map[string]any{"supported": true, "maxResults": 100}})
		return
	default:
		writeSCIM(w, 404, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": "404", "detail": "no such endpoint"})
		return
	}
	notFound := func() {
		writeSCIM(w, 404, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": "404", "detail": "not found"})
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 1:
		m := eqFilter.FindStringSubmatch(r.URL.Query().Get("filter"))
		var out []any
		for _, o := range store {
			if m == nil || fmt.Sprint(o[m[1]]) == m[2] {
				out = append(out, o)
			}
		}
		writeSCIM(w, 200, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, "totalResults": len(out), "Resources": out})
	case r.Method == http.MethodGet:
		o, ok := store[parts[1]]
		if !ok {
			notFound()
			return
		}
		writeSCIM(w, 200, o)
	case r.Method == http.MethodPost:
		var o map[string]any
		json.NewDecoder(r.Body).Decode(&o)
		f.next++
		id := fmt.Sprintf("t%d", f.next)
		o["id"] = id
		if parts[0] == "Groups" {
			f.members[id] = map[string]bool{}
			if ms, ok := o["members"].([]any); ok {
				for _, m := range ms {
					f.members[id][m.(map[string]any)["value"].(string)] = true
				}
			}
			delete(o, "members")
		}
		f.posts++
		store[id] = o
		writeSCIM(w, 201, o)
	case r.Method == http.MethodPatch:
		o, ok := store[parts[1]]
		if !ok {
			notFound()
			return
		}
		var body struct {
			Operations []struct {
				Op, Path string
				Value    any
			}
		}
		json.NewDecoder(r.Body).Decode(&body)
		for _, op := range body.Operations {
			switch {
			case op.Path == "members" && strings.EqualFold(op.Op, "add"):
				for _, m := range op.Value.([]any) {
					f.members[parts[1]][m.(map[string]any)["value"].(string)] = true
				}
			case strings.HasPrefix(op.Path, "members[value eq"):
				id := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(op.Path, "members[value eq "), "]"), `"`)
				delete(f.members[parts[1]], id)
			case strings.EqualFold(op.Op, "remove"):
				delete(o, op.Path)
			default:
				o[op.Path] = op.Value
			}
		}
		w.WriteHeader(204)
	case r.Method == http.MethodDelete:
		if _, ok := store[parts[1]]; !ok {
			notFound()
			return
		}
		delete(store, parts[1])
		w.WriteHeader(204)
	default:
		w.WriteHeader(405)
	}
}

// duplicates counts objects sharing an externalId.
func (f *fakeTarget) duplicates() (users, groups int, dups []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]int{}
	for _, o := range f.users {
		seen[fmt.Sprint(o["externalId"])]++
	}
	for _, o := range f.groups {
		seen["g:"+fmt.Sprint(o["externalId"])]++
	}
	for k, n := range seen {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s x%d", k, n))
		}
	}
	return len(f.users), len(f.groups), dups
}
