package admin

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/netguard"
	"github.com/switchboard-dev/switchboard/seal"
)

type gatewayKeyJSON struct {
	ID         string    `json:"id"`
	Label      string    `json:"label"`
	Last4      string    `json:"last4"`
	BaseURL    *string   `json:"baseUrl"`
	CreatedAt  jsonTime  `json:"createdAt"`
	RevokedAt  *jsonTime `json:"revokedAt"`
	LastUsedAt *jsonTime `json:"lastUsedAt"`
}

func gatewayKeyOut(k db.GatewayKey) gatewayKeyJSON {
	return gatewayKeyJSON{
		ID: k.ID.String(), Label: k.Label, Last4: k.Last4, BaseURL: k.BaseUrl, CreatedAt: ts(k.CreatedAt),
		RevokedAt: tsPtr(k.RevokedAt), LastUsedAt: tsPtr(k.LastUsedAt),
	}
}

func (h *handlers) listGatewayKeys(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "gateway-keys", "t")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	rows, err := h.st.ListGatewayKeys(c.UserContext(), principalOf(c).org, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]gatewayKeyJSON, len(rows))
	for i, k := range rows {
		out[i] = gatewayKeyOut(k)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return timeCursor(last.CreatedAt, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"gatewayKeys": out, "nextCursor": next})
}

// createGatewayKey stores an org's LLM gateway key sealed for its row (ADMIN-API §9.13).
// The key is never echoed, not even in a validation message; no network call checks it.
func (h *handlers) createGatewayKey(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	r := reqjson.NewReader(v, "label", "key", "baseUrl")
	label, _ := name(r, "label", reqjson.Required, 128)
	key, kp := r.String("key", reqjson.Required)
	if kp == reqjson.Set && (len(key) < 8 || len(key) > 512 || !printableASCII(key)) {
		r.Fail("key", "key must be 8..512 bytes of printable ASCII without spaces")
	}
	var baseURL *string
	if u, p := r.String("baseUrl", reqjson.Optional); p == reqjson.Set {
		if err := netguard.ValidateURL(u, h.cfg.AllowPrivateGateway); err != nil {
			r.Fail("baseUrl", "baseUrl "+err.Error())
		} else if pu, _ := url.Parse(u); h.cfg.Production && pu.Scheme != "https" {
			r.Fail("baseUrl", "baseUrl must use https when SWITCHBOARD_ENV=production")
		}
		baseURL = &u
	}
	if r.Err() != nil {
		return validation(r.Err())
	}
	p := principalOf(c)
	id := uuid.New()
	row, err := h.st.CreateGatewayKey(c.UserContext(), p.org, db.GatewayKeyCreateParams{
		ID: id, Label: label, Last4: key[len(key)-4:], BaseUrl: baseURL, CreatedBy: p.UserID,
		KeyCiphertext: h.d.Box.Seal([]byte(key), seal.AAD("gateway_keys", "key_ciphertext", p.org, id)),
	}, h.meta(c, p))
	if err != nil {
		return err
	}
	return reply(c, fiber.StatusCreated, fiber.Map{"gatewayKey": gatewayKeyOut(row)})
}

func (h *handlers) revokeGatewayKey(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "gateway key")
	if err != nil {
		return err
	}
	p := principalOf(c)
	if _, err := h.st.RevokeGatewayKey(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return storeError(err, "gateway key", c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}
