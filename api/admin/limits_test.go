package admin_test

import (
	"strconv"
	"strings"
	"testing"
)

func TestOrgRateLimit(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE": "2"})
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	s.do(t, "GET", "/admin/me", a.key, nil).want(t, 200)
	s.do(t, "GET", "/admin/me", a.key, nil).want(t, 200)
	r := s.do(t, "GET", "/admin/me", a.key, nil).wantError(t, 429, "RATE_LIMITED", "-")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 || n > 30 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Other orgs and public endpoints are not affected.
	s.do(t, "GET", "/admin/me", b.key, nil).want(t, 200)
	s.do(t, "GET", "/admin/health", "", nil).want(t, 200)
	// A 401 comes before the org rate: an invalid credential is not throttled as the org.
	s.do(t, "GET", "/admin/me", "sbk_"+strings.Repeat("x", 43), nil).wantError(t, 401, "INVALID_TOKEN", "-")
	logs := s.logs.String()
	if !strings.Contains(logs, "org rate limit") || !strings.Contains(logs, a.id.String()) || !strings.Contains(logs, a.key[:8]+"…"+a.key[len(a.key)-4:]) {
		t.Fatalf("throttled request not logged with org and masked key:\n%s", logs)
	}
	if strings.Contains(logs, a.key) {
		t.Fatal("the key was logged")
	}
}

func TestFailedAuthenticationsBlockTheClientIP(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "3", "SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1/32"})
	a := s.newOrg(t, "A")
	from := func(ip string) []string { return []string{"X-Forwarded-For", "198.51.100.9, " + ip} }
	for i := 0; i < 3; i++ {
		s.do(t, "GET", "/admin/me", "wrong", nil, from("203.0.113.7")...).wantError(t, 401, "INVALID_TOKEN", "-")
	}
	// Now every request from that address is 429 before any credential check, valid or not.
	r := s.do(t, "GET", "/admin/me", a.key, nil, from("203.0.113.7")...).wantError(t, 429, "RATE_LIMITED", "-")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	s.do(t, "GET", "/admin/me", "", nil, from("203.0.113.7")...).wantError(t, 429, "RATE_LIMITED", "-")
	// Other addresses are not blocked; public endpoints never are.
	s.do(t, "GET", "/admin/me", a.key, nil, from("203.0.113.8")...).want(t, 200)
	s.do(t, "GET", "/admin/health", "", nil, from("203.0.113.7")...).want(t, 200)
	// The audit row records the client IP resolved through the trusted proxy.
	s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "x"}, from("203.0.113.8")...).want(t, 201)
	rows := s.auditRows(t, a)
	if ip := rows[len(rows)-1].Ip; ip == nil || *ip != "203.0.113.8" {
		t.Fatalf("audit ip %v", ip)
	}
	if !strings.Contains(s.logs.String(), "too many failed authentications") {
		t.Fatal("the block was not logged")
	}
}

func TestForwardedForIsIgnoredFromUntrustedPeers(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "2"})
	a := s.newOrg(t, "A")
	s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "x"}, "X-Forwarded-For", "203.0.113.7").want(t, 201)
	rows := s.auditRows(t, a)
	if ip := rows[len(rows)-1].Ip; ip == nil || *ip != "127.0.0.1" {
		t.Fatalf("audit ip %v", ip)
	}
	// Spoofing X-Forwarded-For does not escape the block of the real peer.
	for i := 0; i < 2; i++ {
		s.do(t, "GET", "/admin/me", "wrong", nil, "X-Forwarded-For", "10.0.0."+strconv.Itoa(i)).want(t, 401)
	}
	s.do(t, "GET", "/admin/me", a.key, nil, "X-Forwarded-For", "10.9.9.9").wantError(t, 429, "RATE_LIMITED", "-")
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ADMIN_CORS_ORIGINS": "https://app.example.com, https://ops.example.com"})
	a := s.newOrg(t, "A")
	preflight := func(origin, path string) resp {
		return s.do(t, "OPTIONS", path, "", nil, "Origin", origin, "Access-Control-Request-Method", "PUT",
			"Access-Control-Request-Headers", "Authorization, Content-Type")
	}
	r := preflight("https://app.example.com", "/admin/agents/123").want(t, 204)
	want := map[string]string{
		"Access-Control-Allow-Origin":  "https://app.example.com",
		"Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
		"Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-Id",
		"Access-Control-Max-Age":       "600",
		"Vary":                         "Origin",
	}
	for k, v := range want {
		if r.header.Get(k) != v {
			t.Fatalf("%s = %q, want %q", k, r.header.Get(k), v)
		}
	}
	if len(r.body) != 0 || r.header.Get("X-Request-Id") == "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight %v %q", r.header, r.body)
	}
	r = preflight("https://evil.example.com", "/admin/agents").want(t, 204)
	for k := range r.header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Fatalf("disallowed origin got %s", k)
		}
	}
	r = s.do(t, "GET", "/admin/agents", a.key, nil, "Origin", "https://ops.example.com").want(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "https://ops.example.com" || r.header.Get("Vary") != "Origin" ||
		r.header.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After, Location" ||
		r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("actual response headers %v", r.header)
	}
	// Errors carry CORS too, so browsers can read them.
	r = s.do(t, "GET", "/admin/agents", "", nil, "Origin", "https://ops.example.com").want(t, 401)
	if r.header.Get("Access-Control-Allow-Origin") != "https://ops.example.com" {
		t.Fatal("401 without CORS")
	}
	// Public endpoints outside /admin do not answer CORS.
	for _, p := range []string{"/healthz", "/openapi.json"} {
		if h := s.do(t, "GET", p, "", nil, "Origin", "https://app.example.com").header.Get("Access-Control-Allow-Origin"); h != "" {
			t.Fatalf("%s answered CORS", p)
		}
	}
	if h := s.do(t, "GET", "/admin/health", "", nil, "Origin", "https://app.example.com").header.Get("Access-Control-Allow-Origin"); h != "https://app.example.com" {
		t.Fatal("/admin/health does not answer CORS")
	}
}

func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	r := s.do(t, "OPTIONS", "/admin/agents", "", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET").want(t, 204)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS answered with no origins configured")
	}
}
