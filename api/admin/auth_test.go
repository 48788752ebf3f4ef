package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newEC(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "u-1", "org": "acme", "role": "admin", "exp": time.Now().Add(time.Hour).Unix(),
		"iss": "https://idp.example.com", "aud": "switchboard"}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestJWTAttacksAreRefusedEndToEnd(t *testing.T) {
	t.Parallel()
	key := rsaKey()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	s := start(t, map[string]string{
		"AUTH_JWT_SECRET": "", "AUTH_JWT_PUBLIC_KEY": pubPEM,
		"AUTH_JWT_ISSUER": "https://idp.example.com", "AUTH_JWT_AUDIENCE": "switchboard",
	})
	rs := func(c jwt.MapClaims) string { return signWith(t, jwt.SigningMethodRS256, key, nil, c) }
	s.do(t, "GET", "/admin/me", rs(claims(nil)), nil).want(t, 200)

	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(claims(nil))
	algNone := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + "."
	confused := signWith(t, jwt.SigningMethodHS256, []byte(pubPEM), nil, claims(nil))
	cases := []struct {
		name, token, code, message string
	}{
		{"alg none", algNone, "INVALID_TOKEN", ""},
		{"HS256 signed with the RS256 public key", confused, "INVALID_TOKEN", "invalid token: algorithm not allowed"},
		{"expired", rs(claims(map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()})), "INVALID_TOKEN", "invalid token: expired"},
		{"nbf in the future", rs(claims(map[string]any{"nbf": time.Now().Add(2 * time.Minute).Unix()})), "INVALID_TOKEN", ""},
		{"missing exp", rs(claims(map[string]any{"exp": nil})), "INVALID_TOKEN", "invalid token: missing exp"},
		{"wrong iss", rs(claims(map[string]any{"iss": "https://evil.example.com"})), "INVALID_TOKEN", ""},
		{"wrong aud", rs(claims(map[string]any{"aud": "someone-else"})), "INVALID_TOKEN", "invalid token: audience mismatch"},
		{"missing org", rs(claims(map[string]any{"org": nil})), "INVALID_TOKEN", ""},
		{"missing role", rs(claims(map[string]any{"role": nil})), "MISSING_ROLE", ""},
		{"unknown role", rs(claims(map[string]any{"role": "owner"})), "MISSING_ROLE", ""},
		{"garbage", "garbage", "INVALID_TOKEN", ""},
		{"three garbage segments", "a.b.c", "INVALID_TOKEN", ""},
		{"signature of another key", signWith(t, jwt.SigningMethodES256, newEC(t), nil, claims(nil)), "INVALID_TOKEN", ""},
		{"malformed API key", "sbk_short", "INVALID_TOKEN", "invalid token: malformed API key"},
		{"unknown API key", "sbk_" + strings.Repeat("A", 43), "INVALID_TOKEN", "invalid token: unknown API key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "GET", "/admin/me", c.token, nil).wantError(t, 401, c.code, "-")
			if msg := r.str(t, "error.message"); (c.message != "" && msg != c.message) || strings.Contains(msg, c.token) {
				t.Fatalf("message %q", msg)
			}
			if strings.Contains(s.logs.String(), c.token) {
				t.Fatal("the token was logged")
			}
		})
	}
	t.Run("a 401 wins over a malformed body", func(t *testing.T) {
		s.do(t, "POST", "/admin/api-keys", "garbage", "{not json").wantError(t, 401, "INVALID_TOKEN", "-")
		s.do(t, "POST", "/admin/api-keys", "", "{not json").wantError(t, 401, "UNAUTHENTICATED", "-")
	})
}

// jwksServer serves a JWK Set that a test can rotate.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []map[string]any
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]any {
	pad := func(b *big.Int) string {
		buf := make([]byte, 32)
		return base64.RawURLEncoding.EncodeToString(b.FillBytes(buf))
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig", "x": pad(k.X), "y": pad(k.Y)}
}

func newJWKS(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	j := &jwksServer{keys: keys}
	j.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": j.keys})
	}))
	t.Cleanup(j.Close)
	return j
}

func (j *jwksServer) rotate(keys ...map[string]any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = keys
}

func TestJWKSUnknownKidBeforeAndAfterRotation(t *testing.T) {
	t.Parallel()
	k1, k2, stranger := newEC(t), newEC(t), newEC(t)
	es := func(kid string, k *ecdsa.PrivateKey) string {
		return signWith(t, jwt.SigningMethodES256, k, map[string]any{"kid": kid}, claims(map[string]any{"iss": nil, "aud": nil}))
	}
	t.Run("before rotation an unknown kid is refused", func(t *testing.T) {
		j := newJWKS(t, ecJWK("k1", k1))
		s := start(t, map[string]string{"AUTH_JWT_SECRET": "", "AUTH_JWKS_URL": j.URL})
		s.do(t, "GET", "/admin/me", es("k1", k1), nil).want(t, 200)
		s.do(t, "GET", "/admin/me", es("k2", k2), nil).wantError(t, 401, "INVALID_TOKEN", "-")
		s.do(t, "GET", "/admin/me", es("k1", stranger), nil).wantError(t, 401, "INVALID_TOKEN", "-")
		if !strings.Contains(s.logs.String(), "k2") {
			t.Fatal("the unknown kid was not logged")
		}
	})
	t.Run("after rotation the new kid works and the old one is refused", func(t *testing.T) {
		j := newJWKS(t, ecJWK("k1", k1))
		s := start(t, map[string]string{"AUTH_JWT_SECRET": "", "AUTH_JWKS_URL": j.URL})
		s.do(t, "GET", "/admin/me", es("k1", k1), nil).want(t, 200)
		j.rotate(ecJWK("k2", k2))
		s.do(t, "GET", "/admin/me", es("k2", k2), nil).want(t, 200) // unknown kid: one refetch picks it up
		s.do(t, "GET", "/admin/me", es("k1", k1), nil).wantError(t, 401, "INVALID_TOKEN", "-")
		s.do(t, "GET", "/admin/me", es("k3", stranger), nil).wantError(t, 401, "INVALID_TOKEN", "-")
	})
}

func TestAPIKeysAuthenticateAsTheirOrgAndRole(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	cur := s.apiKey(t, a, "curator")
	me := decode[admintest.Me](t, s.do(t, "GET", "/admin/me", cur, nil, "X-Org-Id", b.id.String(), "X-Switchboard-Org", b.id.String()).want(t, 200))
	if !strings.HasPrefix(me.UserID, "apikey:") {
		t.Fatalf("userId %q of an API key", me.UserID)
	}
	if !strings.HasPrefix(me.DisplayName, "curator-") {
		t.Fatalf("displayName %q, want the key's name", me.DisplayName)
	}
	if diff := cmp.Diff(admintest.Me{UserID: me.UserID, OrgID: a.id.String(), Role: "curator", DisplayName: me.DisplayName, AuthMethod: "apiKey"}, me); diff != "" {
		t.Fatalf("me (-want +got):\n%s", diff)
	}
	// Scheme case-insensitive, token trimmed.
	s.do(t, "GET", "/admin/me", "", nil, "Authorization", "bEaReR   "+cur+"  ").want(t, 200)
	// Tokens are never read from the query string or cookies.
	s.do(t, "GET", "/admin/me?access_token="+cur, "", nil).wantError(t, 401, "UNAUTHENTICATED", "-")
	s.do(t, "GET", "/admin/me", "", nil, "Cookie", "token="+cur).wantError(t, 401, "UNAUTHENTICATED", "-")
	s.do(t, "GET", "/admin/me", "", nil, "Authorization", "Bearer ").wantError(t, 401, "UNAUTHENTICATED", "-")
	// last_used_at is recorded.
	var used *time.Time
	if err := s.Pool.QueryRow(context.Background(), `SELECT last_used_at FROM api_keys WHERE org_id = $1 AND role = 'curator'`, a.id).Scan(&used); err != nil || used == nil {
		t.Fatalf("last_used_at %v (%v)", used, err)
	}
	// A deleted key stops working at once; a key may delete itself.
	id := strings.TrimPrefix(me.UserID, "apikey:")
	admin2 := s.apiKey(t, a, "admin")
	self := s.do(t, "GET", "/admin/me", admin2, nil).want(t, 200).str(t, "userId")
	s.do(t, "DELETE", "/admin/api-keys/"+strings.TrimPrefix(self, "apikey:"), admin2, nil).want(t, 204)
	s.do(t, "GET", "/admin/me", admin2, nil).wantError(t, 401, "INVALID_TOKEN", "-")
	s.do(t, "DELETE", "/admin/api-keys/"+id, a.key, nil).want(t, 204)
	s.do(t, "GET", "/admin/me", cur, nil).wantError(t, 401, "INVALID_TOKEN", "-")
}

func TestJWTPrincipalOnMe(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	tok := token(t, map[string]any{"sub": "user_66", "org": "acme", "role": " Curator ", "name": "Ada Lovelace",
		"email": " ada@acme.com ", "groups": []string{"support"}})
	me := decode[admintest.Me](t, s.do(t, "GET", "/admin/me", tok, nil).want(t, 200))
	want := admintest.Me{UserID: "user_66", OrgID: me.OrgID, Role: "curator", DisplayName: "Ada Lovelace", Email: "ada@acme.com",
		Groups: []string{"support"}, AuthMethod: "jwt"}
	if diff := cmp.Diff(want, me); diff != "" {
		t.Fatalf("me (-want +got):\n%s", diff)
	}
	bare := s.do(t, "GET", "/admin/me", token(t, map[string]any{"role": "user"}), nil).want(t, 200).json(t)
	for _, k := range []string{"displayName", "email", "groups"} {
		if _, ok := bare[k]; ok {
			t.Fatalf("absent %s is not omitted: %v", k, bare)
		}
	}
	if bare["role"] != "basic" {
		t.Fatalf("role user is %v", bare["role"])
	}
}

func TestAPIKeyModeRefusesJWTs(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"AUTH_JWT_SECRET": ""})
	a := s.newOrg(t, "A")
	r := s.do(t, "GET", "/admin/me", token(t, nil), nil).wantError(t, 401, "INVALID_TOKEN", "-")
	if r.str(t, "error.message") != "JWT authentication is not configured" {
		t.Fatalf("message %s", r.body)
	}
	s.do(t, "GET", "/admin/me", a.key, nil).want(t, 200)
	if r.header.Get("X-Switchboard-Auth-Mode") != "" {
		t.Fatal("auth-mode header outside dev mode")
	}
}

func TestDevModeActsOnlyInTheDevOrg(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"AUTH_JWT_SECRET": "", "AUTH_MODE": "none", "AUTH_DEV_ORG_ID": "dev-org"})
	if !strings.Contains(s.logs.String(), "AUTH_MODE=none: every bearer token is an admin of org dev-org; never use this in production") {
		t.Fatal("no startup warning")
	}
	other := s.newOrg(t, "Other")
	r := s.do(t, "GET", "/admin/me", "anything-at-all", nil).want(t, 200)
	if r.header.Get("X-Switchboard-Auth-Mode") != "none" {
		t.Fatal("missing X-Switchboard-Auth-Mode: none")
	}
	me := decode[admintest.Me](t, r)
	if diff := cmp.Diff(admintest.Me{UserID: "dev", OrgID: me.OrgID, Role: "admin", DisplayName: "Dev Admin (AUTH_MODE=none)", AuthMethod: "dev"}, me); diff != "" {
		t.Fatalf("dev principal (-want +got):\n%s", diff)
	}
	devOrg := me.OrgID
	if devOrg == other.id.String() {
		t.Fatal("dev principal in another org")
	}
	if s.do(t, "GET", "/admin/me", "another-token", nil).want(t, 200).str(t, "orgId") != devOrg {
		t.Fatal("dev org changed between requests")
	}
	if s.do(t, "GET", "/admin/me", other.key, nil).want(t, 200).str(t, "orgId") != other.id.String() {
		t.Fatal("an API key of another org left its org")
	}
	s.do(t, "GET", "/admin/me", "", nil).wantError(t, 401, "UNAUTHENTICATED", "-")
	s.do(t, "GET", "/admin/health", "", nil, "Origin", "https://anywhere.example").want(t, 200)
	if h := s.do(t, "GET", "/admin/health", "", nil, "Origin", "https://x.example").header.Get("Access-Control-Allow-Origin"); h != "*" {
		t.Fatalf("dev-mode CORS default %q", h)
	}
	// Audit rows of the dev principal name it as such.
	s.do(t, "POST", "/admin/agents", "tok", map[string]any{"name": "Dev agent"}).want(t, 201)
	rows := s.auditRows(t, org{id: uuid.MustParse(devOrg)})
	last := rows[len(rows)-1]
	if last.ActorType != "dev" || last.ActorID != "dev" || last.Action != "agent.create" {
		t.Fatalf("audit %+v", last)
	}
}
