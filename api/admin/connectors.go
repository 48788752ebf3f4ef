package admin

import (
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/knowledge"
)

// Connector endpoints of ADMIN-API §9.11. Package knowledge validates a ConnectorWrite
// (the reserved kind github, config keys, private URLs, the schedule grammar) and writes
// the connector.* audit rows; handlers read the body's types and map errors.

type connectorJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Config      json.RawMessage `json:"config"`
	DocumentSet string          `json:"documentSet"`
	Enabled     bool            `json:"enabled"`
	Schedule    *string         `json:"schedule"`
	CreatedAt   jsonTime        `json:"createdAt"`
	UpdatedAt   jsonTime        `json:"updatedAt"`
}

func connectorOut(k knowledge.Connector) connectorJSON {
	return connectorJSON{
		ID: k.ID.String(), Name: k.Name, Kind: k.Kind, Config: k.Config, DocumentSet: k.DocumentSet,
		Enabled: k.Enabled, Schedule: k.Schedule, CreatedAt: ts(k.CreatedAt), UpdatedAt: ts(k.UpdatedAt),
	}
}

// decodeConnectorWrite reads a ConnectorWrite body's types; config is passed on as the
// JSON object it is, for package knowledge to check key by key.
func decodeConnectorWrite(v *reqjson.Value) (knowledge.ConnectorInput, *reqjson.Error) {
	r := reqjson.NewReader(v, "name", "kind", "config", "documentSet", "enabled", "schedule")
	var in knowledge.ConnectorInput
	in.Name, _ = r.String("name", reqjson.Required)
	in.Kind, _ = r.String("kind", reqjson.Required)
	if cfg, p := r.Raw("config", reqjson.Required); p == reqjson.Set {
		in.Config = cfg.Compact()
	}
	if set, p := r.String("documentSet", reqjson.Optional); p == reqjson.Set {
		in.DocumentSet = &set
	}
	if b, p := r.Bool("enabled", reqjson.Optional); p == reqjson.Set {
		in.Enabled = &b
	}
	if s, p := r.String("schedule", reqjson.Optional); p == reqjson.Set {
		in.Schedule = &s
	}
	return in, r.Err()
}

func (h *handlers) connectorError(c *fiber.Ctx, err error, name string) error {
	if errors.Is(err, knowledge.ErrConflict) {
		return conflict("a connector named " + reqjson.Quote(name) + " already exists")
	}
	return knowledgeError(c, err, "connector", c.Params("id"))
}

// listConnectors is GET /admin/connectors: name case-insensitively, then id.
func (h *handlers) listConnectors(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "connectors", "n")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	var after *knowledge.ConnectorKey
	if pg.id.Valid {
		after = &knowledge.ConnectorKey{ID: pg.id.UUID}
		if pg.name != nil {
			after.Name = *pg.name
		} else if after.Name, err = h.connectorName(c, pg); err != nil {
			return err
		}
	}
	rows, more, err := h.kn.ListConnectors(c.UserContext(), principalOf(c).org, after, pg.limit, pg.offset)
	if err != nil {
		return err
	}
	out := make([]connectorJSON, len(rows))
	for i, k := range rows {
		out[i] = connectorOut(k)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return cursor{N: &last.Name, I: last.ID.String()}
	})
	return reply(c, fiber.StatusOK, fiber.Map{"connectors": out, "nextCursor": next})
}

// connectorName recovers the name of a cursor's connector when the name was too long to
// travel in the cursor; a connector deleted since then leaves the cursor unusable.
func (h *handlers) connectorName(c *fiber.Ctx, pg page) (string, error) {
	k, err := h.kn.GetConnector(c.UserContext(), principalOf(c).org, pg.id.UUID)
	if errors.Is(err, knowledge.ErrNotFound) {
		return "", errBadCursor
	}
	return k.Name, err
}

func (h *handlers) createConnector(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	in, verr := decodeConnectorWrite(v)
	if verr != nil {
		return validation(verr)
	}
	p := principalOf(c)
	k, err := h.kn.CreateConnector(c.UserContext(), p.org, in, h.meta(c, p))
	if err != nil {
		return h.connectorError(c, err, in.Name)
	}
	c.Location("/admin/connectors/" + k.ID.String())
	return reply(c, fiber.StatusCreated, fiber.Map{"connector": connectorOut(k)})
}

func (h *handlers) getConnector(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "connector")
	if err != nil {
		return err
	}
	k, err := h.kn.GetConnector(c.UserContext(), principalOf(c).org, id)
	if err != nil {
		return knowledgeError(c, err, "connector", c.Params("id"))
	}
	return reply(c, fiber.StatusOK, fiber.Map{"connector": connectorOut(k)})
}

// updateConnector is PUT /admin/connectors/{id}: the body is validated before the lookup
// (§1.5), so a foreign and an unknown id answer alike for the same body.
func (h *handlers) updateConnector(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	in, verr := decodeConnectorWrite(v)
	if verr != nil {
		return validation(verr)
	}
	id, err := pathID(c, "id", "connector")
	if err != nil {
		return err
	}
	p := principalOf(c)
	k, err := h.kn.UpdateConnector(c.UserContext(), p.org, id, in, h.meta(c, p))
	if err != nil {
		return h.connectorError(c, err, in.Name)
	}
	return reply(c, fiber.StatusOK, fiber.Map{"connector": connectorOut(k)})
}

func (h *handlers) deleteConnector(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "connector")
	if err != nil {
		return err
	}
	p := principalOf(c)
	if err := h.kn.DeleteConnector(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return knowledgeError(c, err, "connector", c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// indexConnector is POST /admin/connectors/{id}/index: 202 with a new queued run, or with
// the connector's queued or running run when it has one (then nothing is written).
func (h *handlers) indexConnector(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "connector")
	if err != nil {
		return err
	}
	p := principalOf(c)
	run, _, err := h.kn.IndexConnector(c.UserContext(), p.org, id, h.meta(c, p))
	if err != nil {
		return knowledgeError(c, err, "connector", c.Params("id"))
	}
	return reply(c, fiber.StatusAccepted, fiber.Map{"run": runOut(run)})
}
