package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
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

	decisions chan approval.Decision

	mu      sync.Mutex
	stopped bool      // Cancel was called
	parked  uuid.UUID // the pending approval the turn waits on; uuid.Nil when none
}

// Done is closed when the turn's goroutine has ended and its records are written.
func (t *Turn) Done() <-chan struct{} { return t.done }

// Cancel stops the turn at once: no further model or tool call is made, and its pending
// approval, if any, is recorded cancelled before Cancel returns, so that a later decision
// finds nothing. With ErrShuttingDown as cause the turn still ends with Failed; with any
// other cause it ends without a terminal event. Later calls do nothing.
func (t *Turn) Cancel(cause error) {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	t.cancel(cause)
	parked := t.parked
	t.mu.Unlock()
	if parked == uuid.Nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
	defer cancel()
	if _, err := t.e.store.FinishApproval(ctx, t.spec.OrgID, parked, "cancelled"); err != nil {
		t.log.Error("record cancelled approval", "approval_id", parked, "err", err)
	}
}

// toolSummary is what the stored reply records of each tool call.
type toolSummary struct {
	Name    string `json:"name"`
	IsError bool   `json:"isError"`
}

// run executes the turn and writes its records; it always ends with exactly one of
// Completed, Failed, or (cancelled) nothing.
func (t *Turn) run() {
	defer close(t.done)
	m := &meter{}
	var summaries []toolSummary
	text, cites, model, err := t.execute(m, &summaries)

	rec := store.TurnRecord{
		TurnID: t.spec.TurnID, OrgID: t.spec.OrgID, AgentID: t.spec.AgentID, ConversationID: t.spec.ConversationID,
		SessionID: t.spec.SessionID, AgentParticipantID: t.spec.AgentParticipantID, RequestID: t.spec.RequestID,
		Model: model, PromptTokens: m.prompt, CompletionTokens: m.completion, TokensEstimated: m.tokensEstimated,
		CostUSD: llm.RoundUSD(m.cost, llm.CostDecimals), CostEstimated: m.costEstimated, GatewayKeyID: t.spec.Key.ID,
		CalledGateway: m.calls > 0,
	}
	usage := Usage{PromptTokens: rec.PromptTokens, CompletionTokens: rec.CompletionTokens, CostUSD: rec.CostUSD}
	if err == nil && t.ctx.Err() != nil {
		err = context.Cause(t.ctx)
	}
	if err == nil {
		rec.Outcome, rec.Reply = "completed", text
		rec.ReplyUsage, _ = json.Marshal(usage)
		if len(summaries) > 0 {
			rec.ToolCalls, _ = json.Marshal(summaries)
		}
		msgID, werr := t.record(rec)
		if werr == nil {
			if msgID == uuid.Nil {
				msgID = uuid.New()
			}
			t.sink.Completed(Reply{MessageID: msgID, Text: text, Usage: usage, Citations: cites})
			return
		}
		err = fmt.Errorf("%w: %w", errStorage, werr)
	}

	cancelled := t.ctx.Err() != nil
	rec.Outcome, rec.Reply, rec.ReplyUsage, rec.ToolCalls = "error", "", nil, nil
	if cancelled && !errors.Is(context.Cause(t.ctx), ErrShuttingDown) {
		rec.Outcome = "cancelled"
	}
	if _, werr := t.record(rec); werr != nil {
		t.log.Error("record usage of an unfinished turn", "err", werr)
	}
	switch {
	case cancelled && errors.Is(context.Cause(t.ctx), ErrShuttingDown):
		t.sink.Failed(agentErrorPrefix + ErrShuttingDown.Error())
	case cancelled:
		t.log.Debug("turn cancelled", "cause", context.Cause(t.ctx))
	default:
		msg := wireError(err)
		t.log.Error("turn failed", "err", err, "wire", msg)
		t.sink.Failed(agentErrorPrefix + msg)
	}
}

func (t *Turn) record(rec store.TurnRecord) (uuid.UUID, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), backgroundTimeout)
	defer cancel()
	return t.e.store.RecordTurn(ctx, rec)
}

// wireError is the AGENT_ERROR suffix for a failure (PROTOCOL §6).
func wireError(err error) string {
	var le *llm.Error
	switch {
	case errors.As(err, &le):
		return le.Message()
	case errors.Is(err, errStorage):
		return "storage error"
	default:
		return "internal error"
	}
}

// execute runs the model loop and returns the reply text, the citations and the model.
func (t *Turn) execute(m *meter, summaries *[]toolSummary) (string, []Citation, string, error) {
	ctx := t.ctx
	cfg, cites, err := t.prepare(ctx)
	if err != nil {
		return "", nil, "", err
	}
	httpClient := t.e.serverHTTP
	if t.spec.Key.tenantURL {
		httpClient = t.e.tenantHTTP
	}
	client, err := llm.New(llm.Config{BaseURL: t.spec.Key.BaseURL, APIKey: t.spec.Key.secret, HTTPClient: httpClient})
	if err != nil {
		return "", nil, cfg.model, err
	}

	var reply strings.Builder
	messages := cfg.messages
	for iter := 1; iter <= cfg.maxIterations; iter++ {
		if ctx.Err() != nil {
			return "", nil, cfg.model, context.Cause(ctx)
		}
		req := llm.Request{Model: cfg.model, Messages: messages, MaxTokens: cfg.maxTokens}
		last := iter == cfg.maxIterations
		if !last {
			req.Tools = cfg.specs
		}
		segment := true
		res, err := client.Stream(ctx, req, llm.Handler{
			OnText: func(tok string) {
				if segment && reply.Len() > 0 {
					tok = "\n\n" + tok
				}
				segment = false
				reply.WriteString(tok)
				t.sink.Token(tok)
			},
			OnReasoning: t.sink.Reasoning,
			OnWait:      t.sink.Flush,
		})
		t.sink.Flush()
		m.add(res.Usage, cfg.model, t.e.prices)
		if err != nil {
			return "", nil, cfg.model, err
		}
		if len(res.ToolCalls) == 0 || last {
			break
		}
		messages = append(messages, llm.Assistant(res.Text, res.ToolCalls...))
		for _, call := range res.ToolCalls {
			if ctx.Err() != nil {
				return "", nil, cfg.model, context.Cause(ctx)
			}
			text, isError, err := t.callTool(ctx, cfg, cites, call)
			if err != nil {
				return "", nil, cfg.model, err
			}
			*summaries = append(*summaries, toolSummary{Name: call.Name, IsError: isError})
			messages = append(messages, llm.ToolResult(call.ID, text))
		}
	}
	return reply.String(), cites.list, cfg.model, nil
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
