package target

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Diagnosis is the result of Test: OK, or the first failure explained.
type Diagnosis struct {
	OK             bool
	Code           string // from Catalogue when !OK
	Summary        string // one sentence: what is wrong
	Detail         string // the evidence: certificate error, status and SCIM detail, page title...
	Recommendation string // what to do about it
	Checks         []Check
	Notes          []string // remarks that are not failures (dropped query string, plain http)
	Err            *Error   // the underlying error, when there is one
}

// Check is one probe request.
type Check struct {
	Name     string // "users", "groups"
	Method   string
	URL      string
	OK       bool
	Status   int
	Code     string
	Duration time.Duration
}

func (d Diagnosis) String() string {
	if d.OK {
		return "OK: " + d.Summary
	}
	s := d.Code + ": " + d.Summary
	if d.Detail != "" {
		s += " (" + d.Detail + ")"
	}
	return s
}

// Test runs Entra ID's Test Connection probe: GET /Users?filter=userName eq
// "<random guid>" and GET /Groups?excludedAttributes=members&filter=
// displayName eq "<random guid>", each expecting 200 and an empty SCIM
// ListResponse. Probes are paced but not retried, so the answer is prompt.
func (c *Client) Test(ctx context.Context) Diagnosis {
	d := Diagnosis{Notes: c.Notes()}
	probes := []struct{ name, endpoint, attr, extra string }{
		{"users", "/Users", "userName", ""},
		{"groups", "/Groups", "displayName", "excludedAttributes=members&"},
	}
	for _, p := range probes {
		f, _ := EqFilter(p.attr, uuid.NewString())
		r := &request{op: "Test", method: http.MethodGet, path: p.endpoint, query: p.extra + "filter=" + queryEscape(f), retries: 0}
		start := c.cfg.Now()
		resp, err := c.do(ctx, r)
		ck := Check{Name: p.name, Method: r.method, URL: c.url(r), Duration: c.cfg.Now().Sub(start)}
		var e *Error
		if err != nil {
			e, _ = AsError(err)
		} else {
			e = checkProbe(resp)
		}
		if e == nil {
			ck.OK, ck.Status = true, resp.status
			d.Checks = append(d.Checks, ck)
			continue
		}
		ck.Status, ck.Code = e.Status, e.Code()
		d.Checks = append(d.Checks, ck)
		c.explain(&d, p.endpoint, e)
		return d
	}
	d.OK = true
	d.Summary = fmt.Sprintf("%s answers the users and groups probes with empty SCIM ListResponses", c.base)
	return d
}

// checkProbe validates a 2xx probe response: JSON, SCIM content type,
// ListResponse shape, and empty.
func checkProbe(resp *response) *Error {
	if resp.status != http.StatusOK {
		return notSCIM("Test", resp, fmt.Sprintf("expected 200 with a ListResponse, got %d", resp.status))
	}
	m, err := decodeObject("Test", resp)
	if err != nil {
		e, _ := AsError(err)
		return e
	}
	if !scimContentType(resp.contentType) {
		ct := resp.contentType
		if ct == "" {
			ct = "none"
		}
		e := notSCIM("Test", resp, "Content-Type "+ct+"; expected application/scim+json or application/json")
		e.code = CodeContentType
		return e
	}
	list, err := listResources("Test", resp, m)
	if err != nil {
		e, _ := AsError(err)
		return e
	}
	total, _ := lookupFold(m, "totalResults")
	if len(list) > 0 || (total != nil && fmt.Sprint(total) != "0") {
		e := notSCIM("Test", resp, fmt.Sprintf("a filter on a random value returned %d resources (totalResults %v)", len(list), total))
		e.code = CodeFilterIgnored
		return e
	}
	return nil
}

func scimContentType(ct string) bool {
	return ct == "application/scim+json" || ct == "application/json"
}

// explain fills d from the probe's error.
func (c *Client) explain(d *Diagnosis, endpoint string, e *Error) {
	u, _ := url.Parse(c.base)
	host := u.Host
	d.Err, d.Code, d.Detail, d.Recommendation = e, e.Code(), e.Detail, e.Recommendation()
	switch d.Code {
	case CodeDNS:
		d.Summary = fmt.Sprintf("the host name %s does not resolve", u.Hostname())
	case CodeConnectRefused:
		d.Summary = fmt.Sprintf("TCP connection to %s refused: nothing listens on that address and port", host)
	case CodeTimeout:
		switch {
		case strings.Contains(e.Detail, "connect"):
			d.Summary = fmt.Sprintf("TCP connection to %s timed out: a firewall may be dropping packets, or the address is wrong", host)
		case strings.Contains(e.Detail, "TLS"):
			d.Summary = fmt.Sprintf("the TLS handshake with %s timed out", host)
		default:
			d.Summary = fmt.Sprintf("%s accepted the connection but did not answer in time", host)
		}
	case CodeTLS:
		d.Summary = fmt.Sprintf("the TLS handshake with %s failed", host)
	case CodeBlocked:
		d.Summary = fmt.Sprintf("Gatehouse's outbound guard refused to connect to %s", host)
	case CodeNetwork:
		d.Summary = fmt.Sprintf("the connection to %s failed", host)
	case CodeUnauthorized:
		d.Summary = "the target rejected the token (HTTP 401): it is wrong, expired or revoked"
	case CodeForbidden:
		d.Summary = "the target accepted the token but refused access (HTTP 403)"
	case CodeNotFound, CodeMethodNotAllowed:
		d.Summary = fmt.Sprintf("%s%s does not exist (HTTP %d): the tenant URL is probably wrong", c.base, endpoint, e.Status)
		d.Recommendation = c.suggestBase()
	case CodeRedirect:
		d.Summary = fmt.Sprintf("%s%s redirects (HTTP %d) to %s", c.base, endpoint, e.Status, e.Location)
	case CodeNotSCIM:
		if e.Status >= 400 {
			d.Summary = fmt.Sprintf("%s%s answered HTTP %d with something that is not SCIM", c.base, endpoint, e.Status)
		} else {
			d.Summary = fmt.Sprintf("%s%s is not a SCIM endpoint: %s", c.base, endpoint, e.Detail)
		}
		d.Recommendation = e.Recommendation() + " " + c.suggestBase()
	case CodeContentType:
		d.Summary = fmt.Sprintf("%s%s answered with the wrong content type", c.base, endpoint)
	case CodeFilterIgnored:
		d.Summary = fmt.Sprintf("%s%s ignores filters: %s", c.base, endpoint, e.Detail)
	case CodeServerError, CodeNotImplemented:
		d.Summary = fmt.Sprintf("the target failed with HTTP %d", e.Status)
	default:
		d.Summary = fmt.Sprintf("the probe of %s%s failed", c.base, endpoint)
	}
	if endpoint == "/Groups" && d.Code != CodeUnauthorized && d.Code != CodeForbidden {
		d.Summary += " (the users probe succeeded; turn group provisioning off if the target has no groups)"
	}
}

// suggestBase proposes the tenant URL a 404 or an HTML page suggests.
func (c *Client) suggestBase() string {
	u, _ := url.Parse(c.base)
	path := u.Path
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, "/users") || strings.HasSuffix(lower, "/groups"):
		u.Path = path[:strings.LastIndex(path, "/")]
		return fmt.Sprintf("The tenant URL is the SCIM base, without /Users or /Groups: try %s.", u.String())
	case !strings.HasSuffix(lower, "/scim/v2") && !strings.HasSuffix(lower, "/scim"):
		u.Path = path + "/scim/v2"
		return fmt.Sprintf("SCIM endpoints usually end in /scim/v2: try %s (AWS IAM Identity Center: https://scim.REGION.amazonaws.com/TENANT/scim/v2).", u.String())
	}
	return "Copy the SCIM endpoint URL exactly as the target shows it (AWS IAM Identity Center: Settings > Automatic provisioning)."
}
