package admin

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/auth"
)

// corsPolicy is SWITCHBOARD_ADMIN_CORS_ORIGINS: exact origins, or any (ADMIN-API §1.7).
type corsPolicy struct {
	any     bool
	origins map[string]bool
}

func newCORSPolicy(list []string, devMode bool) corsPolicy {
	p := corsPolicy{origins: map[string]bool{}}
	if len(list) == 0 && devMode {
		p.any = true
	}
	for _, o := range list {
		if o == "*" {
			p.any = true
		} else {
			p.origins[o] = true
		}
	}
	return p
}

// allow returns the Access-Control-Allow-Origin value for origin, if it is allowed.
func (p corsPolicy) allow(origin string) (string, bool) {
	switch {
	case origin == "":
		return "", false
	case p.any:
		return "*", true
	case p.origins[origin]:
		return origin, true
	}
	return "", false
}

// adminHeaders sets what every /admin response carries (no-store, nosniff, the dev-mode
// marker, CORS) and answers CORS preflight with 204 before any authentication. It runs for
// unknown /admin routes too, so their 404s carry the same headers.
func (h *handlers) adminHeaders(c *fiber.Ctx) error {
	path := c.Path()
	if path != "/admin" && !strings.HasPrefix(path, "/admin/") {
		return c.Next() // Use("/admin") also matches /administrator
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Vary(fiber.HeaderOrigin)
	if h.d.AuthMode == auth.ModeNone {
		c.Set(auth.AuthModeHeader, "none")
	}
	allowOrigin, allowed := h.cors.allow(c.Get(fiber.HeaderOrigin))
	if c.Method() == fiber.MethodOptions && c.Get(fiber.HeaderAccessControlRequestMethod) != "" {
		if allowed {
			c.Set(fiber.HeaderAccessControlAllowOrigin, allowOrigin)
			c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, PUT, DELETE, OPTIONS")
			c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type, X-Request-Id")
			c.Set(fiber.HeaderAccessControlMaxAge, "600")
		}
		c.Status(fiber.StatusNoContent)
		c.Response().ResetBody()
		return nil
	}
	if allowed {
		c.Set(fiber.HeaderAccessControlAllowOrigin, allowOrigin)
		c.Set(fiber.HeaderAccessControlExposeHeaders, "X-Request-Id, Retry-After, Location")
	}
	return c.Next()
}
