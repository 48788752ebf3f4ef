package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

const testKey = "sk-test-0123456789abcdef"

// event is one handler call, in order.
type event struct {
	kind  string // "text" or "reasoning"
	token string
}

type recorder struct{ events []event }

func (r *recorder) handler() llm.Handler {
	return llm.Handler{
		OnText:      func(t string) { r.events = append(r.events, event{"text", t}) },
		OnReasoning: func(t string) { r.events = append(r.events, event{"reasoning", t}) },
	}
}

func (r *recorder) tokens(kind string) []string {
	var out []string
	for _, e := range r.events {
		if e.kind == kind {
			out = append(out, e.token)
		}
	}
	return out
}

func newClient(t *testing.T, baseURL string, stall time.Duration) *llm.Client {
	t.Helper()
	c, err := llm.New(llm.Config{BaseURL: baseURL, APIKey: testKey, StallTimeout: stall})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func simpleRequest() llm.Request {
	return llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{llm.User("What are your hours?")}}
}

// stream runs one call against a gateway scripted with resp.
func stream(t *testing.T, resp llmtest.Response) (llm.Result, *recorder, *llmtest.Gateway, error) {
	t.Helper()
	gw := llmtest.New(t)
	gw.Push(resp)
	rec := &recorder{}
	res, err := newClient(t, gw.BaseURL(), 5*time.Second).Stream(context.Background(), simpleRequest(), rec.handler())
	return res, rec, gw, err
}

func gatewayError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e
}

func TestPlainTextStreamWithUsage(t *testing.T) {
	res, rec, gw, err := stream(t, llmtest.Text("We're open ", "9–5, Monday to Friday.").WithUsage(412, 11))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.tokens("text"), []string{"We're open ", "9–5, Monday to Friday."}; !reflect.DeepEqual(got, want) {
		t.Errorf("tokens = %q, want %q", got, want)
	}
	if res.Text != "We're open 9–5, Monday to Friday." {
		t.Errorf("Text = %q", res.Text)
	}
	if res.FinishReason != "stop" || len(res.ToolCalls) != 0 {
		t.Errorf("FinishReason = %q, ToolCalls = %v", res.FinishReason, res.ToolCalls)
	}
	want := llm.Usage{PromptTokens: 412, CompletionTokens: 11, Reported: true}
	if res.Usage != want {
		t.Errorf("Usage = %+v, want %+v", res.Usage, want)
	}
	if gw.RequestCount() != 1 {
		t.Errorf("%d requests, want 1", gw.RequestCount())
	}
}

func TestGatewayReportedCost(t *testing.T) {
	cases := []struct {
		name     string
		resp     llmtest.Response
		cost     float64
		reported bool
	}{
		{"cost", llmtest.Text("hi").WithUsage(10, 2).WithCost(0.000431), 0.000431, true},
		{"cost_usd", llmtest.Text("hi").WithUsage(10, 2).WithUsageField("cost_usd", 0.5), 0.5, true},
		{"cost wins over cost_usd", llmtest.Text("hi").WithUsage(10, 2).WithCost(0.1).WithUsageField("cost_usd", 0.2), 0.1, true},
		{"numeric string", llmtest.Text("hi").WithUsage(10, 2).WithCost(0).WithUsageField("cost", "0.25"), 0.25, true},
		{"rounded to 10 decimals", llmtest.Text("hi").WithUsage(10, 2).WithCost(0.123456789012345), 0.123456789, true},
		{"negative is ignored", llmtest.Text("hi").WithUsage(10, 2).WithCost(-1), 0, false},
		{"no cost", llmtest.Text("hi").WithUsage(10, 2), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, _, err := stream(t, tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			if res.Usage.CostUSD != tc.cost || res.Usage.CostReported != tc.reported {
				t.Errorf("cost = %v reported %v, want %v reported %v", res.Usage.CostUSD, res.Usage.CostReported, tc.cost, tc.reported)
			}
			if !res.Usage.Reported || res.Usage.PromptTokens != 10 || res.Usage.CompletionTokens != 2 {
				t.Errorf("Usage = %+v", res.Usage)
			}
		})
	}
}

func TestReasoningDeltasArriveInStreamOrderAndStayOutOfText(t *testing.T) {
	res, rec, _, err := stream(t, llmtest.Chunks(
		llmtest.ReasoningDelta("The user asks "),
		llmtest.Chunk{Reasoning: "about hours.", ReasoningKey: "reasoning"},
		llmtest.TextDelta("We're open"),
		// Gateways in transition send both keys with the same text.
		llmtest.Raw(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":" Both.","reasoning":" Both."},"finish_reason":null}]}`),
		llmtest.Chunk{Reasoning: ""}, // a delta with nothing in it
		llmtest.TextDelta(" 9–5."),
	))
	if err != nil {
		t.Fatal(err)
	}
	want := []event{
		{"reasoning", "The user asks "},
		{"reasoning", "about hours."},
		{"text", "We're open"},
		{"reasoning", " Both."},
		{"text", " 9–5."},
	}
	if !reflect.DeepEqual(rec.events, want) {
		t.Errorf("events = %q, want %q", rec.events, want)
	}
	if res.Text != "We're open 9–5." {
		t.Errorf("Text = %q, want only the reply", res.Text)
	}
}

func TestToolCallDeltasAreReassembled(t *testing.T) {
	order := llmtest.Call{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001","verbose":true}`}
	weather := llmtest.Call{ID: "call_2", Name: "get_weather", Arguments: `{"city":"Zürich","unit":"celsius"}`}
	want := []llm.ToolCall{
		{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001","verbose":true}`},
		{ID: "call_2", Name: "get_weather", Arguments: `{"city":"Zürich","unit":"celsius"}`},
	}
	cases := []struct {
		name string
		resp llmtest.Response
		want []llm.ToolCall
		text string
	}{
		{"one call split across chunks", llmtest.ToolCalls(order), want[:1], ""},
		{"two calls in sequence", llmtest.ToolCalls(order, weather), want, ""},
		{"two calls interleaved by index", llmtest.InterleavedToolCalls(order, weather), want, ""},
		{"text before the calls", llmtest.Text("Let me check.").WithToolCalls(order, weather), want, "Let me check."},
		{"index order wins over arrival order", llmtest.Chunks(
			llmtest.ToolDelta(1, "call_2", "get_weather", `{"city":`),
			llmtest.ToolDelta(0, "call_1", "get_order_status", `{"orderId":`),
			llmtest.ToolDelta(1, "", "", `"Zürich","unit":"celsius"}`),
			llmtest.ToolDelta(0, "", "", `"A-1001","verbose":true}`),
		).WithFinish("tool_calls"), want, ""},
		{"calls sharing index 0 are told apart by id", llmtest.Chunks(
			llmtest.ToolDelta(0, "call_1", "get_order_status", `{"orderId":"A-1001",`),
			llmtest.ToolDelta(0, "", "", `"verbose":true}`),
			llmtest.ToolDelta(0, "call_2", "get_weather", `{"city":"Zürich","unit":"celsius"}`),
		).WithFinish("tool_calls"), want, ""},
		{"index -1 is index 0", llmtest.Chunks(
			llmtest.ToolDelta(-1, "call_1", "get_order_status", `{"orderId":"A-1001",`),
			llmtest.ToolDelta(-1, "", "", `"verbose":true}`),
		).WithFinish("tool_calls"), want[:1], ""},
		{"missing id gets a stable one", llmtest.Chunks(
			llmtest.ToolDelta(0, "", "get_order_status", `{"orderId":"A-1001","verbose":true}`),
		).WithFinish("tool_calls"), []llm.ToolCall{{ID: "call_0", Name: "get_order_status", Arguments: `{"orderId":"A-1001","verbose":true}`}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, rec, _, err := stream(t, tc.resp.WithUsage(100, 20))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.ToolCalls, tc.want) {
				t.Errorf("ToolCalls = %+v\nwant        %+v", res.ToolCalls, tc.want)
			}
			if res.FinishReason != "tool_calls" {
				t.Errorf("FinishReason = %q", res.FinishReason)
			}
			if res.Text != tc.text || strings.Join(rec.tokens("text"), "") != tc.text {
				t.Errorf("Text = %q, tokens %q, want %q", res.Text, rec.tokens("text"), tc.text)
			}
		})
	}
}

func TestGatewayHTTPErrors(t *testing.T) {
	cases := []struct {
		name   string
		resp   llmtest.Response
		status int
	}{
		{"500", llmtest.Error(500, ""), 500},
		{"401 echoing the key", llmtest.Error(401, `{"error":{"message":"Incorrect API key provided: `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`), 401},
		{"429", llmtest.Error(429, "").WithHeader("Retry-After", "0"), 429},
		{"502 with an HTML body", llmtest.Error(502, "<html><body>Bad gateway from the proxy</body></html>").WithHeader("Content-Type", "text/html"), 502},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, rec, gw, err := stream(t, tc.resp)
			e := gatewayError(t, err)
			if want := "model gateway error (HTTP " + strconv.Itoa(tc.status) + ")"; e.Message() != want {
				t.Errorf("Message() = %q, want %q", e.Message(), want)
			}
			if e.Kind != llm.KindStatus || e.Status != tc.status {
				t.Errorf("Kind %v Status %d", e.Kind, e.Status)
			}
			if strings.Contains(e.Error(), testKey) {
				t.Errorf("Error() leaks the key: %s", e.Error())
			}
			if gw.RequestCount() != 1 {
				t.Errorf("%d requests, want exactly 1 (no retries)", gw.RequestCount())
			}
			if len(rec.events) != 0 || res.Usage != (llm.Usage{}) {
				t.Errorf("events %v, usage %+v: want none for a refused call", rec.events, res.Usage)
			}
		})
	}
}

func TestGatewayErrorKeepsCauseForTheLog(t *testing.T) {
	_, _, _, err := stream(t, llmtest.Error(401, `{"error":{"message":"Incorrect API key provided: `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`))
	e := gatewayError(t, err)
	if !strings.Contains(e.Error(), "invalid_api_key") || !strings.Contains(e.Error(), "[REDACTED]") {
		t.Errorf("Error() = %q, want the gateway's code with the key redacted", e.Error())
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("cause is not the openai error: %v", err)
	}
	if strings.Contains(e.Message(), "Incorrect") {
		t.Errorf("Message() leaks the gateway body: %q", e.Message())
	}
}

func TestUnreachableGateway(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	c := newClient(t, "http://"+addr+"/v1", 5*time.Second)
	rec := &recorder{}
	res, err := c.Stream(context.Background(), simpleRequest(), rec.handler())
	e := gatewayError(t, err)
	if e.Message() != "model gateway unreachable" || e.Kind != llm.KindUnreachable {
		t.Errorf("Message() = %q (kind %v)", e.Message(), e.Kind)
	}
	if strings.Contains(e.Message(), addr) {
		t.Errorf("Message() leaks the URL: %q", e.Message())
	}
	if res.Usage != (llm.Usage{}) {
		t.Errorf("Usage = %+v, want zero: nothing reached a model", res.Usage)
	}
}

func TestStalledGatewayTimesOut(t *testing.T) {
	cases := []struct {
		name   string
		resp   llmtest.Response
		tokens []string
	}{
		{"stalls after the first token", llmtest.Text("Here are", " your orders").StallAfter(1), []string{"Here are"}},
		{"stalls right after the headers", llmtest.Text("never").StallAfter(0), nil},
		{"never answers", llmtest.Hang(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := llmtest.New(t)
			gw.Push(tc.resp)
			rec := &recorder{}
			start := time.Now()
			_, err := newClient(t, gw.BaseURL(), 150*time.Millisecond).Stream(context.Background(), simpleRequest(), rec.handler())
			e := gatewayError(t, err)
			if e.Message() != "model gateway timed out" || e.Kind != llm.KindTimeout {
				t.Errorf("Message() = %q (kind %v), cause %v", e.Message(), e.Kind, err)
			}
			if errors.Is(err, context.Canceled) {
				t.Error("a stall must not look like a cancellation")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s with a 150ms stall timeout", d)
			}
			if got := rec.tokens("text"); !reflect.DeepEqual(got, tc.tokens) {
				t.Errorf("tokens = %q, want %q", got, tc.tokens)
			}
		})
	}
}

func TestOnWaitRunsBeforeEveryWaitForTheGateway(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("Here are", " your", " orders").StallAfter(2))
	var mu sync.Mutex
	var events []string
	tokens := 0
	waitedAfterBoth := make(chan struct{})
	h := llm.Handler{
		OnText: func(tok string) { mu.Lock(); events, tokens = append(events, tok), tokens+1; mu.Unlock() },
		OnWait: func() {
			mu.Lock()
			defer mu.Unlock()
			if tokens == 2 && events[len(events)-1] != "wait" {
				close(waitedAfterBoth)
			}
			events = append(events, "wait")
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = newClient(t, gw.BaseURL(), time.Minute).Stream(ctx, simpleRequest(), h)
	}()
	// The gateway sent two tokens and stalls: Stream waits, and said so after delivering both.
	select {
	case <-waitedAfterBoth:
	case <-time.After(10 * time.Second):
		mu.Lock()
		t.Errorf("no OnWait after the delivered tokens while the gateway stalls: %q", events)
		mu.Unlock()
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if events[0] != "wait" {
		t.Errorf("events %q: Stream waited for the first bytes without OnWait", events)
	}
}

func TestSlowGatewayWithinStallTimeoutSucceeds(t *testing.T) {
	gw := llmtest.New(t)
	// Total time far above the stall timeout, but never silent for long.
	gw.Push(llmtest.Text("a", "b", "c", "d", "e", "f").WithDelay(40 * time.Millisecond))
	res, err := newClient(t, gw.BaseURL(), 200*time.Millisecond).Stream(context.Background(), simpleRequest(), llm.Handler{})
	if err != nil || res.Text != "abcdef" {
		t.Fatalf("Text %q, err %v", res.Text, err)
	}
}

func TestTimeInHandlerIsNotAStall(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("a", "b"))
	slow := llm.Handler{OnText: func(string) { time.Sleep(300 * time.Millisecond) }}
	res, err := newClient(t, gw.BaseURL(), 100*time.Millisecond).Stream(context.Background(), simpleRequest(), slow)
	if err != nil || res.Text != "ab" {
		t.Fatalf("Text %q, err %v", res.Text, err)
	}
}

func TestBrokenStreamIsInterrupted(t *testing.T) {
	cases := []struct {
		name   string
		resp   llmtest.Response
		tokens []string
	}{
		{"connection dropped mid-stream", llmtest.Text("Here are your last", " three orders").BreakAfter(1), []string{"Here are your last"}},
		{"connection dropped before any chunk", llmtest.Text("never").BreakAfter(0), nil},
		{"body ends without finish or [DONE]", llmtest.Text("Here are your last").WithFinish("").WithoutDone(), []string{"Here are your last"}},
		{"error event mid-stream", llmtest.Chunks(llmtest.TextDelta("Here"), llmtest.Raw(`{"error":{"message":"upstream overloaded","code":502}}`)), []string{"Here"}},
		{"chunk that is not JSON", llmtest.Chunks(llmtest.TextDelta("Here"), llmtest.Raw(`{not json`)), []string{"Here"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, rec, _, err := stream(t, tc.resp)
			e := gatewayError(t, err)
			if e.Message() != "model stream interrupted" || e.Kind != llm.KindInterrupted {
				t.Errorf("Message() = %q (kind %v), cause %v", e.Message(), e.Kind, err)
			}
			if got := rec.tokens("text"); !reflect.DeepEqual(got, tc.tokens) {
				t.Errorf("tokens = %q, want %q", got, tc.tokens)
			}
			if res.Text != strings.Join(tc.tokens, "") {
				t.Errorf("Text = %q", res.Text)
			}
			if !res.Usage.Estimated || res.Usage.Reported {
				t.Errorf("Usage = %+v, want an estimate: the gateway answered but reported nothing", res.Usage)
			}
		})
	}
}

func TestMissingDoneAfterFinishIsAccepted(t *testing.T) {
	res, _, _, err := stream(t, llmtest.Text("ok").WithUsage(3, 1).WithoutDone())
	if err != nil || res.Text != "ok" || !res.Usage.Reported {
		t.Fatalf("Text %q, usage %+v, err %v", res.Text, res.Usage, err)
	}
}

func TestCancelMidStream(t *testing.T) {
	t.Run("cancel from the handler stops delivery at once", func(t *testing.T) {
		gw := llmtest.New(t)
		// All three tokens arrive in one burst, so only the cancel check
		// keeps the second and third from being delivered.
		gw.Push(llmtest.Text("one ", "two ", "three"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got []string
		h := llm.Handler{OnText: func(tok string) { got = append(got, tok); cancel() }}
		res, err := newClient(t, gw.BaseURL(), 5*time.Second).Stream(ctx, simpleRequest(), h)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var e *llm.Error
		if errors.As(err, &e) {
			t.Errorf("a cancellation must not be an *llm.Error (%q)", e.Message())
		}
		if !reflect.DeepEqual(got, []string{"one "}) || res.Text != "one " {
			t.Errorf("tokens %q, Text %q: want only the first", got, res.Text)
		}
		if !res.Usage.Estimated {
			t.Errorf("Usage = %+v, want estimated for a cancelled call", res.Usage)
		}
	})

	t.Run("cancel from elsewhere while the gateway stalls", func(t *testing.T) {
		gw := llmtest.New(t)
		gw.Push(llmtest.Text("one ", "two").StallAfter(1))
		stop := errors.New("visitor pressed stop")
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		first := make(chan struct{})
		var got []string
		h := llm.Handler{OnText: func(tok string) {
			got = append(got, tok)
			if len(got) == 1 {
				close(first)
			}
		}}
		go func() {
			<-first
			cancel(stop)
		}()
		_, err := newClient(t, gw.BaseURL(), 5*time.Second).Stream(ctx, simpleRequest(), h)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, stop) {
			t.Fatalf("err = %v, want context.Canceled and the cause", err)
		}
		if !reflect.DeepEqual(got, []string{"one "}) {
			t.Errorf("tokens %q", got)
		}
	})

	t.Run("already cancelled makes no request", func(t *testing.T) {
		gw := llmtest.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newClient(t, gw.BaseURL(), 5*time.Second).Stream(ctx, simpleRequest(), llm.Handler{})
		if !errors.Is(err, context.Canceled) || gw.RequestCount() != 0 {
			t.Fatalf("err %v, %d requests", err, gw.RequestCount())
		}
	})

	t.Run("deadline is a timeout", func(t *testing.T) {
		gw := llmtest.New(t)
		gw.Push(llmtest.Hang())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := newClient(t, gw.BaseURL(), 5*time.Second).Stream(ctx, simpleRequest(), llm.Handler{})
		if e := gatewayError(t, err); e.Message() != "model gateway timed out" || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTokensAreValidUTF8(t *testing.T) {
	t.Run("multi-byte characters across chunks", func(t *testing.T) {
		parts := []string{"Grüße ", "👋🏽", " 日本語", "—ok"}
		res, rec, _, err := stream(t, llmtest.Text(parts...))
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.tokens("text"); !reflect.DeepEqual(got, parts) {
			t.Errorf("tokens = %q, want %q", got, parts)
		}
		if res.Text != strings.Join(parts, "") {
			t.Errorf("Text = %q", res.Text)
		}
	})
	t.Run("gateway sending broken bytes", func(t *testing.T) {
		// A gateway that cuts "€" (E2 82 AC) between two chunks and sends
		// the raw bytes inside the JSON strings.
		chunk := func(content string) llmtest.Chunk {
			return llmtest.Raw(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}`)
		}
		res, rec, _, err := stream(t, llmtest.Chunks(chunk("price: \xe2\x82"), chunk("\xac 5"), chunk("\xff")))
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range rec.tokens("text") {
			if tok == "" || !utf8.ValidString(tok) {
				t.Errorf("token %q is empty or not valid UTF-8", tok)
			}
		}
		if res.Text != strings.Join(rec.tokens("text"), "") || !strings.HasPrefix(res.Text, "price: ") {
			t.Errorf("Text = %q, tokens %q", res.Text, rec.tokens("text"))
		}
	})
}

func TestRequestBody(t *testing.T) {
	t.Setenv("OPENAI_ORG_ID", "org-server-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/should-not-be-used")

	schema := json.RawMessage(`{"type":"object","properties":{"orderId":{"type":"string","maxLength":64}},"required":["orderId"]}`)
	req := llm.Request{
		Model: "gpt-4.1-mini",
		Messages: []llm.Message{
			llm.System("You are helpful."),
			llm.User("Where is order A-1001?"),
			llm.Assistant("", llm.ToolCall{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001"}`}),
			llm.ToolResult("call_1", `{"status":"shipped"}`),
			llm.Assistant("It has shipped."),
			llm.User("Thanks!"),
		},
		Tools: []llm.Tool{
			{Name: "get_order_status", Description: "Look up an order.", Parameters: schema},
			{Name: "ping"},
		},
	}

	gw := llmtest.New(t)
	gw.Push(llmtest.Text("a"), llmtest.Text("b"))
	c := newClient(t, gw.BaseURL(), 5*time.Second)
	if _, err := c.Stream(context.Background(), req, llm.Handler{}); err != nil {
		t.Fatal(err)
	}
	req.MaxTokens = 256
	req.Tools = nil
	if _, err := c.Stream(context.Background(), req, llm.Handler{}); err != nil {
		t.Fatal(err)
	}

	first := gw.Request(0)
	if first.Path != "/v1/chat/completions" || first.Method != http.MethodPost {
		t.Errorf("%s %s", first.Method, first.Path)
	}
	if got := first.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := first.Header.Get("OpenAI-Organization"); got != "" {
		t.Errorf("OpenAI-Organization = %q: the server's environment leaked into a tenant's request", got)
	}
	body := first.Chat
	if body.Model != "gpt-4.1-mini" || !body.Stream || body.StreamOptions == nil || !body.StreamOptions.IncludeUsage {
		t.Errorf("model %q, stream %v, stream_options %+v", body.Model, body.Stream, body.StreamOptions)
	}
	if _, sent := first.Fields["max_tokens"]; sent {
		t.Errorf("max_tokens sent although MaxTokens is 0: %s", first.Fields["max_tokens"])
	}
	wantMsgs := []llmtest.Message{
		{Role: "system", Content: "You are helpful."},
		{Role: "user", Content: "Where is order A-1001?"},
		{Role: "assistant", ToolCalls: []llmtest.Call{{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001"}`}}},
		{Role: "tool", Content: `{"status":"shipped"}`, ToolCallID: "call_1"},
		{Role: "assistant", Content: "It has shipped."},
		{Role: "user", Content: "Thanks!"},
	}
	if len(body.Messages) != len(wantMsgs) {
		t.Fatalf("%d messages, want %d", len(body.Messages), len(wantMsgs))
	}
	for i, m := range body.Messages {
		w := wantMsgs[i]
		if m.Role != w.Role || m.Content != w.Content || m.ToolCallID != w.ToolCallID || !reflect.DeepEqual(m.ToolCalls, w.ToolCalls) {
			t.Errorf("message %d = %+v, want %+v", i, m, w)
		}
	}
	if body.Messages[2].RawContent != nil {
		t.Errorf("assistant tool-call message has content %s, want none", body.Messages[2].RawContent)
	}
	if len(body.Tools) != 2 {
		t.Fatalf("%d tools, want 2", len(body.Tools))
	}
	if tool := body.Tools[0]; tool.Type != "function" || tool.Name != "get_order_status" || tool.Description != "Look up an order." || !jsonEqual(t, tool.Parameters, schema) {
		t.Errorf("tool 0 = %+v (parameters %s)", tool, tool.Parameters)
	}
	if tool := body.Tools[1]; tool.Name != "ping" || tool.Parameters != nil {
		t.Errorf("tool 1 = %+v, want no parameters", tool)
	}

	second := gw.Request(1)
	if second.Chat.MaxTokens == nil || *second.Chat.MaxTokens != 256 {
		t.Errorf("max_tokens = %s, want 256", second.Fields["max_tokens"])
	}
	if _, sent := second.Fields["tools"]; sent {
		t.Errorf("tools sent although none were given: %s", second.Fields["tools"])
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestUsageEstimatedWhenGatewayReportsNone(t *testing.T) {
	// 20 characters sent ("What are your hours?"), 8 received.
	res, _, _, err := stream(t, llmtest.Text("Open 9–5"))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{PromptTokens: 5, CompletionTokens: 2, Estimated: true}
	if res.Usage != want {
		t.Errorf("Usage = %+v, want %+v", res.Usage, want)
	}
}

func TestMalformedRequestsAreNotGatewayErrors(t *testing.T) {
	gw := llmtest.New(t)
	c := newClient(t, gw.BaseURL(), time.Second)
	cases := map[string]llm.Request{
		"no model":          {Messages: []llm.Message{llm.User("hi")}},
		"unknown role":      {Model: "m", Messages: []llm.Message{{Role: "developer", Content: "x"}}},
		"tool result no id": {Model: "m", Messages: []llm.Message{{Role: llm.RoleTool, Content: "x"}}},
		"schema not object": {Model: "m", Tools: []llm.Tool{{Name: "t", Parameters: json.RawMessage(`[1]`)}}},
	}
	for name, req := range cases {
		_, err := c.Stream(context.Background(), req, llm.Handler{})
		var e *llm.Error
		if err == nil || errors.As(err, &e) || errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want a plain error", name, err)
		}
	}
	if gw.RequestCount() != 0 {
		t.Errorf("%d requests made for malformed requests", gw.RequestCount())
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, u := range []string{"", "api.openai.com/v1", "ftp://x/v1", "http://"} {
		if _, err := llm.New(llm.Config{BaseURL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	_, err := llm.New(llm.Config{BaseURL: "http://user:hunter2@%zz"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v: want an error that does not quote the URL", err)
	}
}

func TestConcurrentStreams(t *testing.T) {
	gw := llmtest.New(t, llmtest.WithDefault(llmtest.Text("a", "b").WithUsage(1, 1)))
	c := newClient(t, gw.BaseURL(), 5*time.Second)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			res, err := c.Stream(context.Background(), simpleRequest(), llm.Handler{})
			if err == nil && res.Text != "ab" {
				err = errors.New("text " + res.Text)
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if gw.RequestCount() != 16 {
		t.Errorf("%d requests", gw.RequestCount())
	}
}

func BenchmarkStream(b *testing.B) {
	gw := llmtest.New(b, llmtest.WithDefault(llmtest.Text("We're open ", "9–5, ", "Monday to Friday.").WithUsage(412, 11)), llmtest.WithoutRequestLog())
	c, err := llm.New(llm.Config{BaseURL: gw.BaseURL(), APIKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	req := simpleRequest()
	for b.Loop() {
		if _, err := c.Stream(context.Background(), req, llm.Handler{}); err != nil {
			b.Fatal(err)
		}
	}
}
