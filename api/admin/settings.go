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

// maxRetentionDays bounds conversationRetentionDays (about a hundred years).
const maxRetentionDays = 36500

type settingsJSON struct {
	OrgID              string   `json:"orgId"`
	Model              string   `json:"model"`
	SystemPrompt       string   `json:"systemPrompt"`
	Persona            *string  `json:"persona"`
	DefaultTools       []string `json:"defaultTools"`
	MaxIterations      *int32   `json:"maxIterations"`
	MaxTokens          *int32   `json:"maxTokens"`
	MonthlyTokenBudget *int64   `json:"monthlyTokenBudget"`
	// ConversationRetentionDays: conversations last active longer ago are deleted (§9.6).
	ConversationRetentionDays *int32    `json:"conversationRetentionDays"`
	UpdatedAt                 *jsonTime `json:"updatedAt"`
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
		MonthlyTokenBudget: s.MonthlyTokenBudget, ConversationRetentionDays: s.ConversationRetentionDays,
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

// settingsPatch is a PUT /admin/settings body (§9.6): a field the body omits keeps its
// stored value, null clears a nullable one.
type settingsPatch struct {
	model, systemPrompt      *string // nil: keep
	defaultTools             []string
	hasDefaultTools          bool
	persona                  change[string]
	maxIterations, maxTokens change[int32]
	monthlyTokenBudget       change[int64]
	retentionDays            change[int32]
}

// change is one nullable field of a partial write: untouched, or set to a value or null.
type change[T any] struct {
	set bool
	to  *T
}

func (c change[T]) apply(cur *T) *T {
	if c.set {
		return c.to
	}
	return cur
}

func changeOf[T any](v T, p reqjson.Presence) change[T] {
	switch p {
	case reqjson.Set:
		return change[T]{set: true, to: &v}
	case reqjson.IsNull:
		return change[T]{set: true}
	}
	return change[T]{}
}

// notNull refuses null for a settings field that always has a value: omitting it keeps
// the stored value, and there is nothing to clear.
func notNull(r *reqjson.Reader, key, kind string, p reqjson.Presence) {
	if p == reqjson.IsNull {
		r.Fail(key, key+" must be "+kind+" (omit it to keep the stored value)")
	}
}

func decodeSettings(v *reqjson.Value) (settingsPatch, *reqjson.Error) {
	r := reqjson.NewReader(v, "model", "systemPrompt", "persona", "defaultTools", "maxIterations", "maxTokens", "monthlyTokenBudget",
		"conversationRetentionDays")
	var s settingsPatch
	m, p := r.String("model", reqjson.Optional)
	notNull(r, "model", "a string", p)
	if p == reqjson.Set {
		if !modelPattern.MatchString(m) {
			r.Fail("model", "model must match "+modelPattern.String())
		}
		s.model = &m
	}
	if _, p := r.String("systemPrompt", reqjson.Optional); p == reqjson.IsNull {
		notNull(r, "systemPrompt", "a string", p)
	} else {
		s.systemPrompt = textBytes(r, "systemPrompt", reqjson.Optional, maxSystemPromptBytes)
	}
	if _, p := r.String("persona", reqjson.Optional); p == reqjson.IsNull {
		s.persona = change[string]{set: true}
	} else if persona := textBytes(r, "persona", reqjson.Optional, maxPersonaBytes); persona != nil {
		s.persona = change[string]{set: true, to: persona}
	}
	tools, p := distinct(r, "defaultTools", 64, "a built-in tool name ("+strings.Join(builtinTools, ", ")+")",
		func(s string) (string, bool) { return s, slices.Contains(builtinTools, s) })
	notNull(r, "defaultTools", "an array", p)
	s.defaultTools, s.hasDefaultTools = tools, p == reqjson.Set
	n, p := r.Int("maxIterations", reqjson.Optional, 1, 64)
	s.maxIterations = changeOf(int32(n), p)
	n, p = r.Int("maxTokens", reqjson.Optional, 1, 128000)
	s.maxTokens = changeOf(int32(n), p)
	n, p = r.Int("monthlyTokenBudget", reqjson.Optional, 0, maxTokenBudget)
	s.monthlyTokenBudget = changeOf(n, p)
	n, p = r.Int("conversationRetentionDays", reqjson.Optional, 1, maxRetentionDays)
	s.retentionDays = changeOf(int32(n), p)
	return s, r.Err()
}

// apply computes the settings to store from the current ones.
func (s settingsPatch) apply(cur db.OrgSetting) db.OrgSettingsUpsertParams {
	next := db.OrgSettingsUpsertParams{
		OrgID: cur.OrgID, Model: cur.Model, SystemPrompt: cur.SystemPrompt, DefaultTools: cur.DefaultTools,
		Persona: s.persona.apply(cur.Persona), MaxIterations: s.maxIterations.apply(cur.MaxIterations),
		MaxTokens: s.maxTokens.apply(cur.MaxTokens), MonthlyTokenBudget: s.monthlyTokenBudget.apply(cur.MonthlyTokenBudget),
		ConversationRetentionDays: s.retentionDays.apply(cur.ConversationRetentionDays),
	}
	if s.model != nil {
		next.Model = *s.model
	}
	if s.systemPrompt != nil {
		next.SystemPrompt = *s.systemPrompt
	}
	if s.hasDefaultTools {
		next.DefaultTools = s.defaultTools
	}
	return next
}

// putSettings is PUT /admin/settings: the fields the body names change, the others keep
// their stored values (or, while settings were never written, the defaults read now).
func (h *handlers) putSettings(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	patch, verr := decodeSettings(v)
	if verr != nil {
		return validation(verr)
	}
	p := principalOf(c)
	current := func(prev *db.OrgSetting) db.OrgSetting {
		if prev != nil {
			return *prev
		}
		return h.effectiveSettings(p.org, db.OrgSetting{}, false)
	}
	row, err := h.st.PutSettings(c.UserContext(), p.org,
		func(prev *db.OrgSetting) db.OrgSettingsUpsertParams { return patch.apply(current(prev)) },
		func(prev *db.OrgSetting, next db.OrgSettingsUpsertParams) map[string]any {
			return map[string]any{"fields": settingsChanges(current(prev), next)}
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
	add(!eqPtr(cur.ConversationRetentionDays, next.ConversationRetentionDays), "conversationRetentionDays")
	return out
}
