// Command patchbench measures PATCH /Groups/{id} latency for membership adds
// to a large group: each request adds -per members that are not yet in the
// group (spare users from the seed manifest), in Entra ID's dialect
// ({"op":"Add","path":"members","value":[{"$ref":null,"value":id}, ...]}),
// and the client times each request from send to the last response byte.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/test/bench/benchdata"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	token := flag.String("token", os.Getenv("GH_TOKEN"), "SCIM bearer token [$GH_TOKEN]")
	manifest := flag.String("manifest", "large.json", "manifest written by seed -large-db")
	n := flag.Int("n", 100, "requests")
	c := flag.Int("c", 1, "concurrent clients")
	per := flag.Int("per", 100, "members added per request")
	offset := flag.Int("offset", 0, "first spare user to add (so runs add distinct members)")
	query := flag.String("query", "", `query string for the PATCH, e.g. "excludedAttributes=members"`)
	label := flag.String("label", "patch", "label printed with the results")
	flag.Parse()
	if !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") {
		fail("refusing to send load to %s: loopback only", *base)
	}
	b, err := os.ReadFile(*manifest)
	if err != nil {
		fail("%v", err)
	}
	var m benchdata.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		fail("%s: %v", *manifest, err)
	}
	if m.BigGroup == "" || len(m.Spare) < *offset+*n**per {
		fail("%s has %d spare users; %d requests of %d from offset %d need %d", *manifest, len(m.Spare), *n, *per, *offset, *offset+*n**per)
	}
	url := *base + "/scim/v2/Groups/" + m.BigGroup
	if *query != "" {
		url += "?" + *query
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *c}}
	lat := make([]time.Duration, *n)
	sizes := make([]int, *n)
	var mu sync.Mutex
	var errs []string
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := patchBody(m.Spare[*offset+i**per : *offset+(i+1)**per])
				req, _ := http.NewRequest(http.MethodPatch, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Content-Type", "application/scim+json")
				t := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					var k int64
					k, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					sizes[i] = int(k)
					if err == nil && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("request %d: %v", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < *n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	total := time.Since(start)
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	pct := func(p float64) time.Duration { return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))] }
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	fmt.Printf("%s: %d requests x %d members, c=%d, %s, response %d bytes\n", *label, *n, *per, *c, url[len(*base):], sizes[0])
	fmt.Printf("  latency p50=%s p90=%s p99=%s max=%s mean=%s; %.1f req/s, %.0f members/s; errors=%d\n",
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(sorted[len(sorted)-1]), ms(sum/time.Duration(*n)),
		float64(*n)/total.Seconds(), float64(*n**per)/total.Seconds(), len(errs))
	for i, e := range errs {
		if i == 5 {
			break
		}
		fmt.Println("  ", e)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

func patchBody(refs []benchdata.Ref) []byte {
	vals := make([]any, len(refs))
	for i, r := range refs {
		vals[i] = map[string]any{"$ref": nil, "value": r.ID}
	}
	b, _ := json.Marshal(map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": vals}},
	})
	return b
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "patchbench: "+format+"\n", args...)
	os.Exit(1)
}
