package auth

import "github.com/google/uuid"

// IsUUID reports whether an org claim is in UUID syntax (8-4-4-4-12 hex
// digits, any case) and returns it lowercased. Such a claim is the org id
// itself; any other value is an external reference (ADMIN-API §2.5). The
// braced, urn:uuid: and hyphen-less forms uuid.Parse also accepts are
// external references here.
func IsUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
