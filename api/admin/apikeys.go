package admin

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

type apiKeyJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Prefix     string    `json:"prefix"`
	Last4      string    `json:"last4"`
	CreatedAt  jsonTime  `json:"createdAt"`
	LastUsedAt *jsonTime `json:"lastUsedAt"`
}

func apiKeyOut(k db.ApiKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID.String(), Name: k.Name, Role: k.Role, Prefix: k.Prefix, Last4: k.Last4,
		CreatedAt: ts(k.CreatedAt), LastUsedAt: tsPtr(k.LastUsedAt),
	}
}

func (h *handlers) listAPIKeys(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "api-keys", "t")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	p := principalOf(c)
	rows, err := h.st.ListAPIKeys(c.UserContext(), p.org, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]apiKeyJSON, len(rows))
	for i, k := range rows {
		out[i] = apiKeyOut(k)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return timeCursor(last.CreatedAt, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"apiKeys": out, "nextCursor": next})
}

var roles = map[string]bool{"admin": true, "curator": true, "basic": true}

func (h *handlers) createAPIKey(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	r := reqjson.NewReader(v, "name", "role")
	keyName, _ := name(r, "name", reqjson.Required, 128)
	role, rp := r.String("role", reqjson.Required)
	if rp == reqjson.Set && !roles[role] {
		r.Fail("role", "role must be one of admin, curator, basic")
	}
	if r.Err() != nil {
		return validation(r.Err())
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	p := principalOf(c)
	row, err := h.st.CreateAPIKey(c.UserContext(), p.org, store.NewAPIKeyRow{
		Name: keyName, Role: role, Hash: key.Hash, Prefix: key.Prefix, Last4: key.Last4,
	}, h.meta(c, p))
	if errors.Is(err, store.ErrConflict) {
		return conflict("an API key named " + reqjson.Quote(keyName) + " already exists")
	}
	if err != nil {
		return err
	}
	// The plaintext is in this response only (ADMIN-API §9.3); it is never logged or stored.
	return reply(c, fiber.StatusCreated, struct {
		APIKey apiKeyJSON `json:"apiKey"`
		Key    string     `json:"key"`
	}{apiKeyOut(row), key.Plaintext})
}

func (h *handlers) deleteAPIKey(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "API key")
	if err != nil {
		return err
	}
	p := principalOf(c)
	if err := h.st.DeleteAPIKey(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return storeError(err, "API key", c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}
