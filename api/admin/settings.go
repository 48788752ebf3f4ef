package admin

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
)

// DefaultSystemPrompt is the org settings' systemPrompt while they were never written.
const DefaultSystemPrompt = "You are a helpful assistant on this organization's website. Answer concisely, use the knowledge tools when they help, and say so when you do not know."

const maxTokenBudget = 1_000_000_000_000

type settingsJSON struct {
	OrgID              string    `json:"orgId"`
	Model              string    `json:"model"`
	SystemPrompt       string    `json:"systemPrompt"`
	Persona            *string   `json:"persona"`
	DefaultTools       []string  `json:"defaultTools"`
	MaxIterations      *int32    `json:"maxIterations"`
	MaxTokens          *int32    `json:"maxTokens"`
	MonthlyTokenBudget *int64    `json:"monthlyTokenBudget"`
	UpdatedAt          *jsonTime `json:"updatedAt"`
}

// effectiveSettings is what an org reads: its stored settings, or the defaults computed on
// read (so a changed SWITCHBOARD_DEFAULT_MODEL applies) while it never wrote any.
func (h *handlers) effectiveSettings(org uuid.UUID, row db.OrgSetting, found bool) db.OrgSetting {
	if found {
		return row
	}
	return db.OrgSetting{
		OrgID: org, Model: h.cfg.DefaultModel, SystemPrompt: DefaultSystemPrompt, DefaultTools: slices.Clone(builtinTools),
	}
}

func settingsOut(s db.OrgSetting, found bool) settingsJSON {
	out := settingsJSON{
		OrgID: s.OrgID.String(), Model: s.Model, SystemPrompt: s.SystemPrompt, Persona: s.Persona,
		DefaultTools: nonNil(s.DefaultTools), MaxIterations: s.MaxIterations, MaxTokens: s.MaxTokens,
		MonthlyTokenBudget: s.MonthlyTokenBudget,
	}
	if found {
		out.UpdatedAt = tsPtr(&s.UpdatedAt)
	}
	return out
}

func (h *handlers) getSettings(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	org := principalOf(c).org
	row, found, err := h.st.StoredSettings(c.UserContext(), org)
	if err != nil {
		return err
	}
	return reply(c, fiber.StatusOK, fiber.Map{"settings": settingsOut(h.effectiveSettings(org, row, found), found)})
}

func decodeSettings(v *reqjson.Value) (db.OrgSettingsUpsertParams, *reqjson.Error) {
	r := reqjson.NewReader(v, "model", "systemPrompt", "persona", "defaultTools", "maxIterations", "maxTokens", "monthlyTokenBudget")
	var s db.OrgSettingsUpsertParams
	if m, p := r.String("model", reqjson.Required); p == reqjson.Set {
		if !modelPattern.MatchString(m) {
			r.Fail("model", "model must match "+modelPattern.String())
		}
		s.Model = m
	}
	if sp := textBytes(r, "systemPrompt", reqjson.Required, maxSystemPromptBytes); sp != nil {
		s.SystemPrompt = *sp
	}
	s.Persona = textBytes(r, "persona", reqjson.Optional, maxPersonaBytes)
	s.DefaultTools = slices.Clone(builtinTools)
	if tools, p := distinct(r, "defaultTools", 64, "a built-in tool name ("+strings.Join(builtinTools, ", ")+")",
		func(s string) (string, bool) { return s, slices.Contains(builtinTools, s) }); p == reqjson.Set {
		s.DefaultTools = tools
	}
	s.MaxIterations = optInt32(r, "maxIterations", 1, 64)
	s.MaxTokens = optInt32(r, "maxTokens", 1, 128000)
	if n, p := r.Int("monthlyTokenBudget", reqjson.Optional, 0, maxTokenBudget); p == reqjson.Set {
		s.MonthlyTokenBudget = &n
	}
	return s, r.Err()
}

func (h *handlers) putSettings(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	next, verr := decodeSettings(v)
	if verr != nil {
		return validation(verr)
	}
	p := principalOf(c)
	row, err := h.st.PutSettings(c.UserContext(), p.org, next, func(prev *db.OrgSetting, next db.OrgSettingsUpsertParams) map[string]any {
		var cur db.OrgSetting
		if prev != nil {
			cur = *prev
		} else {
			cur = h.effectiveSettings(p.org, db.OrgSetting{}, false)
		}
		return map[string]any{"fields": settingsChanges(cur, next)}
	}, h.meta(c, p))
	if err != nil {
		return err
	}
	return reply(c, fiber.StatusOK, fiber.Map{"settings": settingsOut(row, true)})
}

func settingsChanges(cur db.OrgSetting, next db.OrgSettingsUpsertParams) []string {
	out := []string{}
	add := func(changed bool, f string) {
		if changed {
			out = append(out, f)
		}
	}
	add(cur.Model != next.Model, "model")
	add(cur.SystemPrompt != next.SystemPrompt, "systemPrompt")
	add(!eqPtr(cur.Persona, next.Persona), "persona")
	add(!slices.Equal(cur.DefaultTools, next.DefaultTools), "defaultTools")
	add(!eqPtr(cur.MaxIterations, next.MaxIterations), "maxIterations")
	add(!eqPtr(cur.MaxTokens, next.MaxTokens), "maxTokens")
	add(!eqPtr(cur.MonthlyTokenBudget, next.MonthlyTokenBudget), "monthlyTokenBudget")
	return out
}
