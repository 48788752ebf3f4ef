package auth

import (
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyAcceptsValidTokens(t *testing.T) {
	rsaKey, ecKey := rsaKeyA(), ecKeyA()
	rsaPKIX := pkixPEM(t, &rsaKey.PublicKey)
	tests := []struct {
		name  string
		cfg   JWTConfig
		token func(t *testing.T) string
	}{
		{"HS256 with the shared secret", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, validClaims())
			}},
		{"RS256 with a PKIX public key", JWTConfig{PublicKeyPEM: rsaPKIX},
			func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, nil, validClaims()) }},
		{"RS256 with a PKCS1 public key", JWTConfig{PublicKeyPEM: pkcs1PEM(&rsaKey.PublicKey)},
			func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, nil, validClaims()) }},
		{"RS256 with an expired certificate's key", JWTConfig{PublicKeyPEM: certPEM(t, rsaKey)},
			func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, nil, validClaims()) }},
		{"RS256 with a PEM whose newlines are literal \\n", JWTConfig{PublicKeyPEM: strings.ReplaceAll(rsaPKIX, "\n", `\n`)},
			func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, nil, validClaims()) }},
		{"ES256 with a P-256 public key", JWTConfig{PublicKeyPEM: pkixPEM(t, &ecKey.PublicKey)},
			func(t *testing.T) string { return sign(t, jwt.SigningMethodES256, ecKey, nil, validClaims()) }},
		{"typ at+JWT in any case", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), map[string]any{"typ": "At+JWT"}, validClaims())
			}},
		{"typ application/at+jwt", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), map[string]any{"typ": "application/at+jwt"}, validClaims())
			}},
		{"no typ header", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), map[string]any{"typ": nil}, validClaims())
			}},
		{"jku, x5u and jwk headers are ignored", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), map[string]any{
					"jku": "https://attacker.example/jwks", "x5u": "https://attacker.example/cert", "jwk": map[string]any{"kty": "oct", "k": "AAAA"},
				}, validClaims())
			}},
		{"issuer and audience string match", JWTConfig{Secret: testSecret, Issuer: "https://idp.example", Audience: "switchboard"},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"iss": "https://idp.example", "aud": "switchboard"}))
			}},
		{"audience array contains the audience", JWTConfig{Secret: testSecret, Audience: "switchboard"},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": []string{"other", "switchboard"}}))
			}},
		{"aud of any shape is ignored when no audience is configured", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": 42}))
			}},
		{"iat in the future is not checked", JWTConfig{Secret: testSecret},
			func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"iat": testEpoch.Add(24 * time.Hour).Unix()}))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, tt.cfg)
			c, err := v.Verify(t.Context(), tt.token(t))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := &Claims{Subject: "user-1", Org: "acme", RawRole: "curator", Role: RoleCurator}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("claims = %+v, want %+v", c, want)
			}
		})
	}
}

func TestVerifyRejectsAttacksAndBadTokens(t *testing.T) {
	rsaKey, otherRSA, ecKey := rsaKeyA(), rsaKeyB(), ecKeyA()
	rsaPEM := pkixPEM(t, &rsaKey.PublicKey)
	hsCfg := JWTConfig{Secret: testSecret, Issuer: "https://idp.example", Audience: "switchboard"}
	rsCfg := JWTConfig{PublicKeyPEM: rsaPEM}
	hs := func(t *testing.T, header map[string]any, claims jwt.MapClaims) string {
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret), header, claims)
	}
	// hsValid is accepted by the hsCfg verifier; the cases break one thing.
	hsValid := func(changes map[string]any) jwt.MapClaims {
		c := claimsWith(map[string]any{"iss": "https://idp.example", "aud": "switchboard"})
		applyChanges(c, changes)
		return c
	}
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	tests := []struct {
		name    string
		cfg     JWTConfig
		token   func(t *testing.T) string
		message string
	}{
		{"alg none against an HS256 secret", hsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, hsValid(nil))
		}, "invalid token: algorithm not allowed"},
		{"alg none against an RSA key", rsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, validClaims())
		}, "invalid token: algorithm not allowed"},
		{"alg None in another case", rsCfg, func(t *testing.T) string {
			return seg(`{"alg":"None","typ":"JWT"}`) + "." + seg(`{"sub":"user-1","org":"acme","role":"admin","exp":9999999999}`) + "."
		}, "invalid token: algorithm not allowed"},
		{"alg rs256 in lower case", rsCfg, func(t *testing.T) string {
			good := sign(t, jwt.SigningMethodRS256, rsaKey, nil, validClaims())
			parts := strings.Split(good, ".")
			return seg(`{"alg":"rs256","typ":"JWT"}`) + "." + parts[1] + "." + parts[2]
		}, "invalid token: algorithm not allowed"},
		{"missing alg", hsCfg, func(t *testing.T) string {
			return seg(`{"typ":"JWT"}`) + "." + seg(`{"sub":"user-1"}`) + "." + seg("sig")
		}, "invalid token: algorithm not allowed"},
		{"HS256 signed with the RSA public key as HMAC secret (key confusion)", rsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), nil, validClaims())
		}, "invalid token: algorithm not allowed"},
		{"RS256 token against an HS256 secret", hsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey, nil, hsValid(nil))
		}, "invalid token: algorithm not allowed"},
		{"ES256 token against an RSA key", rsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey, nil, validClaims())
		}, "invalid token: algorithm not allowed"},
		{"RS512 token against an RSA key", rsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS512, rsaKey, nil, validClaims())
		}, "invalid token: algorithm not allowed"},
		{"RS256 signed by another key", rsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherRSA, nil, validClaims())
		}, "invalid token: signature"},
		{"HS256 signed with another secret", hsCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), nil, hsValid(nil))
		}, "invalid token: signature"},
		{"payload changed after signing", hsCfg, func(t *testing.T) string {
			parts := strings.Split(hs(t, nil, hsValid(nil)), ".")
			forged := seg(`{"sub":"user-1","org":"acme","role":"admin","exp":9999999999,"iss":"https://idp.example","aud":"switchboard"}`)
			return parts[0] + "." + forged + "." + parts[2]
		}, "invalid token: signature"},
		{"empty signature", hsCfg, func(t *testing.T) string {
			parts := strings.Split(hs(t, nil, hsValid(nil)), ".")
			return parts[0] + "." + parts[1] + "."
		}, "invalid token: signature"},
		{"garbage", hsCfg, func(t *testing.T) string { return "not-a-token" }, "invalid token: malformed"},
		{"three garbage segments", hsCfg, func(t *testing.T) string { return "a!.b?.c" }, "invalid token: malformed"},
		{"header that is not JSON", hsCfg, func(t *testing.T) string { return seg("{{") + "." + seg("{}") + "." + seg("s") }, "invalid token: malformed"},
		{"JWE-looking five-segment token", hsCfg, func(t *testing.T) string {
			return seg(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + "." + seg("key") + "." + seg("iv") + "." + seg("ciphertext") + "." + seg("tag")
		}, "invalid token: malformed"},
		{"JSON serialisation", hsCfg, func(t *testing.T) string {
			return `{"payload":"` + seg(`{"sub":"x"}`) + `","signatures":[]}`
		}, "invalid token: malformed"},
		{"empty token", hsCfg, func(t *testing.T) string { return "" }, "invalid token: malformed"},
		{"oversized token", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"pad": strings.Repeat("a", MaxTokenBytes)}))
		}, "invalid token: token too large"},
		{"crit header", hsCfg, func(t *testing.T) string {
			return hs(t, map[string]any{"crit": []string{"exp"}, "exp": 1}, hsValid(nil))
		}, "invalid token: crit header not supported"},
		{"empty crit header", hsCfg, func(t *testing.T) string {
			return hs(t, map[string]any{"crit": []string{}}, hsValid(nil))
		}, "invalid token: crit header not supported"},
		{"typ JOSE", hsCfg, func(t *testing.T) string {
			return hs(t, map[string]any{"typ": "JOSE"}, hsValid(nil))
		}, "invalid token: unsupported typ"},
		{"typ that is not a string", hsCfg, func(t *testing.T) string {
			return hs(t, map[string]any{"typ": 1}, hsValid(nil))
		}, "invalid token: unsupported typ"},
		{"expired 61 s ago beyond exp", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"exp": testEpoch.Add(-61 * time.Second).Unix()}))
		}, "invalid token: expired"},
		{"missing exp", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"exp": nil}))
		}, "invalid token: missing exp"},
		{"exp as a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"exp": "9999999999"}))
		}, "invalid token: exp is not a number"},
		{"nbf 61 s in the future", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"nbf": testEpoch.Add(61 * time.Second).Unix()}))
		}, "invalid token: not yet valid"},
		{"nbf as a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"nbf": "0"}))
		}, "invalid token: nbf is not a number"},
		{"wrong issuer", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"iss": "https://evil.example"}))
		}, "invalid token: issuer mismatch"},
		{"issuer differing only in case", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"iss": "https://IDP.example"}))
		}, "invalid token: issuer mismatch"},
		{"missing issuer when one is configured", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"iss": nil}))
		}, "invalid token: issuer mismatch"},
		{"wrong audience", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"aud": "other"}))
		}, "invalid token: audience mismatch"},
		{"audience array without the audience", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"aud": []string{"a", "b"}}))
		}, "invalid token: audience mismatch"},
		{"missing audience when one is configured", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"aud": nil}))
		}, "invalid token: audience mismatch"},
		{"missing sub", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"sub": nil}))
		}, "invalid token: missing sub"},
		{"empty sub", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"sub": ""}))
		}, "invalid token: missing sub"},
		{"sub that is a number", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"sub": 42}))
		}, "invalid token: missing sub"},
		{"sub of 257 characters", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"sub": strings.Repeat("é", 257)}))
		}, "invalid token: sub too long"},
		{"missing org", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org": nil}))
		}, "invalid token: missing org"},
		{"blank org", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org": "   "}))
		}, "invalid token: missing org"},
		{"org and org_id differ", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org_id": "globex"}))
		}, "invalid token: org and org_id differ"},
		{"org of 129 characters", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org": strings.Repeat("o", 129)}))
		}, "invalid token: org too long"},
		{"org that is not a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org": 7}))
		}, "invalid token: org is not a string"},
		{"org_id that is not a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"org": nil, "org_id": []string{"acme"}}))
		}, "invalid token: org_id is not a string"},
		{"email that is not a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"email": true}))
		}, "invalid token: email is not a string"},
		{"email of 321 characters", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"email": strings.Repeat("e", 309) + "@example.com"}))
		}, "invalid token: email too long"},
		{"name that is not a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"name": map[string]any{"given": "Ada"}}))
		}, "invalid token: name is not a string"},
		{"name of 257 characters", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"name": strings.Repeat("n", 257)}))
		}, "invalid token: name too long"},
		{"groups that is a string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"groups": "support"}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"groups with a number", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"groups": []any{"support", 1}}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"groups with an empty string", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"groups": []string{""}}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"groups with a 257-character group", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"groups": []string{strings.Repeat("g", 257)}}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"257 groups", hsCfg, func(t *testing.T) string {
			g := make([]string, 257)
			for i := range g {
				g[i] = "g"
			}
			return hs(t, nil, hsValid(map[string]any{"groups": g}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"groups null", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"groups": jsonNull}))
		}, "invalid token: groups must be an array of at most 256 strings of 1..256 characters"},
		{"email null", hsCfg, func(t *testing.T) string {
			return hs(t, nil, hsValid(map[string]any{"email": jsonNull}))
		}, "invalid token: email is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, tt.cfg)
			tok := tt.token(t)
			for _, verify := range []func(*Verifier) error{
				func(v *Verifier) error { _, err := v.Verify(t.Context(), tok); return err },
				func(v *Verifier) error { _, err := v.VerifyEndUser(t.Context(), tok); return err },
			} {
				wantTokenError(t, verify(v), CodeInvalidToken, tt.message, tok)
			}
		})
	}
}

func TestVerifyRoleClaim(t *testing.T) {
	tests := []struct {
		name     string
		role     any // nil: absent
		wantRole Role
	}{
		{"admin", "admin", RoleAdmin},
		{"curator", "curator", RoleCurator},
		{"basic", "basic", RoleBasic},
		{"user means basic", "user", RoleBasic},
		{"trimmed and lowercased", "  ADMIN ", RoleAdmin},
		{"absent role is MISSING_ROLE", nil, ""},
		{"unknown role is MISSING_ROLE, never downgraded", "superuser", ""},
		{"empty role is MISSING_ROLE", "", ""},
		{"numeric role is MISSING_ROLE", 2, ""},
		{"array role is MISSING_ROLE", []string{"admin"}, ""},
		{"null role is MISSING_ROLE", jsonNull, ""},
	}
	v := newTestVerifier(t, JWTConfig{Secret: testSecret})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := map[string]any{"role": tt.role}
			tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(changes))
			c, err := v.Verify(t.Context(), tok)
			if tt.wantRole == "" {
				wantTokenError(t, err, CodeMissingRole, "missing role: the token's role claim is absent or not a known role", tok)
			} else {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Role != tt.wantRole || c.RawRole != tt.role {
					t.Errorf("role = %q (raw %q), want %q (raw %q)", c.Role, c.RawRole, tt.wantRole, tt.role)
				}
			}
			// /ws neither requires nor reads the role.
			c, err = v.VerifyEndUser(t.Context(), tok)
			if err != nil {
				t.Fatalf("VerifyEndUser: %v", err)
			}
			if c.Role != "" || c.RawRole != "" {
				t.Errorf("VerifyEndUser read the role: %q (raw %q)", c.Role, c.RawRole)
			}
		})
	}
}

func TestVerifyChecksClaimsInSpecOrder(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testSecret})
	tests := []struct {
		name    string
		changes map[string]any
		code    string
		message string
	}{
		{"missing sub is reported before a missing org", map[string]any{"sub": nil, "org": nil}, CodeInvalidToken, "invalid token: missing sub"},
		{"missing org is reported before a missing role", map[string]any{"org": nil, "role": nil}, CodeInvalidToken, "invalid token: missing org"},
		{"missing role is reported before a bad email", map[string]any{"role": nil, "email": 1}, CodeMissingRole, "missing role: the token's role claim is absent or not a known role"},
		{"expiry is reported before claims", map[string]any{"sub": nil, "exp": testEpoch.Add(-time.Hour).Unix()}, CodeInvalidToken, "invalid token: expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(tt.changes))
			_, err := v.Verify(t.Context(), tok)
			wantTokenError(t, err, tt.code, tt.message, tok)
		})
	}
}

func TestVerifyOptionalClaims(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testSecret})
	tests := []struct {
		name    string
		changes map[string]any
		want    Claims
	}{
		{"email is trimmed", map[string]any{"email": "  ada@acme.com "}, Claims{Email: "ada@acme.com"}},
		{"empty email means absent", map[string]any{"email": "  "}, Claims{}},
		{"email is ignored when email_verified is false", map[string]any{"email": "ada@acme.com", "email_verified": false}, Claims{}},
		{"a non-string email is ignored when email_verified is false", map[string]any{"email": 5, "email_verified": false}, Claims{}},
		{"email is kept when email_verified is true", map[string]any{"email": "ada@acme.com", "email_verified": true}, Claims{Email: "ada@acme.com"}},
		{"email is ignored when email_verified is the string false", map[string]any{"email": "ada@acme.com", "email_verified": "false"}, Claims{}},
		{"email is ignored when email_verified is the string true", map[string]any{"email": "ada@acme.com", "email_verified": "true"}, Claims{}},
		{"email is ignored when email_verified is 1", map[string]any{"email": "ada@acme.com", "email_verified": 1}, Claims{}},
		{"email is ignored when email_verified is null", map[string]any{"email": "ada@acme.com", "email_verified": jsonNull}, Claims{}},
		{"name is kept", map[string]any{"name": "Ada Lovelace"}, Claims{Name: "Ada Lovelace"}},
		{"groups are kept", map[string]any{"groups": []string{"support", "sales"}}, Claims{Groups: []string{"support", "sales"}}},
		{"org is trimmed", map[string]any{"org": "  acme  "}, Claims{}},
		{"org_id alone is the org", map[string]any{"org": nil, "org_id": "acme"}, Claims{}},
		{"org and org_id equal", map[string]any{"org_id": "acme"}, Claims{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(tt.changes))
			c, err := v.Verify(t.Context(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := tt.want
			want.Subject, want.Org, want.RawRole, want.Role = "user-1", "acme", "curator", RoleCurator
			if !reflect.DeepEqual(*c, want) {
				t.Errorf("claims = %+v, want %+v", *c, want)
			}
		})
	}
}

func TestClaimsPrincipal(t *testing.T) {
	c := &Claims{Subject: "u1", Org: "acme", Role: RoleAdmin, Email: "a@b.c", Name: "Ada", Groups: []string{"g"}}
	got := c.Principal("0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30")
	want := Principal{UserID: "u1", OrgID: "0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", Role: RoleAdmin, DisplayName: "Ada", Email: "a@b.c", Groups: []string{"g"}, AuthMethod: "jwt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Principal = %+v, want %+v", got, want)
	}
}

func TestVerifyTimeLeewayIsSixtySeconds(t *testing.T) {
	tests := []struct {
		name    string
		claims  map[string]any
		advance time.Duration // clock position relative to testEpoch
		message string        // empty: accepted
	}{
		{"exactly exp+60s is accepted", map[string]any{"exp": testEpoch.Unix()}, 60 * time.Second, ""},
		{"a millisecond after exp+60s is expired", map[string]any{"exp": testEpoch.Unix()}, 60*time.Second + time.Millisecond, "invalid token: expired"},
		{"fractional exp is honoured", map[string]any{"exp": float64(testEpoch.Unix()) + 0.5}, 60*time.Second + 400*time.Millisecond, ""},
		{"exactly nbf-60s is accepted", map[string]any{"nbf": testEpoch.Add(60 * time.Second).Unix()}, 0, ""},
		{"a millisecond before nbf-60s is not yet valid", map[string]any{"nbf": testEpoch.Add(60 * time.Second).Unix()}, -time.Millisecond, "invalid token: not yet valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			clock.Advance(tt.advance)
			v := newTestVerifier(t, JWTConfig{Secret: testSecret, Now: clock.Now})
			tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(tt.claims))
			_, err := v.Verify(t.Context(), tok)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			wantTokenError(t, err, CodeInvalidToken, tt.message, tok)
		})
	}
}

func TestNilVerifierSaysJWTIsNotConfigured(t *testing.T) {
	var v *Verifier
	_, err := v.Verify(t.Context(), "a.b.c")
	wantTokenError(t, err, CodeInvalidToken, "JWT authentication is not configured", "")
}

func TestNewVerifierStartupErrors(t *testing.T) {
	rsaPEM := pkixPEM(t, &rsaKeyA().PublicKey)
	weakRSA := mustRSA(1024)
	p384 := mustEC(elliptic.P384())
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  JWTConfig
		want string // substring of the error
	}{
		{"no key material", JWTConfig{Issuer: "x"}, "no JWT key material"},
		{"secret and public key", JWTConfig{Secret: testSecret, PublicKeyPEM: rsaPEM}, "more than one kind of JWT key material"},
		{"secret and JWKS URL", JWTConfig{Secret: testSecret, JWKSURL: "https://idp.example/jwks"}, "more than one kind of JWT key material"},
		{"public key and JWKS URL", JWTConfig{PublicKeyPEM: rsaPEM, JWKSURL: "https://idp.example/jwks"}, "more than one kind of JWT key material"},
		{"secret of 31 bytes", JWTConfig{Secret: testSecret[:31]}, "at least 32 bytes"},
		{"public key that is not PEM", JWTConfig{PublicKeyPEM: "ssh-rsa AAAA"}, "not PEM"},
		{"PEM with a broken body", JWTConfig{PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "parse PUBLIC KEY"},
		{"PEM private key block", JWTConfig{PublicKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, `"PRIVATE KEY" PEM block`},
		{"RSA key of 1024 bits", JWTConfig{PublicKeyPEM: pkixPEM(t, &weakRSA.PublicKey)}, "RSA key has 1024 bits"},
		{"RSA PKCS1 key of 1024 bits", JWTConfig{PublicKeyPEM: pkcs1PEM(&weakRSA.PublicKey)}, "RSA key has 1024 bits"},
		{"EC key on P-384", JWTConfig{PublicKeyPEM: pkixPEM(t, &p384.PublicKey)}, "only P-256"},
		{"Ed25519 key", JWTConfig{PublicKeyPEM: pkixPEM(t, edPub)}, "not accepted"},
		{"JWKS URL over http in production", JWTConfig{JWKSURL: "http://idp.example/jwks", Production: true}, "must use https"},
		{"JWKS URL with another scheme", JWTConfig{JWKSURL: "file:///etc/jwks.json"}, "absolute http(s) URL"},
		{"relative JWKS URL", JWTConfig{JWKSURL: "/jwks.json"}, "absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(t.Context(), tt.cfg)
			if err == nil {
				v.Close()
				t.Fatalf("NewVerifier succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.cfg.Secret != "" && strings.Contains(err.Error(), tt.cfg.Secret) {
				t.Errorf("error echoes the secret")
			}
		})
	}
}

func TestHasKeyMaterial(t *testing.T) {
	tests := []struct {
		cfg  JWTConfig
		want bool
	}{
		{JWTConfig{}, false},
		{JWTConfig{Issuer: "i", Audience: "a"}, false},
		{JWTConfig{Secret: "s"}, true},
		{JWTConfig{PublicKeyPEM: "p"}, true},
		{JWTConfig{JWKSURL: "u"}, true},
	}
	for _, tt := range tests {
		if got := HasKeyMaterial(tt.cfg); got != tt.want {
			t.Errorf("HasKeyMaterial(%+v) = %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

// The ES256 verifier must reject a signature from another P-256 key.
func TestVerifyES256RejectsAnotherKey(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{PublicKeyPEM: pkixPEM(t, &ecKeyA().PublicKey)})
	other := ecKeyB()
	tok := sign(t, jwt.SigningMethodES256, other, nil, validClaims())
	_, err := v.Verify(t.Context(), tok)
	wantTokenError(t, err, CodeInvalidToken, "invalid token: signature", tok)
}

func TestVerifyEndUserRefusesAnAPIKey(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testSecret})
	k, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyEndUser(t.Context(), k.Plaintext)
	wantTokenError(t, err, CodeInvalidToken, "invalid token: malformed", k.Plaintext)
}
