package target

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// page returns a handler answering one ListResponse page of users u<first>..
func page(total, first, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var res []string
		for i := first; i < first+n; i++ {
			res = append(res, fmt.Sprintf(`{"id":"id-%d","userName":"u%d"}`, i, i))
		}
		writeSCIM(w, 200, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":%d,"startIndex":%d,"itemsPerPage":%d,"Resources":[%s]}`,
			total, first, n, strings.Join(res, ",")))
	}
}

// A 429 with Retry-After in the middle of a listing holds the listing (and
// every other caller) for the Retry-After, lowers the rate and then goes on:
// the listing is paced like every other request.
func TestListingHonoursRetryAfterAndPacing(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock,
		page(3, 1, 2),
		reply(429, scimError(429, "", "Too many requests"), "Retry-After", "7"),
		page(3, 3, 1),
	)
	c := newTestClient(t, f.URL(), clock, nil, nil)
	p1, err := c.ListUsers(context.Background(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Resources) != 2 || p1.TotalResults != 3 || p1.Resources[1].ID() != "id-2" {
		t.Fatalf("first page %+v", p1)
	}
	p2, err := c.ListUsers(context.Background(), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Resources) != 1 || p2.Resources[0].ID() != "id-3" {
		t.Fatalf("second page %+v", p2)
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d requests, want 3 (page, 429, retried page)", len(calls))
	}
	if calls[1].RawQuery != "startIndex=3&count=2" || calls[2].RawQuery != "startIndex=3&count=2" || calls[0].Auth != "Bearer secret-token" {
		t.Fatalf("requests %+v", calls)
	}
	if d := calls[2].At.Sub(calls[1].At); d < 7*time.Second {
		t.Fatalf("the listing retried %v after the 429, before its Retry-After (7s)", d)
	}
	st := c.Stats()
	if st.Throttled != 1 || st.Retries != 1 || st.Requests != 3 || st.Rate != DefaultRateLimit/2 {
		t.Fatalf("stats %+v: the 429 during listing did not reach the pacer", st)
	}
	// The hold covers other operations too.
	f.push(reply(429, scimError(429, "", "slow down"), "Retry-After", "5"))
	if _, err := c.ListGroups(context.Background(), 1, 100); err != nil {
		t.Fatal(err)
	}
	calls = f.Calls()
	if !strings.HasPrefix(calls[3].RawQuery, "excludedAttributes=members&startIndex=1") {
		t.Fatalf("group listing query %q", calls[3].RawQuery)
	}
	if _, err := c.GetUser(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	calls = f.Calls()
	if d := calls[len(calls)-1].At.Sub(calls[3].At); d < 5*time.Second {
		t.Fatalf("a request %v after a listing's 429, before its Retry-After (5s)", d)
	}
}

// The listing is paced by the token bucket: many pages at 25/s take their time.
func TestListingIsRateLimited(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock)
	c := newTestClient(t, f.URL(), clock, func(c *Config) { c.RateLimit, c.Burst = 2, 1 }, nil)
	start := clock.Now()
	for i := range 5 {
		if _, err := c.ListUsers(context.Background(), 1+i*100, 100); err != nil {
			t.Fatal(err)
		}
	}
	if d := clock.Now().Sub(start); d < 2*time.Second {
		t.Fatalf("5 pages at 2 requests/s took %v of clock time", d)
	}
}

func TestListingRejectsBadPagingAndNonSCIM(t *testing.T) {
	clock := newFakeClock()
	f := newFake(t, clock, reply(200, `{"hello":"world"}`))
	c := newTestClient(t, f.URL(), clock, nil, nil)
	if _, err := c.ListUsers(context.Background(), 0, 10); mustError(t, err).Code() != CodeInvalidRequest {
		t.Fatalf("startIndex 0: %v", err)
	}
	if _, err := c.ListUsers(context.Background(), 1, 10); mustError(t, err).Code() != CodeNotSCIM {
		t.Fatalf("not a ListResponse: %v", err)
	}
}
