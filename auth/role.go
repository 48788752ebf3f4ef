package auth

import (
	"fmt"
	"strings"
)

// Role is a principal's role. Roles are totally ordered (ADMIN-API §3).
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleCurator Role = "curator"
	RoleBasic   Role = "basic"
)

// ParseRole reads a role the way the JWT role claim is read: trimmed and
// lowercased, where "user" means basic. Anything else is not a role.
func ParseRole(s string) (Role, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return RoleAdmin, true
	case "curator":
		return RoleCurator, true
	case "basic", "user":
		return RoleBasic, true
	}
	return "", false
}

// Rank is the role's position in the order admin (2) > curator (1) >
// basic (0). An unknown role ranks -1, below every real role.
func (r Role) Rank() int {
	switch r {
	case RoleAdmin:
		return 2
	case RoleCurator:
		return 1
	case RoleBasic:
		return 0
	}
	return -1
}

// AtLeast reports whether r admits an endpoint whose minimum role is min.
// It fails closed: an unknown r or an unknown min is never enough.
func (r Role) AtLeast(min Role) bool {
	return r.Rank() >= 0 && min.Rank() >= 0 && r.Rank() >= min.Rank()
}

// ForbiddenMessage is the message of a 403 FORBIDDEN answer (ADMIN-API §3).
func ForbiddenMessage(min, have Role) string {
	return fmt.Sprintf("forbidden: requires %s, principal is %s", min, have)
}

// Authentication methods, as reported in Principal.AuthMethod.
const (
	AuthMethodJWT    = "jwt"
	AuthMethodAPIKey = "apiKey"
	AuthMethodDev    = "dev"
)

// Principal is who a request acts as (ADMIN-API §2.1). OrgID is always the
// internal org UUID; the caller fills it in after resolving the org claim.
type Principal struct {
	UserID      string
	OrgID       string
	Role        Role
	DisplayName string // empty when absent
	Email       string // empty when absent
	Groups      []string
	AuthMethod  string // AuthMethodJWT, AuthMethodAPIKey or AuthMethodDev
}
