package ws_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// toolServer is a real HTTP tool endpoint that logs every call.
type toolServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []toolCall
}

type toolCall struct {
	header http.Header
	body   []byte
}

func newToolServer(t *testing.T, status int, body string) *toolServer {
	ts := &toolServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.calls = append(ts.calls, toolCall{header: r.Header.Clone(), body: b})
		ts.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toolServer) Calls() []toolCall {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]toolCall(nil), ts.calls...)
}

const orderSchema = `{"type":"object","properties":{"orderId":{"type":"string"}},"required":["orderId"]}`

// chunks decodes the stream_chunk events of evs.
func chunks(t *testing.T, evs []wstest.Event) []wstest.Envelope[wstest.Chunk] {
	t.Helper()
	var out []wstest.Envelope[wstest.Chunk]
	for _, ev := range evs {
		if ev.Type() == "stream_chunk" {
			out = append(out, wstest.Decode[wstest.Chunk](t, ev))
		}
	}
	return out
}

// toolResult is the tool result a stream_chunk reports; it fails the test for a tool call.
func toolResult(t *testing.T, ch wstest.Envelope[wstest.Chunk]) wstest.ToolResult {
	t.Helper()
	res := ch.Data.State.RawResponse.ToolResult
	if res == nil {
		t.Fatalf("stream_chunk %+v is not a tool result", ch)
	}
	return *res
}

// reply decodes an eventual_response.
func reply(t *testing.T, ev wstest.Event) wstest.Reply {
	t.Helper()
	if ev.Type() != "eventual_response" {
		t.Fatalf("terminal event %s, want eventual_response", ev.Raw)
	}
	return wstest.Decode[wstest.Wrapped[wstest.Reply]](t, ev).Data.Data
}

func TestToolTurnCallsTheToolSignedOrUnsigned(t *testing.T) {
	for _, secret := range []string{"", "tool-secret-0123456789abcdef"} {
		name := "unsigned"
		if secret != "" {
			name = "signed"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fixture.Agent{ToolSecret: secret}, nil)
			ts := newToolServer(t, 200, `{"status":"shipped"}`)
			e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "get_order_status", Parameters: orderSchema, URL: ts.URL})
			e.gw.Push(
				llmtest.ToolCalls(llmtest.Call{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001"}`}).WithUsage(100, 10),
				llmtest.Text("Order A-1001 has shipped.").WithUsage(150, 8),
			)
			c, ack := e.session()
			r := send(t, c, ack.Str("sessionId"), "Where is order A-1001?")
			evs := c.Terminal(r)
			want := []wstest.Envelope[wstest.Chunk]{
				wstest.CallChunk(r, wstest.ToolCall{Name: "get_order_status", Arguments: map[string]any{"orderId": "A-1001"}}),
				wstest.ResultChunk(r, wstest.ToolResult{Name: "get_order_status", Result: `{"status":"shipped"}`}),
			}
			if diff := cmp.Diff(want, chunks(t, evs)); diff != "" {
				t.Fatalf("chunks (-want +got):\n%s", diff)
			}
			u := reply(t, evs[len(evs)-1]).Usage
			if diff := cmp.Diff(wstest.Usage{PromptTokens: 250, CompletionTokens: 18}, u, cmpopts.IgnoreFields(wstest.Usage{}, "CostUSD")); diff != "" {
				t.Fatalf("usage summed over calls (-want +got):\n%s", diff)
			}
			calls := ts.Calls()
			if len(calls) != 1 {
				t.Fatalf("tool calls %d", len(calls))
			}
			var body struct {
				Tool           string          `json:"tool"`
				Arguments      json.RawMessage `json:"arguments"`
				ConversationID string          `json:"conversationId"`
				OrgID          string          `json:"orgId"`
			}
			if err := json.Unmarshal(calls[0].body, &body); err != nil || body.Tool != "get_order_status" || body.ConversationID != ack.Str("conversationId") || body.OrgID != e.org.String() {
				t.Fatalf("tool body %s", calls[0].body)
			}
			sig := calls[0].header.Get("X-Switchboard-Signature")
			if secret == "" && sig != "" {
				t.Fatalf("unsigned call carries %q", sig)
			}
			if secret != "" {
				m := hmac.New(sha256.New, []byte(secret))
				m.Write(calls[0].body)
				if sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
					t.Fatalf("signature %q", sig)
				}
			}
			// The model saw the tool result.
			msgs := e.gw.Request(1).Chat.Messages
			if tm := msgs[len(msgs)-1]; tm.Role != "tool" || tm.Content != `{"status":"shipped"}` || tm.ToolCallID != "call_1" {
				t.Fatalf("tool message %+v", tm)
			}
		})
	}
}

func TestInvalidToolArgumentsNeverCallTheTool(t *testing.T) {
	e := newEnv(t, fixture.Agent{ConfirmTools: []string{"get_*"}}, nil)
	ts := newToolServer(t, 200, "ok")
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "get_order_status", Parameters: orderSchema, URL: ts.URL})
	e.gw.Push(
		llmtest.ToolCalls(
			llmtest.Call{ID: "c1", Name: "get_order_status", Arguments: `[1]`},
			llmtest.Call{ID: "c2", Name: "get_order_status", Arguments: `{"orderId":5}`},
			llmtest.Call{ID: "c3", Name: "no_such_tool", Arguments: `{}`},
		),
		llmtest.Text("Sorry."),
	)
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	ch := chunks(t, evs)
	if len(ch) != 6 {
		t.Fatalf("events %v", types(evs))
	}
	if call := ch[0].Data.State.RawResponse.ToolCall; call == nil || call.Arguments == nil || len(call.Arguments) != 0 {
		t.Fatalf("non-object arguments shown as %+v", call)
	}
	want := []string{"Error: invalid tool arguments", "Error: invalid tool arguments: ", "Error: unknown tool 'no_such_tool'"}
	for i, w := range want {
		if res := toolResult(t, ch[2*i+1]); !res.IsError || !strings.HasPrefix(res.Result, w) {
			t.Fatalf("result %d: %+v, want an error starting %q", i, res, w)
		}
	}
	for _, ev := range evs {
		if ev.Type() == "write_confirmation_required" {
			t.Fatal("invalid arguments parked")
		}
	}
	if len(ts.Calls()) != 0 {
		t.Fatal("tool called")
	}
}

func TestToolErrorsBecomeErrorResults(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	ts := newToolServer(t, 503, "down")
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "flaky", URL: ts.URL})
	e.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "flaky", Arguments: `{}`}), llmtest.Text("It failed."))
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	want := wstest.ToolResult{Name: "flaky", IsError: true, Result: "Error: tool returned HTTP 503"}
	if diff := cmp.Diff(want, toolResult(t, chunks(t, evs)[1])); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
	if msgs := e.gw.Request(1).Chat.Messages; msgs[len(msgs)-1].Content != "Error: tool returned HTTP 503" {
		t.Fatal("the model saw something else than the wire")
	}
}
