package admin

import (
	"regexp"
	"slices"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/tools"
)

// Field grammars of ADMIN-API §5.2.
var (
	modelPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$`)
	setNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

const (
	maxSystemPromptBytes = 32768
	maxPersonaBytes      = 8192
	maxConfirmTools      = 64
	maxDocumentSets      = 100
	maxAllowedOrigins    = 100
)

// agentWrite is a validated AgentWrite body (ADMIN-API §9.4).
type agentWrite struct {
	name                       string
	model, systemPrompt        *string
	persona                    *string
	confirmTools, documentSets []string
	maxIterations, maxTokens   *int32
	enabled                    bool
	allowedOrigins             []string
	requireAuthContext         bool
	toolSecret, widgetSecret   string
	toolSecretP, widgetSecretP reqjson.Presence // Set: replace; IsNull: delete; Absent: keep
	fields                     []string         // body fields set, for a create's audit row
}

func decodeAgentWrite(v *reqjson.Value) (agentWrite, *reqjson.Error) {
	r := reqjson.NewReader(v, "name", "model", "systemPrompt", "persona", "confirmTools", "documentSets",
		"maxIterations", "maxTokens", "enabled", "toolSigningSecret", "widget")
	w := agentWrite{enabled: true, fields: fieldList(v, "")}
	w.name, _ = name(r, "name", reqjson.Required, 128)
	if m, p := r.String("model", reqjson.Optional); p == reqjson.Set {
		if !modelPattern.MatchString(m) {
			r.Fail("model", "model must match "+modelPattern.String())
		}
		w.model = &m
	}
	w.systemPrompt = textBytes(r, "systemPrompt", reqjson.Optional, maxSystemPromptBytes)
	w.persona = textBytes(r, "persona", reqjson.Optional, maxPersonaBytes)
	w.confirmTools, _ = distinct(r, "confirmTools", maxConfirmTools, "1..128 characters of [A-Za-z0-9_*?-]",
		func(s string) (string, bool) { return s, tools.ValidConfirmPattern(s) })
	w.documentSets, _ = distinct(r, "documentSets", maxDocumentSets, "a document-set name matching "+setNamePattern.String(),
		func(s string) (string, bool) { return s, setNamePattern.MatchString(s) })
	w.maxIterations = optInt32(r, "maxIterations", 1, 64)
	w.maxTokens = optInt32(r, "maxTokens", 1, 128000)
	if b, p := r.Bool("enabled", reqjson.Optional); p == reqjson.Set {
		w.enabled = b
	}
	w.toolSecret, w.toolSecretP = secret(r, "toolSigningSecret")
	w.allowedOrigins = []string{}
	if wr, p := r.Object("widget", reqjson.Optional, "allowedOrigins", "requireAuthContext", "signingSecret"); p == reqjson.Set {
		w.allowedOrigins, _ = distinct(wr, "allowedOrigins", maxAllowedOrigins,
			"'*', an origin such as https://www.example.com, or a wildcard such as https://*.example.com (at most 300 characters)",
			normalizeOrigin)
		if b, p := wr.Bool("requireAuthContext", reqjson.Optional); p == reqjson.Set {
			w.requireAuthContext = b
		}
		w.widgetSecret, w.widgetSecretP = secret(wr, "signingSecret")
	}
	return w, r.Err()
}

// errNeedsWidgetSecret is the signing-secret rule of ADMIN-API §9.4.
var errNeedsWidgetSecret = &reqjson.Error{
	Field:   "widget.requireAuthContext",
	Message: "widget.requireAuthContext requires a widget signing secret (widget.signingSecret) to be stored",
}

// agentChanges names the AgentWrite fields whose stored value a PUT changes.
func agentChanges(cur db.Agent, next db.AgentUpdateParams, w agentWrite) []string {
	var out []string
	add := func(changed bool, f string) {
		if changed {
			out = append(out, f)
		}
	}
	add(cur.Name != next.Name, "name")
	add(!eqPtr(cur.Model, next.Model), "model")
	add(!eqPtr(cur.SystemPrompt, next.SystemPrompt), "systemPrompt")
	add(!eqPtr(cur.Persona, next.Persona), "persona")
	add(!slices.Equal(cur.ConfirmTools, next.ConfirmTools), "confirmTools")
	add(!slices.Equal(cur.DocumentSets, next.DocumentSets), "documentSets")
	add(!eqPtr(cur.MaxIterations, next.MaxIterations), "maxIterations")
	add(!eqPtr(cur.MaxTokens, next.MaxTokens), "maxTokens")
	add(cur.Enabled != next.Enabled, "enabled")
	add(w.toolSecretP == reqjson.Set || (w.toolSecretP == reqjson.IsNull && cur.ToolSigningSecret != nil), "toolSigningSecret")
	add(!slices.Equal(cur.AllowedOrigins, next.AllowedOrigins), "widget.allowedOrigins")
	add(cur.RequireAuthContext != next.RequireAuthContext, "widget.requireAuthContext")
	add(w.widgetSecretP == reqjson.Set || (w.widgetSecretP == reqjson.IsNull && cur.WidgetSigningSecret != nil), "widget.signingSecret")
	if out == nil {
		out = []string{}
	}
	return out
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
