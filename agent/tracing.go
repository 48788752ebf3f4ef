package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
)

// A turn's spans follow the OpenTelemetry GenAI semantic conventions: "invoke_agent {agent}"
// for the turn, "chat {model}" for each model call, "execute_tool {tool}" for each tool call
// (with "await_approval {tool}" inside it while the call is parked), and "retrieval
// knowledge" for each knowledge search. Prompts, replies, tool arguments and results and
// search queries are recorded only with SWITCHBOARD_TRACE_CONTENT=1.

// TracerName is the instrumentation scope of the turn spans.
const TracerName = "github.com/switchboard-dev/switchboard/agent"

// Provider names (gen_ai.provider.name): a gateway speaks OpenAI's API, whoever serves it;
// the offline model is this server's own.
const (
	providerGateway = "openai"
	providerOffline = "switchboard"
)

// startTurnSpan starts the turn's span as a child of the send_message that accepted it.
func (e *Engine) startTurnSpan(ctx context.Context, spec TurnSpec) (context.Context, trace.Span) {
	if spec.Trace.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, spec.Trace)
	}
	name := "invoke_agent"
	var agentName string
	if in := spec.Inputs; in != nil && in.AgentFound {
		agentName = in.Agent.Name
		name += " " + agentName
	}
	ctx, span := e.tracer.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.GenAIOperationNameInvokeAgent,
			semconv.GenAIAgentID(spec.AgentID.String()),
			semconv.GenAIAgentName(agentName),
			semconv.GenAIConversationID(spec.ConversationID.String()),
			attribute.String("switchboard.org_id", spec.OrgID.String()),
			attribute.String("switchboard.session_id", spec.SessionID.String()),
			attribute.String("switchboard.turn_id", spec.TurnID.String()),
		)
	}
	return ctx, span
}

// traceRecord puts the turn's outcome and usage on its span as they are recorded.
func (t *Turn) traceRecord(rec store.TurnRecord) {
	if !t.span.IsRecording() {
		return
	}
	t.span.SetAttributes(
		attribute.String("switchboard.turn.outcome", rec.Outcome),
		semconv.GenAIRequestModel(rec.Model),
		semconv.GenAIUsageInputTokens(int(rec.PromptTokens)),
		semconv.GenAIUsageOutputTokens(int(rec.CompletionTokens)),
	)
}

// traceFailure marks the turn's span failed with the error's class; the message is the
// AGENT_ERROR suffix the client gets, never the cause.
func (t *Turn) traceFailure(err error, msg string) {
	if msg == "" { // cancelled by its client: not an error
		return
	}
	t.span.SetStatus(codes.Error, msg)
	t.span.SetAttributes(semconv.ErrorTypeKey.String(turnErrorType(err)))
}

func turnErrorType(err error) string {
	var le *llm.Error
	switch {
	case errors.Is(err, ErrShuttingDown):
		return "shutting_down"
	case errors.Is(err, errTurnTimedOut):
		return "timeout"
	case errors.Is(err, errReplyTooLong):
		return "reply_too_long"
	case errors.Is(err, errPanicked):
		return "panic"
	case errors.Is(err, errStorage):
		return "storage"
	case errors.As(err, &le):
		return llmErrorType(le)
	}
	return "_OTHER"
}

// llmErrorType is a gateway failure's class: its HTTP status, or how it failed without one.
func llmErrorType(le *llm.Error) string {
	switch le.Kind {
	case llm.KindStatus:
		return strconv.Itoa(le.Status)
	case llm.KindUnreachable:
		return "unreachable"
	case llm.KindTimeout:
		return "timeout"
	case llm.KindInterrupted:
		return "interrupted"
	}
	return "_OTHER"
}

// tracedModel wraps a turn's model: one "chat {model}" client span per call.
type tracedModel struct {
	m        llm.Model
	tracer   trace.Tracer
	provider string
	content  bool // SWITCHBOARD_TRACE_CONTENT
}

func (e *Engine) traced(m llm.Model, provider string) llm.Model {
	return tracedModel{m: m, tracer: e.tracer, provider: provider, content: e.cfg.TraceContent}
}

func (tm tracedModel) Stream(ctx context.Context, req llm.Request, h llm.Handler) (llm.Result, error) {
	ctx, span := tm.tracer.Start(ctx, "chat "+req.Model, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	rec := span.IsRecording()
	if rec {
		span.SetAttributes(semconv.GenAIOperationNameChat, semconv.GenAIProviderNameKey.String(tm.provider),
			semconv.GenAIRequestModel(req.Model))
		if req.MaxTokens > 0 {
			span.SetAttributes(semconv.GenAIRequestMaxTokens(int(req.MaxTokens)))
		}
		if tm.content {
			span.SetAttributes(semconv.GenAIInputMessagesKey.String(inputMessages(req.Messages)))
		}
	}
	res, err := tm.m.Stream(ctx, req, h)
	if !rec {
		return res, err
	}
	span.SetAttributes(
		semconv.GenAIUsageInputTokens(int(res.Usage.PromptTokens)),
		semconv.GenAIUsageOutputTokens(int(res.Usage.CompletionTokens)),
	)
	if res.ResponseModel != "" {
		span.SetAttributes(semconv.GenAIResponseModel(res.ResponseModel))
	}
	if res.FinishReason != "" {
		span.SetAttributes(semconv.GenAIResponseFinishReasons(res.FinishReason))
	}
	if tm.content {
		span.SetAttributes(semconv.GenAIOutputMessagesKey.String(outputMessage(res)))
	}
	if err != nil {
		span.SetStatus(codes.Error, "")
		span.SetAttributes(semconv.ErrorTypeKey.String(modelErrorType(ctx, err)))
	}
	return res, err
}

func modelErrorType(ctx context.Context, err error) string {
	var le *llm.Error
	switch {
	case errors.As(err, &le):
		return llmErrorType(le)
	case ctx.Err() != nil:
		return "cancelled"
	}
	return "_OTHER"
}

// The message shapes of gen_ai.input.messages and gen_ai.output.messages.
type (
	traceMessage struct {
		Role         string      `json:"role"`
		Parts        []tracePart `json:"parts"`
		FinishReason string      `json:"finish_reason,omitempty"`
	}
	tracePart struct {
		Type      string          `json:"type"`
		Content   string          `json:"content,omitempty"`
		ID        string          `json:"id,omitempty"`
		Name      string          `json:"name,omitempty"`
		Arguments json.RawMessage `json:"arguments,omitempty"`
		Response  string          `json:"response,omitempty"`
	}
)

func inputMessages(ms []llm.Message) string {
	out := make([]traceMessage, 0, len(ms))
	for _, m := range ms {
		tm := traceMessage{Role: string(m.Role)}
		switch {
		case m.Role == llm.RoleTool:
			tm.Parts = append(tm.Parts, tracePart{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Content})
		case m.Content != "":
			tm.Parts = append(tm.Parts, tracePart{Type: "text", Content: m.Content})
		}
		for _, c := range m.ToolCalls {
			tm.Parts = append(tm.Parts, toolCallPart(c))
		}
		out = append(out, tm)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func outputMessage(res llm.Result) string {
	m := traceMessage{Role: string(llm.RoleAssistant), FinishReason: res.FinishReason, Parts: []tracePart{}}
	if res.Text != "" {
		m.Parts = append(m.Parts, tracePart{Type: "text", Content: res.Text})
	}
	for _, c := range res.ToolCalls {
		m.Parts = append(m.Parts, toolCallPart(c))
	}
	b, _ := json.Marshal([]traceMessage{m})
	return string(b)
}

func toolCallPart(c llm.ToolCall) tracePart {
	p := tracePart{Type: "tool_call", ID: c.ID, Name: c.Name}
	if json.Valid([]byte(c.Arguments)) {
		p.Arguments = json.RawMessage(c.Arguments)
	}
	return p
}

// startToolSpan starts a tool call's span. A name the agent does not have stays out of the
// span's name (the model chose it) but is recorded as gen_ai.tool.name.
func (t *Turn) startToolSpan(ctx context.Context, cfg *turnConfig, call llm.ToolCall) (context.Context, trace.Span) {
	te := cfg.tools[call.Name]
	name := "execute_tool"
	if te != nil {
		name += " " + call.Name
	}
	ctx, span := t.e.tracer.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolName(call.Name),
			semconv.GenAIToolCallID(call.ID))
		if te != nil {
			span.SetAttributes(semconv.GenAIToolType(toolType(te)))
		}
		if t.e.cfg.TraceContent {
			span.SetAttributes(semconv.GenAIToolCallArgumentsKey.String(call.Arguments))
		}
	}
	return ctx, span
}

// toolType is gen_ai.tool.type: knowledge search reads a datastore; every other tool is
// executed by this server on the agent's behalf, an extension.
func toolType(te *toolEntry) string {
	if te.builtin {
		return "datastore"
	}
	return "extension"
}

// endToolSpan records a tool call's end: its result text only with SWITCHBOARD_TRACE_CONTENT.
func (t *Turn) endToolSpan(span trace.Span, text string, isError bool, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Bool("switchboard.tool.is_error", isError))
	if t.e.cfg.TraceContent && err == nil {
		span.SetAttributes(semconv.GenAIToolCallResultKey.String(text))
	}
	if isError || err != nil {
		span.SetStatus(codes.Error, "")
		span.SetAttributes(semconv.ErrorTypeKey.String(toolErrorType(text, err)))
	}
}

func toolErrorType(text string, err error) string {
	if err != nil {
		return turnErrorType(err)
	}
	// Every refusal the model gets starts so (package tools); nothing of a tool's own
	// message becomes the class.
	if strings.HasPrefix(text, "Denied") {
		return "denied"
	}
	return "tool_error"
}

// startApprovalSpan starts the span of a park; endApprovalSpan links it to the span that
// decided it, on whichever instance that was (the backplane carries its traceparent).
func (t *Turn) startApprovalSpan(ctx context.Context, toolName, approvalID string) trace.Span {
	_, span := t.e.tracer.Start(ctx, "await_approval "+toolName)
	if span.IsRecording() {
		span.SetAttributes(semconv.GenAIToolName(toolName), attribute.String("switchboard.approval_id", approvalID))
	}
	return span
}

func endApprovalSpan(span trace.Span, out parkOutcome, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if out.trace.IsValid() {
		span.AddLink(trace.Link{SpanContext: out.trace, Attributes: []attribute.KeyValue{
			attribute.String("switchboard.link", "approval decision"),
		}})
	}
	outcome := string(out.outcome)
	switch {
	case err != nil:
		outcome = "cancelled"
	case out.timedOut:
		outcome = "expired"
	}
	span.SetAttributes(attribute.String("switchboard.approval.outcome", outcome))
	if out.via != "" {
		span.SetAttributes(attribute.String("switchboard.approval.via", out.via))
	}
}

// tracedRetriever gives every knowledge search a "retrieval knowledge" span.
type tracedRetriever struct {
	r       Retriever
	tracer  trace.Tracer
	content bool
}

func (tr tracedRetriever) Retrieve(ctx context.Context, q RetrievalQuery) ([]Passage, error) {
	ctx, span := tr.tracer.Start(ctx, "retrieval knowledge", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	ps, err := tr.r.Retrieve(ctx, q)
	if span.IsRecording() {
		span.SetAttributes(semconv.GenAIOperationNameRetrieval, semconv.GenAIDataSourceID("knowledge"),
			attribute.Int("switchboard.retrieval.limit", q.Limit), attribute.Int("switchboard.retrieval.results", len(ps)))
		if tr.content {
			span.SetAttributes(attribute.String("switchboard.retrieval.query", q.Text))
		}
		if err != nil {
			span.SetStatus(codes.Error, "")
			span.SetAttributes(semconv.ErrorTypeKey.String("_OTHER"))
		}
	}
	return ps, err
}
