package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
	"github.com/switchboard-dev/switchboard/tracing"
)

// callTool runs one tool call (PROTOCOL §7.4, §7.5) and returns the text the model receives.
// Its error is non-nil only when the turn must stop (cancelled, storage failed, or the tool's
// code panicked).
func (t *Turn) callTool(ctx context.Context, cfg *turnConfig, cites *citations, call llm.ToolCall) (string, bool, error) {
	te := cfg.tools[call.Name]
	args, ok := json.RawMessage("{}"), false
	if !call.ArgumentsTooLong {
		args, ok = tools.ParseArguments(call.Arguments)
	}
	var res tools.Result
	// Every call that does not run ends here with its arguments refused, but an unknown tool.
	outcome := "invalid_arguments"
	switch {
	case te == nil:
		res = tools.UnknownTool(call.Name)
	case call.ArgumentsTooLong:
		// Never parsed, never run, never parked (PROTOCOL-1.1 §1.11).
		res = tools.InvalidArguments(fmt.Sprintf("arguments exceed %d bytes", t.e.limits.ArgumentBytes))
	case !ok:
		res = tools.InvalidArguments("")
	case te.schemaErr != nil:
		res = tools.InvalidArguments("the tool's parameters schema is invalid")
	default:
		var verr error
		if err := t.containTool(te.name, func() { verr = te.schema.Validate(args) }); err != nil {
			return "", false, err
		}
		if verr != nil {
			res = tools.InvalidArguments(verr.Error())
			break
		}
		if te.raise != "" || te.submit {
			return t.callInteractionTool(ctx, cfg, te, args)
		}
		// Verification before approval (PROTOCOL-1.1 §7.5, §7.13).
		var g gateResult
		if te.requiresVerification {
			var err error
			if g, err = t.gate(ctx, te.name, args); err != nil {
				return "", false, err
			}
			if g.denied != nil {
				if !g.announced {
					t.sink.ToolCall(call.Name, args)
				}
				t.e.metrics.toolCall(toolKind(te), "verification_denied", 0)
				res = *g.denied
				t.sink.ToolResult(call.Name, res.IsError, tools.WireResult(res.Text))
				return res.Text, res.IsError, nil
			}
		}
		if !tools.NeedsApproval(te.name, te.requiresApproval, cfg.confirmTools) {
			if !g.announced {
				t.sink.ToolCall(call.Name, args)
			}
			return t.execTool(ctx, cfg, cites, te, args, g.verification)
		}
		outcome = "" // decided by the park
		if store.JSONBSize(args) > store.MaxApprovalArgumentsBytes {
			// An approval stores its arguments: at most 64 KiB as stored (ADMIN-API §9.8).
			res = tools.InvalidArguments("arguments exceed 65536 bytes")
			if g.announced {
				t.e.metrics.toolCall(toolKind(te), "invalid_arguments", 0)
				t.sink.ToolResult(call.Name, res.IsError, tools.WireResult(res.Text))
				return res.Text, res.IsError, nil
			}
			args = json.RawMessage("{}")
			break
		}
		d, err := t.park(ctx, cfg, te.name, args, g.announced)
		if err != nil {
			return "", false, err
		}
		switch {
		case d.timedOut:
			res, outcome = tools.ApprovalTimedOut(int(math.Ceil(t.e.cfg.ApprovalTimeout.Seconds()))), "approval_expired"
		case d.outcome == approval.Approved:
			return t.execTool(ctx, cfg, cites, te, args, g.verification)
		case d.outcome == approval.AgentDeleted:
			res, outcome = tools.AgentDeleted(), "agent_deleted"
		case d.via == "admin":
			res, outcome = tools.RejectedByAdmin(d.reason), "rejected"
		default:
			res, outcome = tools.RejectedByVisitor(), "rejected"
		}
		t.e.metrics.toolCall(toolKind(te), outcome, 0)
		t.sink.ToolResult(call.Name, res.IsError, tools.WireResult(res.Text))
		return res.Text, res.IsError, nil
	}
	if te == nil {
		t.e.metrics.toolCall("unknown", "unknown_tool", 0)
	} else {
		t.e.metrics.toolCall(toolKind(te), outcome, 0)
	}
	t.sink.ToolCall(call.Name, args)
	t.sink.ToolResult(call.Name, res.IsError, tools.WireResult(res.Text))
	return res.Text, res.IsError, nil
}

// toolKind is a tool's label value in the tool metrics: the names are the tenants', so only
// the kind is shown.
func toolKind(te *toolEntry) string {
	switch {
	case te.builtin:
		return "knowledge_search"
	case te.row.Kind == store.ToolKindBuiltin:
		return "builtin"
	}
	return "http"
}

// containTool runs fn, a tool executor's own code, so that a panic in it is contained: logged
// with its stack, counted (where "tool"), and returned as errPanicked, which ends the turn
// with AGENT_ERROR "internal error".
func (t *Turn) containTool(name string, fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			t.e.panics.Record(t.log, panics.Tool, v, "tool", name)
			err = fmt.Errorf("%w: tool %q", errPanicked, name)
		}
	}()
	fn()
	return nil
}

// execTool runs an allowed call and reports its result.
func (t *Turn) execTool(ctx context.Context, cfg *turnConfig, cites *citations, te *toolEntry, args json.RawMessage, verification *tools.Verification) (string, bool, error) {
	var res tools.Result
	start := time.Now()
	if te.builtin {
		// The arguments have passed the built-in's schema: query is a string, limit 1..10.
		q := struct {
			Query string `json:"query"`
			Limit int    `json:"limit"`
		}{Limit: searchPassages}
		_ = json.Unmarshal(args, &q)
		q.Limit = min(max(q.Limit, 1), maxSearchLimit)
		var ps []Passage
		var err error
		if t.e.retriever != nil {
			if perr := t.containTool(te.name, func() {
				ps, err = t.e.retriever.Retrieve(ctx, RetrievalQuery{
					OrgID: t.spec.OrgID, DocumentSets: cfg.agent.DocumentSets, Viewer: t.spec.Viewer, Text: q.Query, Limit: q.Limit,
				})
			}); perr != nil {
				return "", false, perr
			}
		}
		switch {
		case ctx.Err() != nil:
			t.e.metrics.toolCall(toolKind(te), "cancelled", time.Since(start))
			return "", false, context.Cause(ctx)
		case err != nil:
			res = tools.RequestFailed(err)
		default:
			cites.add(ps)
			res = tools.Success(searchResult(ps))
		}
	} else {
		var err error
		call := tools.Call{
			URL: te.row.Url, ToolName: te.name, Arguments: args, ConversationID: t.spec.ConversationID,
			OrgID: t.spec.OrgID, TimeoutMs: int(te.row.TimeoutMs), SigningSecret: cfg.toolSecret,
			Verification: verification,
		}
		if perr := t.containTool(te.name, func() {
			if te.row.Kind == store.ToolKindBuiltin {
				res, err = t.builtin(ctx, call)
				return
			}
			res, err = t.e.exec.Call(ctx, call)
		}); perr != nil {
			return "", false, perr
		}
		if err != nil {
			t.e.metrics.toolCall(toolKind(te), "cancelled", time.Since(start))
			return "", false, context.Cause(ctx)
		}
	}
	outcome := "ok"
	if res.IsError {
		outcome = "error"
	}
	t.e.metrics.toolCall(toolKind(te), outcome, max(time.Since(start), time.Nanosecond))
	if res.Cause != nil {
		t.log.Warn("tool call failed", "tool", te.name, "delivery_id", res.DeliveryID, "err", res.Cause)
	}
	t.sink.ToolResult(te.name, res.IsError, tools.WireResult(res.Text))
	return res.Text, res.IsError, nil
}

// builtin runs a tool the server serves itself (kind builtin), by name, within the tool's
// timeout. A builtin this process does not serve fails like an unreachable HTTP tool.
func (t *Turn) builtin(ctx context.Context, c tools.Call) (tools.Result, error) {
	fn := t.e.builtins[c.ToolName]
	if fn == nil {
		return tools.RequestFailed(fmt.Errorf("built-in tool %q is not served by this server", c.ToolName)), nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(max(c.TimeoutMs, 1))*time.Millisecond)
	defer cancel()
	res, err := fn(ctx, c)
	if err != nil && t.ctx.Err() == nil {
		// The tool's own timeout, not the turn's end.
		return tools.TimedOut(c.TimeoutMs), nil
	}
	return res, err
}

// parkOutcome is how a park ended for the turn.
type parkOutcome struct {
	outcome  approval.Outcome
	via      string
	reason   string
	timedOut bool
	trace    trace.SpanContext // the span that decided, for a decision
}

// park writes the approval row, announces it, and waits for a decision carrying its own id,
// the expiry, or the turn's cancellation (PROTOCOL §7.5). announced: the call's toolCall
// chunk was already sent (after a verification park, PROTOCOL-1.1 O11), and is not sent again.
func (t *Turn) park(ctx context.Context, cfg *turnConfig, toolName string, args json.RawMessage, announced bool) (parkOutcome, error) {
	id := uuid.Must(uuid.NewV7()) // time-ordered: see migration 00026
	timeout := t.e.cfg.ApprovalTimeout
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return parkOutcome{}, context.Cause(ctx)
	}
	// Registered before the row exists, so a decision that commits at once is not lost.
	t.e.registerPark(id, t)
	err := t.e.store.CreateApproval(ctx, store.NewApproval{
		ID: id, OrgID: t.spec.OrgID, SessionID: t.spec.SessionID, ConversationID: t.spec.ConversationID,
		AgentID: t.spec.AgentID, InstanceID: t.e.instanceID, RequestID: t.spec.RequestID, ToolName: toolName,
		Arguments: args, ExpiresAt: time.Now().Add(timeout),
	})
	if err != nil {
		t.mu.Unlock()
		t.e.unregisterPark(id)
		return parkOutcome{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	t.parked = id
	t.mu.Unlock()
	span := t.startApprovalSpan(ctx, toolName, id.String())
	parkedAt := time.Now()
	var out parkOutcome
	// The approval's own timeout bounds the wait; the turn's clock does not run meanwhile.
	t.clock.pause()
	waited := false
	defer func() {
		t.mu.Lock()
		t.parked = uuid.Nil
		t.mu.Unlock()
		t.e.unregisterPark(id)
		t.clock.resume()
		if !waited {
			// A panic unwinds through the park: the row must not stay pending.
			t.abandonApproval(id)
		}
		t.e.metrics.approvalEnded(approvalOutcome(out, err, waited), time.Since(parkedAt))
	}()
	out, err = t.wait(ctx, id, timeout, toolName, args, announced)
	waited = true
	endApprovalSpan(span, out, err)
	return out, err
}

// approvalOutcome is a park's label value in the approval metrics.
func approvalOutcome(out parkOutcome, err error, waited bool) string {
	switch {
	case err != nil || !waited:
		return "cancelled"
	case out.timedOut:
		return "expired"
	case out.outcome == approval.Approved:
		return "approved"
	case out.outcome == approval.AgentDeleted:
		return "agent_deleted"
	}
	return "rejected"
}

// abandonApproval records a park the turn leaves without an outcome cancelled.
func (t *Turn) abandonApproval(id uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), backgroundTimeout)
	defer cancel()
	if _, err := t.e.store.FinishApproval(ctx, t.spec.OrgID, id, "cancelled"); err != nil {
		t.log.Error("record abandoned approval cancelled", "approval_id", id, "err", err)
	}
}

// wait announces the park and waits for a decision carrying its own id, the expiry, or the
// turn's cancellation.
func (t *Turn) wait(ctx context.Context, id uuid.UUID, timeout time.Duration, toolName string, args json.RawMessage, announced bool) (parkOutcome, error) {
	t.sink.ConfirmationRequired(toolName, id, args)
	if !announced {
		t.sink.ToolCall(toolName, args)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return parkOutcome{}, context.Cause(ctx)
		case d := <-t.decisions:
			if d.ApprovalID != id {
				continue // a decision for an earlier park of this turn
			}
			return parkOutcome{outcome: d.Outcome, via: d.Via, reason: d.Reason, trace: tracing.ParseTraceparent(d.Traceparent)}, nil
		case <-timer.C:
			return t.expire(ctx, id)
		}
	}
}

// expire records the park expired; when a decision won that race, the decision stands.
func (t *Turn) expire(ctx context.Context, id uuid.UUID) (parkOutcome, error) {
	expired, err := t.e.store.FinishApproval(ctx, t.spec.OrgID, id, "expired")
	if err != nil {
		if ctx.Err() != nil {
			return parkOutcome{}, context.Cause(ctx)
		}
		return parkOutcome{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	if expired {
		return parkOutcome{timedOut: true}, nil
	}
	o, err := t.e.store.ApprovalOutcome(ctx, t.spec.OrgID, id)
	if err != nil {
		if ctx.Err() != nil {
			return parkOutcome{}, context.Cause(ctx)
		}
		return parkOutcome{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	switch o.Status {
	case "approved":
		return parkOutcome{outcome: approval.Approved, via: o.DecidedVia}, nil
	case "rejected":
		return parkOutcome{outcome: approval.Rejected, via: o.DecidedVia, reason: o.Reason}, nil
	case "cancelled":
		if ctx.Err() != nil {
			return parkOutcome{}, context.Cause(ctx)
		}
		// Only an agent deletion cancels a park the turn did not cancel itself.
		return parkOutcome{outcome: approval.AgentDeleted}, nil
	default:
		return parkOutcome{timedOut: true}, nil
	}
}
