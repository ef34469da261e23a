package provisioning_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// An initial cycle with many unlinked users lists the target instead of
// querying per user; a 429 with Retry-After on a listing page holds the
// cycle for the whole Retry-After (the listing goes through the client's
// pacer, not around it), and the listing's requests count in the cycle.
func TestListingDuringCycleHonoursRetryAfter(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := range 60 {
		ids = append(ids, w.user(fmt.Sprintf("user%02d", i), "G", fmt.Sprintf("F%d", i)).ID)
	}
	w.group("all", ids...)
	w.app("aws", func(n *provisioning.NewApp) { n.Settings.RateLimit = 200 })
	if _, err := w.prov.Assign(ctx, "aws", provisioning.TypeGroup, "all", nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lists []time.Time
	var filters int
	throttled := false
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/Users") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Query().Get("filter") != "" {
			filters++
			return false
		}
		lists = append(lists, time.Now())
		if !throttled {
			throttled = true
			rw.Header().Set("Retry-After", "2")
			rw.Header().Set("Content-Type", "application/scim+json")
			rw.WriteHeader(http.StatusTooManyRequests)
			rw.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"slow down"}`))
			return true
		}
		return false
	})
	before := w.reqs.Load()
	res := w.run("aws")
	if len(w.targetUsers()) != 60 {
		t.Fatalf("%d users in the target, want 60 (cycle %+v)", len(w.targetUsers()), res.Cycle)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lists) != 2 {
		t.Fatalf("%d listing requests, want 2 (the throttled one and its retry)", len(lists))
	}
	if d := lists[1].Sub(lists[0]); d < 2*time.Second {
		t.Fatalf("the listing was retried %v after a 429 with Retry-After: 2", d)
	}
	if filters != 0 {
		t.Fatalf("%d per-user matching queries: the cycle did not match against the listing", filters)
	}
	if sent := w.reqs.Load() - before; int64(res.Cycle.Requests) != sent {
		t.Fatalf("the cycle counted %d requests, the target received %d", res.Cycle.Requests, sent)
	}
}
