package llmtest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// Response is one scripted answer to a /chat/completions request. Build it
// with [Text], [Chunks], [ToolCalls], [InterleavedToolCalls], [Error] or
// [Hang], then refine it with the With* and *After methods, which return a
// modified copy.
//
// A streamed response sends its chunks, a finish chunk, the usage chunk when
// one was set, then "data: [DONE]".
type Response struct {
	status int    // non-zero: a plain HTTP answer with body
	body   string // for status
	hang   bool   // never answer
	header http.Header

	chunks []Chunk
	finish string
	usage  map[string]any
	delay  time.Duration

	end      endMode
	endAfter int

	// gen, when set, makes the chunks lazily: gen(0), gen(1), … up to genN
	// (without end when genN < 0), so a test can stream far more than it
	// could hold. endless sends one data line that never ends.
	gen     func(i int) Chunk
	genN    int
	endless bool

	// holdAfter events are sent, then the stream waits for release to close.
	holdAfter int
	release   <-chan struct{}
}

type endMode int

const (
	endDone   endMode = iota // [DONE], then a clean end of body
	endNoDone                // a clean end of body without [DONE]
	endStall                 // stop sending, keep the connection open
	endBreak                 // drop the connection
)

// Chunk is one streamed chunk's delta (choice 0). Only the non-zero fields
// are sent.
type Chunk struct {
	Content string
	// Reasoning is sent under ReasoningKey, "reasoning_content" when empty.
	Reasoning    string
	ReasoningKey string
	ToolCalls    []ToolCallDelta
	FinishReason string
	// Raw, when set, is sent verbatim as the event's data instead of a
	// generated chunk: use it for malformed or unusual gateway output.
	Raw string
}

// ToolCallDelta is one piece of a streamed tool call. The first piece of a
// call carries ID and Name; later ones only more Arguments at the same
// Index.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// Call is a complete tool call the scripted model asks for.
type Call struct {
	ID        string
	Name      string
	Arguments string
}

// TextDelta is a chunk carrying a piece of reply text.
func TextDelta(s string) Chunk { return Chunk{Content: s} }

// ReasoningDelta is a chunk carrying a piece of reasoning as
// "reasoning_content".
func ReasoningDelta(s string) Chunk { return Chunk{Reasoning: s} }

// ToolDelta is a chunk carrying one tool-call piece.
func ToolDelta(index int, id, name, arguments string) Chunk {
	return Chunk{ToolCalls: []ToolCallDelta{{Index: index, ID: id, Name: name, Arguments: arguments}}}
}

// Raw is a chunk whose data line is exactly data.
func Raw(data string) Chunk { return Chunk{Raw: data} }

// Chunks streams the given chunks, then finishes with "stop".
func Chunks(chunks ...Chunk) Response {
	return Response{chunks: slices.Clone(chunks), finish: "stop"}
}

// Text streams each part as one text delta, then finishes with "stop".
func Text(parts ...string) Response {
	r := Response{finish: "stop"}
	for _, p := range parts {
		r.chunks = append(r.chunks, TextDelta(p))
	}
	return r
}

// ToolCalls streams the calls one after the other, each split across
// several chunks (id and name first, then the arguments a few characters at
// a time), then finishes with "tool_calls". Call i has index i.
func ToolCalls(calls ...Call) Response {
	return Response{chunks: slices.Concat(toolCallPieces(calls)...), finish: "tool_calls"}
}

// InterleavedToolCalls is [ToolCalls] with the pieces of the calls
// interleaved: the first piece of every call, then the second of every
// call, and so on, as gateways do when they stream parallel calls.
func InterleavedToolCalls(calls ...Call) Response {
	return Response{chunks: interleave(toolCallPieces(calls)), finish: "tool_calls"}
}

// Error answers with an HTTP status and a JSON body. An empty body sends an
// OpenAI-shaped error object.
func Error(status int, body string) Response {
	if body == "" {
		body = `{"error":{"message":"llmtest: scripted error","type":"server_error","param":null,"code":null}}`
	}
	return Response{status: status, body: body}
}

// Hang accepts the request and never answers, not even with headers, until
// the client goes away or the gateway is closed.
func Hang() Response { return Response{hang: true} }

// Generated streams n chunks made by chunk(0) … chunk(n-1) as they are
// sent, never held together, then finishes with "stop" (change it with
// WithFinish; usage and the end modes apply as usual). With n < 0 it never
// stops sending until the client goes away or the gateway closes. For
// hostile gateways: a reply of 100 MB, 10,000 tool calls, a stream without
// end.
func Generated(n int, chunk func(i int) Chunk) Response {
	return Response{gen: chunk, genN: n, finish: "stop"}
}

// EndlessLine answers 200 with an event stream whose first line, "data: "
// followed by bytes, never ends, until the client goes away or the gateway
// closes.
func EndlessLine() Response { return Response{endless: true} }

// WithReasoning puts a reasoning_content delta for each part before the
// response's other chunks.
func (r Response) WithReasoning(parts ...string) Response {
	r = r.clone()
	pre := make([]Chunk, 0, len(parts))
	for _, p := range parts {
		pre = append(pre, ReasoningDelta(p))
	}
	r.chunks = append(pre, r.chunks...)
	return r
}

// WithToolCalls appends the calls (as in [ToolCalls], numbered from 0) and
// makes the finish reason "tool_calls".
func (r Response) WithToolCalls(calls ...Call) Response {
	r = r.clone()
	r.chunks = append(r.chunks, slices.Concat(toolCallPieces(calls)...)...)
	r.finish = "tool_calls"
	return r
}

// WithFinish sets the finish reason of the final chunk; "" sends no finish
// chunk at all.
func (r Response) WithFinish(reason string) Response {
	r.finish = reason
	return r
}

// WithUsage adds the usage chunk (choices: [] and a usage object), as a
// gateway does when asked for stream_options.include_usage.
func (r Response) WithUsage(promptTokens, completionTokens int64) Response {
	r = r.clone()
	if r.usage == nil {
		r.usage = map[string]any{}
	}
	r.usage["prompt_tokens"] = promptTokens
	r.usage["completion_tokens"] = completionTokens
	r.usage["total_tokens"] = promptTokens + completionTokens
	return r
}

// WithCost adds "cost": usd to the usage object (adding a zero usage chunk
// if there was none).
func (r Response) WithCost(usd float64) Response { return r.WithUsageField("cost", usd) }

// WithUsageField sets any key of the usage object, such as "cost_usd".
func (r Response) WithUsageField(key string, value any) Response {
	if r.usage == nil {
		r = r.WithUsage(0, 0)
	}
	r = r.clone()
	r.usage[key] = value
	return r
}

// WithDelay waits d before each chunk.
func (r Response) WithDelay(d time.Duration) Response {
	r.delay = d
	return r
}

// WithHeader adds a response header.
func (r Response) WithHeader(key, value string) Response {
	r = r.clone()
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Add(key, value)
	return r
}

// StallAfter sends the first n data events (chunks, finish and usage
// chunks count; n may be 0, and n past the last event stalls before
// "[DONE]"), then stops sending and keeps the connection open until the
// client goes away or the gateway is closed.
func (r Response) StallAfter(n int) Response {
	r.end, r.endAfter = endStall, n
	return r
}

// HoldAfter sends the first n data events (counted as in StallAfter), then waits until
// release is closed (or the client goes away, or the gateway closes) before it sends the
// rest: a test can look at a turn mid-stream and then let it finish.
func (r Response) HoldAfter(n int, release <-chan struct{}) Response {
	r.holdAfter, r.release = n, release
	return r
}

// BreakAfter sends the first n data events (counted as in StallAfter),
// then drops the connection without "[DONE]" or a proper end of the HTTP
// body.
func (r Response) BreakAfter(n int) Response {
	r.end, r.endAfter = endBreak, n
	return r
}

// WithoutDone ends the body cleanly after the last event but never sends
// "data: [DONE]".
func (r Response) WithoutDone() Response {
	r.end = endNoDone
	return r
}

func (r Response) clone() Response {
	r.chunks = slices.Clone(r.chunks)
	r.usage = maps.Clone(r.usage)
	r.header = r.header.Clone()
	return r
}

// events renders the data payloads of a streamed response that is not
// generated: its chunks, then the finish and usage chunks.
func (r Response) events(id, model string) [][]byte {
	rd := &renderer{id: id, model: model}
	out := make([][]byte, 0, len(r.chunks)+2)
	for _, c := range r.chunks {
		out = append(out, rd.event(c))
	}
	return append(out, r.tail(rd)...)
}

// tail renders the finish chunk and the usage chunk, when the response has them.
func (r Response) tail(rd *renderer) [][]byte {
	var out [][]byte
	if r.finish != "" {
		out = append(out, rd.chunk(rd.choice(rd.delta(Chunk{}), r.finish), nil))
	}
	if r.usage != nil {
		out = append(out, rd.chunk([]any{}, r.usage))
	}
	return out
}

// renderer renders the chunks of one streamed response; only the first
// delta carries the role.
type renderer struct {
	id, model string
	started   bool
}

// event is the data payload for c.
func (rd *renderer) event(c Chunk) []byte {
	if c.Raw != "" {
		return []byte(c.Raw)
	}
	return rd.chunk(rd.choice(rd.delta(c), c.FinishReason), nil)
}

func (rd *renderer) chunk(choices []any, usage map[string]any) []byte {
	m := map[string]any{
		"id":      rd.id,
		"object":  "chat.completion.chunk",
		"created": 1767225600,
		"model":   rd.model,
		"choices": choices,
	}
	if usage != nil {
		m["usage"] = usage
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("llmtest: cannot encode chunk: " + err.Error())
	}
	return b
}

func (rd *renderer) choice(delta map[string]any, finish string) []any {
	var fr any
	if finish != "" {
		fr = finish
	}
	return []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fr, "logprobs": nil}}
}

func (rd *renderer) delta(c Chunk) map[string]any {
	d := map[string]any{}
	if !rd.started {
		d["role"] = "assistant"
		rd.started = true
	}
	if c.Content != "" {
		d["content"] = c.Content
	}
	if c.Reasoning != "" {
		key := c.ReasoningKey
		if key == "" {
			key = "reasoning_content"
		}
		d[key] = c.Reasoning
	}
	if len(c.ToolCalls) > 0 {
		var calls []any
		for _, tc := range c.ToolCalls {
			call := map[string]any{"index": tc.Index}
			fn := map[string]any{"arguments": tc.Arguments}
			if tc.ID != "" {
				call["id"], call["type"] = tc.ID, "function"
			}
			if tc.Name != "" {
				fn["name"] = tc.Name
			}
			call["function"] = fn
			calls = append(calls, call)
		}
		d["tool_calls"] = calls
	}
	return d
}

// argPiece is how many characters of arguments each tool-call chunk
// carries: small enough that every call is split.
const argPiece = 7

func toolCallPieces(calls []Call) [][]Chunk {
	out := make([][]Chunk, len(calls))
	for i, c := range calls {
		pieces := []Chunk{ToolDelta(i, c.ID, c.Name, "")}
		for _, a := range splitRunes(c.Arguments, argPiece) {
			pieces = append(pieces, ToolDelta(i, "", "", a))
		}
		out[i] = pieces
	}
	return out
}

func interleave(lists [][]Chunk) []Chunk {
	var out []Chunk
	for round := 0; ; round++ {
		added := false
		for _, l := range lists {
			if round < len(l) {
				out = append(out, l[round])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// splitRunes cuts s into pieces of at most n characters, never inside a
// character (a JSON string cannot carry half of one).
func splitRunes(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		i, count := 0, 0
		for i < len(s) && count < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			count++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
