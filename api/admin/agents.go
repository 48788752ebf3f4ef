package admin

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

type agentJSON struct {
	ID                   string     `json:"id"`
	Name                 string     `json:"name"`
	Model                *string    `json:"model"`
	SystemPrompt         *string    `json:"systemPrompt"`
	Persona              *string    `json:"persona"`
	ConfirmTools         []string   `json:"confirmTools"`
	DocumentSets         []string   `json:"documentSets"`
	MaxIterations        *int32     `json:"maxIterations"`
	MaxTokens            *int32     `json:"maxTokens"`
	Enabled              bool       `json:"enabled"`
	HasToolSigningSecret bool       `json:"hasToolSigningSecret"`
	Widget               widgetJSON `json:"widget"`
	CreatedAt            jsonTime   `json:"createdAt"`
	UpdatedAt            jsonTime   `json:"updatedAt"`
}

type widgetJSON struct {
	AllowedOrigins     []string `json:"allowedOrigins"`
	RequireAuthContext bool     `json:"requireAuthContext"`
	HasSigningSecret   bool     `json:"hasSigningSecret"`
}

func agentOut(a db.Agent) agentJSON {
	return agentJSON{
		ID: a.ID.String(), Name: a.Name, Model: a.Model, SystemPrompt: a.SystemPrompt, Persona: a.Persona,
		ConfirmTools: nonNil(a.ConfirmTools), DocumentSets: nonNil(a.DocumentSets),
		MaxIterations: a.MaxIterations, MaxTokens: a.MaxTokens, Enabled: a.Enabled,
		HasToolSigningSecret: a.ToolSigningSecret != nil,
		Widget: widgetJSON{
			AllowedOrigins: nonNil(a.AllowedOrigins), RequireAuthContext: a.RequireAuthContext,
			HasSigningSecret: a.WidgetSigningSecret != nil,
		},
		CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
	}
}

func (h *handlers) listAgents(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "agents", "n")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	rows, err := h.st.ListAgents(c.UserContext(), principalOf(c).org, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]agentJSON, len(rows))
	for i, a := range rows {
		out[i] = agentOut(a)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return cursor{N: &last.Name, I: last.ID.String()}
	})
	return reply(c, fiber.StatusOK, fiber.Map{"agents": out, "nextCursor": next})
}

// sealAgentSecret seals a write-only agent secret for its row (ADMIN-API §6.2).
func (h *handlers) sealAgentSecret(column, plaintext string, org, id uuid.UUID) []byte {
	return h.d.Box.Seal([]byte(plaintext), seal.AAD("agents", column, org, id))
}

func (h *handlers) createAgent(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	w, verr := decodeAgentWrite(v)
	if verr == nil && w.requireAuthContext && w.widgetSecretP != reqjson.Set {
		verr = errNeedsWidgetSecret
	}
	if verr != nil {
		return validation(verr)
	}
	p := principalOf(c)
	id := uuid.New()
	params := db.AgentCreateParams{
		ID: id, Name: w.name, Model: w.model, SystemPrompt: w.systemPrompt, Persona: w.persona,
		ConfirmTools: w.confirmTools, DocumentSets: w.documentSets, MaxIterations: w.maxIterations,
		MaxTokens: w.maxTokens, Enabled: w.enabled, AllowedOrigins: w.allowedOrigins,
		RequireAuthContext: w.requireAuthContext,
	}
	if w.widgetSecretP == reqjson.Set {
		params.WidgetSigningSecret = h.sealAgentSecret("widget_signing_secret", w.widgetSecret, p.org, id)
	}
	if w.toolSecretP == reqjson.Set {
		params.ToolSigningSecret = h.sealAgentSecret("tool_signing_secret", w.toolSecret, p.org, id)
	}
	row, err := h.st.CreateAgent(c.UserContext(), p.org, params, h.meta(c, p), map[string]any{"fields": w.fields})
	if errors.Is(err, store.ErrConflict) {
		return conflict("an agent named " + reqjson.Quote(w.name) + " already exists")
	}
	if err != nil {
		return err
	}
	c.Location("/admin/agents/" + row.ID.String())
	return reply(c, fiber.StatusCreated, fiber.Map{"agent": agentOut(row)})
}

func (h *handlers) getAgent(c *fiber.Ctx) error {
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
	return reply(c, fiber.StatusOK, fiber.Map{"agent": agentOut(a)})
}

func (h *handlers) updateAgent(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	w, verr := decodeAgentWrite(v)
	if verr != nil {
		return validation(verr)
	}
	id, err := pathID(c, "id", "agent")
	if err != nil {
		return err
	}
	p := principalOf(c)
	params := db.AgentUpdateParams{
		Name: w.name, Model: w.model, SystemPrompt: w.systemPrompt, Persona: w.persona,
		ConfirmTools: w.confirmTools, DocumentSets: w.documentSets, MaxIterations: w.maxIterations,
		MaxTokens: w.maxTokens, Enabled: w.enabled, AllowedOrigins: w.allowedOrigins,
		RequireAuthContext: w.requireAuthContext,
		SetWidgetSecret:    w.widgetSecretP != reqjson.Absent,
		SetToolSecret:      w.toolSecretP != reqjson.Absent,
	}
	if w.widgetSecretP == reqjson.Set {
		params.WidgetSigningSecret = h.sealAgentSecret("widget_signing_secret", w.widgetSecret, p.org, id)
	}
	if w.toolSecretP == reqjson.Set {
		params.ToolSigningSecret = h.sealAgentSecret("tool_signing_secret", w.toolSecret, p.org, id)
	}
	row, err := h.st.UpdateAgent(c.UserContext(), p.org, id, func(cur db.Agent) (db.AgentUpdateParams, map[string]any, error) {
		hasWidgetSecret := w.widgetSecretP == reqjson.Set || (w.widgetSecretP == reqjson.Absent && cur.WidgetSigningSecret != nil)
		if w.requireAuthContext && !hasWidgetSecret {
			return params, nil, validation(errNeedsWidgetSecret)
		}
		return params, map[string]any{"fields": agentChanges(cur, params, w)}, nil
	}, h.meta(c, p))
	if errors.Is(err, store.ErrConflict) {
		return conflict("an agent named " + reqjson.Quote(w.name) + " already exists")
	}
	if err != nil {
		return storeError(err, "agent", c.Params("id"))
	}
	return reply(c, fiber.StatusOK, fiber.Map{"agent": agentOut(row)})
}

func (h *handlers) deleteAgent(c *fiber.Ctx) error {
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
	p := principalOf(c)
	if err := h.st.DeleteAgent(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return storeError(err, "agent", c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}
