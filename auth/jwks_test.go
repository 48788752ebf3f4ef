package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard-dev/switchboard/testkit"
)

// jwkJSON is the public JWK of key with the given kid; extra adds or
// overrides members (nil deletes one).
func jwkJSON(t *testing.T, kid string, pub any, extra map[string]any) map[string]any {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	var m map[string]any
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m = map[string]any{"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			t.Fatal(err)
		}
		size := (len(raw) - 1) / 2
		m = map[string]any{"kty": "EC", "crv": k.Curve.Params().Name, "x": b64(raw[1 : 1+size]), "y": b64(raw[1+size:])}
	case ed25519.PublicKey:
		m = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(k)}
	default:
		t.Fatalf("jwkJSON: unsupported key %T", pub)
	}
	if kid != "" {
		m["kid"] = kid
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// jwksServer serves a JWK Set that tests can swap, and counts its hits.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	status       int
	body         []byte
	cacheControl string
	gate         chan struct{} // when non-nil, each request waits for it to close
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.setKeys(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		status, body, cc, gate := s.status, s.body, s.cacheControl, s.gate
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(t *testing.T, keys ...map[string]any) {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s.setResponse(http.StatusOK, body)
}

func (s *jwksServer) setResponse(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) setCacheControl(cc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheControl = cc
}

func (s *jwksServer) setGate(gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = gate
}

func ecJWK(t *testing.T, kid string, k *ecdsa.PrivateKey) map[string]any {
	return jwkJSON(t, kid, &k.PublicKey, nil)
}

func ecToken(t *testing.T, kid string, k *ecdsa.PrivateKey) string {
	header := map[string]any{"kid": kid}
	if kid == "" {
		header = nil
	}
	return sign(t, jwt.SigningMethodES256, k, header, validClaims())
}

type jwksFixture struct {
	srv   *jwksServer
	clock *fakeClock
	logs  *syncBuffer
	v     *Verifier
}

func newJWKSFixture(t *testing.T, keys ...map[string]any) *jwksFixture {
	t.Helper()
	f := &jwksFixture{srv: newJWKSServer(t, keys...), clock: newFakeClock()}
	var logger *slog.Logger
	logger, f.logs = newTestLogger()
	f.v = newTestVerifier(t, JWTConfig{JWKSURL: f.srv.URL + "/jwks.json", Now: f.clock.Now, Logger: logger})
	return f
}

func (f *jwksFixture) wantHits(t *testing.T, want int64) {
	t.Helper()
	if got := f.srv.hits.Load(); got != want {
		t.Errorf("JWKS server hits = %d, want %d", got, want)
	}
}

func (f *jwksFixture) accept(t *testing.T, tok string) {
	t.Helper()
	if _, err := f.v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func (f *jwksFixture) reject(t *testing.T, tok, message string) {
	t.Helper()
	_, err := f.v.Verify(t.Context(), tok)
	wantTokenError(t, err, CodeInvalidToken, message, tok)
}

func TestJWKSAcceptsKnownKidForRS256AndES256(t *testing.T) {
	rsaKey, ecKey := rsaKeyA(), ecKeyA()
	f := newJWKSFixture(t,
		jwkJSON(t, "rsa-1", &rsaKey.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}),
		jwkJSON(t, "ec-1", &ecKey.PublicKey, nil),
	)
	f.accept(t, sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "rsa-1"}, validClaims()))
	f.accept(t, ecToken(t, "ec-1", ecKey))
	f.wantHits(t, 1) // the startup fetch only
}

func TestJWKSUnknownKidIsRefetchedOnceThenRejectedAndLogged(t *testing.T) {
	f := newJWKSFixture(t, ecJWK(t, "kid-A", ecKeyA()))
	tok := ecToken(t, "kid-B", ecKeyB())
	f.reject(t, tok, "invalid token: unknown kid")
	f.wantHits(t, 2) // startup + one refetch
	logs := f.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "kid=kid-B") {
		t.Errorf("no error log line naming the kid:\n%s", logs)
	}
	if strings.Contains(logs, tok) || strings.Contains(logs, strings.Split(tok, ".")[2]) {
		t.Errorf("log contains the token:\n%s", logs)
	}
}

func TestJWKSRotationIsPickedUpByUnknownKidRefetchAtMostOncePer30s(t *testing.T) {
	f := newJWKSFixture(t, ecJWK(t, "kid-A", ecKeyA()))
	f.accept(t, ecToken(t, "kid-A", ecKeyA()))
	f.wantHits(t, 1)

	// The issuer rotates to key B; the first kid-B token refetches.
	f.srv.setKeys(t, ecJWK(t, "kid-B", ecKeyB()))
	f.accept(t, ecToken(t, "kid-B", ecKeyB()))
	f.wantHits(t, 2)

	// kid-A is gone from the refetched set: refused, and no new fetch
	// within 30 s of the last unknown-kid refetch.
	f.srv.setKeys(t, ecJWK(t, "kid-B", ecKeyB()), ecJWK(t, "kid-C", ecKeyC()))
	f.clock.Advance(29 * time.Second)
	f.reject(t, ecToken(t, "kid-A", ecKeyA()), "invalid token: unknown kid")
	f.reject(t, ecToken(t, "kid-C", ecKeyC()), "invalid token: unknown kid")
	f.wantHits(t, 2)

	// 30 s after the last refetch, an unknown kid may refetch again.
	f.clock.Advance(time.Second)
	f.accept(t, ecToken(t, "kid-C", ecKeyC()))
	f.wantHits(t, 3)
}

func TestJWKSConcurrentUnknownKidRequestsShareOneFetch(t *testing.T) {
	const n = 20
	f := newJWKSFixture(t, ecJWK(t, "kid-A", ecKeyA()))
	f.srv.setKeys(t, ecJWK(t, "kid-B", ecKeyB()))
	gate := make(chan struct{})
	f.srv.setGate(gate)

	// Release the server only once all n requests wait on a fetch, so none
	// of them can be served by a fetch that already finished.
	var waiting atomic.Int64
	allWaiting := make(chan struct{})
	f.v.jwks.onWait = func() {
		if waiting.Add(1) == n {
			close(allWaiting)
		}
	}
	tok := ecToken(t, "kid-B", ecKeyB())
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := f.v.Verify(t.Context(), tok)
			errs <- err
		})
	}
	select {
	case <-allWaiting:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d requests waited for a fetch", waiting.Load(), n)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	f.wantHits(t, 2) // startup + one shared refetch
}

func TestJWKSStaleSetIsUsedWhileRefreshedInBackground(t *testing.T) {
	srv := newJWKSServer(t, ecJWK(t, "kid-A", ecKeyA()))
	srv.setCacheControl("public, max-age=120")
	clock := newFakeClock()
	v := newTestVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: clock.Now})

	srv.setKeys(t, ecJWK(t, "kid-A", ecKeyA()), ecJWK(t, "kid-B", ecKeyB()))
	clock.Advance(119 * time.Second)
	if _, err := v.Verify(t.Context(), ecToken(t, "kid-A", ecKeyA())); err != nil {
		t.Fatalf("Verify before max-age: %v", err)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("fresh set was refetched: hits = %d", got)
	}

	// Past max-age: the stale set still answers, and a refresh starts.
	clock.Advance(2 * time.Second)
	if _, err := v.Verify(t.Context(), ecToken(t, "kid-A", ecKeyA())); err != nil {
		t.Fatalf("Verify with the stale set: %v", err)
	}
	testkit.Eventually(t, "the refetched set with kid-B", func() bool { return v.jwks.snapshot().has("kid-B") })
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("hits = %d, want 2", got)
	}
	// kid-B came from the background refresh, not from an unknown-kid refetch.
	if _, err := v.Verify(t.Context(), ecToken(t, "kid-B", ecKeyB())); err != nil {
		t.Fatalf("Verify with the refreshed set: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("hits = %d, want 2", got)
	}
}

func (s *keySet) has(kid string) bool {
	if s == nil {
		return false
	}
	for _, k := range s.keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}

func TestJWKSFailedRefetchKeepsThePreviousSet(t *testing.T) {
	huge := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", 256<<10) + `"}`)
	tests := []struct {
		name   string
		status int
		body   []byte
	}{
		{"server error", http.StatusInternalServerError, []byte(`{"keys":[]}`)},
		{"body that is not JSON", http.StatusOK, []byte("<html>")},
		{"JSON without a keys array", http.StatusOK, []byte(`{"data":[]}`)},
		{"body over 256 KiB", http.StatusOK, huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, ecJWK(t, "kid-A", ecKeyA()))
			f.srv.setResponse(tt.status, tt.body)
			f.reject(t, ecToken(t, "kid-B", ecKeyB()), "invalid token: unknown kid")
			f.wantHits(t, 2)
			f.accept(t, ecToken(t, "kid-A", ecKeyA()))
			if !strings.Contains(f.logs.String(), "JWKS fetch failed") {
				t.Errorf("failed fetch not logged:\n%s", f.logs.String())
			}
		})
	}
}

func TestJWKSStartupFetchFailureIsNotFatal(t *testing.T) {
	f := newJWKSFixture(t)
	f.srv.setResponse(http.StatusServiceUnavailable, nil)
	// The fixture's startup fetch succeeded with an empty set; build a second
	// verifier whose startup fetch fails.
	logger, logs := newTestLogger()
	clock := newFakeClock()
	v := newTestVerifier(t, JWTConfig{JWKSURL: f.srv.URL, Now: clock.Now, Logger: logger})
	if !strings.Contains(logs.String(), "JWKS fetch failed") {
		t.Errorf("startup failure not logged:\n%s", logs.String())
	}
	// Once the server is back, the first token's unknown kid fetches the set.
	f.srv.setKeys(t, ecJWK(t, "kid-A", ecKeyA()))
	if _, err := v.Verify(t.Context(), ecToken(t, "kid-A", ecKeyA())); err != nil {
		t.Fatalf("Verify after recovery: %v", err)
	}
}

func TestJWKSTokenWithoutKid(t *testing.T) {
	rsaKey := rsaKeyA()
	tests := []struct {
		name    string
		keys    func(t *testing.T) []map[string]any
		message string // empty: accepted
	}{
		{"accepted when the set has exactly one usable key", func(t *testing.T) []map[string]any {
			return []map[string]any{ecJWK(t, "kid-A", ecKeyA())}
		}, ""},
		{"accepted when the only other key is unusable", func(t *testing.T) []map[string]any {
			return []map[string]any{ecJWK(t, "kid-A", ecKeyA()), jwkJSON(t, "enc", &rsaKey.PublicKey, map[string]any{"use": "enc"})}
		}, ""},
		{"rejected when the set has two usable keys", func(t *testing.T) []map[string]any {
			return []map[string]any{ecJWK(t, "kid-A", ecKeyA()), ecJWK(t, "kid-B", ecKeyB())}
		}, "invalid token: missing kid"},
		{"rejected when the set has no usable key", func(t *testing.T) []map[string]any {
			return nil
		}, "invalid token: no usable key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, tt.keys(t)...)
			tok := ecToken(t, "", ecKeyA())
			if tt.message == "" {
				f.accept(t, tok)
				return
			}
			f.reject(t, tok, tt.message)
		})
	}
}

func TestJWKSTokenAlgMustEqualTheKeyAlg(t *testing.T) {
	rsaKey := rsaKeyA()
	f := newJWKSFixture(t, jwkJSON(t, "shared", &rsaKey.PublicKey, nil))
	// An ES256 token naming the RSA key's kid.
	f.reject(t, ecToken(t, "shared", ecKeyA()), "invalid token: algorithm does not match key")
	// HS256 keyed with the RSA modulus never reaches the key set.
	f.reject(t, sign(t, jwt.SigningMethodHS256, rsaKey.N.Bytes(), map[string]any{"kid": "shared"}, validClaims()), "invalid token: algorithm not allowed")
	f.wantHits(t, 1)
}

func TestParseKeySetKeepsOnlyUsableKeys(t *testing.T) {
	rsaKey, weakRSA := rsaKeyA(), mustRSA(1024)
	p384 := mustEC(elliptic.P384())
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		jwk     map[string]any
		wantAlg string // empty: ignored
	}{
		{"RSA 2048 without alg or use", jwkJSON(t, "k", &rsaKey.PublicKey, nil), "RS256"},
		{"RSA with alg RS256 and use sig", jwkJSON(t, "k", &rsaKey.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}), "RS256"},
		{"RSA with alg RS512", jwkJSON(t, "k", &rsaKey.PublicKey, map[string]any{"alg": "RS512"}), ""},
		{"RSA with alg PS256", jwkJSON(t, "k", &rsaKey.PublicKey, map[string]any{"alg": "PS256"}), ""},
		{"RSA with use enc", jwkJSON(t, "k", &rsaKey.PublicKey, map[string]any{"use": "enc"}), ""},
		{"RSA of 1024 bits", jwkJSON(t, "k", &weakRSA.PublicKey, nil), ""},
		{"EC P-256", jwkJSON(t, "k", &ecKeyA().PublicKey, nil), "ES256"},
		{"EC P-256 with alg ES384", jwkJSON(t, "k", &ecKeyA().PublicKey, map[string]any{"alg": "ES384"}), ""},
		{"EC P-384", jwkJSON(t, "k", &p384.PublicKey, nil), ""},
		{"OKP Ed25519", jwkJSON(t, "k", edPub, nil), ""},
		{"symmetric oct key", map[string]any{"kty": "oct", "kid": "k", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}, ""},
		{"RSA with a broken modulus", jwkJSON(t, "k", &rsaKey.PublicKey, map[string]any{"n": "!!!"}), ""},
		{"EC point not on the curve", jwkJSON(t, "k", &ecKeyA().PublicKey, map[string]any{"y": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"keys": []any{tt.jwk, "not a key"}})
			if err != nil {
				t.Fatal(err)
			}
			set, err := parseKeySet(body)
			if err != nil {
				t.Fatalf("parseKeySet: %v", err)
			}
			switch {
			case tt.wantAlg == "" && len(set.keys) != 0:
				t.Errorf("key kept as %s, want it ignored", set.keys[0].alg)
			case tt.wantAlg != "" && (len(set.keys) != 1 || set.keys[0].alg != tt.wantAlg):
				t.Errorf("keys = %+v, want one %s key", set.keys, tt.wantAlg)
			}
		})
	}
}

func TestCacheTTLClampsMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   time.Duration
	}{
		{"absent header means 5 min", nil, 5 * time.Minute},
		{"no max-age means 5 min", []string{"public, no-transform"}, 5 * time.Minute},
		{"max-age within bounds", []string{"public, max-age=300"}, 300 * time.Second},
		{"max-age below 60 s is clamped up", []string{"max-age=10"}, time.Minute},
		{"max-age 0 is clamped up", []string{"no-cache, max-age=0"}, time.Minute},
		{"max-age above 1 h is clamped down", []string{"max-age=86400"}, time.Hour},
		{"max-age beyond int64 is clamped down", []string{"max-age=99999999999999999999"}, time.Hour},
		{"negative max-age means 5 min", []string{"max-age=-5"}, 5 * time.Minute},
		{"directive name is case-insensitive", []string{"Max-Age=120"}, 120 * time.Second},
		{"quoted value", []string{`max-age="90"`}, 90 * time.Second},
		{"garbage value means 5 min", []string{"max-age=soon"}, 5 * time.Minute},
		{"second header line", []string{"public", "max-age=600"}, 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cacheTTL(tt.header); got != tt.want {
				t.Errorf("cacheTTL(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestJWKSCloseStopsFetching(t *testing.T) {
	srv := newJWKSServer(t, ecJWK(t, "kid-A", ecKeyA()))
	logger, _ := newTestLogger()
	v, err := NewVerifier(t.Context(), JWTConfig{JWKSURL: srv.URL, Now: newFakeClock().Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	v.Close()
	// Known keys keep working; an unknown kid cannot fetch any more.
	if _, err := v.Verify(t.Context(), ecToken(t, "kid-A", ecKeyA())); err != nil {
		t.Fatalf("Verify after Close: %v", err)
	}
	_, err = v.Verify(t.Context(), ecToken(t, "kid-B", ecKeyB()))
	wantTokenError(t, err, CodeInvalidToken, "invalid token: unknown kid", "")
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("hits = %d, want 1", got)
	}
}
