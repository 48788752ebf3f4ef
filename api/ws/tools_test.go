package ws_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

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

// chunks returns the stream_chunk events of evs as (kind, state) pairs.
func chunks(evs []wstest.Event) []map[string]any {
	var out []map[string]any
	for _, ev := range evs {
		if ev.Type() == "stream_chunk" {
			out = append(out, ev.Data()["state"].(map[string]any)["rawResponse"].(map[string]any))
		}
	}
	return out
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
			ch := chunks(evs)
			if len(ch) != 2 {
				t.Fatalf("chunks %v", types(evs))
			}
			call, res := ch[0]["toolCall"].(map[string]any), ch[1]["toolResult"].(map[string]any)
			if call["name"] != "get_order_status" || call["arguments"].(map[string]any)["orderId"] != "A-1001" ||
				res["isError"] != false || res["result"] != `{"status":"shipped"}` {
				t.Fatalf("chunks %v", ch)
			}
			for _, ev := range evs {
				if ev.Type() == "stream_chunk" && (ev.Fields["node"] != "get_order_status" || ev.Data()["node"] != "get_order_status") {
					t.Fatalf("node %s", ev.Raw)
				}
			}
			last := evs[len(evs)-1]
			if u := last.Inner()["usage"].(map[string]any); u["promptTokens"] != float64(250) || u["completionTokens"] != float64(18) {
				t.Fatalf("usage summed over calls: %v", u)
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
	ch := chunks(evs)
	if len(ch) != 6 {
		t.Fatalf("events %v", types(evs))
	}
	if args := ch[0]["toolCall"].(map[string]any)["arguments"].(map[string]any); len(args) != 0 {
		t.Fatalf("non-object arguments shown as %v", args)
	}
	want := []string{"Error: invalid tool arguments", "Error: invalid tool arguments: ", "Error: unknown tool 'no_such_tool'"}
	for i, w := range want {
		res := ch[2*i+1]["toolResult"].(map[string]any)
		if res["isError"] != true || len(res["result"].(string)) < len(w) || res["result"].(string)[:len(w)] != w {
			t.Fatalf("result %d: %v", i, res)
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
	res := chunks(evs)[1]["toolResult"].(map[string]any)
	if res["isError"] != true || res["result"] != "Error: tool returned HTTP 503" {
		t.Fatalf("result %v", res)
	}
	if msgs := e.gw.Request(1).Chat.Messages; msgs[len(msgs)-1].Content != "Error: tool returned HTTP 503" {
		t.Fatal("the model saw something else than the wire")
	}
}
