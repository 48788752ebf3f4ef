package auth

import "strings"

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header (ADMIN-API §1.2). The scheme is matched case-insensitively and the
// token is trimmed. It reports false for a missing header, another scheme or
// an empty token, which all answer 401 UNAUTHENTICATED.
func BearerToken(header string) (string, bool) {
	header = strings.TrimSpace(header)
	i := strings.IndexAny(header, " \t")
	if i < 0 {
		return "", false
	}
	if !strings.EqualFold(header[:i], "Bearer") {
		return "", false
	}
	tok := strings.TrimSpace(header[i+1:])
	if tok == "" {
		return "", false
	}
	return tok, true
}
