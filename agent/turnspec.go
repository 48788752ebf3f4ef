package agent

import (
	"encoding/json"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/store"
)

// TurnSpec is a turn accepted by send_message: who runs it, where, and the key that pays.
type TurnSpec struct {
	// TurnID keys the turn's usage row; the caller generates it when the turn starts.
	TurnID             uuid.UUID
	OrgID              uuid.UUID
	AgentID            uuid.UUID
	SessionID          uuid.UUID
	ConversationID     uuid.UUID
	AgentParticipantID uuid.UUID
	// RequestID is R, the send_message requestId; stored, not unique.
	RequestID string
	// UserMessage is the stored inbound text.
	UserMessage string
	// Inputs are the agent, its tools, the org settings and the history that send_message
	// read (Engine.LoadInputs) for its checks, just before it stored the user message; the
	// turn runs on them instead of reading them a second time. That read is part of the same
	// send_message as the turn's start, so the turn still runs on what Postgres held when it
	// started and nothing outlives the turn: there is no configuration cache (PROTOCOL §7.1).
	Inputs *store.TurnInputs
	// Key pays for every model call of the turn (ADMIN-API §7.1).
	Key *GatewayKey
	// Viewer is who may see which documents in retrieval (ADMIN-API §9.10).
	Viewer Viewer
	// Trace is the span of the send_message that accepted the turn: the turn's span is its
	// child. The zero value starts a trace of its own.
	Trace trace.SpanContext
}

// Viewer is the connection's identities in the turn's org and its token's groups.
type Viewer struct {
	Identities []string // jwt:<sub>, ctx:<userId>
	Groups     []string
}

// Sink receives a turn's events, in order, on the turn's goroutine. Exactly one of Completed
// and Failed ends a turn that was not cancelled; a cancelled turn (Turn.Cancel with any cause
// but ErrShuttingDown) ends without either. Methods must not block for long.
type Sink interface {
	// The engine calls Flush whenever it is about to wait for the gateway and after each
	// model call, so a Sink may hold Token and Reasoning events back, in order, until then
	// or until its next other event.
	Token(text string)
	Reasoning(text string)
	Flush()
	// ToolCall announces a call; args is the JSON object the tool is called with.
	ToolCall(name string, args json.RawMessage)
	// ToolResult reports a call's end; result is already cut for the wire (PROTOCOL §7.4).
	ToolResult(name string, isError bool, result string)
	// ConfirmationRequired reports a park, after its approval row is committed and before
	// the held-back ToolCall.
	ConfirmationRequired(toolName string, approvalID uuid.UUID, args json.RawMessage)
	// InteractionRequired reports a park on a card (PROTOCOL-1.1 §7.9), after its row is
	// committed and before the held-back ToolCall of the raise.
	InteractionRequired(interactionID uuid.UUID, kind interaction.Kind, spec json.RawMessage, reason string)
	// VerificationRequired and CodeSent report a park on a one-time code (PROTOCOL-1.1 O11),
	// after its challenge row is committed and the mail server accepted the code, and before
	// the held-back ToolCall. maskedDestination is the address as visitors may see it.
	VerificationRequired(toolName string)
	CodeSent(maskedDestination string)
	// Completed follows the commit of the reply and the usage row.
	Completed(r Reply)
	// Failed carries the whole AGENT_ERROR message ("agent turn failed: …").
	Failed(message string)
}

// Reply is a completed turn's answer (PROTOCOL §5.7).
type Reply struct {
	MessageID uuid.UUID // the stored reply, or a fresh id when the reply is empty
	Text      string
	Usage     Usage
	Citations []Citation
}

// Usage is a turn's tokens and cost, equal to its usage row.
type Usage struct {
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

// Citation is one document that grounded a turn.
type Citation struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	URL     string  `json:"url,omitempty"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

const agentErrorPrefix = "agent turn failed: "
