package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard-dev/switchboard/internal/jsonenc"
)

// Role is the author of a [Message].
type Role string

// The roles a conversation sent to the gateway can hold.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of the conversation sent to the model.
//
// Content is the text of a system, user or assistant message, or the result
// of a tool call for RoleTool. ToolCalls is set only on assistant messages
// that asked for tools; ToolCallID only on RoleTool messages, naming the call
// the result answers.
type Message struct {
	Role       Role
	Content    string
	ToolCalls  []ToolCall
	ToolCallID string
}

// System returns a system message.
func System(text string) Message { return Message{Role: RoleSystem, Content: text} }

// User returns a user message.
func User(text string) Message { return Message{Role: RoleUser, Content: text} }

// Assistant returns an assistant message: its text, and the tool calls it
// asked for when it asked for any.
func Assistant(text string, calls ...ToolCall) Message {
	return Message{Role: RoleAssistant, Content: text, ToolCalls: calls}
}

// ToolResult returns the message that hands the result of the tool call
// callID back to the model.
func ToolResult(callID, result string) Message {
	return Message{Role: RoleTool, Content: result, ToolCallID: callID}
}

// ToolCall is one tool call requested by the model.
type ToolCall struct {
	// ID is the gateway's call id, to be echoed in the tool result message.
	ID string
	// Name is the tool's name as the model wrote it, made safe to echo and
	// store: invalid UTF-8 and U+0000 become U+FFFD, and a name over 256 bytes
	// (which names no tool) is cut with "…" appended.
	Name string
	// Arguments is the model's raw argument text. It is meant to be a JSON
	// object but nothing here checks that (PROTOCOL §7.4 is the engine's).
	Arguments string
	// ArgumentsTooLong is set when the argument text exceeded
	// Limits.ArgumentBytes: it was dropped unread, and Arguments is "{}".
	ArgumentsTooLong bool
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON schema of the arguments; nil sends no schema.
	Parameters json.RawMessage
}

// Request is one streaming call to /chat/completions.
type Request struct {
	Model    string
	Messages []Message
	// Tools offered to the model; none are sent when empty.
	Tools []Tool
	// MaxTokens is sent as max_tokens when positive and not sent at all
	// otherwise. (OpenAI's own o-series models refuse max_tokens and want
	// max_completion_tokens; most other gateways accept max_tokens.)
	MaxTokens int64
}

var errNoModel = errors.New("request has no model")

// body returns the JSON body of the streaming /chat/completions call for r,
// the request openai-go would marshal from the params of
// params_internal_test.go. It is appended by hand because every model call
// re-sends the whole history, and openai-go's reflection-based marshalling
// of it showed in profiles. Errors mean the request is malformed (a bug in
// the caller), never a gateway problem.
func (r Request) body() ([]byte, error) {
	if r.Model == "" {
		return nil, errNoModel
	}
	b := make([]byte, 0, r.bodySize())
	b = append(b, `{"model":`...)
	b = jsonenc.AppendString(b, r.Model)
	// NewStreaming sets "stream" again with sjson, which stops at the first
	// match: near the front, it is found without scanning the history.
	b = append(b, `,"stream":true`...)
	// The usage chunk is the only place the gateway reports tokens and cost
	// of a streamed call.
	b = append(b, `,"stream_options":{"include_usage":true}`...)
	if r.MaxTokens > 0 {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, r.MaxTokens, 10)
	}
	b = append(b, `,"messages":[`...)
	for i, m := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = m.appendJSON(b); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	b = append(b, ']')
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = t.appendJSON(b); err != nil {
				return nil, fmt.Errorf("tool %q: %w", t.Name, err)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// bodySize is a generous estimate of len(r.body()), so that the body takes
// one allocation. Escapes are rare in text and common in the JSON that tool
// results and arguments carry, hence the different slack.
func (r Request) bodySize() int {
	n := 128 + len(r.Model)
	for _, m := range r.Messages {
		c := len(m.Content)
		if m.Role == RoleTool {
			c += c / 4
		} else {
			c += c / 16
		}
		n += 48 + c + len(m.ToolCallID)
		for _, tc := range m.ToolCalls {
			n += 72 + len(tc.ID) + len(tc.Name) + len(tc.Arguments) + len(tc.Arguments)/4
		}
	}
	for _, t := range r.Tools {
		n += 80 + len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	return n
}

// appendJSON appends m in the shape gateways expect for its role.
func (m Message) appendJSON(b []byte) ([]byte, error) {
	switch m.Role {
	case RoleSystem, RoleUser:
		b = append(b, `{"role":"`...)
		b = append(b, m.Role...)
		b = append(b, `","content":`...)
		b = jsonenc.AppendString(b, m.Content)
	case RoleTool:
		if m.ToolCallID == "" {
			return b, errors.New("tool result without tool call id")
		}
		b = append(b, `{"role":"tool","content":`...)
		b = jsonenc.AppendString(b, m.Content)
		b = append(b, `,"tool_call_id":`...)
		b = jsonenc.AppendString(b, m.ToolCallID)
	case RoleAssistant:
		b = append(b, `{"role":"assistant"`...)
		// An assistant turn that only called tools has no content, and
		// gateways expect the key to be absent rather than "".
		if m.Content != "" || len(m.ToolCalls) == 0 {
			b = append(b, `,"content":`...)
			b = jsonenc.AppendString(b, m.Content)
		}
		if len(m.ToolCalls) > 0 {
			b = append(b, `,"tool_calls":[`...)
			for i, c := range m.ToolCalls {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = jsonenc.AppendString(b, c.ID)
				b = append(b, `,"type":"function"`...)
				// openai-go leaves out a function with neither name nor
				// arguments (a zero struct); so does this, to keep the wire
				// as it was.
				if c.Name != "" || c.Arguments != "" {
					b = append(b, `,"function":{"name":`...)
					b = jsonenc.AppendString(b, c.Name)
					b = append(b, `,"arguments":`...)
					b = jsonenc.AppendString(b, c.Arguments)
					b = append(b, '}')
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	default:
		return b, fmt.Errorf("unknown role %q", m.Role)
	}
	return append(b, '}'), nil
}

// appendJSON appends t as a function tool.
func (t Tool) appendJSON(b []byte) ([]byte, error) {
	if t.Name == "" {
		return b, errors.New("tool has no name")
	}
	b = append(b, `{"type":"function","function":{"name":`...)
	b = jsonenc.AppendString(b, t.Name)
	if t.Description != "" {
		b = append(b, `,"description":`...)
		b = jsonenc.AppendString(b, t.Description)
	}
	if len(bytes.TrimSpace(t.Parameters)) > 0 {
		b = append(b, `,"parameters":`...)
		var err error
		if b, err = appendSchema(b, t.Parameters); err != nil {
			return b, err
		}
	}
	return append(b, "}}"...), nil
}

// appendSchema appends schema compacted, and fails unless it is a JSON
// object. It is not decoded: that could reorder its keys or round a large
// integer.
func appendSchema(b []byte, schema json.RawMessage) ([]byte, error) {
	start := len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, schema); err != nil {
		return b, fmt.Errorf("parameters are not a JSON object: %w", err)
	}
	b = buf.Bytes()
	if b[start] != '{' {
		// Valid JSON of another kind: json.Unmarshal names the kind.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(schema, &m); err != nil {
			return b, fmt.Errorf("parameters are not a JSON object: %w", err)
		}
		return b, errors.New("parameters are not a JSON object: null")
	}
	return b, nil
}
