package ws

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/ratelimit"
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
	// release frees the turn's L8 slot, once: at its terminal event, or when it stopped
	// without one.
	release func()
}

// sendMessage is send_message (PROTOCOL §4.7, PROTOCOL-1.1 §4.7.1): every check, in order,
// before the 202.
func (c *conn) sendMessage(ctx context.Context, f *frame) error {
	sid, text, err := c.turnFields(f)
	if err != nil {
		return err
	}
	if err := c.limitTurnsFromAddress(); err != nil { // 6a
		return err
	}
	sess, err := c.turnSession(ctx, sid, sessionNotFound(sid))
	if err != nil {
		return err
	}
	// L7 counts every frame whose session was found readable; it is answered at 8a.
	overL7 := take(c.h.limits, "L7", c.h.limits.turnsSession, sess.id)
	in, key, release, err := c.turnInputs(ctx, sess, overL7)
	if err != nil {
		return err
	}
	r := f.requestID
	if err := c.h.d.Store.InsertUserMessage(ctx, sess.org, sess.conversation, sess.userParticipant, text, r); err != nil {
		release()
		return storageFailure(err)
	}
	// The turn id is its usage row's id: time-ordered, like every id of a growing table
	// (migration 00026).
	c.startTurn(agent.TurnSpec{
		TurnID: uuid.Must(uuid.NewV7()), OrgID: sess.org, AgentID: sess.agent, SessionID: sess.id,
		ConversationID: sess.conversation, AgentParticipantID: sess.agentParticipant, RequestID: r,
		UserMessage: text, Inputs: in, Key: key, Viewer: c.viewer(sess.org), Trace: trace.SpanContextFromContext(ctx),
	}, release)
	return nil
}

// limitTurnsFromAddress applies L6 (PROTOCOL-1.1 §4.7.1 row 6a).
func (c *conn) limitTurnsFromAddress() error {
	if c.client.exempt {
		return nil
	}
	if err := take(c.h.limits, "L6", c.h.limits.turnsIP, c.client.key); err != nil {
		return err
	}
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
		return "", "", newError(codeSkillNF, "skill '"+echo(skill)+"' is not available on this server")
	}
	return sid, text, nil
}

// turnInputs reads, in one round trip, what checks 8–10a of send_message (PROTOCOL §4.7,
// PROTOCOL-1.1 §4.7.1) need and what the turn runs on, and applies those checks, L7 (overL7,
// already counted) and L8 among them. On success the turn holds an L8 slot, which release
// frees.
func (c *conn) turnInputs(ctx context.Context, sess sessionKeys, overL7 *protocolError) (*store.TurnInputs, *agent.GatewayKey, func(), error) {
	eng := c.h.d.Engine
	in, err := eng.LoadInputs(ctx, sess.org, sess.agent, sess.id, sess.conversation)
	if err != nil {
		return nil, nil, nil, storageFailure(err)
	}
	if !in.AgentFound || !in.Agent.Enabled {
		return nil, nil, nil, newError(codeAgentNotFound, "agent '"+sess.agent.String()+"' not found")
	}
	if overL7 != nil { // 8a
		return nil, nil, nil, overL7
	}
	lim := c.h.limits
	if !lim.orgTurns.Acquire(sess.org) { // 8b
		return nil, nil, nil, lim.rateLimited("L8", ratelimit.CapRetryAfter)
	}
	release := func() { lim.orgTurns.Release(sess.org) }
	key, err := c.turnKey(ctx, in, sess)
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return in, key, release, nil
}

// turnKey applies checks 9, 10 and 10a: the key that pays, the org's budget, and the server
// key's monthly allowance per org (L9, computed from PostgreSQL).
func (c *conn) turnKey(ctx context.Context, in *store.TurnInputs, sess sessionKeys) (*agent.GatewayKey, error) {
	key, err := c.h.d.Engine.ResolveKey(sess.org, in)
	switch {
	case errors.Is(err, agent.ErrNoGatewayKey):
		return nil, newError(codeLLMUnavailable, "no LLM gateway key is configured for this organization")
	case err != nil: // ErrKeyUnusable: the org key does not open with this server's key
		return nil, err
	}
	if agent.CheckBudget(in) != nil {
		c.budgetReached(ctx, sess.org, in)
		return nil, newError(codeQuota, "the organization's monthly token budget is exhausted")
	}
	if allowance := c.h.d.Config.Limits.ServerKeyMonthlyTokens; allowance > 0 && key.ServerKey() && in.ServerKeyMonthTokens >= allowance {
		return nil, newError(codeQuota, "the organization's monthly allowance on the server's gateway key is exhausted")
	}
	return key, nil
}

// startTurn takes the connection's turn slot, queues the 202 and starts the turn, which
// holds its L8 slot (release) until its end.
func (c *conn) startTurn(spec agent.TurnSpec, release func()) {
	var once sync.Once
	run := &turnRun{requestID: spec.RequestID, release: func() { once.Do(release) }}
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

// cancelTurn is cancel (PROTOCOL §4.8): with no active turn it sends nothing at all. A turn
// that has settled its own outcome (its reply or error is being recorded) is not taken: it
// ends with its own terminal event and the cancel sends nothing, so a turn always has
// exactly one terminal event, and `cancelled` only when the cancel took it.
func (c *conn) cancelTurn(_ context.Context, _ *frame) error {
	run := c.currentTurn()
	if run == nil || !run.handle.Cancel(errCancelled) {
		return nil
	}
	c.mu.Lock()
	c.suppressLocked(run)
	c.send(cancelledEvent(run.requestID))
	c.mu.Unlock()
	run.release()
	// The stopped turn writes its usage row (outcome cancelled); wait for it, boundedly, so
	// that the next send_message finds it written.
	wait := time.NewTimer(cancelWait)
	defer wait.Stop()
	select {
	case <-run.handle.Done():
	case <-wait.C:
		c.logger().Warn("ws: cancelled turn did not end in time", "ws_request_id", run.requestID)
	}
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
	noPending := newError(codeNoPending, "no tool action is awaiting confirmation for session '"+echo(sid)+"'")
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
		return newError(codeNoPending, "the turn awaiting confirmation for session '"+echo(sid)+"' is no longer active")
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

// finish queues the terminal event and frees the slot, in one step, then the L8 slot.
func (s *turnSink) finish(ev []byte) {
	s.c.mu.Lock()
	if !s.run.suppressed {
		s.c.suppressLocked(s.run)
		s.c.out.push(ev)
	}
	s.c.mu.Unlock()
	s.run.release()
}

func (s *turnSink) Token(t string) { s.holdText("stream_token", t) }

func (s *turnSink) Reasoning(t string) { s.holdText("stream_reasoning", t) }

// maxTokenBytes is the most text one stream_token carries: it appears twice in the event and
// JSON may escape a byte as six, so an event stays well under 1 MiB (PROTOCOL §1.4). A longer
// delta goes out as several tokens, cut between characters; they still concatenate to it.
const maxTokenBytes = 64 << 10

func (s *turnSink) holdText(typ, t string) {
	for len(t) > maxTokenBytes {
		cut := maxTokenBytes
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		s.hold(tokenEvent(typ, s.run.requestID, t[:cut]))
		t = t[cut:]
	}
	s.hold(tokenEvent(typ, s.run.requestID, t))
}

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

// budgetReached emits budget.reached for the month the budget first refused a turn in (the
// event's dedupe key keeps it to one per org and month). The turn is refused either way.
func (c *conn) budgetReached(ctx context.Context, org uuid.UUID, in *store.TurnInputs) {
	err := c.h.d.Store.Emit(ctx, org, events.BudgetReached{
		Month: time.Now().UTC().Format("2006-01"), Budget: *in.Settings.MonthlyTokenBudget, UsedTokens: in.MonthTokens,
	})
	if err != nil {
		c.logger().Warn("emit budget.reached", "org_id", org, "err", err)
	}
}
