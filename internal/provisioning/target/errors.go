package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Error codes: a closed, documented catalogue (see Catalogue). The engine
// stores the code in each provisioning log entry; the codes are stable
// across releases, their texts are not.
const (
	CodeInvalidValue      = "SCIM_400_INVALID_VALUE"
	CodeInvalidSyntax     = "SCIM_400_INVALID_SYNTAX"
	CodeInvalidFilter     = "SCIM_400_INVALID_FILTER"
	CodeInvalidPath       = "SCIM_400_INVALID_PATH"
	CodeNoTarget          = "SCIM_400_NO_TARGET"
	CodeMutability        = "SCIM_400_MUTABILITY"
	CodeTooMany           = "SCIM_400_TOO_MANY"
	CodeInvalidVersion    = "SCIM_400_INVALID_VERS"
	CodeSensitive         = "SCIM_400_SENSITIVE"
	CodeBadRequest        = "SCIM_400_BAD_REQUEST"
	CodeUnauthorized      = "SCIM_401_UNAUTHORIZED"
	CodeForbidden         = "SCIM_403_FORBIDDEN"
	CodeNotFound          = "SCIM_404_NOT_FOUND"
	CodeMethodNotAllowed  = "SCIM_405_METHOD_NOT_ALLOWED"
	CodeUniqueness        = "SCIM_409_UNIQUENESS"
	CodePrecondition      = "SCIM_412_PRECONDITION_FAILED"
	CodePayloadTooLarge   = "SCIM_413_PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia  = "SCIM_415_UNSUPPORTED_MEDIA_TYPE"
	CodeThrottled         = "SCIM_429_THROTTLED"
	CodeClientError       = "SCIM_4XX"
	CodeNotImplemented    = "SCIM_501_NOT_IMPLEMENTED"
	CodeServerError       = "SCIM_5XX"
	CodeDNS               = "NETWORK_DNS"
	CodeConnectRefused    = "NETWORK_CONNECT_REFUSED"
	CodeTimeout           = "NETWORK_TIMEOUT"
	CodeTLS               = "NETWORK_TLS"
	CodeBlocked           = "NETWORK_BLOCKED"
	CodeNetwork           = "NETWORK_ERROR"
	CodeNotSCIM           = "PROTOCOL_NOT_SCIM"
	CodeContentType       = "PROTOCOL_CONTENT_TYPE"
	CodeRedirect          = "PROTOCOL_REDIRECT"
	CodeFilterIgnored     = "PROTOCOL_FILTER_IGNORED"
	CodeResponseTooLarge  = "PROTOCOL_RESPONSE_TOO_LARGE"
	CodeInvalidRequest    = "CLIENT_INVALID_REQUEST"
	CodeCanceled          = "CANCELED"
	awsGenericValidation  = "violates schema"
	maxErrorBody          = 4 << 10
	maxDetailFromRawBody  = 300
	defaultRecommendation = "Read the detail and the target's response in this entry; if it does not explain the failure, check the target's own logs at the time of the request."
)

// CodeInfo documents one error code.
type CodeInfo struct {
	Code           string
	Meaning        string
	Transient      bool // retrying later can succeed without a configuration change
	Recommendation string
}

// Catalogue is the documented list of error codes, in the order an operator
// would look for them. docs/adr/0005-outbound-http.md reproduces it.
var Catalogue = []CodeInfo{
	{CodeInvalidValue, "The target rejected a value (scimType invalidValue).", false,
		"The detail names the attribute: fix the value in the source directory or give the mapping a default value or an expression that produces a value the target accepts, then provision the object on demand to confirm."},
	{CodeInvalidSyntax, "The target could not parse the request (scimType invalidSyntax).", false,
		"Check the mapped attribute's type (string, boolean, complex) against the target's /Schemas; a mapping that produces a string where the target expects a boolean or an object is the usual cause."},
	{CodeInvalidFilter, "The target refused the matching query's filter (scimType invalidFilter).", false,
		"Match on an attribute the target can filter on (AWS IAM Identity Center: userName or externalId for users, displayName or externalId for groups), and avoid characters the target rejects in the matched value."},
	{CodeInvalidPath, "A PATCH path names an attribute the target does not have (scimType invalidPath).", false,
		"Remove or correct the mapping's target attribute; compare it with the target's /Schemas (gatehouse app test shows them)."},
	{CodeNoTarget, "A PATCH path matched nothing on the target (scimType noTarget).", false,
		"The object differs on the target from what Gatehouse last wrote; a full reconciliation (gatehouse app provision NAME --restart) rewrites it."},
	{CodeMutability, "The request changes a read-only or immutable attribute (scimType mutability).", false,
		"Set the mapping to apply only on create, or stop mapping the attribute."},
	{CodeTooMany, "The target refused the request as too large or too broad (scimType tooMany).", false,
		"Use a unique matching attribute, or lower the application's membership batch size."},
	{CodeInvalidVersion, "The target refused the resource version (scimType invalidVers).", true,
		"The object changed on the target at the same time; it is retried in the next cycle."},
	{CodeSensitive, "The target refuses personal data in the URL (scimType sensitive).", false,
		"Match on an attribute that is not personal data (for example externalId)."},
	{CodeBadRequest, "The target answered 400 without a reason code.", false,
		"Read the detail. AWS IAM Identity Center answers every schema problem with \"Request is unparsable, syntactically incorrect, or violates schema\": check that userName, displayName, name.givenName and name.familyName have values, that there is at most one email (marked primary), one address and one phone number, and that names contain none of < > ; : % or control characters."},
	{CodeUnauthorized, "The target rejected the token (HTTP 401).", false,
		"The token is wrong, expired or revoked (AWS IAM Identity Center tokens expire after one year): create a new token in the target, store it in the application and run gatehouse app test NAME."},
	{CodeForbidden, "The token is valid but not allowed to do this (HTTP 403).", false,
		"Give the token's identity permission to manage users and groups on the target, and check IP allow-lists or tenant restrictions in front of it."},
	{CodeNotFound, "The object or the endpoint does not exist on the target (HTTP 404).", false,
		"If only this object fails, it was deleted on the target outside Gatehouse and is matched again; if every request fails, the tenant URL is wrong (it usually ends in /scim/v2)."},
	{CodeMethodNotAllowed, "The target does not allow this HTTP method here (HTTP 405).", false,
		"The target does not support this operation (for example PUT or DELETE): choose the target profile that matches it or turn the operation off for the application."},
	{CodeUniqueness, "An object with the same unique attribute already exists (HTTP 409, scimType uniqueness).", false,
		"Gatehouse looks the object up by its matching attributes and links it. If that finds nothing, the existing target object differs on them: match on an attribute both sides share (externalId, userName, email) or remove the duplicate in the target."},
	{CodePrecondition, "The target's resource version did not match (HTTP 412).", true,
		"The object changed on the target at the same time; it is retried in the next cycle."},
	{CodePayloadTooLarge, "The request body is larger than the target accepts (HTTP 413).", false,
		"Lower the application's membership batch size, or shorten the mapped values."},
	{CodeUnsupportedMedia, "The target does not accept the request's content type (HTTP 415).", false,
		"The target does not accept application/scim+json; it is not a SCIM 2.0 endpoint or needs a vendor-specific integration."},
	{CodeThrottled, "The target is throttling Gatehouse (HTTP 429).", true,
		"Nothing to do for occasional throttling: Gatehouse waits for Retry-After and slows down by itself. If it persists, lower the application's rate limit or concurrency."},
	{CodeClientError, "The target refused the request with another 4xx status.", false,
		"Read the status and the detail; the request is not retried unchanged."},
	{CodeNotImplemented, "The target does not implement this operation (HTTP 501).", false,
		"Turn the operation off for the application (for example group provisioning) or choose the target profile that matches the target."},
	{CodeServerError, "The target failed (HTTP 5xx).", true,
		"Retried automatically with backoff. If it persists, check the target's health and its logs around the time and request id in this entry."},
	{CodeDNS, "The target's host name does not resolve.", false,
		"Check the host name in the tenant URL and that the Gatehouse server can resolve it (its DNS, split-horizon zones, /etc/hosts)."},
	{CodeConnectRefused, "Nothing accepts connections at the target's address and port.", true,
		"Check the port in the tenant URL, that the target is running, and firewalls between Gatehouse and the target."},
	{CodeTimeout, "The target did not answer in time (connect, TLS handshake or response).", true,
		"Retried automatically. If it persists: a firewall that drops packets (connect timeout) or a target slower than 30 s per request (response timeout); check the target's load and network path."},
	{CodeTLS, "The TLS handshake with the target failed (certificate or protocol).", false,
		"Read the certificate error: install the target's CA on the Gatehouse server (SSL_CERT_FILE) or give the target a publicly trusted certificate whose name matches the URL; Gatehouse requires TLS 1.2 or later."},
	{CodeBlocked, "Gatehouse's outbound guard refused the target's address.", false,
		"The tenant URL resolves to a link-local, metadata, multicast or (with private addresses denied) internal address; use the target's real address."},
	{CodeNetwork, "The connection failed (reset, closed early or unreachable).", true,
		"Retried automatically; if it persists, check proxies, load balancers and firewalls between Gatehouse and the target."},
	{CodeNotSCIM, "The response is not SCIM (an HTML page, not JSON, or JSON of the wrong shape).", false,
		"The tenant URL reaches a web page, login page or other API rather than the SCIM endpoint: use the SCIM base URL (it usually ends in /scim/v2)."},
	{CodeContentType, "The response declares a content type other than application/scim+json or application/json.", false,
		"The target is not a conforming SCIM endpoint or a proxy rewrites its responses; fix the target or the proxy."},
	{CodeRedirect, "The target answered with a redirect; Gatehouse does not follow redirects for SCIM calls.", false,
		"Put the final URL (the Location in this entry) in the application's tenant URL."},
	{CodeFilterIgnored, "A filter that matches nothing returned objects: the target ignores the filter.", false,
		"The target cannot filter on the matching attribute, so matching would link wrong objects: match on an attribute it filters on, or fix the target."},
	{CodeResponseTooLarge, "The response exceeded Gatehouse's size limit.", false,
		"The target returned far more than asked (often an ignored filter); check the target."},
	{CodeInvalidRequest, "Gatehouse refused to send a request the target would certainly reject.", false,
		"Read the detail: it names the operation or attribute that breaks the target profile's rules; fix the mapping or the source object."},
	{CodeCanceled, "The request was canceled (shutdown or cycle stopped).", true,
		"Nothing to do: the object is picked up again in the next cycle."},
}

var catalogue = func() map[string]CodeInfo {
	m := make(map[string]CodeInfo, len(Catalogue))
	for _, c := range Catalogue {
		m[c.Code] = c
	}
	return m
}()

// Sentinels for errors.Is; an *Error matches the one its status implies.
var (
	ErrNotFound     = errors.New("target: resource not found")
	ErrConflict     = errors.New("target: resource already exists")
	ErrUnauthorized = errors.New("target: credentials rejected")
	ErrThrottled    = errors.New("target: throttled")
)

// Error is a failed target operation: the HTTP exchange (or the reason there
// was none), the SCIM error it carried, and how to react.
type Error struct {
	Op       string // CreateUser, PatchGroup, Test, ...
	Method   string
	URL      string // without credentials
	Status   int    // 0 when no response was received
	ScimType string
	Detail   string
	Body     string // the response body, capped at 4 KiB
	// RequestID is the target's id for the request (x-amzn-RequestId,
	// X-Request-Id, or the body's exceptionRequestId), for its support.
	RequestID  string
	Location   string // a redirect's target
	Transient  bool
	RetryAfter time.Duration
	Attempts   int // requests sent for this operation, retries included
	Cause      error

	code string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.URL)
	}
	b.WriteString(e.Code())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.ScimType != "" {
			fmt.Fprintf(&b, ", scimType %s", e.ScimType)
		}
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	} else if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Cause }

// Is matches the sentinels ErrNotFound, ErrConflict, ErrUnauthorized and
// ErrThrottled.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Code() == CodeUniqueness
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrThrottled:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// Code is the error's stable code from Catalogue.
func (e *Error) Code() string {
	if e.code != "" {
		return e.code
	}
	return statusCode(e.Status, e.ScimType)
}

// Recommendation is the troubleshooting sentence for the log entry.
func (e *Error) Recommendation() string {
	code := e.Code()
	switch {
	case code == CodeRedirect && e.Location != "":
		return "Put the final URL in the application's tenant URL: the target redirects to " + e.Location + " and Gatehouse does not follow redirects for SCIM calls."
	case code == CodeBadRequest && strings.Contains(e.Detail, awsGenericValidation):
		return catalogue[CodeBadRequest].Recommendation
	}
	if c, ok := catalogue[code]; ok {
		return c.Recommendation
	}
	return defaultRecommendation
}

// Describe returns the catalogue entry for code.
func Describe(code string) (CodeInfo, bool) {
	c, ok := catalogue[code]
	return c, ok
}

// IsNotFound reports whether err is a 404 from the target: for GetUser and
// GetGroup, the object was deleted out of band.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// AsError returns the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func statusCode(status int, scimType string) string {
	switch {
	case strings.EqualFold(scimType, "uniqueness"):
		return CodeUniqueness
	case status == http.StatusBadRequest:
		switch strings.ToLower(scimType) {
		case "invalidvalue":
			return CodeInvalidValue
		case "invalidsyntax":
			return CodeInvalidSyntax
		case "invalidfilter":
			return CodeInvalidFilter
		case "invalidpath":
			return CodeInvalidPath
		case "notarget":
			return CodeNoTarget
		case "mutability":
			return CodeMutability
		case "toomany":
			return CodeTooMany
		case "invalidvers":
			return CodeInvalidVersion
		case "sensitive":
			return CodeSensitive
		}
		return CodeBadRequest
	case status == http.StatusUnauthorized:
		return CodeUnauthorized
	case status == http.StatusForbidden:
		return CodeForbidden
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case status == http.StatusConflict:
		return CodeUniqueness
	case status == http.StatusPreconditionFailed:
		return CodePrecondition
	case status == http.StatusRequestEntityTooLarge:
		return CodePayloadTooLarge
	case status == http.StatusUnsupportedMediaType:
		return CodeUnsupportedMedia
	case status == http.StatusTooManyRequests:
		return CodeThrottled
	case status == http.StatusNotImplemented:
		return CodeNotImplemented
	case status >= 300 && status < 400:
		return CodeRedirect
	case status >= 400 && status < 500:
		return CodeClientError
	case status >= 500:
		return CodeServerError
	}
	return CodeNetwork
}

// transientStatus: worth retrying unchanged. No 4xx but 429 (not even 408).
func transientStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return status > 505 && status < 600
}

// scimErrorBody is RFC 7644 §3.12 plus the variants seen in the wild: AWS
// IAM Identity Center writes "schema" (sic) and adds exceptionRequestId;
// SCIM 1.1 servers send {"Errors":[{"description":..}]}; others send
// message, error_description or an RFC 9457 title.
type scimErrorBody struct {
	Schemas          []string        `json:"schemas"`
	Schema           json.RawMessage `json:"schema"`
	ScimType         string          `json:"scimType"`
	Detail           string          `json:"detail"`
	Status           json.RawMessage `json:"status"`
	Message          string          `json:"message"`
	ErrorDescription string          `json:"error_description"`
	Title            string          `json:"title"`
	RequestID        string          `json:"exceptionRequestId"`
	Errors           []struct {
		Description string `json:"description"`
	} `json:"Errors"`
}

// httpError builds the *Error for a non-2xx response.
func httpError(op string, r *response, now time.Time) *Error {
	e := &Error{
		Op: op, Method: r.method, URL: r.url, Status: r.status,
		Body:      capString(string(r.body), maxErrorBody),
		RequestID: firstNonEmpty(r.header.Get("x-amzn-RequestId"), r.header.Get("X-Request-Id")),
		Transient: transientStatus(r.status),
	}
	var b scimErrorBody
	if json.Unmarshal(r.body, &b) == nil {
		e.ScimType = b.ScimType
		e.Detail = firstNonEmpty(b.Detail, b.Message, b.ErrorDescription, b.Title)
		if e.Detail == "" && len(b.Errors) > 0 {
			e.Detail = b.Errors[0].Description
		}
		if b.RequestID != "" {
			e.RequestID = b.RequestID
		}
	} else if isHTML(r.contentType, r.body) {
		if t := htmlTitle(r.body); t != "" {
			e.Detail = "HTML page: " + t
		} else {
			e.Detail = "HTML page"
		}
	} else if s := strings.TrimSpace(string(r.body)); s != "" {
		e.Detail = capString(s, maxDetailFromRawBody)
	}
	if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(r.header.Get("Retry-After"), now)
	}
	if r.status >= 300 && r.status < 400 {
		e.Location = r.header.Get("Location")
		if e.Detail == "" || isHTML(r.contentType, r.body) {
			e.Detail = "redirected to " + e.Location
		}
		e.code = CodeRedirect
	}
	if r.status == http.StatusConflict && e.ScimType == "" {
		e.ScimType = "uniqueness"
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// transportError classifies an error from http.Client.Do or from reading
// the body.
func transportError(ctx context.Context, op, method, url string, err error) *Error {
	e := &Error{Op: op, Method: method, URL: url, Cause: err}
	var (
		dnsErr  *net.DNSError
		redir   *httpx.RedirectError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		ne      net.Error
	)
	switch {
	case ctx.Err() == context.Canceled:
		e.code, e.Transient, e.Detail = CodeCanceled, true, "canceled"
	case ctx.Err() == context.DeadlineExceeded:
		e.code, e.Transient, e.Detail = CodeTimeout, true, "the operation's deadline passed"
	case errors.Is(err, httpx.ErrBlockedAddress):
		e.code, e.Detail = CodeBlocked, rootMessage(err)
	case errors.Is(err, httpx.ErrResponseTooLarge):
		e.code, e.Detail = CodeResponseTooLarge, rootMessage(err)
	case errors.As(err, &redir):
		e.code, e.Location, e.Detail = CodeRedirect, redir.To, redir.Error()
	case errors.As(err, &dnsErr):
		e.code = CodeDNS
		e.Transient = dnsErr.IsTimeout || dnsErr.IsTemporary
		e.Detail = fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		e.code, e.Detail = CodeTLS, "certificate rejected: "+rootMessage(err)
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.code, e.Detail = CodeTLS, "the server does not speak TLS on this port (use http:// or the TLS port): "+rootMessage(err)
	case errors.As(err, &alert):
		e.code, e.Detail = CodeTLS, "the server ended the TLS handshake: "+rootMessage(err)
	case strings.Contains(err.Error(), "TLS handshake timeout"):
		e.code, e.Transient, e.Detail = CodeTimeout, true, "TLS handshake timeout"
	case strings.Contains(err.Error(), "tls: "):
		e.code, e.Detail = CodeTLS, rootMessage(err)
	case errors.Is(err, syscall.ECONNREFUSED):
		e.code, e.Transient, e.Detail = CodeConnectRefused, true, "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		e.code, e.Transient = CodeTimeout, true
		switch {
		case isDialError(err):
			e.Detail = "connect timeout"
		case strings.Contains(err.Error(), "awaiting") && strings.Contains(err.Error(), "headers"):
			e.Detail = "no response headers in time"
		default:
			e.Detail = "timeout: " + rootMessage(err)
		}
	default:
		e.code, e.Transient, e.Detail = CodeNetwork, true, rootMessage(err)
	}
	return e
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// rootMessage strips the url.Error prefix ("Get \"https://...\": ").
func rootMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Do not cut a UTF-8 sequence in half.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func isHTML(contentType string, body []byte) bool {
	if strings.HasPrefix(strings.ToLower(contentType), "text/html") {
		return true
	}
	s := strings.ToLower(strings.TrimSpace(string(body[:min(len(body), 64)])))
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html")
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

func htmlTitle(body []byte) string {
	m := titleRE.FindSubmatch(body[:min(len(body), 16<<10)])
	if m == nil {
		return ""
	}
	return capString(strings.Join(strings.Fields(string(m[1])), " "), 120)
}
