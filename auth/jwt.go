package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// MaxTokenBytes is the largest JWT accepted (ADMIN-API §2.3).
	MaxTokenBytes = 8192
	// ClockLeeway applies to exp and nbf, in both directions.
	ClockLeeway = 60 * time.Second

	maxSubChars   = 256
	maxOrgChars   = 128
	maxEmailChars = 320
	maxNameChars  = 256
	maxGroups     = 256
	maxGroupChars = 256
	leewaySeconds = float64(ClockLeeway / time.Second)
)

// JWTConfig is the JWT key material and checks of ADMIN-API §2.3 and §10.
// Exactly one of Secret, PublicKeyPEM and JWKSURL must be set.
type JWTConfig struct {
	Secret       string // AUTH_JWT_SECRET: HMAC key, at least 32 bytes; pins HS256
	PublicKeyPEM string // AUTH_JWT_PUBLIC_KEY: PEM; pins RS256 or ES256
	JWKSURL      string // AUTH_JWKS_URL: JWK Set; RS256 or ES256 per key
	Issuer       string // AUTH_JWT_ISSUER: when set, iss must equal it
	Audience     string // AUTH_JWT_AUDIENCE: when set, aud of an /admin token must contain it
	// WSAudience is AUTH_WS_AUDIENCE: when set, aud of a /ws visitor token must contain it
	// (instead of Audience), so that the tokens of the two surfaces never stand in for each
	// other. Unset, /ws checks Audience.
	WSAudience string
	Production bool // SWITCHBOARD_ENV=production: JWKSURL must be https

	// HTTPClient fetches the JWK Set. Nil means a client with a 5 s timeout
	// that, in production, refuses redirects away from https.
	HTTPClient *http.Client
	// Logger receives JWKS fetch failures and unknown-kid errors. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for token times and the JWKS cache. Nil means
	// time.Now; tests inject a fake.
	Now func() time.Time
}

// HasKeyMaterial reports whether any JWT key material is configured, which
// is what AUTH_MODE defaults and startup checks depend on.
func HasKeyMaterial(cfg JWTConfig) bool { return keyMaterialKinds(cfg) > 0 }

func keyMaterialKinds(cfg JWTConfig) int {
	n := 0
	for _, s := range []string{cfg.Secret, cfg.PublicKeyPEM, cfg.JWKSURL} {
		if s != "" {
			n++
		}
	}
	return n
}

// Claims is what a verified JWT says about its bearer. Org is the org claim
// as sent (trimmed), still to be resolved to an org id by the caller
// (ADMIN-API §2.5); see IsUUID.
type Claims struct {
	Subject string   // sub
	Org     string   // org, or its alias org_id
	RawRole string   // role claim as sent; empty from VerifyEndUser
	Role    Role     // parsed role; empty from VerifyEndUser
	Email   string   // empty when absent or when email_verified is present and not true
	Name    string   // empty when absent
	Groups  []string // nil when absent
}

// Principal is the admin principal these claims stand for, in the org the
// caller resolved Org to.
func (c *Claims) Principal(orgID string) Principal {
	return Principal{
		UserID:      c.Subject,
		OrgID:       orgID,
		Role:        c.Role,
		DisplayName: c.Name,
		Email:       c.Email,
		Groups:      slices.Clone(c.Groups),
		AuthMethod:  AuthMethodJWT,
	}
}

// Verifier verifies JWTs against the one configured kind of key material.
// It is safe for concurrent use. Close stops its background JWKS refreshes.
type Verifier struct {
	issuer     string
	audience   string // /admin
	wsAudience string // /ws
	now        func() time.Time
	parser     *jwt.Parser
	methods    []string // the algorithm allow-list handed to jwt/v5

	static any        // HMAC secret or public key; nil when jwks is set
	jwks   *jwksCache // nil unless JWKSURL is configured
}

// NewVerifier checks the key material and builds a verifier, or returns the
// startup error ADMIN-API §2.3/§2.4 demands: no or more than one kind of key
// material, a secret shorter than 32 bytes, an unparseable PEM, an RSA key
// under 2048 bits, an EC key not on P-256, another key type, or a JWKS URL
// that is not https in production.
//
// With a JWKS URL it fetches the set once before returning, bounded by ctx
// and the 5 s fetch timeout; a failed fetch is logged, not returned.
func NewVerifier(ctx context.Context, cfg JWTConfig) (*Verifier, error) {
	switch keyMaterialKinds(cfg) {
	case 0:
		return nil, errors.New("no JWT key material: set one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL")
	case 1:
	default:
		return nil, errors.New("more than one kind of JWT key material: set only one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL")
	}
	v := &Verifier{issuer: cfg.Issuer, audience: cfg.Audience, wsAudience: cfg.WSAudience, now: cfg.Now}
	if v.wsAudience == "" {
		v.wsAudience = v.audience
	}
	if v.now == nil {
		v.now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}

	switch {
	case cfg.Secret != "":
		if len(cfg.Secret) < minSecretBytes {
			return nil, errors.New("AUTH_JWT_SECRET must be at least 32 bytes")
		}
		v.static = []byte(cfg.Secret)
		v.methods = []string{algHS256}
	case cfg.PublicKeyPEM != "":
		pub, alg, err := parsePublicKeyPEM(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.static = pub
		v.methods = []string{alg}
	default:
		u, err := checkJWKSURL(cfg.JWKSURL, cfg.Production)
		if err != nil {
			return nil, err
		}
		client := cfg.HTTPClient
		if client == nil {
			client = defaultJWKSClient(cfg.Production)
		}
		v.methods = []string{algRS256, algES256}
		v.jwks = newJWKSCache(u, client, logger, v.now)
		v.jwks.initialFetch(ctx)
	}

	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		// exp, nbf, iss and aud are checked by checkClaims, which follows
		// §2.3 to the second (jwt/v5 rejects at exactly exp+leeway).
		jwt.WithoutClaimsValidation(),
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

func defaultJWKSClient(production bool) *http.Client {
	c := &http.Client{Timeout: jwksFetchTimeout}
	if production {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != "https" {
				return errors.New("JWKS redirect away from https refused")
			}
			if len(via) >= 10 {
				return errors.New("too many JWKS redirects")
			}
			return nil
		}
	}
	return c
}

// Close stops background JWKS refreshes and waits for them. Verify keeps
// working afterwards with the keys already fetched.
func (v *Verifier) Close() {
	if v != nil && v.jwks != nil {
		v.jwks.close()
	}
}

// Verify verifies an /admin bearer JWT: signature with the pinned
// algorithm, header rules, time, issuer, audience, then the claims sub, org,
// role, email, name and groups in that order. A non-nil error is always a
// *TokenError: MISSING_ROLE for an absent or unknown role, INVALID_TOKEN for
// everything else.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if v == nil {
		return nil, JWTNotConfigured()
	}
	return v.verify(ctx, token, true, v.audience)
}

// VerifyEndUser verifies a /ws token (PROTOCOL §1.2) exactly like Verify,
// except that the role claim is neither required nor read and the audience is the
// visitors' own (AUTH_WS_AUDIENCE).
func (v *Verifier) VerifyEndUser(ctx context.Context, token string) (*Claims, error) {
	if v == nil {
		return nil, JWTNotConfigured()
	}
	return v.verify(ctx, token, false, v.wsAudience)
}

func (v *Verifier) verify(ctx context.Context, token string, withRole bool, audience string) (*Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, InvalidToken("token too large")
	}
	// Exactly three segments: JWE (five) and JSON serialisation (none) are
	// refused here, before any decoding.
	if strings.Count(token, ".") != 2 {
		return nil, InvalidToken("malformed")
	}
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.key(ctx, t)
	})
	if err != nil {
		return nil, v.parseError(tok, err)
	}
	c, terr := v.checkClaims(claims, withRole, audience)
	if terr != nil {
		return nil, terr
	}
	return c, nil
}

// key runs after jwt/v5 has checked alg against the allow-list and before
// it checks the signature.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	if err := checkHeader(t.Header); err != nil {
		return nil, err
	}
	if v.jwks == nil {
		return v.static, nil
	}
	kid := ""
	if raw, ok := t.Header["kid"]; ok {
		s, ok := raw.(string)
		if !ok {
			return nil, InvalidToken("kid is not a string")
		}
		kid = s
	}
	return v.jwks.key(ctx, kid, t.Method.Alg())
}

// checkHeader applies the header rules of §2.3 other than alg. jku, x5u, x5c
// and jwk are never read, so they need no rule.
func checkHeader(h map[string]any) error {
	if _, ok := h["crit"]; ok {
		return InvalidToken("crit header not supported")
	}
	if raw, ok := h["typ"]; ok {
		typ, _ := raw.(string)
		if !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
			return InvalidToken("unsupported typ")
		}
	}
	return nil
}

func (v *Verifier) parseError(tok *jwt.Token, err error) *TokenError {
	var te *TokenError
	switch {
	case errors.As(err, &te):
		return te
	case errors.Is(err, jwt.ErrTokenMalformed):
		return InvalidToken("malformed")
	case tok == nil || tok.Method == nil || !slices.Contains(v.methods, tok.Method.Alg()):
		return InvalidToken("algorithm not allowed")
	default:
		return InvalidToken("signature")
	}
}

// checkClaims runs after the signature is verified: time, issuer, audience,
// then the claims table of §2.3 in its order.
func (v *Verifier) checkClaims(c jwt.MapClaims, withRole bool, audience string) (*Claims, *TokenError) {
	now := v.now()
	nowSec := float64(now.Unix()) + float64(now.Nanosecond())/1e9

	exp, present, ok := numberClaim(c, "exp")
	switch {
	case !present:
		return nil, InvalidToken("missing exp")
	case !ok:
		return nil, InvalidToken("exp is not a number")
	case nowSec > exp+leewaySeconds:
		return nil, InvalidToken("expired")
	}
	nbf, present, ok := numberClaim(c, "nbf")
	switch {
	case present && !ok:
		return nil, InvalidToken("nbf is not a number")
	case present && nowSec < nbf-leewaySeconds:
		return nil, InvalidToken("not yet valid")
	}
	if v.issuer != "" {
		if iss, _ := c["iss"].(string); iss != v.issuer {
			return nil, InvalidToken("issuer mismatch")
		}
	}
	if audience != "" && !audienceContains(c["aud"], audience) {
		return nil, InvalidToken("audience mismatch")
	}

	out := &Claims{}
	sub, ok := c["sub"].(string)
	switch {
	case !ok || sub == "":
		return nil, InvalidToken("missing sub")
	case utf8.RuneCountInString(sub) > maxSubChars:
		return nil, InvalidToken("sub too long")
	}
	out.Subject = sub

	org, terr := orgClaim(c)
	if terr != nil {
		return nil, terr
	}
	out.Org = org

	if withRole {
		raw, _ := c["role"].(string)
		role, ok := ParseRole(raw)
		if !ok {
			return nil, missingRole()
		}
		out.RawRole, out.Role = raw, role
	}

	// email_verified counts only as the boolean true: "true", "false", 1 or null are not a
	// verification, and an email its issuer did not verify must not match anyone's.
	if verified, present := c["email_verified"]; !present || verified == true {
		if raw, present := c["email"]; present {
			email, ok := raw.(string)
			if !ok {
				return nil, InvalidToken("email is not a string")
			}
			email = strings.TrimSpace(email)
			if utf8.RuneCountInString(email) > maxEmailChars {
				return nil, InvalidToken("email too long")
			}
			out.Email = email
		}
	}

	if raw, present := c["name"]; present {
		name, ok := raw.(string)
		if !ok {
			return nil, InvalidToken("name is not a string")
		}
		if utf8.RuneCountInString(name) > maxNameChars {
			return nil, InvalidToken("name too long")
		}
		out.Name = name
	}

	if raw, present := c["groups"]; present {
		groups, ok := groupsClaim(raw)
		if !ok {
			return nil, InvalidToken("groups must be an array of at most 256 strings of 1..256 characters")
		}
		out.Groups = groups
	}
	return out, nil
}

// numberClaim reads a time claim, which must be a JSON number.
func numberClaim(c jwt.MapClaims, name string) (value float64, present, ok bool) {
	raw, present := c[name]
	if !present {
		return 0, false, false
	}
	f, ok := raw.(float64)
	return f, true, ok
}

// audienceContains reports whether aud, a string or an array of strings,
// contains want. Any other shape contains nothing.
func audienceContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return false
			}
			if s == want {
				return true
			}
		}
	}
	return false
}

// orgClaim reads org and its alias org_id: each present one must be a
// string, non-empty after trimming and at most 128 characters, and when both
// are present they must be equal (after trimming).
func orgClaim(c jwt.MapClaims) (string, *TokenError) {
	var vals []string
	for _, name := range []string{"org", "org_id"} {
		raw, present := c[name]
		if !present {
			continue
		}
		s, ok := raw.(string)
		if !ok {
			return "", InvalidToken(name + " is not a string")
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return "", InvalidToken("missing org")
		case utf8.RuneCountInString(s) > maxOrgChars:
			return "", InvalidToken("org too long")
		}
		vals = append(vals, s)
	}
	switch {
	case len(vals) == 0:
		return "", InvalidToken("missing org")
	case len(vals) == 2 && vals[0] != vals[1]:
		return "", InvalidToken("org and org_id differ")
	}
	return vals[0], nil
}

func groupsClaim(raw any) ([]string, bool) {
	arr, ok := raw.([]any)
	if !ok || len(arr) > maxGroups {
		return nil, false
	}
	groups := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" || utf8.RuneCountInString(s) > maxGroupChars {
			return nil, false
		}
		groups = append(groups, s)
	}
	return groups, true
}
