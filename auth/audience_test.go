package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// AUTH_WS_AUDIENCE: a visitor's token (minted for the browser) is never an admin token, and
// an admin token is never a visitor's.
func TestVisitorAndAdminTokensHaveTheirOwnAudiences(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testSecret, Audience: "switchboard-admin", WSAudience: "switchboard-widget"})
	visitor := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": "switchboard-widget"}))
	admin := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": "switchboard-admin"}))

	if _, err := v.VerifyEndUser(t.Context(), visitor); err != nil {
		t.Fatalf("visitor token on /ws: %v", err)
	}
	_, err := v.Verify(t.Context(), visitor)
	wantTokenError(t, err, CodeInvalidToken, "invalid token: audience mismatch", visitor)

	if _, err := v.Verify(t.Context(), admin); err != nil {
		t.Fatalf("admin token on /admin: %v", err)
	}
	_, err = v.VerifyEndUser(t.Context(), admin)
	wantTokenError(t, err, CodeInvalidToken, "invalid token: audience mismatch", admin)
}

func TestWithoutAWSAudienceVisitorTokensAreCheckedAgainstTheAdminOne(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testSecret, Audience: "switchboard"})
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": "switchboard"}))
	if _, err := v.VerifyEndUser(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	other := sign(t, jwt.SigningMethodHS256, []byte(testSecret), nil, claimsWith(map[string]any{"aud": "else"}))
	_, err := v.VerifyEndUser(t.Context(), other)
	wantTokenError(t, err, CodeInvalidToken, "invalid token: audience mismatch", other)
}
