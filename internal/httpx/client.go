package httpx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// This file is Gatehouse's one guarded outbound HTTP client (DESIGN.md
// convention 12, docs/adr/0005-outbound-http.md). Everything that calls a
// URL an administrator typed in (SCIM targets, webhooks, later OIDC
// discovery and SAML metadata) goes through NewClient; http.DefaultClient
// has no timeouts and would happily fetch http://169.254.169.254/.

// Defaults for ClientOptions' zero values.
const (
	DefaultConnectTimeout        = 5 * time.Second
	DefaultTLSHandshakeTimeout   = 5 * time.Second
	DefaultResponseHeaderTimeout = 30 * time.Second
	DefaultOverallTimeout        = 60 * time.Second
	DefaultMaxResponseBytes      = 16 << 20
	DefaultMaxRedirects          = 5
	DefaultUserAgent             = "Gatehouse"
)

// ClientOptions configures NewClient. The zero value is a safe client for
// internal targets: all timeouts on, link-local, multicast and unspecified
// addresses refused, loopback and private addresses allowed.
type ClientOptions struct {
	ConnectTimeout        time.Duration // TCP connect, per address tried (default 5s)
	TLSHandshakeTimeout   time.Duration // default 5s
	ResponseHeaderTimeout time.Duration // request written -> response headers (default 30s)
	Timeout               time.Duration // whole exchange including the body (default 60s)

	// MaxResponseBytes caps a response body; reading past it fails with
	// ErrResponseTooLarge (default 16 MiB; negative disables the cap).
	MaxResponseBytes int64

	// MaxRedirects bounds same-host redirects (default 5; negative refuses
	// every redirect). Redirects to another host, or from https to http,
	// are always refused with a *RedirectError.
	MaxRedirects int

	// DenyPrivate also refuses loopback, private (RFC 1918, fc00::/7),
	// shared (100.64.0.0/10) and other non-global ranges. Leave it off for
	// self-hosted targets on the internal network; turn it on where the URL
	// comes from someone who must not reach the internal network.
	DenyPrivate bool

	// TLSConfig adds roots or client certificates; MinVersion is raised to
	// TLS 1.2 whatever it says. Nil uses the system roots.
	TLSConfig *tls.Config

	// UserAgent is set on requests that carry none (default "Gatehouse").
	UserAgent string

	// Resolver resolves host names (nil: net.DefaultResolver). The guard
	// checks the address actually dialled, so a custom resolver cannot
	// bypass it.
	Resolver *net.Resolver
}

func (o ClientOptions) withDefaults() ClientOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, DefaultConnectTimeout)
	def(&o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	def(&o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	def(&o.Timeout, DefaultOverallTimeout)
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// ErrBlockedAddress is returned (wrapped in a *BlockedAddressError) when
// the guard refuses to connect to an address.
var ErrBlockedAddress = errors.New("outbound connection to a blocked address refused")

// ErrResponseTooLarge is returned by a response body read past
// ClientOptions.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("response body exceeds the size limit")

// BlockedAddressError names the address the guard refused and why.
type BlockedAddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("outbound connection to %s refused: %s", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrBlockedAddress) true.
func (e *BlockedAddressError) Is(target error) bool { return target == ErrBlockedAddress }

// RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	From, To string
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

// NewClient returns an *http.Client with timeouts, TLS >= 1.2, no proxy, a
// response size cap, a redirect policy and the SSRF guard. The guard runs in
// the dialer's Control hook, on the resolved address about to be connected,
// so a name that resolves to a public address for a check and to
// 169.254.169.254 for the connection (DNS rebinding) is still refused.
func NewClient(opts ClientOptions) *http.Client {
	o := opts.withDefaults()
	dialer := &net.Dialer{
		Timeout:   o.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  o.Resolver,
		Control:   guardControl(o.DenyPrivate),
	}
	var tlsConf *tls.Config
	if o.TLSConfig != nil {
		tlsConf = o.TLSConfig.Clone()
	} else {
		tlsConf = &tls.Config{}
	}
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}
	tr := &http.Transport{
		// No proxy: through a proxy the guard would check the proxy's
		// address, not the target's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     &guardedTransport{base: tr, maxBytes: o.MaxResponseBytes, userAgent: o.UserAgent},
		Timeout:       o.Timeout,
		CheckRedirect: redirectPolicy(o.MaxRedirects),
	}
}

// guardedTransport sets the User-Agent and caps response bodies.
type guardedTransport struct {
	base      *http.Transport
	maxBytes  int64
	userAgent string
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || t.maxBytes < 0 {
		return resp, err
	}
	if resp.ContentLength > t.maxBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Content-Length %d > %d", ErrResponseTooLarge, resp.ContentLength, t.maxBytes)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.maxBytes}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// underlying transport.
func (t *guardedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// cappedBody fails a read past the limit instead of truncating silently: a
// truncated JSON document must not look like a short valid one.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, ErrResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

func redirectPolicy(max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		prev := via[len(via)-1].URL
		from := via[0].URL
		switch {
		case max < 0:
			return &RedirectError{From: prev.String(), To: req.URL.String(), Reason: "redirects are disabled"}
		case len(via) > max:
			return &RedirectError{From: prev.String(), To: req.URL.String(), Reason: fmt.Sprintf("more than %d redirects", max)}
		case from.Scheme == "https" && req.URL.Scheme != "https":
			return &RedirectError{From: prev.String(), To: req.URL.String(), Reason: "downgrade from https to http"}
		case !sameHost(from.Host, from.Scheme, req.URL.Host, req.URL.Scheme):
			return &RedirectError{From: prev.String(), To: req.URL.String(), Reason: "the location is on another host"}
		}
		return nil
	}
}

// sameHost compares host:port with default ports made explicit, so that
// http://a -> https://a:443 is an upgrade on the same host.
func sameHost(h1, s1, h2, s2 string) bool {
	n1, p1 := splitHostPort(h1, s1)
	n2, p2 := splitHostPort(h2, s2)
	if !equalFoldASCII(n1, n2) {
		return false
	}
	if p1 == p2 {
		return true
	}
	// http://a -> https://a (default ports) is an upgrade, not a new host.
	return s1 == "http" && s2 == "https" && p1 == "80" && p2 == "443"
}

func splitHostPort(hostport, scheme string) (string, string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// guardControl is the dialer's Control hook: it runs after name
// resolution, once per address about to be connected.
func guardControl(denyPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedAddressError{Reason: fmt.Sprintf("cannot parse dialled address %q", address)}
		}
		return CheckAddr(ap.Addr(), denyPrivate)
	}
}

// Ranges refused whatever the options say, beyond what netip classifies.
var alwaysBlocked = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8) reaches the local host"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata service (AWS IMDS over IPv6)"},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata service (Alibaba Cloud)"},
}

// Ranges refused with DenyPrivate, beyond loopback and RFC 1918 / fc00::/7.
var privateBlocked = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (100.64.0.0/10, carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking range (198.18.0.0/15)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved range (240.0.0.0/4)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 prefix (64:ff9b:1::/48)"},
}

// NAT64 and 6to4 addresses embed an IPv4 address that is checked too.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// CheckAddr reports whether the guard lets a connection reach a. It returns
// a *BlockedAddressError (errors.Is ErrBlockedAddress) when it does not.
func CheckAddr(a netip.Addr, denyPrivate bool) error {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return &BlockedAddressError{Addr: a, Reason: "invalid address"}
	}
	block := func(reason string) error { return &BlockedAddressError{Addr: a, Reason: reason} }
	switch {
	case a.IsUnspecified():
		return block("unspecified address")
	case a.IsLinkLocalUnicast():
		if a == netip.MustParseAddr("169.254.169.254") {
			return block("cloud metadata service (169.254.169.254, link-local)")
		}
		return block("link-local address (169.254.0.0/16, fe80::/10)")
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return block("multicast address")
	}
	for _, b := range alwaysBlocked {
		if b.prefix.Contains(a) {
			return block(b.reason)
		}
	}
	// An IPv6 address that embeds an IPv4 one is judged by both.
	if a.Is6() {
		if v4, ok := embeddedV4(a); ok {
			if err := CheckAddr(v4, denyPrivate); err != nil {
				return block(fmt.Sprintf("embeds %s: %s", v4, err.(*BlockedAddressError).Reason))
			}
		}
	}
	if !denyPrivate {
		return nil
	}
	switch {
	case a.IsLoopback():
		return block("loopback address (refused because private addresses are denied)")
	case a.IsPrivate():
		return block("private address (refused because private addresses are denied)")
	}
	for _, b := range privateBlocked {
		if b.prefix.Contains(a) {
			return block(b.reason + " (refused because private addresses are denied)")
		}
	}
	return nil
}

func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
