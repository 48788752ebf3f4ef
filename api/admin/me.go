package admin

import (
	"github.com/gofiber/fiber/v2"
)

// health answers GET /admin/health (public).
func (h *handlers) health(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	return reply(c, fiber.StatusOK, fiber.Map{"status": "ok"})
}

type meJSON struct {
	UserID      string   `json:"userId"`
	OrgID       string   `json:"orgId"`
	Role        string   `json:"role"`
	DisplayName string   `json:"displayName,omitempty"`
	Email       string   `json:"email,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	AuthMethod  string   `json:"authMethod"`
}

// me answers GET /admin/me: the principal, unwrapped, optional fields omitted when absent.
func (h *handlers) me(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	p := principalOf(c)
	return reply(c, fiber.StatusOK, meJSON{
		UserID: p.UserID, OrgID: p.org.String(), Role: string(p.Role), DisplayName: p.DisplayName,
		Email: p.Email, Groups: p.Groups, AuthMethod: p.AuthMethod,
	})
}
