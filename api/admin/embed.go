package admin

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/web"
)

// embedJSON is web.Embed with the agent's current widget policy.
type embedJSON struct {
	web.Embed
	AllowedOrigins     []string `json:"allowedOrigins"`
	RequireAuthContext bool     `json:"requireAuthContext"`
}

// agentEmbed answers GET /admin/agents/{id}/embed: the tag that embeds the agent's widget
// from this server (its public URL, SWITCHBOARD_PUBLIC_URL), and the origins the agent
// allows right now.
func (h *handlers) agentEmbed(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "agent")
	if err != nil {
		return err
	}
	a, err := h.st.GetAgent(c.UserContext(), principalOf(c).org, id)
	if err != nil {
		return storeError(err, "agent", c.Params("id"))
	}
	return reply(c, fiber.StatusOK, fiber.Map{"embed": embedJSON{
		Embed:              web.EmbedFor(web.PublicURL(h.cfg, c), a.ID.String()),
		AllowedOrigins:     nonNil(a.AllowedOrigins),
		RequireAuthContext: a.RequireAuthContext,
	}})
}
