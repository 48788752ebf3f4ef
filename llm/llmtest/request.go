package llmtest

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Request is one request the gateway received, as logged. Treat it as
// read-only.
type Request struct {
	Method string
	Path   string
	// Header holds the request headers, Authorization included.
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Fields maps each top-level key of the JSON body to its raw value, for
	// presence checks: _, sent := req.Fields["max_tokens"].
	Fields map[string]json.RawMessage
	// Chat is the body decoded as a chat completion request (zero when the
	// body is not JSON).
	Chat ChatRequest
}

// ChatRequest is the part of a /chat/completions body tests assert on.
type ChatRequest struct {
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	Tools         []Tool         `json:"tools"`
	MaxTokens     *int64         `json:"max_tokens"`
	Stream        bool           `json:"stream"`
	StreamOptions *StreamOptions `json:"stream_options"`
}

// StreamOptions is the request's stream_options object.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one message of a request.
type Message struct {
	Role string
	// Content is the message text: the string content, or the text parts of
	// an array content joined together.
	Content string
	// RawContent is the content as sent; nil when the key was absent.
	RawContent json.RawMessage
	ToolCalls  []Call
	ToolCallID string
}

// UnmarshalJSON flattens the OpenAI message shape.
func (m *Message) UnmarshalJSON(data []byte) error {
	var w struct {
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		ToolCalls []struct {
			ID       string `json:"id"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
		ToolCallID string `json:"tool_call_id"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*m = Message{Role: w.Role, RawContent: w.Content, ToolCallID: w.ToolCallID}
	m.Content = contentText(w.Content)
	for _, c := range w.ToolCalls {
		m.ToolCalls = append(m.ToolCalls, Call{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
	}
	return nil
}

func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Tool is one function tool offered in a request.
type Tool struct {
	Type        string
	Name        string
	Description string
	// Parameters is the schema as sent; nil when absent.
	Parameters json.RawMessage
}

// UnmarshalJSON flattens {"type":"function","function":{...}}.
func (t *Tool) UnmarshalJSON(data []byte) error {
	var w struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*t = Tool{Type: w.Type, Name: w.Function.Name, Description: w.Function.Description, Parameters: w.Function.Parameters}
	return nil
}

func newRequest(r *http.Request, body []byte) Request {
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if json.Unmarshal(body, &req.Fields) == nil {
		// A body that is JSON but not a chat request leaves Chat partly
		// filled; Fields and Body still say what arrived.
		_ = json.Unmarshal(body, &req.Chat)
	}
	return req
}
