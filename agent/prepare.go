package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
)

// DefaultSystemPrompt is the org settings' prompt while they were never written (ADMIN-API §9.6).
const DefaultSystemPrompt = "You are a helpful assistant on this organization's website. Answer concisely, use the knowledge tools when they help, and say so when you do not know."

// turnConfig is the effective configuration of one turn (ADMIN-API §9.4), read from Postgres
// at the turn's start.
type turnConfig struct {
	agent         db.Agent
	model         string
	maxIterations int
	maxTokens     int64
	confirmTools  []string
	knowledge     bool
	tools         map[string]*toolEntry
	// remembered is the spec of the latest conversational raise of each kind in this turn
	// (PROTOCOL-1.1 §7.10), owned by the turn's goroutine.
	remembered map[interaction.Kind]json.RawMessage
	specs      []llm.Tool
	toolSecret []byte
	messages   []llm.Message
}

type toolEntry struct {
	name             string
	builtin          bool
	requiresApproval bool
	raise            interaction.Kind // a raise tool's kind (PROTOCOL-1.1 §7.8); "" for others
	rich             bool             // a raise on the rich path for this session
	submit           bool             // the submit_interaction tool (§7.10)
	// requiresVerification: an HTTP tool that runs only for a verified visitor (PROTOCOL-1.1 §7.13).
	requiresVerification bool
	row                  db.AgentTool
	schema               *tools.Schema
	schemaErr            error
}

// errStorage marks failures the wire reports as "storage error".
var errStorage = errors.New("storage error")

// prepare builds the turn's configuration from the inputs send_message read (TurnSpec.Inputs)
// and retrieves the knowledge context.
func (t *Turn) prepare(ctx context.Context) (*turnConfig, *citations, error) {
	s, e := t.spec, t.e
	in := s.Inputs
	if in == nil || !in.AgentFound {
		return nil, nil, errors.New("turn started without its inputs")
	}
	agent, settings, hasSettings, rows, history := in.Agent, in.Settings, in.HasSettings, in.Tools, in.History

	c := &turnConfig{agent: agent, confirmTools: agent.ConfirmTools, tools: map[string]*toolEntry{}}
	prompt, persona, defaultTools := DefaultSystemPrompt, "", DefaultTools
	c.model, c.maxIterations = e.turnModel(in), e.cfg.MaxIterations
	if s.Key != nil && s.Key.model != nil {
		c.model = s.Key.modelName // the offline model answers whatever the agent asked for
	}
	if hasSettings {
		prompt, defaultTools = settings.SystemPrompt, settings.DefaultTools
		persona = deref(settings.Persona)
		if settings.MaxIterations != nil {
			c.maxIterations = int(*settings.MaxIterations)
		}
		if settings.MaxTokens != nil {
			c.maxTokens = int64(*settings.MaxTokens)
		}
	}
	if agent.SystemPrompt != nil {
		prompt = *agent.SystemPrompt
	}
	if agent.Persona != nil {
		persona = *agent.Persona
	}
	if agent.MaxIterations != nil {
		c.maxIterations = int(*agent.MaxIterations)
	}
	if agent.MaxTokens != nil {
		c.maxTokens = int64(*agent.MaxTokens)
	}
	c.maxIterations = max(c.maxIterations, 1)

	if len(agent.ToolSigningSecret) > 0 {
		secret, err := e.box.Open(agent.ToolSigningSecret, seal.AAD("agents", "tool_signing_secret", s.OrgID, s.AgentID))
		if err != nil {
			return nil, nil, fmt.Errorf("open tool signing secret: %w", err)
		}
		c.toolSecret = secret
	}

	c.knowledge = slices.Contains(defaultTools, KnowledgeSearch)
	if c.knowledge {
		te := &toolEntry{name: KnowledgeSearch, builtin: true}
		te.schema, te.schemaErr = knowledgeSearchCompiled()
		c.add(te, llm.Tool{Name: KnowledgeSearch, Description: knowledgeSearchDescription, Parameters: knowledgeSearchSchema})
	}
	c.addInteractionTools(defaultTools, in.Capabilities)
	for _, r := range rows {
		if _, taken := c.tools[r.Name]; taken || ReservedToolName(r.Name) {
			continue
		}
		te := &toolEntry{
			name: r.Name, requiresApproval: r.RequiresApproval, row: r,
			requiresVerification: r.RequiresVerification && r.Kind == store.ToolKindHTTP,
		}
		te.schema, te.schemaErr = tools.CompileSchema(r.Parameters)
		if te.schemaErr != nil {
			t.log.Warn("stored tool parameters do not compile; calls will be refused", "tool", r.Name, "err", te.schemaErr)
		}
		c.add(te, llm.Tool{Name: r.Name, Description: r.Description, Parameters: r.Parameters})
	}

	cites := &citations{}
	var knowledge []Passage
	// An org without indexed documents has nothing to retrieve: skip the search.
	if c.knowledge && e.retriever != nil && in.HasKnowledge {
		var err error
		knowledge, err = e.retriever.Retrieve(ctx, RetrievalQuery{
			OrgID: s.OrgID, DocumentSets: agent.DocumentSets, Viewer: s.Viewer, Text: s.UserMessage, Limit: contextPassages,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			t.log.Warn("knowledge context retrieval failed; the turn continues without it", "err", err)
			knowledge = nil
		}
		cites.add(knowledge)
	}

	c.messages = make([]llm.Message, 0, len(history)+2)
	c.messages = append(c.messages, llm.System(systemText(prompt, persona, knowledge)))
	for _, h := range history {
		if h.Inbound {
			c.messages = append(c.messages, llm.User(h.Text))
		} else {
			c.messages = append(c.messages, llm.Assistant(h.Text))
		}
	}
	c.messages = append(c.messages, llm.User(s.UserMessage))
	return c, cites, nil
}

func (c *turnConfig) add(te *toolEntry, spec llm.Tool) {
	c.tools[te.name] = te
	c.specs = append(c.specs, spec)
}

func systemText(prompt, persona string, knowledge []Passage) string {
	var b strings.Builder
	b.WriteString(prompt)
	if persona != "" {
		b.WriteString("\n\n")
		b.WriteString(persona)
	}
	if len(knowledge) > 0 {
		b.WriteString("\n\nKnowledge that may help with the user's message:\n\n")
		b.WriteString(formatPassages(knowledge))
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
