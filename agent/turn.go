package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
)

// Turn is one running turn.
type Turn struct {
	e      *Engine
	spec   TurnSpec
	sink   Sink
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	span   trace.Span // invoke_agent
	clock  *turnClock // SWITCHBOARD_TURN_TIMEOUT; stopped while parked
	// started is when Start took the turn, for its duration and time to first token.
	started time.Time

	decisions chan approval.Decision
	answers   chan interaction.Answer

	mu      sync.Mutex
	stopped bool      // Cancel took the turn
	settled bool      // the turn chose its own outcome (completed or failed); Cancel no longer can
	parked  uuid.UUID // the pending approval or challenge the turn waits on; uuid.Nil when none
	// parkedOnCode: parked is a one-time-code challenge (PROTOCOL-1.1 §7.13), not an approval.
	parkedOnCode bool
	// parkedCard is the pending interaction the turn waits on; uuid.Nil when none.
	parkedCard uuid.UUID

	// Owned by the turn's goroutine, so that a contained panic ends the turn exactly once.
	model    string // the turn's model, once prepared
	recorded bool   // the turn's usage row is written (or was tried for the last time)
	streamed bool   // a token reached the sink
	ended    bool   // Completed or Failed was called
}

// Done is closed when the turn's goroutine has ended and its records are written.
func (t *Turn) Done() <-chan struct{} { return t.done }

// Cancel stops the turn at once: no further model or tool call is made, and its pending
// approval or interaction, if any, is recorded cancelled before Cancel returns, so that a later decision
// finds nothing. With ErrShuttingDown as cause the turn still ends with Failed; with any
// other cause it ends without a terminal event.
//
// Cancel reports whether it took the turn. It does not once the turn has settled its own
// outcome (it is recording its reply or its failure, and will end with Completed or Failed),
// nor when another Cancel took it first: then nothing changes, so a turn has exactly one end.
func (t *Turn) Cancel(cause error) bool {
	t.mu.Lock()
	if t.stopped || t.settled {
		t.mu.Unlock()
		return false
	}
	t.stopped = true
	t.cancel(cause)
	parked, card, onCode := t.parked, t.parkedCard, t.parkedOnCode
	t.mu.Unlock()
	if card != uuid.Nil {
		t.finishCard(card, "cancelled")
	}
	if parked == uuid.Nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
	defer cancel()
	if onCode {
		if _, err := t.e.store.FinishChallenge(ctx, t.spec.OrgID, parked, store.ChallengeCancelled); err != nil {
			t.log.Error("record cancelled challenge", "challenge_id", parked, "err", err)
		}
		return true
	}
	if _, err := t.e.store.FinishApproval(ctx, t.spec.OrgID, parked, "cancelled"); err != nil {
		t.log.Error("record cancelled approval", "approval_id", parked, "err", err)
	}
	return true
}

// settle is the turn's side of that race: it claims the turn's outcome for the turn itself,
// unless a Cancel took the turn first. Calling it again changes nothing.
func (t *Turn) settle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.settled = true
	return true
}

// toolSummary is what the stored reply records of each tool call.
type toolSummary struct {
	Name    string `json:"name"`
	IsError bool   `json:"isError"`
}

// Errors that end a turn with their own AGENT_ERROR text.
var (
	// errReplyTooLong: the reply passed SWITCHBOARD_MAX_REPLY_BYTES (PROTOCOL-1.1 §1.11).
	errReplyTooLong = errors.New("reply too long")
	// errPanicked: a panic was contained in the turn or one of its tools.
	errPanicked = errors.New("panic contained")
)

// run executes the turn and writes its records; it always ends with exactly one of
// Completed, Failed, or (cancelled) nothing, even when something in it panics.
func (t *Turn) run() {
	defer close(t.done)
	defer t.span.End()
	defer t.clock.stop()
	m := &meter{}
	defer t.containPanic(m)
	var summaries []toolSummary
	text, cites, err := t.execute(m, &summaries)

	rec := t.usageRecord(m)
	// From here the turn's end is decided once: by a Cancel that came first, or by the turn.
	if !t.settle() || (err == nil && t.ctx.Err() != nil) {
		err = context.Cause(t.ctx)
	}
	if err == nil {
		usage := Usage{PromptTokens: rec.PromptTokens, CompletionTokens: rec.CompletionTokens, CostUSD: rec.CostUSD}
		rec.Outcome, rec.Reply = "completed", text
		rec.ReplyUsage, _ = json.Marshal(usage)
		if len(summaries) > 0 {
			rec.ToolCalls, _ = json.Marshal(summaries)
		}
		msgID, werr := t.record(rec)
		if werr == nil {
			t.recorded = true
			if msgID == uuid.Nil {
				msgID = uuid.New()
			}
			t.ended = true
			t.e.metrics.turnEnded("completed", "", t.started)
			t.sink.Completed(Reply{MessageID: msgID, Text: text, Usage: usage, Citations: cites})
			return
		}
		err = fmt.Errorf("%w: %w", errStorage, werr)
	}
	t.fail(rec, err)
}

// usageRecord is the turn's usage row as the meter has it so far.
func (t *Turn) usageRecord(m *meter) store.TurnRecord {
	return store.TurnRecord{
		TurnID: t.spec.TurnID, OrgID: t.spec.OrgID, AgentID: t.spec.AgentID, ConversationID: t.spec.ConversationID,
		SessionID: t.spec.SessionID, AgentParticipantID: t.spec.AgentParticipantID, RequestID: t.spec.RequestID,
		Model: t.model, PromptTokens: m.prompt, CompletionTokens: m.completion, TokensEstimated: m.tokensEstimated,
		CostUSD: llm.RoundUSD(m.cost, llm.CostDecimals), CostEstimated: m.costEstimated, GatewayKeyID: t.spec.Key.ID,
		ServerKeyPaid: t.spec.Key.ServerKey(),
		CalledGateway: m.calls > 0,
	}
}

// fail ends a turn that did not complete: its usage row without a reply (outcome cancelled
// when its client cancelled it, else error), then its AGENT_ERROR, except for a cancelled
// turn, which ends without a terminal event. What was already done is not done again.
func (t *Turn) fail(rec store.TurnRecord, err error) {
	t.settle() // a contained panic gets here without run's settle; a Cancel that took the turn shows in its context
	var cause error
	if t.ctx.Err() != nil {
		cause = context.Cause(t.ctx)
	}
	var msg string
	switch {
	case errors.Is(cause, ErrShuttingDown):
		msg = ErrShuttingDown.Error()
	case errors.Is(cause, errTurnTimedOut):
		msg, err = "model gateway timed out", cause
	case cause != nil:
		// Cancelled by its client: no terminal event.
	default:
		msg = wireError(err)
	}
	rec.Outcome, rec.Reply, rec.ReplyUsage, rec.ToolCalls = "error", "", nil, nil
	rec.Failure = agentErrorPrefix + msg
	if msg == "" {
		rec.Outcome, rec.Failure = "cancelled", ""
	}
	t.traceFailure(err, msg)
	if !t.recorded {
		t.recorded = true
		if _, werr := t.record(rec); werr != nil {
			t.log.Error("record usage of an unfinished turn", "err", werr)
		}
	}
	if t.ended {
		return
	}
	t.ended = true
	t.e.metrics.turnEnded(rec.Outcome, msg, t.started)
	switch {
	case msg == "":
		t.log.Debug("turn cancelled", "cause", cause)
	case errors.Is(cause, ErrShuttingDown):
		t.sink.Failed(agentErrorPrefix + msg)
	default:
		t.log.Error("turn failed", "err", err, "wire", msg)
		t.sink.Failed(agentErrorPrefix + msg)
	}
}

// containPanic, deferred by run, contains a panic of the turn's goroutine: it is logged with
// its stack and counted, and the turn ends as failed (AGENT_ERROR "internal error") with its
// usage row, unless it had already ended. The process and every other turn go on.
func (t *Turn) containPanic(m *meter) {
	v := recover()
	if v == nil {
		return
	}
	t.e.panics.Record(t.log, panics.Turn, v)
	defer func() {
		// Ending the turn panicked too (its sink, say): the turn is over either way.
		if v := recover(); v != nil {
			t.e.panics.Record(t.log, panics.Turn, v, "while", "ending the turn")
		}
	}()
	t.fail(t.usageRecord(m), errPanicked)
}

func (t *Turn) record(rec store.TurnRecord) (uuid.UUID, error) {
	t.traceRecord(rec)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), backgroundTimeout)
	defer cancel()
	return t.e.store.RecordTurn(ctx, rec)
}

// wireError is the AGENT_ERROR suffix for a failure (PROTOCOL §6, PROTOCOL-1.1 §1.11).
func wireError(err error) string {
	var le *llm.Error
	switch {
	case errors.Is(err, errReplyTooLong):
		return errReplyTooLong.Error()
	case errors.As(err, &le):
		return le.Message()
	case errors.Is(err, errStorage):
		return "storage error"
	default:
		return "internal error"
	}
}

// execute runs the model loop and returns the reply text and the citations.
func (t *Turn) execute(m *meter, summaries *[]toolSummary) (string, []Citation, error) {
	ctx := t.ctx
	cfg, cites, err := t.prepare(ctx)
	if err != nil {
		return "", nil, err
	}
	t.model = cfg.model
	model, err := t.e.modelFor(t.spec.Key)
	if err != nil {
		return "", nil, err
	}

	var reply strings.Builder
	messages := cfg.messages
	for iter := 1; iter <= cfg.maxIterations; iter++ {
		if ctx.Err() != nil {
			return "", nil, context.Cause(ctx)
		}
		req := llm.Request{Model: cfg.model, Messages: messages, MaxTokens: cfg.maxTokens}
		last := iter == cfg.maxIterations
		if !last {
			req.Tools = cfg.specs
		}
		// The reply is capped as it streams: the token that would cross the cap is not sent,
		// and the call stops (PROTOCOL-1.1 §1.11).
		callCtx, stopCall := context.WithCancelCause(ctx)
		segment := true
		firstToken := func() {
			// Only the first model call's: later ones follow tool calls, whose time is not
			// the model's.
			if iter == 1 && !t.streamed {
				t.streamed = true
				t.e.metrics.firstToken.WithLabelValues(t.e.metrics.models.label(cfg.model)).Observe(time.Since(t.started).Seconds())
			}
		}
		res, err := model.Stream(callCtx, req, llm.Handler{
			OnText: func(tok string) {
				if segment && reply.Len() > 0 {
					tok = "\n\n" + tok
				}
				if reply.Len()+len(tok) > t.e.maxReply {
					stopCall(errReplyTooLong)
					return
				}
				segment = false
				reply.WriteString(tok)
				firstToken()
				t.sink.Token(tok)
			},
			OnReasoning: func(tok string) {
				firstToken()
				t.sink.Reasoning(tok)
			},
			OnWait: t.sink.Flush,
		})
		stopCall(nil)
		t.sink.Flush()
		if c := res.Usage.Clamped; c != nil {
			t.log.Warn("gateway reported usage out of range; clamped", "model", cfg.model,
				"reported_prompt_tokens", c.PromptTokens, "reported_completion_tokens", c.CompletionTokens, "reported_cost", c.Cost)
		}
		m.add(res.Usage, cfg.model, t.e.prices)
		t.e.metrics.modelCall(cfg.model, res.Usage, err)
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, errReplyTooLong) {
				return "", nil, errReplyTooLong
			}
			return "", nil, err
		}
		if len(res.ToolCalls) == 0 || last {
			break
		}
		messages = append(messages, llm.Assistant(res.Text, res.ToolCalls...))
		for _, call := range res.ToolCalls {
			if ctx.Err() != nil {
				return "", nil, context.Cause(ctx)
			}
			toolCtx, span := t.startToolSpan(ctx, cfg, call)
			text, isError, err := t.callTool(toolCtx, cfg, cites, call)
			t.endToolSpan(span, text, isError, err)
			if err != nil {
				return "", nil, err
			}
			*summaries = append(*summaries, toolSummary{Name: call.Name, IsError: isError})
			messages = append(messages, llm.ToolResult(call.ID, text))
		}
	}
	return reply.String(), cites.list, nil
}

// meter sums a turn's usage over its model calls (PROTOCOL §7.6).
type meter struct {
	calls              int
	prompt, completion int64
	tokensEstimated    bool
	cost               float64
	costEstimated      bool
}

func (m *meter) add(u llm.Usage, model string, prices llm.PriceTable) {
	m.calls++
	m.prompt += u.PromptTokens
	m.completion += u.CompletionTokens
	if u.Estimated {
		m.tokensEstimated = true
	}
	if u.CostReported {
		m.cost += u.CostUSD
		return
	}
	usd, _ := prices.Cost(model, u.PromptTokens, u.CompletionTokens)
	m.cost += usd
	m.costEstimated = true
}
