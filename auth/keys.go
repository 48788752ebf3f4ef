package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

const (
	minSecretBytes = 32
	minRSABits     = 2048
)

// The two asymmetric algorithms a public key can be pinned to.
var (
	algRS256 = jwt.SigningMethodRS256.Alg()
	algES256 = jwt.SigningMethodES256.Alg()
	algHS256 = jwt.SigningMethodHS256.Alg()
)

// pinnedAlg returns the only algorithm a public key may verify (ADMIN-API
// §2.3), or an error for any key that is too weak or of another kind.
func pinnedAlg(pub any) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("RSA key has %d bits, at least %d are required", bitLen(k), minRSABits)
		}
		return algRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("EC key is on curve %s, only P-256 is accepted", curveName(k))
		}
		return algES256, nil
	}
	return "", fmt.Errorf("key type %T is not accepted, use RSA (>= %d bits) or EC P-256", pub, minRSABits)
}

func bitLen(k *rsa.PublicKey) int {
	if k.N == nil {
		return 0
	}
	return k.N.BitLen()
}

func curveName(k *ecdsa.PublicKey) string {
	if k.Curve == nil || k.Params() == nil {
		return "unknown"
	}
	return k.Params().Name
}

// parsePublicKeyPEM reads AUTH_JWT_PUBLIC_KEY: literal `\n` sequences become
// newlines first (env files often hold PEM on one line), then the first PEM
// block must be a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE. A certificate
// only carries the key: its validity period is deliberately not checked.
func parsePublicKeyPEM(text string) (any, string, error) {
	text = strings.ReplaceAll(text, `\n`, "\n")
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, "", errors.New("AUTH_JWT_PUBLIC_KEY is not PEM")
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, "", fmt.Errorf("AUTH_JWT_PUBLIC_KEY holds a %q PEM block, want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("AUTH_JWT_PUBLIC_KEY: parse %s: %w", block.Type, err)
	}
	alg, err := pinnedAlg(pub)
	if err != nil {
		return nil, "", fmt.Errorf("AUTH_JWT_PUBLIC_KEY: %w", err)
	}
	return pub, alg, nil
}

// checkJWKSURL accepts an absolute http(s) URL, and only https in production.
func checkJWKSURL(raw string, production bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("AUTH_JWKS_URL is not a valid URL")
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("AUTH_JWKS_URL must be an absolute http(s) URL")
	}
	if production && u.Scheme != "https" {
		return nil, errors.New("AUTH_JWKS_URL must use https when SWITCHBOARD_ENV=production")
	}
	return u, nil
}
