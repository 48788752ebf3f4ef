package demomodel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/demomodel"
)

var knowledgeTool = llm.Tool{Name: "knowledge_search", Description: "Search the knowledge base.", Parameters: json.RawMessage(`{"type":"object"}`)}
var ticketTool = llm.Tool{Name: "create_ticket", Description: "Open a ticket.", Parameters: json.RawMessage(`{"type":"object"}`)}

func request(user string, tools ...llm.Tool) llm.Request {
	return llm.Request{Model: "gpt-4o-mini", Tools: tools, Messages: []llm.Message{llm.System("Be helpful."), llm.User(user)}}
}

// stream runs one call and returns its result and the tokens it streamed.
func stream(t *testing.T, m *demomodel.Model, req llm.Request) (llm.Result, []string) {
	t.Helper()
	var toks []string
	res, err := m.Stream(context.Background(), req, llm.Handler{OnText: func(s string) { toks = append(toks, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(toks, ""); got != res.Text {
		t.Fatalf("tokens %q do not make the text %q", got, res.Text)
	}
	for _, tok := range toks {
		if tok == "" {
			t.Fatal("an empty token")
		}
	}
	if !res.Usage.Reported || !res.Usage.CostReported || res.Usage.CostUSD != 0 || res.Usage.PromptTokens == 0 {
		t.Fatalf("usage %+v", res.Usage)
	}
	return res, toks
}

func TestAQuestionIsAKnowledgeSearchThenAQuotedAnswer(t *testing.T) {
	m := demomodel.New(demomodel.Config{})
	req := request("How do I embed the widget?", knowledgeTool, ticketTool)
	res, toks := stream(t, m, req)
	if len(toks) != 0 || len(res.ToolCalls) != 1 || res.FinishReason != "tool_calls" {
		t.Fatalf("first call: %+v", res)
	}
	call := res.ToolCalls[0]
	if call.Name != "knowledge_search" || call.Arguments != `{"query":"How do I embed the widget?"}` || call.ID == "" {
		t.Fatalf("call %+v", call)
	}

	hits := `[{"docId":"pricing","title":"Pricing","snippet":"Plans start at 10 dollars.","score":0.2},
		{"docId":"embed","title":"How to embed the widget","url":"https://example.com/embed","snippet":"Switchboard is a chat server. To embed the widget, add one script tag to your page: ` +
		"`<script src=\\\"/widget.js\\\" data-agent-id=\\\"ID\\\"></script>`" + `. It loads in the background. Nothing else is needed.","score":0.1}]`
	req.Messages = append(req.Messages, llm.Assistant("", call), llm.ToolResult(call.ID, hits))
	res, toks = stream(t, m, req)
	if len(res.ToolCalls) != 0 || res.FinishReason != "stop" || len(toks) < 10 {
		t.Fatalf("second call: %+v", res)
	}
	want := "> To embed the widget, add one script tag to your page: `<script src=\"/widget.js\" data-agent-id=\"ID\"></script>`. It loads in the background."
	if !strings.Contains(res.Text, want) || !strings.Contains(res.Text, "**[How to embed the widget](https://example.com/embed)**") {
		t.Fatalf("answer:\n%s", res.Text)
	}
	if strings.Contains(res.Text, "Plans start") {
		t.Fatalf("a passage about something else was quoted:\n%s", res.Text)
	}
	if res.Usage.CompletionTokens != int64(len(toks)) {
		t.Fatalf("completion tokens %d, streamed %d", res.Usage.CompletionTokens, len(toks))
	}
}

func TestNoHitSaysSoPlainly(t *testing.T) {
	m := demomodel.New(demomodel.Config{})
	req := request("What is the capital of Peru?", knowledgeTool)
	res, _ := stream(t, m, req)
	req.Messages = append(req.Messages, llm.Assistant("", res.ToolCalls...), llm.ToolResult(res.ToolCalls[0].ID, "[]"))
	res, _ = stream(t, m, req)
	if !strings.HasPrefix(res.Text, "I found nothing about that in this organization's knowledge base") {
		t.Fatalf("answer:\n%s", res.Text)
	}
}

func TestToolCommandCallsTheToolAndReportsItsResult(t *testing.T) {
	m := demomodel.New(demomodel.Config{})
	req := request(`/tool create_ticket {"subject": "test"}`, knowledgeTool, ticketTool)
	res, _ := stream(t, m, req)
	if len(res.ToolCalls) != 1 || res.ToolCalls[0].Name != "create_ticket" || res.ToolCalls[0].Arguments != `{"subject": "test"}` {
		t.Fatalf("call %+v", res.ToolCalls)
	}
	call := res.ToolCalls[0]
	for result, want := range map[string]string{
		`{"ticket":"DEMO-1"}`:                    "I called `create_ticket`. It answered:\n\n```\n{\n  \"ticket\": \"DEMO-1\"\n}\n```",
		"Denied: the user rejected this action.": "The tool `create_ticket` did not run to completion:\n\n> Denied: the user rejected this action.",
	} {
		done := append(append([]llm.Message{}, req.Messages...), llm.Assistant("", call), llm.ToolResult(call.ID, result))
		res, _ := stream(t, m, llm.Request{Model: "x", Tools: req.Tools, Messages: done})
		if res.Text != want {
			t.Errorf("after %q:\n%s\nwant\n%s", result, res.Text, want)
		}
	}

	// Without arguments the call gets {}; an unknown tool is answered, not called.
	if res, _ := stream(t, m, request("/tool create_ticket", ticketTool)); res.ToolCalls[0].Arguments != "{}" {
		t.Fatalf("arguments %q", res.ToolCalls[0].Arguments)
	}
	res, _ = stream(t, m, request(`/tool delete_everything {}`, ticketTool))
	if len(res.ToolCalls) != 0 || !strings.Contains(res.Text, "There is no tool named `delete_everything`") || !strings.Contains(res.Text, "`create_ticket`") {
		t.Fatalf("unknown tool: %+v", res)
	}
}

func TestSmallTalkGetsTheIntroduction(t *testing.T) {
	m := demomodel.New(demomodel.Config{})
	for _, msg := range []string{"Hello!", "Who are you?", "thanks"} {
		res, _ := stream(t, m, request(msg, knowledgeTool))
		if len(res.ToolCalls) != 0 || !strings.Contains(res.Text, "SWITCHBOARD_GATEWAY_KEY") || !strings.Contains(res.Text, "POST /admin/gateway-keys") || !strings.Contains(res.Text, "Ollama") {
			t.Fatalf("%q: %+v", msg, res)
		}
	}
	// Without the knowledge tool a question gets it too.
	if res, _ := stream(t, m, request("How do I embed the widget?")); len(res.ToolCalls) != 0 || !strings.Contains(res.Text, "offline demo model") {
		t.Fatalf("no knowledge tool: %+v", res)
	}
}

func TestTheSameRequestGivesTheSameBytes(t *testing.T) {
	m := demomodel.New(demomodel.Config{})
	req := request("How do approvals work?", knowledgeTool)
	a, _ := stream(t, m, req)
	b, _ := stream(t, m, req)
	if a.ToolCalls[0] != b.ToolCalls[0] || a.Usage != b.Usage {
		t.Fatalf("%+v vs %+v", a, b)
	}
	req.Messages = append(req.Messages, llm.Assistant("", a.ToolCalls...), llm.ToolResult(a.ToolCalls[0].ID,
		`[{"docId":"a","title":"Approvals","snippet":"A tool that requires approval waits for the visitor. The visitor approves or denies it.","score":1}]`))
	c, _ := stream(t, m, req)
	d, _ := stream(t, m, req)
	if c.Text != d.Text || c.Usage != d.Usage {
		t.Fatalf("%q vs %q", c.Text, d.Text)
	}
}

func TestTokensArePacedAndACancelStopsThem(t *testing.T) {
	m := demomodel.New(demomodel.Config{TokenDelay: time.Millisecond})
	waits := 0
	var toks []string
	res, err := m.Stream(context.Background(), request("hi"), llm.Handler{
		OnText: func(s string) { toks = append(toks, s) },
		OnWait: func() { waits++ },
	})
	if err != nil || waits != len(toks)-1 || res.Text != strings.Join(toks, "") {
		t.Fatalf("err %v, %d waits for %d tokens", err, waits, len(toks))
	}

	stop := errors.New("enough")
	ctx, cancel := context.WithCancelCause(context.Background())
	n := 0
	res, err = m.Stream(ctx, request("hi"), llm.Handler{OnText: func(string) {
		if n++; n == 3 {
			cancel(stop)
		}
	}})
	if !errors.Is(err, stop) || !errors.Is(err, context.Canceled) || n != 3 || res.Usage.CompletionTokens != 3 {
		t.Fatalf("err %v after %d tokens, usage %+v", err, n, res.Usage)
	}
}

func TestArgumentsOverTheLimitAreDropped(t *testing.T) {
	m := demomodel.New(demomodel.Config{ArgumentBytes: 16})
	res, _ := stream(t, m, request(`/tool create_ticket {"subject": "a subject longer than sixteen bytes"}`, ticketTool))
	if c := res.ToolCalls[0]; !c.ArgumentsTooLong || c.Arguments != "{}" {
		t.Fatalf("call %+v", c)
	}
}
