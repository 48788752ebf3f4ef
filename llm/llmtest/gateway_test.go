package llmtest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

func post(t *testing.T, gw *llmtest.Gateway, body string) *http.Response {
	t.Helper()
	res, err := tryPost(gw, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tryPost(gw *llmtest.Gateway, body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, gw.BaseURL()+"/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer sk-test")
	return http.DefaultClient.Do(req)
}

// dataLines returns the payloads of the SSE data lines of a body.
func dataLines(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, data)
		}
	}
	return out
}

func TestStreamWireFormat(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("Hel", "lo").WithReasoning("hmm").WithUsage(7, 2).WithCost(0.5))
	res := post(t, gw, `{"model":"gpt-4o-mini","stream":true}`)
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines := dataLines(t, res.Body)
	if len(lines) != 6 || lines[5] != "[DONE]" {
		t.Fatalf("data lines = %q, want reasoning, 2 text, finish, usage, [DONE]", lines)
	}
	type chunk struct {
		Model   string `json:"model"`
		Choices []struct {
			Delta        map[string]any `json:"delta"`
			FinishReason *string        `json:"finish_reason"`
		} `json:"choices"`
		Usage map[string]any `json:"usage"`
	}
	var cs []chunk
	for _, l := range lines[:5] {
		var c chunk
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		cs = append(cs, c)
	}
	if cs[0].Model != "gpt-4o-mini" || cs[0].Choices[0].Delta["role"] != "assistant" || cs[0].Choices[0].Delta["reasoning_content"] != "hmm" {
		t.Errorf("first chunk = %+v", cs[0])
	}
	if cs[1].Choices[0].Delta["content"] != "Hel" || cs[2].Choices[0].Delta["content"] != "lo" {
		t.Errorf("text chunks = %+v %+v", cs[1], cs[2])
	}
	if fr := cs[3].Choices[0].FinishReason; fr == nil || *fr != "stop" {
		t.Errorf("finish chunk = %+v", cs[3])
	}
	if len(cs[4].Choices) != 0 || cs[4].Usage["prompt_tokens"] != 7.0 || cs[4].Usage["completion_tokens"] != 2.0 || cs[4].Usage["cost"] != 0.5 {
		t.Errorf("usage chunk = %+v", cs[4])
	}
}

func TestToolCallsAreSplitAndInterleaved(t *testing.T) {
	calls := []llmtest.Call{
		{ID: "c1", Name: "a", Arguments: `{"x":"0123456789"}`},
		{ID: "c2", Name: "b", Arguments: `{"y":"abcdefghij"}`},
	}
	gw := llmtest.New(t)
	gw.Push(llmtest.InterleavedToolCalls(calls...))
	res := post(t, gw, `{"model":"m"}`)
	defer res.Body.Close()
	var indexes []int
	for _, l := range dataLines(t, res.Body) {
		var c struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index int `json:"index"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if l == "[DONE]" || json.Unmarshal([]byte(l), &c) != nil || len(c.Choices) == 0 {
			continue
		}
		for _, tc := range c.Choices[0].Delta.ToolCalls {
			indexes = append(indexes, tc.Index)
		}
	}
	// Header and three argument pieces per call, alternating.
	if got := fmt.Sprint(indexes); got != "[0 1 0 1 0 1 0 1]" {
		t.Errorf("tool-call indexes in stream order = %s", got)
	}
}

func TestRequestLog(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("a"), llmtest.Error(500, ""), llmtest.Text("c"))
	if gw.Pending() != 3 {
		t.Fatalf("Pending = %d", gw.Pending())
	}
	for i := range 2 {
		res := post(t, gw, fmt.Sprintf(`{"model":"m%d","messages":[{"role":"user","content":"hi %d"}],"max_tokens":5}`, i, i))
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if i == 1 && res.StatusCode != 500 {
			t.Errorf("second response status %d, want the scripted 500", res.StatusCode)
		}
	}
	if gw.RequestCount() != 2 || gw.Pending() != 1 {
		t.Errorf("RequestCount %d, Pending %d", gw.RequestCount(), gw.Pending())
	}
	req := gw.Request(1)
	if req.Chat.Model != "m1" || req.Chat.Messages[0].Content != "hi 1" || *req.Chat.MaxTokens != 5 {
		t.Errorf("request = %+v", req.Chat)
	}
	if req.Header.Get("Authorization") != "Bearer sk-test" {
		t.Errorf("Authorization = %q", req.Header.Get("Authorization"))
	}
	if _, ok := req.Fields["max_tokens"]; !ok {
		t.Error("Fields lacks max_tokens")
	}
}

func TestConcurrentRequestsAreAllLogged(t *testing.T) {
	gw := llmtest.New(t, llmtest.WithDefault(llmtest.Text("ok")))
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := tryPost(gw, fmt.Sprintf(`{"model":"m%d"}`, i))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
		// Read the log while requests are being written to it.
		wg.Go(func() { _ = gw.Requests(); _ = gw.RequestCount() })
	}
	wg.Wait()
	if gw.RequestCount() != n || len(gw.Requests()) != n {
		t.Errorf("RequestCount %d, %d logged, want %d", gw.RequestCount(), len(gw.Requests()), n)
	}
}

func TestWithoutRequestLogKeepsOnlyTheCount(t *testing.T) {
	gw := llmtest.New(t, llmtest.WithDefault(llmtest.Text("ok")), llmtest.WithoutRequestLog())
	for range 3 {
		res := post(t, gw, `{"model":"gpt-4.1-mini","messages":[]}`)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// The body is not decoded: the chunks name the gateway's own model.
		if !strings.Contains(string(b), `"model":"llmtest"`) || !strings.Contains(string(b), `"content":"ok"`) {
			t.Errorf("stream %s", b)
		}
	}
	if gw.RequestCount() != 3 || len(gw.Requests()) != 0 {
		t.Errorf("RequestCount %d, %d logged", gw.RequestCount(), len(gw.Requests()))
	}
}

// recordingTB captures what the gateway reports to its test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.TB.Cleanup(f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestUnscriptedRequestFailsTheTest(t *testing.T) {
	tb := &recordingTB{TB: t}
	gw := llmtest.New(tb)
	res := post(t, gw, `{}`)
	res.Body.Close()
	if res.StatusCode != 500 {
		t.Errorf("status %d, want 500", res.StatusCode)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "no scripted response") {
		t.Errorf("errors reported = %q", tb.errors)
	}
}

func TestCloseUnblocksStalledAndHangingResponses(t *testing.T) {
	for _, resp := range []llmtest.Response{llmtest.Text("a", "b").StallAfter(1), llmtest.Hang()} {
		gw := llmtest.New(t)
		gw.Push(resp)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// The request fails or ends once the gateway closes; either is fine.
			if res, err := tryPost(gw, `{}`); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
		testkit.Eventually(t, "the gateway to receive the request", func() bool { return gw.RequestCount() > 0 })
		closed := make(chan struct{})
		go func() { gw.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(3 * time.Second):
			t.Fatal("Close did not return while a response was stalled")
		}
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("the client stayed blocked after Close")
		}
	}
}

func TestBreakAfterEndsTheBodyWithAnError(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("a", "b").BreakAfter(1))
	res := post(t, gw, `{}`)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Errorf("body read cleanly: %q", body)
	}
	if !strings.Contains(string(body), `"a"`) || strings.Contains(string(body), "[DONE]") {
		t.Errorf("body = %q, want the first chunk and no [DONE]", body)
	}
}

func TestOnlyChatCompletionsIsServed(t *testing.T) {
	gw := llmtest.New(t)
	res, err := http.Get(gw.BaseURL() + "/models")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || gw.RequestCount() != 0 {
		t.Errorf("status %d, %d requests counted", res.StatusCode, gw.RequestCount())
	}
}

func TestGeneratedStreamsEachChunkThenTheTail(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Generated(3, func(i int) llmtest.Chunk { return llmtest.TextDelta(fmt.Sprint(i)) }).WithUsage(1, 3))
	res := post(t, gw, `{"model":"m"}`)
	defer res.Body.Close()
	lines := dataLines(t, res.Body)
	if len(lines) != 6 || lines[5] != "[DONE]" {
		t.Fatalf("data lines = %q, want 3 generated, finish, usage, [DONE]", lines)
	}
	var text string
	for _, l := range lines[:3] {
		var c struct {
			Choices []struct {
				Delta struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatal(err)
		}
		text += c.Choices[0].Delta.Content
	}
	if text != "012" || !strings.Contains(lines[0], `"role":"assistant"`) || strings.Contains(lines[1], `"role"`) {
		t.Errorf("generated chunks = %q", lines[:3])
	}
	if !strings.Contains(lines[3], `"finish_reason":"stop"`) || !strings.Contains(lines[4], `"completion_tokens":3`) {
		t.Errorf("tail = %q", lines[3:5])
	}
}

func TestGeneratedWithoutEndAndEndlessLineStopWhenTheClientLeaves(t *testing.T) {
	for name, resp := range map[string]llmtest.Response{
		"generated without end": llmtest.Generated(-1, func(int) llmtest.Chunk { return llmtest.TextDelta("x") }),
		"endless line":          llmtest.EndlessLine(),
	} {
		t.Run(name, func(t *testing.T) {
			gw := llmtest.New(t)
			gw.Push(resp)
			res := post(t, gw, `{"model":"m"}`)
			// Far more than any finite script here would send, then hang up.
			n, err := io.CopyN(io.Discard, res.Body, 4<<20)
			if err != nil || n != 4<<20 {
				t.Fatalf("read %d bytes: %v", n, err)
			}
			res.Body.Close()
			// Close waits for the handler: it returns because the client went away.
			gw.Close()
		})
	}
}

func TestEndlessLineIsOneDataLine(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.EndlessLine())
	res := post(t, gw, `{"model":"m"}`)
	defer res.Body.Close()
	buf := make([]byte, 1<<20)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf), "data: x") || strings.ContainsAny(string(buf), "\r\n") || strings.Count(string(buf), "data:") != 1 {
		t.Errorf("endless line starts %q and holds a line break or a second field", buf[:16])
	}
}

func TestHoldAfterWaitsForTheRelease(t *testing.T) {
	gw := llmtest.New(t)
	release := make(chan struct{})
	gw.Push(llmtest.Text("a", "b").HoldAfter(1, release))
	res := post(t, gw, `{}`)
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	first, err := br.ReadString('\n')
	if err != nil || !strings.Contains(first, `"content":"a"`) {
		t.Fatalf("first event %q, %v", first, err)
	}
	// The first event arrived while the rest is held; releasing sends the rest.
	close(release)
	rest := dataLines(t, br)
	if len(rest) != 3 || !strings.Contains(rest[0], `"content":"b"`) || rest[2] != "[DONE]" {
		t.Fatalf("after the release: %q", rest)
	}
}
