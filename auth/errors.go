package auth

// Error codes a failed credential maps to (ADMIN-API §1.5).
const (
	CodeInvalidToken = "INVALID_TOKEN"
	CodeMissingRole  = "MISSING_ROLE"
)

// TokenError is why a credential was refused. Code is the stable client
// code; Message is safe to send to the client as is: it names the failed
// check and never contains the token.
type TokenError struct {
	Code    string
	Message string
}

func (e *TokenError) Error() string { return e.Message }

// InvalidToken is an INVALID_TOKEN error whose message is
// "invalid token: <check>". Callers use it for checks made outside this
// package, e.g. an org claim naming no org on /ws, or an unknown API key.
func InvalidToken(check string) *TokenError {
	return &TokenError{Code: CodeInvalidToken, Message: "invalid token: " + check}
}

// JWTNotConfigured is the INVALID_TOKEN answer to a non-sbk_ bearer in
// AUTH_MODE=apikey (ADMIN-API §2.4). A fresh value per call keeps callers
// from sharing mutable state.
func JWTNotConfigured() *TokenError {
	return &TokenError{Code: CodeInvalidToken, Message: "JWT authentication is not configured"}
}

func missingRole() *TokenError {
	return &TokenError{Code: CodeMissingRole, Message: "missing role: the token's role claim is absent or not a known role"}
}
