package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	cases := []struct {
		addr          string
		open, private bool // allowed by default / allowed with DenyPrivate
	}{
		{"169.254.169.254", false, false},
		{"169.254.1.1", false, false},
		{"fe80::1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::1", false, false},  // 6to4 of 169.254.169.254
		{"fd00:ec2::254", false, false},
		{"100.100.100.200", false, false},
		{"224.0.0.1", false, false},
		{"239.255.255.250", false, false},
		{"ff02::1", false, false},
		{"ff0e::1", false, false},
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"::", false, false},
		{"255.255.255.255", false, false},
		{"127.0.0.1", true, false},
		{"127.8.9.10", true, false},
		{"::1", true, false},
		{"::ffff:127.0.0.1", true, false},
		{"10.1.2.3", true, false},
		{"172.16.0.1", true, false},
		{"192.168.1.1", true, false},
		{"fc00::1", true, false},
		{"fd12:3456::1", true, false},
		{"100.64.0.1", true, false},
		{"64:ff9b::a00:1", true, false}, // NAT64 of 10.0.0.1
		{"198.18.0.1", true, false},
		{"8.8.8.8", true, true},
		{"1.1.1.1", true, true},
		{"2606:4700:4700::1111", true, true},
		{"64:ff9b::808:808", true, true}, // NAT64 of 8.8.8.8
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		for _, deny := range []bool{false, true} {
			want := c.open
			if deny {
				want = c.private
			}
			err := CheckAddr(a, deny)
			if (err == nil) != want {
				t.Errorf("CheckAddr(%s, denyPrivate=%v) = %v, want allowed=%v", c.addr, deny, err, want)
			}
			if err != nil && !errors.Is(err, ErrBlockedAddress) {
				t.Errorf("CheckAddr(%s): %v is not ErrBlockedAddress", c.addr, err)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	c := NewClient(ClientOptions{})
	if c.Timeout != 60*time.Second {
		t.Errorf("overall timeout %v, want 60s", c.Timeout)
	}
	tr := c.Transport.(*guardedTransport).base
	if tr.TLSHandshakeTimeout != 5*time.Second || tr.ResponseHeaderTimeout != 30*time.Second {
		t.Errorf("TLS handshake %v, response header %v; want 5s, 30s", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
	if tr.Proxy != nil {
		t.Error("a proxy would bypass the guard")
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS MinVersion %x, want TLS 1.2", tr.TLSClientConfig.MinVersion)
	}
	if o := (ClientOptions{}).withDefaults(); o.ConnectTimeout != 5*time.Second || o.MaxResponseBytes != DefaultMaxResponseBytes {
		t.Errorf("connect timeout %v, max response %d", o.ConnectTimeout, o.MaxResponseBytes)
	}
}

// The guard runs before connect(): the metadata service is never contacted.
func TestGuardRefusesAlwaysBlockedAddresses(t *testing.T) {
	c := NewClient(ClientOptions{ConnectTimeout: time.Second})
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/",
		"http://0.0.0.0:1/",
		"http://[::]:1/",
		"http://224.0.0.1/",
		"http://[ff02::1]/",
	} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s succeeded", u)
			continue
		}
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("GET %s: %v, want ErrBlockedAddress", u, err)
		}
	}
}

func TestDenyPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	t.Run("loopback allowed by default", func(t *testing.T) {
		resp, err := NewClient(ClientOptions{}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	t.Run("loopback refused with DenyPrivate", func(t *testing.T) {
		_, err := NewClient(ClientOptions{DenyPrivate: true}).Get(srv.URL)
		if !errors.Is(err, ErrBlockedAddress) {
			t.Fatalf("err = %v, want ErrBlockedAddress", err)
		}
	})
	t.Run("a host name is judged by the address it resolves to", func(t *testing.T) {
		_, err := NewClient(ClientOptions{DenyPrivate: true}).Get("http://localhost:" + port + "/")
		if !errors.Is(err, ErrBlockedAddress) {
			t.Fatalf("err = %v, want ErrBlockedAddress", err)
		}
	})
}

// fakeDNS answers every A query with addr and every other query with no
// records: a name an attacker controls that resolves to the metadata service.
func fakeDNS(t *testing.T, addr netip.Addr) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if n < 12 {
				continue
			}
			// Question ends after the name's zero label + type + class.
			i := 12
			for i < n && q[i] != 0 {
				i += int(q[i]) + 1
			}
			if i+5 > n {
				continue
			}
			qtype := binary.BigEndian.Uint16(q[i+1:])
			resp := append([]byte(nil), q[:i+5]...)
			resp[2] = 0x81 // response, recursion desired
			resp[3] = 0x80 // recursion available, NOERROR
			binary.BigEndian.PutUint16(resp[6:], 0)
			binary.BigEndian.PutUint16(resp[8:], 0)
			binary.BigEndian.PutUint16(resp[10:], 0)
			if qtype == 1 {
				binary.BigEndian.PutUint16(resp[6:], 1)
				a := addr.As4()
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, a[0], a[1], a[2], a[3])
			}
			pc.WriteTo(resp, from)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func TestGuardChecksResolvedAddress(t *testing.T) {
	res := fakeDNS(t, netip.MustParseAddr("169.254.169.254"))
	addrs, err := res.LookupHost(context.Background(), "metadata.attacker.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "169.254.169.254" {
		t.Fatalf("fake DNS: %v %v", addrs, err)
	}
	c := NewClient(ClientOptions{Resolver: res, ConnectTimeout: time.Second})
	_, err = c.Get("http://metadata.attacker.test/latest/meta-data/")
	var be *BlockedAddressError
	if !errors.As(err, &be) || be.Addr.String() != "169.254.169.254" {
		t.Fatalf("err = %v, want the resolved metadata address refused", err)
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("response header", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		start := time.Now()
		_, err := NewClient(ClientOptions{ResponseHeaderTimeout: 100 * time.Millisecond}).Get(srv.URL)
		if err == nil || !isTimeout(err) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("overall, while reading a slow body", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		resp, err := NewClient(ClientOptions{Timeout: 200 * time.Millisecond}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		if err == nil || !isTimeout(err) {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
	t.Run("TLS handshake", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close() // accept, then say nothing
			}
		}()
		_, err = NewClient(ClientOptions{TLSHandshakeTimeout: 100 * time.Millisecond}).Get("https://" + ln.Addr().String() + "/")
		if err == nil || !strings.Contains(err.Error(), "TLS handshake timeout") {
			t.Fatalf("err = %v, want a TLS handshake timeout", err)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestTLS(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer srv.Close()
		_, err := NewClient(ClientOptions{}).Get(srv.URL)
		var ue x509.UnknownAuthorityError
		var cv *tls.CertificateVerificationError
		if !errors.As(err, &ue) && !errors.As(err, &cv) {
			t.Fatalf("err = %v, want a certificate verification error", err)
		}
	})
	t.Run("trusted through TLSConfig", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer srv.Close()
		resp, err := NewClient(ClientOptions{TLSConfig: rootsFor(srv)}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	t.Run("TLS 1.1 refused even if the caller allows it", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		srv.StartTLS()
		defer srv.Close()
		conf := rootsFor(srv)
		conf.MinVersion = tls.VersionTLS10
		_, err := NewClient(ClientOptions{TLSConfig: conf}).Get(srv.URL)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("err = %v, want a protocol version failure", err)
		}
	})
}

func rootsFor(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other") }))
	defer other.Close()
	_, otherPort, _ := net.SplitHostPort(other.Listener.Addr().String())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			io.WriteString(w, "final")
		case "/other-port":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/other-name":
			http.Redirect(w, r, "http://localhost:"+otherPort+"/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{})

	resp, err := c.Get(srv.URL + "/same")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "final" {
		t.Fatalf("same-host redirect: body %q", b)
	}
	for _, p := range []string{"/other-port", "/other-name", "/loop"} {
		_, err := c.Get(srv.URL + p)
		var re *RedirectError
		if !errors.As(err, &re) {
			t.Errorf("GET %s: err = %v, want a RedirectError", p, err)
		}
	}
	_, err = NewClient(ClientOptions{MaxRedirects: -1}).Get(srv.URL + "/same")
	var re *RedirectError
	if !errors.As(err, &re) {
		t.Errorf("MaxRedirects -1: err = %v, want a RedirectError", err)
	}

	t.Run("https to http downgrade", func(t *testing.T) {
		tsrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+r.Host+"/", http.StatusFound)
		}))
		defer tsrv.Close()
		_, err := NewClient(ClientOptions{TLSConfig: rootsFor(tsrv)}).Get(tsrv.URL)
		var re *RedirectError
		if !errors.As(err, &re) || !strings.Contains(re.Reason, "downgrade") {
			t.Fatalf("err = %v, want a downgrade refusal", err)
		}
	})
}

func TestSameHost(t *testing.T) {
	cases := []struct {
		h1, s1, h2, s2 string
		want           bool
	}{
		{"a.example", "https", "A.example:443", "https", true},
		{"a.example", "http", "a.example", "https", true},
		{"a.example:8080", "http", "a.example:8443", "https", false},
		{"a.example", "https", "b.example", "https", false},
		{"127.0.0.1:1", "http", "127.0.0.1:2", "http", false},
	}
	for _, c := range cases {
		if got := sameHost(c.h1, c.s1, c.h2, c.s2); got != c.want {
			t.Errorf("sameHost(%s://%s, %s://%s) = %v", c.s1, c.h1, c.s2, c.h2, got)
		}
	}
}

func TestResponseSizeCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("length") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write([]byte(strings.Repeat("x", n)))
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{MaxResponseBytes: 1000})
	get := func(q string) ([]byte, error) {
		resp, err := c.Get(srv.URL + "/?" + q)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if b, err := get("n=1000"); err != nil || len(b) != 1000 {
		t.Fatalf("body at the limit: %d bytes, %v", len(b), err)
	}
	if _, err := get("n=5000"); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("streamed body over the limit: %v", err)
	}
	if _, err := get("n=1001&length=1"); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("Content-Length over the limit: %v", err)
	}
}

func TestUserAgent(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.UserAgent() }))
	defer srv.Close()
	resp, err := NewClient(ClientOptions{UserAgent: "Gatehouse-Test"}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Gatehouse-Test" {
		t.Fatalf("User-Agent %q", got)
	}
}
