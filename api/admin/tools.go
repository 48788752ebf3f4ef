package admin

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/netguard"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
)

var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// builtinTools are the tools Switchboard provides itself, the values of defaultTools and its
// default (PROTOCOL-1.1 Appendix C.4).
var builtinTools = []string{"knowledge_search", "request_identity_intake", "request_choices"}

// reservedToolNames are the names a tenant tool may not take (PROTOCOL-1.1 Appendix C.3): the
// built-in tools and the submit_interaction tool, which follows from them.
var reservedToolNames = append(slices.Clone(builtinTools), "submit_interaction")

type toolJSON struct {
	ID               string          `json:"id"`
	AgentID          string          `json:"agentId"`
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	Parameters       json.RawMessage `json:"parameters"`
	URL              string          `json:"url"`
	Kind             string          `json:"kind"`
	RequiresApproval bool            `json:"requiresApproval"`
	// RequiresVerification: calls run only for a verified visitor (PROTOCOL-1.1 Appendix C.1).
	RequiresVerification bool     `json:"requiresVerification"`
	TimeoutMs            int32    `json:"timeoutMs"`
	CreatedAt            jsonTime `json:"createdAt"`
	UpdatedAt            jsonTime `json:"updatedAt"`
}

func toolOut(t db.AgentTool) toolJSON {
	return toolJSON{
		ID: t.ID.String(), AgentID: t.AgentID.String(), Name: t.Name, Description: t.Description,
		Parameters: t.Parameters, URL: t.Url, Kind: t.Kind, RequiresApproval: t.RequiresApproval,
		RequiresVerification: t.RequiresVerification, TimeoutMs: t.TimeoutMs,
		CreatedAt: ts(t.CreatedAt), UpdatedAt: ts(t.UpdatedAt),
	}
}

// toolWrite is a validated ToolWrite body (ADMIN-API §9.5).
type toolWrite struct {
	name, description, url string
	parameters             json.RawMessage
	requiresApproval       bool
	requiresVerification   bool
	timeoutMs              int32
	fields                 []string
}

func (h *handlers) decodeToolWrite(v *reqjson.Value) (toolWrite, *reqjson.Error) {
	r := reqjson.NewReader(v, "name", "description", "parameters", "url", "requiresApproval", "requiresVerification", "timeoutMs")
	w := toolWrite{parameters: json.RawMessage(tools.DefaultParameters), timeoutMs: 10000, fields: fieldList(v, "")}
	if n, p := r.String("name", reqjson.Required); p == reqjson.Set {
		switch {
		case !toolNamePattern.MatchString(n):
			r.Fail("name", "name must match ^[a-zA-Z0-9_-]{1,64}$")
		case slices.ContainsFunc(reservedToolNames, func(b string) bool { return strings.EqualFold(b, n) }):
			r.Fail("name", "name "+reqjson.Quote(n)+" is the name of a built-in tool")
		}
		w.name = n
	}
	if d := textChars(r, "description", reqjson.Required, 1024); d != nil {
		w.description = *d
	}
	if params, p := r.Raw("parameters", reqjson.Optional); p == reqjson.Set {
		raw := params.Compact()
		if _, err := tools.CompileSchema(raw); err != nil {
			r.Fail("parameters", err.Error())
		}
		w.parameters = raw
	}
	if u, p := r.String("url", reqjson.Required); p == reqjson.Set {
		if err := netguard.ValidateURL(u, h.cfg.AllowPrivateTools); err != nil {
			r.Fail("url", "url "+err.Error())
		}
		w.url = u
	}
	if b, p := r.Bool("requiresApproval", reqjson.Optional); p == reqjson.Set {
		w.requiresApproval = b
	}
	if b, p := r.Bool("requiresVerification", reqjson.Optional); p == reqjson.Set {
		w.requiresVerification = b
	}
	if n := optInt32(r, "timeoutMs", 100, 60000); n != nil {
		w.timeoutMs = *n
	}
	return w, r.Err()
}

func (h *handlers) listTools(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	rawAgent := c.Params("id")
	pg, err := parsePage(q, "tools", "n", canonicalID(rawAgent))
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	agentID, err := pathID(c, "id", "agent")
	if err != nil {
		return err
	}
	rows, err := h.st.ListTools(c.UserContext(), principalOf(c).org, agentID, pg.store())
	if err != nil {
		return storeError(err, "agent", rawAgent)
	}
	rows, more := trim(rows, pg.limit)
	out := make([]toolJSON, len(rows))
	for i, t := range rows {
		out[i] = toolOut(t)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return cursor{N: &last.Name, I: last.ID.String()}
	})
	return reply(c, fiber.StatusOK, fiber.Map{"tools": out, "nextCursor": next})
}

func (h *handlers) createTool(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	w, verr := h.decodeToolWrite(v)
	if verr != nil {
		return validation(verr)
	}
	agentID, err := pathID(c, "id", "agent")
	if err != nil {
		return err
	}
	p := principalOf(c)
	row, err := h.st.CreateTool(c.UserContext(), p.org, db.ToolCreateParams{
		AgentID: agentID, Name: w.name, Description: w.description, Parameters: w.parameters, Url: w.url,
		RequiresApproval: w.requiresApproval, RequiresVerification: w.requiresVerification, TimeoutMs: w.timeoutMs,
	}, h.meta(c, p), map[string]any{"fields": w.fields})
	switch {
	case errors.Is(err, store.ErrTooManyTools):
		return api.Validation("", "an agent has at most 64 tools")
	case errors.Is(err, store.ErrConflict):
		return conflict("agent already has a tool named " + reqjson.Quote(w.name))
	case err != nil:
		return storeError(err, "agent", c.Params("id"))
	}
	c.Location("/admin/agents/" + agentID.String() + "/tools/" + row.ID.String())
	return reply(c, fiber.StatusCreated, fiber.Map{"tool": toolOut(row)})
}

// toolPath reads the agent and tool ids of a nested route; a malformed one is a 404 of
// its own kind, the agent checked first.
func toolPath(c *fiber.Ctx) (agent, tool uuid.UUID, err error) {
	a, err := pathID(c, "id", "agent")
	if err != nil {
		return a, tool, err
	}
	t, err := pathID(c, "toolId", "tool")
	return a, t, err
}

func (h *handlers) getTool(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	agentID, toolID, err := toolPath(c)
	if err != nil {
		return err
	}
	t, err := h.st.GetTool(c.UserContext(), principalOf(c).org, agentID, toolID)
	if err != nil {
		return h.toolError(c, err)
	}
	return reply(c, fiber.StatusOK, fiber.Map{"tool": toolOut(t)})
}

func (h *handlers) toolError(c *fiber.Ctx, err error) error {
	if errors.Is(err, store.ErrAgentNotFound) {
		return notFound("agent", c.Params("id"))
	}
	return storeError(err, "tool", c.Params("toolId"))
}

func (h *handlers) updateTool(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	w, verr := h.decodeToolWrite(v)
	if verr != nil {
		return validation(verr)
	}
	agentID, toolID, err := toolPath(c)
	if err != nil {
		return err
	}
	p := principalOf(c)
	next := db.ToolUpdateParams{
		Name: w.name, Description: w.description, Parameters: w.parameters, Url: w.url,
		RequiresApproval: w.requiresApproval, RequiresVerification: w.requiresVerification, TimeoutMs: w.timeoutMs,
	}
	row, err := h.st.UpdateTool(c.UserContext(), p.org, agentID, toolID, func(cur db.AgentTool) (db.ToolUpdateParams, map[string]any, error) {
		return next, map[string]any{"fields": toolChanges(cur, next)}, nil
	}, h.meta(c, p))
	if errors.Is(err, store.ErrConflict) {
		return conflict("agent already has a tool named " + reqjson.Quote(w.name))
	}
	if err != nil {
		return h.toolError(c, err)
	}
	return reply(c, fiber.StatusOK, fiber.Map{"tool": toolOut(row)})
}

func toolChanges(cur db.AgentTool, next db.ToolUpdateParams) []string {
	out := []string{}
	add := func(changed bool, f string) {
		if changed {
			out = append(out, f)
		}
	}
	add(cur.Name != next.Name, "name")
	add(cur.Description != next.Description, "description")
	add(!jsonEqual(cur.Parameters, next.Parameters), "parameters")
	add(cur.Url != next.Url, "url")
	add(cur.Kind != store.ToolKindHTTP, "kind") // PUT makes every tool an HTTP tool
	add(cur.RequiresApproval != next.RequiresApproval, "requiresApproval")
	add(cur.RequiresVerification != next.RequiresVerification, "requiresVerification")
	add(cur.TimeoutMs != next.TimeoutMs, "timeoutMs")
	return out
}

// jsonEqual compares two JSON documents by value (jsonb does not keep key order).
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func (h *handlers) deleteTool(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	agentID, toolID, err := toolPath(c)
	if err != nil {
		return err
	}
	p := principalOf(c)
	if err := h.st.DeleteTool(c.UserContext(), p.org, agentID, toolID, h.meta(c, p)); err != nil {
		return h.toolError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
