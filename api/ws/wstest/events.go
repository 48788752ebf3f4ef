package wstest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/testkit"
)

// Envelope is a server event (PROTOCOL §2.2) with its data decoded as D. Keys the server
// omits when empty are empty here; the timestamp is checked by Decode and left out, so
// two envelopes compare with cmp.Diff.
type Envelope[D any] struct {
	Type      string         `json:"type"`
	RequestID string         `json:"requestId,omitempty"`
	Status    int            `json:"status,omitempty"`
	Message   string         `json:"message,omitempty"`
	Token     string         `json:"token,omitempty"`
	Node      string         `json:"node,omitempty"`
	Error     *ProtocolError `json:"error,omitempty"`
	Data      D              `json:"data"`
}

// Decode decodes ev strictly (a key neither the envelope nor D declares fails the test)
// and requires a positive millisecond timestamp.
func Decode[D any](tb testing.TB, ev Event) Envelope[D] {
	tb.Helper()
	wire := testkit.DecodeJSON[struct {
		Envelope[D]
		Timestamp int64 `json:"timestamp"`
	}](tb, ev.Raw)
	if wire.Timestamp <= 0 {
		tb.Fatalf("wstest: event without a timestamp: %s", ev.Raw)
	}
	return wire.Envelope
}

// ProtocolError is an error event's error (PROTOCOL §5.9).
type ProtocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMs is sent with RATE_LIMITED only (PROTOCOL-1.1 §5.9); 0 when absent.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

// ErrorData is an error event's data: the error again, with the request id when echoed.
type ErrorData struct {
	RequestID string        `json:"requestId,omitempty"`
	Error     ProtocolError `json:"error"`
}

// ErrorEvent is the whole error event the server sends for code and message, echoing
// requestID ("" when the error is not echoed).
func ErrorEvent(requestID, code, message string) Envelope[ErrorData] {
	e := ProtocolError{Code: code, Message: message}
	return Envelope[ErrorData]{Type: "error", RequestID: requestID, Error: &e, Data: ErrorData{RequestID: requestID, Error: e}}
}

// RateLimitedEvent is the whole RATE_LIMITED error event for message, echoing requestID,
// that tells the client to retry after retryAfterMs (PROTOCOL-1.1 §1.10, §5.9).
func RateLimitedEvent(requestID, message string, retryAfterMs int64) Envelope[ErrorData] {
	ev := ErrorEvent(requestID, "RATE_LIMITED", message)
	ev.Error.RetryAfterMs = retryAfterMs
	ev.Data.Error.RetryAfterMs = retryAfterMs
	return ev
}

// Empty is the data of an answer that carries none ({}).
type Empty struct{}

// SessionAck is create_conversation_session's data (PROTOCOL §4.2).
type SessionAck struct {
	SessionID          string `json:"sessionId"`
	ConversationID     string `json:"conversationId"`
	AgentID            string `json:"agentId"`
	AgentName          string `json:"agentName"`
	UserParticipantID  string `json:"userParticipantId"`
	AgentParticipantID string `json:"agentParticipantId"`
	ResumeToken        string `json:"resumeToken"`
}

// SessionInfo is get_session's data (PROTOCOL §4.3).
type SessionInfo struct {
	SessionID          string `json:"sessionId"`
	ConversationID     string `json:"conversationId"`
	AgentID            string `json:"agentId"`
	AgentName          string `json:"agentName"`
	UserParticipantID  string `json:"userParticipantId"`
	AgentParticipantID string `json:"agentParticipantId"`
	ThreadID           string `json:"threadId"`
	Status             string `json:"status"`
}

// MessagesPage is get_conversation_messages's data (PROTOCOL §4.4).
type MessagesPage struct {
	Messages   []Message `json:"messages"`
	NextCursor *string   `json:"nextCursor"`
	HasMore    bool      `json:"hasMore"`
}

// Message is one message of a MessagesPage.
type Message struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Content   struct {
		Text string `json:"text"`
	} `json:"content"`
	CreatedAt string `json:"createdAt"`
}

// Conversations is list_conversations's data (PROTOCOL §4.5).
type Conversations struct {
	Conversations []Conversation `json:"conversations"`
}

// Conversation is one conversation of Conversations.
type Conversation struct {
	ConversationID string `json:"conversationId"`
	Title          string `json:"title"`
	UpdatedAt      string `json:"updatedAt"`
	MessageCount   int    `json:"messageCount"`
}

// Token is the data of stream_token and stream_reasoning (PROTOCOL §5.3, §5.4).
type Token struct {
	RequestID string `json:"requestId"`
	Token     string `json:"token"`
}

// Chunk is a stream_chunk's data (PROTOCOL §5.5): a tool call, or its result.
type Chunk struct {
	RequestID string `json:"requestId"`
	Node      string `json:"node"`
	State     struct {
		RawResponse struct {
			ToolCall   *ToolCall   `json:"toolCall,omitempty"`
			ToolResult *ToolResult `json:"toolResult,omitempty"`
		} `json:"rawResponse"`
	} `json:"state"`
}

// ToolCall is the tool call a stream_chunk announces.
type ToolCall struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// ToolResult is a tool call's result as a stream_chunk reports it.
type ToolResult struct {
	Name    string `json:"name"`
	IsError bool   `json:"isError"`
	Result  string `json:"result"`
}

// Wrapped is the data of eventual_response (Status 200) and write_confirmation_required
// (no status): the request id and the inner data D.
type Wrapped[D any] struct {
	RequestID string `json:"requestId"`
	Status    int    `json:"status,omitempty"`
	Data      D      `json:"data"`
}

// Reply is eventual_response's inner data (PROTOCOL §5.6).
type Reply struct {
	MessageID       string     `json:"messageId"`
	Response        Response   `json:"response"`
	NeedsEscalation bool       `json:"needsEscalation"`
	Usage           Usage      `json:"usage"`
	Citations       []Citation `json:"citations,omitempty"`
}

// Response is a Reply's response object.
type Response struct {
	ResponseParts          []string `json:"responseParts"`
	CustomerHappinessScore float64  `json:"customerHappinessScore"`
	NeedsSatisfactionScore float64  `json:"needsSatisfactionScore"`
	RequestSummary         string   `json:"requestSummary"`
	ResolutionStatus       string   `json:"resolutionStatus"`
	SuggestedNextActions   []string `json:"suggestedNextActions"`
}

// Usage is a turn's token usage and cost.
type Usage struct {
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

// Citation is one document that grounded a reply; URL is nil when the key is absent.
type Citation struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	URL     *string `json:"url,omitempty"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

// Confirmation is write_confirmation_required's inner data (PROTOCOL §5.7).
type Confirmation struct {
	ToolID            string         `json:"toolId"`
	ActionDescription string         `json:"actionDescription"`
	ApprovalID        string         `json:"approvalId"`
	Arguments         map[string]any `json:"arguments"`
}

// ConfirmAck is confirm_tool_action's data (PROTOCOL §4.9).
type ConfirmAck struct {
	SessionID  string `json:"sessionId"`
	Approved   bool   `json:"approved"`
	ApprovalID string `json:"approvalId"`
}

// Cancelled is a cancelled event's data (PROTOCOL §5.8).
type Cancelled struct {
	RequestID string `json:"requestId"`
	Status    int    `json:"status"`
}

// CallChunk is the whole stream_chunk event announcing call in the turn requestID.
func CallChunk(requestID string, call ToolCall) Envelope[Chunk] {
	ev := chunk(requestID, call.Name)
	ev.Data.State.RawResponse.ToolCall = &call
	return ev
}

// ResultChunk is the whole stream_chunk event reporting res in the turn requestID.
func ResultChunk(requestID string, res ToolResult) Envelope[Chunk] {
	ev := chunk(requestID, res.Name)
	ev.Data.State.RawResponse.ToolResult = &res
	return ev
}

func chunk(requestID, node string) Envelope[Chunk] {
	return Envelope[Chunk]{Type: "stream_chunk", RequestID: requestID, Node: node, Data: Chunk{RequestID: requestID, Node: node}}
}

// RequireError fails the test unless ev is exactly the error event for code and message,
// echoing requestID ("" for an error that is not echoed), without retryAfterMs.
func RequireError(tb testing.TB, ev Event, requestID, code, message string) {
	tb.Helper()
	if diff := cmp.Diff(ErrorEvent(requestID, code, message), Decode[ErrorData](tb, ev)); diff != "" {
		tb.Fatalf("error event (-want +got):\n%s", diff)
	}
}

// RequireRateLimited fails the test unless ev is exactly the RATE_LIMITED error event for
// message, echoing requestID, with the same positive retryAfterMs at error and data.error.
// It returns that wait.
func RequireRateLimited(tb testing.TB, ev Event, requestID, message string) time.Duration {
	tb.Helper()
	got := Decode[ErrorData](tb, ev)
	var ms int64
	if got.Error != nil {
		ms = got.Error.RetryAfterMs
	}
	if ms < 1 {
		tb.Fatalf("RATE_LIMITED without a positive retryAfterMs: %s", ev.Raw)
	}
	if diff := cmp.Diff(RateLimitedEvent(requestID, message, ms), got); diff != "" {
		tb.Fatalf("RATE_LIMITED event (-want +got):\n%s", diff)
	}
	return time.Duration(ms) * time.Millisecond
}
