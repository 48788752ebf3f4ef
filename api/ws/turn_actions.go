package ws

import (
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

const maxMessageChars = 10000

// errDisconnected and errCancelled are why a connection stops its turn.
var (
	errDisconnected = errors.New("client disconnected")
	errCancelled    = errors.New("cancelled by the client")
)

// turnRun is the connection's running turn. suppressed (under conn.mu) drops every later
// event of the turn: set by cancel, disconnect and the terminal event itself.
type turnRun struct {
	requestID  string
	handle     *agent.Turn
	suppressed bool
}

// sendMessage is send_message (PROTOCOL §4.7): every check, in order, before the 202.
func (c *conn) sendMessage(ctx context.Context, f *frame) error {
	sid, text, err := c.turnFields(f)
	if err != nil {
		return err
	}
	sess, err := c.turnSession(ctx, sid, sessionNotFound(sid))
	if err != nil {
		return err
	}
	in, key, err := c.turnInputs(ctx, sess)
	if err != nil {
		return err
	}
	r := f.requestID
	if err := c.h.d.Store.InsertUserMessage(ctx, sess.org, sess.conversation, sess.userParticipant, text, r); err != nil {
		return storageFailure(err)
	}
	c.startTurn(agent.TurnSpec{
		TurnID: uuid.New(), OrgID: sess.org, AgentID: sess.agent, SessionID: sess.id,
		ConversationID: sess.conversation, AgentParticipantID: sess.agentParticipant, RequestID: r,
		UserMessage: text, Inputs: in, Key: key, Viewer: c.viewer(sess.org),
	})
	return nil
}

// turnFields applies checks 1–6 of send_message (PROTOCOL §4.7), which need no database: it
// returns the frame's sessionId and message.
func (c *conn) turnFields(f *frame) (sid, text string, err error) {
	switch {
	case c.currentTurn() != nil:
		return "", "", errTurnInProgress
	case c.h.Draining():
		return "", "", errShuttingDown
	case f.requestID == "":
		return "", "", unechoedError(codeValidation, "send_message requires a 'requestId'")
	}
	sid, ok := f.str("sessionId")
	if !ok {
		return "", "", newError(codeValidation, "missing 'sessionId'")
	}
	text, ok = f.str("message")
	if !ok || blank(text) {
		return "", "", newError(codeValidation, "missing or empty 'message'")
	}
	if utf8.RuneCountInString(text) > maxMessageChars {
		return "", "", newError(codeValidation, "'message' must be at most 10000 characters")
	}
	if skill, ok := f.str("skill"); ok && skill != "" {
		return "", "", newError(codeSkillNF, "skill '"+skill+"' is not available on this server")
	}
	return sid, text, nil
}

// turnInputs reads, in one round trip, what checks 8–10 of send_message (PROTOCOL §4.7) need
// and what the turn runs on, and applies those checks.
func (c *conn) turnInputs(ctx context.Context, sess sessionKeys) (*store.TurnInputs, *agent.GatewayKey, error) {
	eng := c.h.d.Engine
	in, err := eng.LoadInputs(ctx, sess.org, sess.agent, sess.conversation)
	if err != nil {
		return nil, nil, storageFailure(err)
	}
	if !in.AgentFound || !in.Agent.Enabled {
		return nil, nil, newError(codeAgentNotFound, "agent '"+sess.agent.String()+"' not found")
	}
	key, err := eng.ResolveKey(sess.org, in)
	switch {
	case errors.Is(err, agent.ErrNoGatewayKey):
		return nil, nil, newError(codeLLMUnavailable, "no LLM gateway key is configured for this organization")
	case err != nil: // ErrKeyUnusable: the org key does not open with this server's key
		return nil, nil, err
	}
	if agent.CheckBudget(in) != nil {
		return nil, nil, newError(codeQuota, "the organization's monthly token budget is exhausted")
	}
	return in, key, nil
}

// startTurn takes the connection's turn slot, queues the 202 and starts the turn.
func (c *conn) startTurn(spec agent.TurnSpec) {
	run := &turnRun{requestID: spec.RequestID}
	c.mu.Lock()
	c.turn = run
	c.send(immediateEvent(spec.RequestID, 202, "Processing your request...", nil))
	c.mu.Unlock()
	handle := c.h.d.Engine.Start(spec, &turnSink{c: c, run: run})
	c.mu.Lock()
	run.handle = handle
	c.mu.Unlock()
}

func (c *conn) viewer(org uuid.UUID) agent.Viewer {
	v := agent.Viewer{Identities: c.identities(org)}
	if c.principal != nil && c.principal.orgID == org {
		v.Groups = c.principal.groups
	}
	return v
}

// cancelTurn is cancel (PROTOCOL §4.8): with no active turn it sends nothing at all.
func (c *conn) cancelTurn(_ context.Context, _ *frame) error {
	run := c.currentTurn()
	if run == nil {
		return nil
	}
	c.endTurn(errCancelled)
	c.send(cancelledEvent(run.requestID))
	return nil
}

// confirmToolAction is confirm_tool_action (PROTOCOL §4.9).
func (c *conn) confirmToolAction(ctx context.Context, f *frame) error {
	sid, ok := f.str("sessionId")
	if !ok {
		return newError(codeValidation, "confirm_tool_action requires a 'sessionId'")
	}
	approved, ok := f.boolean("approved")
	if !ok {
		return newError(codeValidation, "confirm_tool_action requires a boolean 'approved'")
	}
	noPending := newError(codeNoPending, "no tool action is awaiting confirmation for session '"+sid+"'")
	sess, err := c.turnSession(ctx, sid, noPending)
	if err != nil {
		return err
	}
	ap, err := c.pendingApproval(ctx, f, sess, noPending)
	if err != nil {
		return err
	}
	d := approval.Decision{ApprovalID: ap.ID, OrgID: sess.org, Outcome: approval.Rejected, Via: "widget"}
	msg := "Tool action rejected"
	if approved {
		d.Outcome, msg = approval.Approved, "Tool action approved"
	}
	local, err := c.decide(ctx, ap, d)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return noPending
	case errors.Is(err, store.ErrApprovalOrphaned):
		return newError(codeNoPending, "the turn awaiting confirmation for session '"+sid+"' is no longer active")
	case err != nil:
		return storageFailure(err)
	}
	// The ack is queued before the decision can reach the turn (PROTOCOL §4.9 step 3); a turn
	// parked elsewhere gets it through the backplane once the transaction above committed.
	c.send(immediateEvent(f.requestID, 200, msg, map[string]any{"sessionId": sid, "approved": approved, "approvalId": ap.ID.String()}))
	if local {
		c.h.decisions.Deliver(ctx, d)
	}
	return nil
}

// pendingApproval is step 1 of confirm_tool_action (PROTOCOL §4.9): the approval named by
// approvalId, else the session's earliest pending one; noPending when there is none.
func (c *conn) pendingApproval(ctx context.Context, f *frame, sess sessionKeys, noPending *protocolError) (db.PendingApproval, error) {
	var named uuid.NullUUID
	if raw, ok := f.str("approvalId"); ok {
		id, ok := parseID(raw)
		if !ok {
			return db.PendingApproval{}, noPending
		}
		named = uuid.NullUUID{UUID: id, Valid: true}
	}
	ap, err := c.h.d.Store.PendingApprovalForSession(ctx, sess.org, sess.id, named)
	if errors.Is(err, store.ErrNotFound) {
		return db.PendingApproval{}, noPending
	}
	if err != nil {
		return db.PendingApproval{}, storageFailure(err)
	}
	return ap, nil
}

// turnSink turns engine events into the turn's frames (PROTOCOL §5), all under R.
type turnSink struct {
	c   *conn
	run *turnRun
}

// emit queues one event of a turn, unless the turn's events are suppressed, and wakes the
// writer for it and any held before it.
func (s *turnSink) emit(ev []byte) {
	s.hold(ev)
	s.Flush()
}

// finish queues the terminal event and frees the slot, in one step.
func (s *turnSink) finish(ev []byte) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.run.suppressed {
		return
	}
	s.run.suppressed = true
	if s.c.turn == s.run {
		s.c.turn = nil
	}
	s.c.out.push(ev)
}

func (s *turnSink) Token(t string) { s.hold(tokenEvent("stream_token", s.run.requestID, t)) }

func (s *turnSink) Reasoning(t string) { s.hold(tokenEvent("stream_reasoning", s.run.requestID, t)) }

// hold queues an event of a turn, unless the turn's events are suppressed, without waking
// the writer: Flush or the next emitted event does.
func (s *turnSink) hold(ev []byte) {
	s.c.mu.Lock()
	if !s.run.suppressed {
		s.c.out.hold(ev)
	}
	s.c.mu.Unlock()
}

func (s *turnSink) Flush() { s.c.out.flush() }

func (s *turnSink) ToolCall(name string, args json.RawMessage) {
	s.emit(chunkEvent(s.run.requestID, name, map[string]any{"toolCall": map[string]any{"name": name, "arguments": args}}))
}

func (s *turnSink) ToolResult(name string, isError bool, result string) {
	s.emit(chunkEvent(s.run.requestID, name, map[string]any{"toolResult": map[string]any{"name": name, "isError": isError, "result": result}}))
}

func (s *turnSink) ConfirmationRequired(toolName string, approvalID uuid.UUID, args json.RawMessage) {
	s.emit(wrappedEvent("write_confirmation_required", s.run.requestID, 0, map[string]any{
		"toolId": toolName, "actionDescription": "The agent wants to run '" + toolName + "'. Allow?",
		"approvalId": approvalID.String(), "arguments": args,
	}))
}

type eventualData struct {
	MessageID       string           `json:"messageId"`
	Response        responseBody     `json:"response"`
	NeedsEscalation bool             `json:"needsEscalation"`
	Usage           agent.Usage      `json:"usage"`
	Citations       []agent.Citation `json:"citations,omitempty"`
}

type responseBody struct {
	ResponseParts          []string `json:"responseParts"`
	CustomerHappinessScore float64  `json:"customerHappinessScore"`
	NeedsSatisfactionScore float64  `json:"needsSatisfactionScore"`
	RequestSummary         string   `json:"requestSummary"`
	ResolutionStatus       string   `json:"resolutionStatus"`
	SuggestedNextActions   []string `json:"suggestedNextActions"`
}

func (s *turnSink) Completed(r agent.Reply) {
	s.finish(wrappedEvent("eventual_response", s.run.requestID, 200, eventualData{
		MessageID: r.MessageID.String(),
		Response: responseBody{
			ResponseParts: []string{r.Text}, CustomerHappinessScore: 0.5, NeedsSatisfactionScore: 0.5,
			ResolutionStatus: "in_progress", SuggestedNextActions: []string{},
		},
		Usage: r.Usage, Citations: r.Citations,
	}))
}

func (s *turnSink) Failed(message string) {
	s.finish(errorEvent(s.run.requestID, newError(codeAgentError, message)))
}
