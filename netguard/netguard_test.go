package netguard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/testkit"
)

func TestValidateURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLChars-len("https://example.com/"))
	cases := []struct {
		name         string
		raw          string
		allowPrivate bool
		wantErr      string // substring; "" means valid
	}{
		{"public https url is valid", "https://api.acme.com/switchboard/invoices?x=1", false, ""},
		{"public http url with port is valid", "http://api.acme.com:8080/x", false, ""},
		{"public IPv4 literal is valid", "https://8.8.8.8/", false, ""},
		{"public IPv6 literal is valid", "https://[2606:4700:4700::1111]/", false, ""},
		{"url of exactly 2048 characters is valid", long, false, ""},
		{"multi-byte path counts characters not bytes", "https://example.com/" + strings.Repeat("é", MaxURLChars-20), false, ""},
		{"internationalised public name is valid", "https://bücher.example/", false, ""},
		{"underscore in an ASCII name is valid", "https://my_service.acme.com/", false, ""},
		{"upper-case scheme and host are valid", "HTTPS://API.ACME.COM/x", false, ""},
		{"full-width dot before internal is refused", "http://foo。internal/", false, "local or internal host"},

		{"localhost is refused", "http://localhost:8080/x", false, "must not point to a local or internal host"},
		{"localhost in capitals with trailing dot is refused", "http://LOCALHOST./x", false, "local or internal host"},
		{"subdomain of localhost is refused", "http://api.localhost/", false, "local or internal host"},
		{"full-width localhost is refused", "http://ｌｏｃａｌｈｏｓｔ/", false, "local or internal host"},
		{"foo.internal is refused", "https://foo.internal/hook", false, "local or internal host"},
		{"metadata.google.internal is refused", "http://metadata.google.internal/computeMetadata/v1/", false, "local or internal host"},
		{"10.0.0.1 is refused", "http://10.0.0.1/", false, "non-public address (got '10.0.0.1')"},
		{"IPv6 loopback is refused", "http://[::1]:9000/", false, "non-public address (got '::1')"},
		{"CGNAT 100.64.0.1 is refused", "http://100.64.0.1/", false, "non-public address"},
		{"IPv4-mapped loopback is refused", "http://[::ffff:127.0.0.1]/", false, "non-public address"},
		{"link-local metadata address is refused", "http://169.254.169.254/latest/meta-data/", false, "non-public address"},
		{"unspecified address is refused", "http://0.0.0.0:80/", false, "non-public address"},
		{"decimal IPv4 form is refused", "http://2130706433/", false, "DNS name or a standard IP address"},
		{"short IPv4 form is refused", "http://127.1/", false, "DNS name or a standard IP address"},
		{"hex IPv4 form is refused", "http://0x7f.0.0.1/", false, "DNS name or a standard IP address"},

		{"localhost is allowed with allowPrivate", "http://localhost:8080/x", true, ""},
		{"foo.internal is allowed with allowPrivate", "https://foo.internal/hook", true, ""},
		{"10.0.0.1 is allowed with allowPrivate", "http://10.0.0.1/", true, ""},
		{"IPv6 loopback is allowed with allowPrivate", "http://[::1]:9000/", true, ""},
		{"userinfo is refused even with allowPrivate", "https://user:pass@api.acme.com/", true, "must not contain userinfo"},
		{"userinfo without password is refused", "https://user@api.acme.com/", false, "must not contain userinfo"},
		{"fragment is refused", "https://api.acme.com/x#frag", false, "must not contain a fragment"},
		{"empty fragment is refused", "https://api.acme.com/x#", false, "must not contain a fragment"},
		{"ftp scheme is refused", "ftp://files.acme.com/x", false, "must use the http or https scheme (got 'ftp')"},
		{"javascript scheme is refused", "javascript:alert(1)", false, "must use the http or https scheme"},
		{"relative url is refused", "/relative/path", false, "must use the http or https scheme"},
		{"scheme without host is refused", "https:///path", false, "with a host"},
		{"opaque http url is refused", "http:api.acme.com", false, "with a host"},
		{"too long url is refused", long + "a", false, "must be at most 2048 characters"},
		{"empty url is refused", "", false, "must be an absolute http or https URL"},
		{"whitespace is refused", "https://api.acme.com/a b", false, "must not contain whitespace"},
		{"port zero is refused", "https://api.acme.com:0/", false, "port between 1 and 65535"},
		{"port too large is refused", "https://api.acme.com:65536/", false, "port between 1 and 65535"},
		{"invalid UTF-8 is refused", "https://api.acme.com/\xff", false, "valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateURL(tc.raw, tc.allowPrivate)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateURL(%q) = %v, want nil", tc.raw, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateURL(%q) = nil, want error containing %q", tc.raw, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ValidateURL(%q) = %q, want it to contain %q", tc.raw, err, tc.wantErr)
			}
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not a *URLError", err)
			}
		})
	}
}

func TestValidateURLMessageEchoesAtMost64Characters(t *testing.T) {
	raw := "ftp" + strings.Repeat("x", 500) + "://host/"
	err := ValidateURL(raw, false)
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), strings.Repeat("x", 65)) {
		t.Fatalf("message echoes more than 64 characters: %q", err)
	}
	if !strings.Contains(err.Error(), strings.Repeat("x", 61)+"…'") {
		t.Fatalf("message should show a cut value: %q", err)
	}
}

func TestIsPublicIP(t *testing.T) {
	cases := []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.216.34", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true},  // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},   // 6to4 of 8.8.8.8
		{"127.0.0.1", false},        // loopback
		{"127.255.255.254", false},  // loopback
		{"::1", false},              // loopback
		{"10.0.0.1", false},         // private
		{"10.255.255.255", false},   // private
		{"172.16.0.1", false},       // private
		{"172.31.255.255", false},   // private
		{"192.168.1.1", false},      // private
		{"fc00::1", false},          // unique local
		{"fd12:3456::1", false},     // unique local
		{"169.254.169.254", false},  // link-local
		{"fe80::1", false},          // link-local
		{"febf::1", false},          // link-local upper end
		{"100.64.0.1", false},       // CGNAT
		{"100.127.255.255", false},  // CGNAT
		{"0.0.0.0", false},          // unspecified
		{"::", false},               // unspecified
		{"224.0.0.1", false},        // multicast
		{"239.255.255.250", false},  // multicast
		{"ff02::1", false},          // multicast
		{"ff0e::1", false},          // global-scope multicast
		{"::ffff:127.0.0.1", false}, // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},  // IPv4-mapped private
		{"::ffff:169.254.169.254", false},
		{"::ffff:100.64.0.1", false},
		{"::ffff:0.0.0.0", false},
		{"::127.0.0.1", false},         // IPv4-compatible loopback
		{"64:ff9b::7f00:1", false},     // NAT64 of 127.0.0.1
		{"64:ff9b:1::808:808", false},  // local-use NAT64
		{"2002:7f00:1::1", false},      // 6to4 of 127.0.0.1
		{"2002:a00:1::1", false},       // 6to4 of 10.0.0.1
		{"0.1.2.3", false},             // this network
		{"255.255.255.255", false},     // broadcast
		{"240.0.0.1", false},           // reserved
		{"192.0.2.1", false},           // documentation
		{"198.51.100.7", false},        // documentation
		{"203.0.113.9", false},         // documentation
		{"198.18.0.1", false},          // benchmarking
		{"192.0.0.8", false},           // IETF protocol assignments
		{"2001:db8::1", false},         // documentation
		{"3fff::1", false},             // documentation
		{"2001:0:4136:e378::1", false}, // Teredo
		{"fec0::1", false},             // deprecated site-local
		{"100::1", false},              // discard-only
		{"fe80::1%eth0", false},        // zoned
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tc.addr)
			if got := IsPublicIP(addr); got != tc.public {
				t.Fatalf("IsPublicIP(%s) = %v, want %v", tc.addr, got, tc.public)
			}
		})
	}
	if IsPublicIP(netip.Addr{}) {
		t.Fatal("the zero Addr must not be public")
	}
}

// countingServer starts an HTTP server on 127.0.0.1 that counts accepted connections and
// handled requests.
func countingServer(t *testing.T, h http.HandlerFunc) (srv *httptest.Server, conns *testkit.ConnLog, reqs *atomic.Int64) {
	t.Helper()
	conns, reqs = new(testkit.ConnLog), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		h(w, r)
	}))
	srv.Config.ConnState = conns.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns, reqs
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

func TestTransportRefusesLoopbackWithoutReachingServer(t *testing.T) {
	srv, conns, reqs := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	u, _ := url.Parse(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	client := &http.Client{Transport: Transport(false), CheckRedirect: NoRedirects}
	defer client.CloseIdleConnections()
	for _, target := range []string{
		srv.URL,                                 // IP literal 127.0.0.1
		"http://localhost:" + u.Port(),          // a name that resolves to loopback
		"http://[::ffff:127.0.0.1]:" + u.Port(), // IPv4-mapped literal
	} {
		resp, err := get(ctx, client, target)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s succeeded, want refusal", target)
		}
		if !errors.Is(err, ErrRefusedAddress) {
			t.Fatalf("GET %s error = %v, want errors.Is ErrRefusedAddress", target, err)
		}
	}
	if n := conns.AcceptedBefore(t, srv.Listener.Addr().String()); n != 0 {
		t.Fatalf("server accepted %d connections, want 0", n)
	}
	if n := reqs.Load(); n != 0 {
		t.Fatalf("server handled %d requests, want 0", n)
	}
}

func TestTransportAllowsLoopbackWhenPrivateAllowed(t *testing.T) {
	srv, _, reqs := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: Transport(true), CheckRedirect: NoRedirects}
	defer client.CloseIdleConnections()
	resp, err := get(ctx, client, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" || reqs.Load() != 1 {
		t.Fatalf("body %q, requests %d; want hello, 1", body, reqs.Load())
	}
}

func TestTransportIgnoresEnvironmentProxy(t *testing.T) {
	if Transport(false).Proxy != nil || Transport(true).Proxy != nil {
		t.Fatal("a guarded transport must not use a proxy")
	}
}

func TestNoRedirectsReturnsTheRedirectResponse(t *testing.T) {
	var followed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := &http.Client{Transport: Transport(true), CheckRedirect: NoRedirects}
	defer client.CloseIdleConnections()
	resp, err := get(context.Background(), client, srv.URL+"/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed.Load() != 0 {
		t.Fatalf("status %d, followed %d; want 302, 0", resp.StatusCode, followed.Load())
	}
}

func TestValidateURLMessageNeverQuotesTheQueryString(t *testing.T) {
	for _, raw := range []string{"http:/hooks/run?token=s3cret", "http://[::1/x?token=s3cret", "http:///x?token=s3cret"} {
		err := ValidateURL(raw, true)
		if err == nil {
			t.Fatalf("%q accepted", raw)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "token") {
			t.Errorf("%q: message %q quotes the query string", raw, err)
		}
	}
	if got := WithoutQuery("https://api.example.com/v1/run?key=abc#frag"); got != "https://api.example.com/v1/run" {
		t.Errorf("WithoutQuery = %q", got)
	}
}
