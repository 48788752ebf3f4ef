package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testEpoch is "now" for every test that uses the fake clock.
var testEpoch = time.Unix(1767225600, 0)

// Key generation is slow under -race, so each key is made once per run.
var (
	rsaKeyA = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaKeyB = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	ecKeyA  = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	ecKeyB  = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	ecKeyC  = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: testEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// validClaims is a token every verifier in the tests accepts at testEpoch.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":  "user-1",
		"org":  "acme",
		"role": "curator",
		"iat":  testEpoch.Unix(),
		"exp":  testEpoch.Add(time.Hour).Unix(),
	}
}

// jsonNull, as a change, sets a claim to JSON null.
var jsonNull = &struct{}{}

// claimsWith is validClaims with changes; a nil value deletes the claim.
func claimsWith(changes map[string]any) jwt.MapClaims {
	c := validClaims()
	applyChanges(c, changes)
	return c
}

func applyChanges(c jwt.MapClaims, changes map[string]any) {
	for k, v := range changes {
		switch v {
		case nil:
			delete(c, k)
		case jsonNull:
			c[k] = nil
		default:
			c[k] = v
		}
	}
}

// sign signs claims, with header changes applied first (nil deletes).
func sign(t *testing.T, m jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func pkixPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func pkcs1PEM(pub *rsa.PublicKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}))
}

// certPEM is a self-signed certificate that expired long ago, which must not
// matter: only its key is used.
func certPEM(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test issuer"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(3600, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// testSecret is a 32-byte HMAC secret.
const testSecret = "0123456789abcdef0123456789abcdef"

func newTestVerifier(t *testing.T, cfg JWTConfig) *Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = newFakeClock().Now
	}
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// wantTokenError asserts err is a *TokenError with the given code and
// message, and that the message does not echo the token.
func wantTokenError(t *testing.T, err error, code, message, token string) {
	t.Helper()
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v (%T), want *TokenError %s %q", err, err, code, message)
	}
	if te.Code != code || te.Message != message {
		t.Errorf("error = %s %q, want %s %q", te.Code, te.Message, code, message)
	}
	if token != "" && strings.Contains(te.Message, token) {
		t.Errorf("error message echoes the token")
	}
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
