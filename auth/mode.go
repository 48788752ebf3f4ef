package auth

import (
	"errors"
	"fmt"
	"strings"
)

// Mode is the resolved AUTH_MODE (ADMIN-API §2.4). It only governs /admin.
type Mode string

const (
	ModeJWT    Mode = "jwt"
	ModeAPIKey Mode = "apikey"
	ModeNone   Mode = "none"
)

// The principal of AUTH_MODE=none.
const (
	DevUserID      = "dev"
	DevRole        = RoleAdmin
	DevDisplayName = "Dev Admin (AUTH_MODE=none)"
	// DevOrgDefault is AUTH_DEV_ORG_ID when unset; like a JWT org claim it
	// still has to be resolved to an org id by the caller.
	DevOrgDefault = "dev"
	// AuthModeHeader is set to "none" on every /admin response in dev mode.
	AuthModeHeader = "X-Switchboard-Auth-Mode"
)

// ResolveMode turns the AUTH_MODE setting into a Mode, or returns the startup
// error §2.4 demands. hasKeyMaterial is HasKeyMaterial(cfg); more than one
// kind of key material is reported by NewVerifier, which jwt mode always
// builds.
func ResolveMode(modeEnv string, hasKeyMaterial, production bool) (Mode, error) {
	switch Mode(strings.ToLower(strings.TrimSpace(modeEnv))) {
	case "":
		if hasKeyMaterial {
			return ModeJWT, nil
		}
		return ModeAPIKey, nil
	case ModeJWT:
		if !hasKeyMaterial {
			return "", errors.New("AUTH_MODE=jwt requires one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL")
		}
		return ModeJWT, nil
	case ModeAPIKey:
		if hasKeyMaterial {
			return "", errors.New("AUTH_MODE=apikey must not be combined with JWT key material (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL)")
		}
		return ModeAPIKey, nil
	case ModeNone:
		if hasKeyMaterial {
			return "", errors.New("AUTH_MODE=none must not be combined with JWT key material (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL)")
		}
		if production {
			return "", errors.New("AUTH_MODE=none is not allowed when SWITCHBOARD_ENV=production")
		}
		return ModeNone, nil
	}
	// The value itself is not secret, but quoting it keeps odd input visible.
	return "", fmt.Errorf("AUTH_MODE %q is not one of jwt, apikey, none", modeEnv)
}

// DevPrincipal is the principal every non-empty, non-sbk_ bearer stands for
// in AUTH_MODE=none. orgID is the resolved org of AUTH_DEV_ORG_ID.
func DevPrincipal(orgID string) Principal {
	return Principal{
		UserID:      DevUserID,
		OrgID:       orgID,
		Role:        DevRole,
		DisplayName: DevDisplayName,
		AuthMethod:  AuthMethodDev,
	}
}

// DevModeWarning is the WARN line logged at startup in AUTH_MODE=none.
func DevModeWarning(orgID string) string {
	return "AUTH_MODE=none: every bearer token is an admin of org " + orgID + "; never use this in production"
}
