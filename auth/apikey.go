package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

const (
	// APIKeyPrefix starts every org API key (ADMIN-API §2.2).
	APIKeyPrefix = "sbk_"
	// ResumeTokenPrefix starts every resume token Switchboard issues
	// (PROTOCOL §3.5).
	ResumeTokenPrefix = "srt_"

	secretBytes = 32 // CSPRNG bytes behind an API key or resume token
)

var (
	apiKeyFormat      = regexp.MustCompile(`^sbk_[A-Za-z0-9_-]{43}$`)
	resumeTokenFormat = regexp.MustCompile(`^srt_[A-Za-z0-9_-]{43}$`)
)

// APIKey is a freshly minted org API key. Plaintext is handed to the caller
// once and never stored; Hash, Prefix and Last4 are what is stored.
//
// String, GoString and LogValue redact the plaintext, so printing or logging
// an APIKey by accident shows only prefix and last4.
type APIKey struct {
	Plaintext string // sbk_ + 43 base64url characters
	Hash      []byte // SHA-256 of Plaintext
	Prefix    string // first 8 characters, e.g. "sbk_Q3vP"
	Last4     string // last 4 characters
}

// NewAPIKey mints an org API key from 32 CSPRNG bytes.
func NewAPIKey() (APIKey, error) {
	tok, err := randomToken(APIKeyPrefix)
	if err != nil {
		return APIKey{}, fmt.Errorf("mint api key: %w", err)
	}
	return APIKey{
		Plaintext: tok,
		Hash:      HashAPIKey(tok),
		Prefix:    tok[:8],
		Last4:     tok[len(tok)-4:],
	}, nil
}

// String names the key by prefix and last4 only.
func (k APIKey) String() string { return k.Prefix + "…" + k.Last4 }

// GoString keeps %#v from printing the plaintext.
func (k APIKey) GoString() string { return "auth.APIKey{" + k.String() + "}" }

// LogValue keeps slog from printing the plaintext.
func (k APIKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("prefix", k.Prefix), slog.String("last4", k.Last4))
}

// IsAPIKeyToken reports whether a bearer token is to be treated as an org
// API key (ADMIN-API §2.1): any token starting with "sbk_", well-formed or not.
func IsAPIKeyToken(tok string) bool { return strings.HasPrefix(tok, APIKeyPrefix) }

// ValidAPIKeyFormat reports whether tok matches ^sbk_[A-Za-z0-9_-]{43}$. A
// token that does not is INVALID_TOKEN without a database lookup.
func ValidAPIKeyFormat(tok string) bool { return apiKeyFormat.MatchString(tok) }

// HashAPIKey is the SHA-256 digest of the whole token, as stored in key_hash.
func HashAPIKey(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// EqualHash compares two digests in constant time.
func EqualHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// NewResumeToken mints a widget resume token: "srt_" followed by the
// unpadded base64url encoding of 32 CSPRNG bytes (PROTOCOL §3.5).
func NewResumeToken() (string, error) {
	tok, err := randomToken(ResumeTokenPrefix)
	if err != nil {
		return "", fmt.Errorf("mint resume token: %w", err)
	}
	return tok, nil
}

// ValidResumeTokenFormat reports whether tok has the form Switchboard issues,
// so a malformed presented token can be refused without a lookup.
func ValidResumeTokenFormat(tok string) bool { return resumeTokenFormat.MatchString(tok) }

// HashResumeToken is the SHA-256 digest stored for a resume token.
func HashResumeToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}
