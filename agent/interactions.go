package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
)

// Rich interactions (PROTOCOL-1.1 §7.8–§7.12): the raise tools the org's defaultTools list,
// the submit_interaction tool for the kinds a session cannot render, and the park on a card.

var (
	identitySchemaCompiled = sync.OnceValues(func() (*tools.Schema, error) {
		return tools.CompileSchema(json.RawMessage(interaction.IdentitySchema))
	})
	choicesSchemaCompiled = sync.OnceValues(func() (*tools.Schema, error) {
		return tools.CompileSchema(json.RawMessage(interaction.ChoicesSchema))
	})
	// submitSchemas caches the submit tool's compiled schema per enum (three exist).
	submitSchemas sync.Map
)

type compiledSchema struct {
	schema *tools.Schema
	err    error
}

func submitSchemaCompiled(src string) (*tools.Schema, error) {
	if v, ok := submitSchemas.Load(src); ok {
		c := v.(compiledSchema)
		return c.schema, c.err
	}
	s, err := tools.CompileSchema(json.RawMessage(src))
	submitSchemas.Store(src, compiledSchema{s, err})
	return s, err
}

// reservedToolNames are the names no HTTP tool may use (ADMIN-API §5.2, PROTOCOL-1.1
// Appendix C.3); a tool stored under one before 1.1 is never offered to the model.
var reservedToolNames = []string{KnowledgeSearch, interaction.RaiseIdentityTool, interaction.RaiseChoicesTool, interaction.SubmitTool}

// ReservedToolNames are those names, lower case.
func ReservedToolNames() []string { return slices.Clone(reservedToolNames) }

// ReservedToolName reports whether an HTTP tool may not be named name (compared
// case-insensitively).
func ReservedToolName(name string) bool {
	return slices.ContainsFunc(reservedToolNames, func(r string) bool { return strings.EqualFold(r, name) })
}

// DefaultTools are the org settings' defaultTools while they were never written (PROTOCOL-1.1
// Appendix C.4).
var DefaultTools = []string{KnowledgeSearch, interaction.RaiseIdentityTool, interaction.RaiseChoicesTool}

// addInteractionTools offers the raise tools defaultTools lists and, when at least one of
// their kinds is on the conversational path for this session, the submit_interaction tool.
func (c *turnConfig) addInteractionTools(defaultTools, capabilities []string) {
	var conversational []interaction.Kind
	for _, k := range interaction.Kinds {
		name := k.RaiseTool()
		if !slices.Contains(defaultTools, name) {
			continue
		}
		te := &toolEntry{name: name, raise: k, rich: slices.Contains(capabilities, k.Capability())}
		spec := llm.Tool{Name: name}
		if k == interaction.Choices {
			te.schema, te.schemaErr = choicesSchemaCompiled()
			spec.Description, spec.Parameters = interaction.ChoicesDescription, json.RawMessage(interaction.ChoicesSchema)
		} else {
			te.schema, te.schemaErr = identitySchemaCompiled()
			spec.Description, spec.Parameters = interaction.IdentityDescription, json.RawMessage(interaction.IdentitySchema)
		}
		c.add(te, spec)
		if !te.rich {
			conversational = append(conversational, k)
		}
	}
	if len(conversational) == 0 {
		return
	}
	src := interaction.SubmitSchema(conversational)
	te := &toolEntry{name: interaction.SubmitTool, submit: true}
	te.schema, te.schemaErr = submitSchemaCompiled(src)
	c.add(te, llm.Tool{Name: interaction.SubmitTool, Description: interaction.SubmitDescription, Parameters: json.RawMessage(src)})
}

// callInteractionTool runs a call of a raise tool or of the submit tool whose arguments passed
// its schema. These tools are never gated (PROTOCOL-1.1 §7.5).
func (t *Turn) callInteractionTool(ctx context.Context, cfg *turnConfig, te *toolEntry, args json.RawMessage) (string, bool, error) {
	if te.submit {
		return t.submitTool(ctx, cfg, te.name, args)
	}
	r, err := interaction.ParseRaise(te.raise, args)
	if err != nil {
		return t.plainResult(te.name, args, tools.InvalidArguments(err.Error()))
	}
	if !te.rich {
		// The conversational path (§7.10): no row, no event; the spec is remembered for the
		// rest of the turn, the latest raise of a kind winning.
		if cfg.remembered == nil {
			cfg.remembered = map[interaction.Kind]json.RawMessage{}
		}
		cfg.remembered[r.Kind] = r.Spec
		return t.plainResult(te.name, args, tools.Success(interaction.ConversationalResult(r)))
	}
	text, err := t.parkOnCard(ctx, te.name, args, r)
	if err != nil {
		return "", false, err
	}
	t.sink.ToolResult(te.name, false, tools.WireResult(text))
	return text, false, nil
}

// plainResult reports a call that does not park: its toolCall, then its toolResult (O4).
func (t *Turn) plainResult(name string, args json.RawMessage, res tools.Result) (string, bool, error) {
	t.sink.ToolCall(name, args)
	t.sink.ToolResult(name, res.IsError, tools.WireResult(res.Text))
	return res.Text, res.IsError, nil
}

// submitTool is the submit_interaction tool (PROTOCOL-1.1 §7.10).
func (t *Turn) submitTool(ctx context.Context, cfg *turnConfig, name string, args json.RawMessage) (string, bool, error) {
	var in struct {
		Kind     interaction.Kind `json:"kind"`
		Values   json.RawMessage  `json:"values"`
		Declined bool             `json:"declined"`
	}
	_ = json.Unmarshal(args, &in) // the arguments passed the tool's schema
	if in.Declined {
		return t.plainResult(name, args, tools.Success(interaction.SubmitDeclinedResult()))
	}
	v := interaction.Validate(in.Kind, cfg.remembered[in.Kind], in.Values)
	if len(v.Errors) > 0 {
		return t.plainResult(name, args, tools.Result{Text: interaction.ValidationFailed(v.Errors), IsError: true})
	}
	t.sink.ToolCall(name, args)
	if in.Kind == interaction.IdentityIntake {
		if err := t.e.store.SetSessionContact(ctx, t.spec.OrgID, t.spec.SessionID, store.ContactOf(v.Identity)); err != nil {
			if ctx.Err() != nil {
				return "", false, context.Cause(ctx)
			}
			return "", false, fmt.Errorf("%w: %w", errStorage, err)
		}
	}
	text := interaction.SubmittedResult(v.Canonical)
	t.sink.ToolResult(name, false, tools.WireResult(text))
	return text, false, nil
}

// parkOnCard writes the interaction row, announces it, and waits for an answer carrying its
// own id, the deadline, or the turn's cancellation (PROTOCOL-1.1 §7.9). It returns the text
// the raise's result carries.
func (t *Turn) parkOnCard(ctx context.Context, name string, args json.RawMessage, r interaction.Raise) (string, error) {
	id := uuid.Must(uuid.NewV7()) // time-ordered: see migration 00026
	timeout := t.e.cfg.InteractionTimeout
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return "", context.Cause(ctx)
	}
	// Registered before the row exists, so an answer that commits at once is not lost.
	t.e.registerPark(id, t)
	err := t.e.store.CreateInteraction(ctx, store.NewInteraction{
		ID: id, OrgID: t.spec.OrgID, SessionID: t.spec.SessionID, ConversationID: t.spec.ConversationID,
		AgentID: t.spec.AgentID, InstanceID: t.e.instanceID, RequestID: t.spec.RequestID, Kind: r.Kind,
		Spec: r.Spec, Reason: r.Reason, ExpiresAt: time.Now().Add(timeout),
	})
	if err != nil {
		t.mu.Unlock()
		t.e.unregisterPark(id)
		return "", fmt.Errorf("%w: %w", errStorage, err)
	}
	t.parkedCard = id
	t.mu.Unlock()
	// The card's own deadline bounds the wait; the turn's clock does not run meanwhile.
	t.clock.pause()
	waited := false
	defer func() {
		t.mu.Lock()
		t.parkedCard = uuid.Nil
		t.mu.Unlock()
		t.e.unregisterPark(id)
		t.clock.resume()
		if !waited {
			// A panic unwinds through the park: the row must not stay pending.
			t.finishCard(id, "cancelled")
		}
	}()
	text, err := t.waitForCard(ctx, id, timeout, name, args, r)
	waited = true
	return text, err
}

// finishCard records a card the turn leaves without an answer, whatever the turn's context.
func (t *Turn) finishCard(id uuid.UUID, status string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), backgroundTimeout)
	defer cancel()
	if _, err := t.e.store.FinishInteraction(ctx, t.spec.OrgID, id, status); err != nil {
		t.log.Error("record interaction "+status, "interaction_id", id, "err", err)
	}
}

// waitForCard sends interaction_required and the held-back toolCall (O10), then waits.
func (t *Turn) waitForCard(ctx context.Context, id uuid.UUID, timeout time.Duration, name string, args json.RawMessage, r interaction.Raise) (string, error) {
	t.sink.InteractionRequired(id, r.Kind, r.Spec, r.Reason)
	t.sink.ToolCall(name, args)

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", context.Cause(ctx)
		case a := <-t.answers:
			if a.InteractionID != id {
				continue // an answer for an earlier card of this turn
			}
			text, done, err := t.cardOutcome(ctx, id)
			if err != nil || done {
				return text, err
			}
		case <-timer.C:
			expired, err := t.e.store.FinishInteraction(ctx, t.spec.OrgID, id, "expired")
			if err != nil {
				if ctx.Err() != nil {
					return "", context.Cause(ctx)
				}
				return "", fmt.Errorf("%w: %w", errStorage, err)
			}
			if expired {
				return interaction.NoResponseResult(), nil
			}
			// An answer committed first: the turn takes it.
			text, _, err := t.cardOutcome(ctx, id)
			return text, err
		}
	}
}

// cardOutcome reads how a card ended; done is false while it is still pending.
func (t *Turn) cardOutcome(ctx context.Context, id uuid.UUID) (string, bool, error) {
	row, err := t.e.store.Interaction(ctx, t.spec.OrgID, id)
	if err != nil {
		if ctx.Err() != nil {
			return "", false, context.Cause(ctx)
		}
		return "", false, fmt.Errorf("%w: %w", errStorage, err)
	}
	switch row.Status {
	case "pending":
		return "", false, nil
	case "submitted":
		return interaction.SubmittedResult(interaction.CanonicalValues(interaction.Kind(row.Kind), row.SubmittedValues)), true, nil
	case "declined":
		return interaction.DeclinedResult(), true, nil
	case "cancelled":
		if ctx.Err() != nil {
			return "", false, context.Cause(ctx)
		}
		// Only an agent deletion cancels a card the turn did not cancel itself.
		return interaction.NoResponseResult(), true, nil
	default: // expired: the deadline, or the sweeper
		return interaction.NoResponseResult(), true, nil
	}
}

// DeliverInteraction hands a committed answer to the turn parked on that card, when it runs
// on this instance; otherwise, or when the turn no longer waits on it, it does nothing.
func (e *Engine) DeliverInteraction(_ context.Context, a interaction.Answer) {
	e.mu.Lock()
	t := e.parks[a.InteractionID]
	e.mu.Unlock()
	if t == nil || t.spec.OrgID != a.OrgID {
		return
	}
	select {
	case t.answers <- a:
	default:
		t.log.Warn("interaction answer dropped: the turn's answer queue is full", "interaction_id", a.InteractionID)
	}
}

var _ interaction.Deliverer = (*Engine)(nil)
