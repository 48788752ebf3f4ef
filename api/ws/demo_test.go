package ws_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// demoEnv is a development server without any gateway key, seeded as `switchboard demo` seeds
// it, with the demo's documents indexed by the server's own workers.
type demoEnv struct {
	t     *testing.T
	srv   *servetest.Server
	agent uuid.UUID
	org   uuid.UUID
}

func newDemoEnv(t *testing.T) *demoEnv {
	t.Helper()
	srv := servetest.Start(t, nil)
	kn, err := knowledge.New(srv.Store, knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	k, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := demo.Ensure(ctx(), srv.Store, kn, store.NewAPIKeyRow{Name: "bootstrap", Role: "admin", Hash: k.Hash, Prefix: k.Prefix, Last4: k.Last4}, nil)
	if err != nil || seeded.Run == nil {
		t.Fatalf("seed: %v %+v", err, seeded)
	}
	testkit.Eventually(t, "the demo's documents to be indexed", func() bool {
		var status string
		err := srv.Pool.QueryRow(ctx(), `SELECT status FROM indexing_runs WHERE id = $1`, seeded.Run.ID).Scan(&status)
		if status == "failed" || status == "cancelled" {
			t.Fatalf("indexing run %s", status)
		}
		return err == nil && status == "succeeded"
	})
	return &demoEnv{t: t, srv: srv, agent: seeded.AgentID, org: seeded.OrgID}
}

func (e *demoEnv) session() (*wstest.Client, string) {
	e.t.Helper()
	c := wstest.Dial(e.t, e.srv.WSURL, nil)
	ack := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c", "agentId": e.agent.String()})
	if ack.Status() != 200 {
		e.t.Fatalf("create session: %s", ack.Raw)
	}
	return c, ack.Str("sessionId")
}

// demoUsage is a turn's usage row, by its request id.
type demoUsage struct {
	Model                string
	Prompt, Completion   int64
	Cost                 float64
	KeyIsNull, TokensEst bool
	Outcome              string
}

func (e *demoEnv) usage(r string) demoUsage {
	e.t.Helper()
	var u demoUsage
	if err := e.srv.Pool.QueryRow(ctx(), `SELECT model, prompt_tokens, completion_tokens, cost_usd::float8, gateway_key_id IS NULL, tokens_estimated, outcome
		FROM usage_events WHERE org_id = $1 AND request_id = $2`, e.org, r).
		Scan(&u.Model, &u.Prompt, &u.Completion, &u.Cost, &u.KeyIsNull, &u.TokensEst, &u.Outcome); err != nil {
		e.t.Fatalf("usage row of %s: %v", r, err)
	}
	return u
}

// reply is the eventual_response of a turn: its text, citations and usage.
type reply struct {
	Text      string
	Citations []struct {
		ID, Title, URL, Snippet string
	}
	Usage struct {
		PromptTokens, CompletionTokens int64
		CostUsd                        float64
	}
}

func replyOf(t *testing.T, evs []wstest.Event) reply {
	t.Helper()
	last := evs[len(evs)-1]
	if last.Type() != "eventual_response" {
		t.Fatalf("turn ended with %s", last.Raw)
	}
	var r reply
	resp, _ := json.Marshal(last.Inner())
	var body struct {
		Response struct {
			ResponseParts []string `json:"responseParts"`
		} `json:"response"`
		Citations json.RawMessage `json:"citations"`
		Usage     json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(resp, &body); err != nil || len(body.Response.ResponseParts) != 1 {
		t.Fatalf("response %s: %v", resp, err)
	}
	r.Text = body.Response.ResponseParts[0]
	if body.Citations != nil {
		if err := json.Unmarshal(body.Citations, &r.Citations); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(body.Usage, &r.Usage); err != nil {
		t.Fatalf("usage %s: %v", body.Usage, err)
	}
	if got := tokens(evs); got != r.Text {
		t.Fatalf("tokens %q differ from the reply %q", got, r.Text)
	}
	return r
}

func TestDemoModelAnswersFromTheSeededKnowledgeWithQuotesAndCitations(t *testing.T) {
	e := newDemoEnv(t)
	c, sid := e.session()
	r := send(t, c, sid, "How do I embed the widget?")
	evs := c.Terminal(r)

	// knowledge_search is a real tool call, visible in the stream, before the answer.
	ch := chunks(evs)
	if len(ch) != 2 || ch[0]["toolCall"].(map[string]any)["name"] != "knowledge_search" ||
		ch[0]["toolCall"].(map[string]any)["arguments"].(map[string]any)["query"] != "How do I embed the widget?" {
		t.Fatalf("chunks %v", ch)
	}
	if res := ch[1]["toolResult"].(map[string]any); res["isError"] != false || !strings.Contains(res["result"].(string), "switchboard-demo:embed-the-widget") {
		t.Fatalf("tool result %v", res)
	}
	got := replyOf(t, evs)
	const quote = "> To embed the widget on your website, add one script tag to every page that should show the chat: `<script src=\"https://chat.example.com/widget.js\" data-agent-id=\"AGENT_ID\" async></script>`."
	if !strings.Contains(got.Text, quote) || !strings.Contains(got.Text, "[How to embed the widget](https://github.com/switchboard-dev/switchboard/blob/main/README.md)") {
		t.Fatalf("reply:\n%s", got.Text)
	}
	if len(got.Citations) == 0 || got.Citations[0].ID != "switchboard-demo:embed-the-widget" || got.Citations[0].Title != "How to embed the widget" ||
		got.Citations[0].URL != "https://github.com/switchboard-dev/switchboard/blob/main/README.md" ||
		!strings.HasPrefix(got.Citations[0].Snippet, "To embed the widget on your website") || len([]rune(got.Citations[0].Snippet)) > 281 {
		t.Fatalf("citations %+v", got.Citations)
	}

	u := e.usage(r)
	if u.Model != "switchboard-demo" || u.Cost != 0 || !u.KeyIsNull || u.TokensEst || u.Outcome != "completed" || u.Prompt == 0 || u.Completion == 0 {
		t.Fatalf("usage row %+v", u)
	}
	if got.Usage.PromptTokens != u.Prompt || got.Usage.CompletionTokens != u.Completion || got.Usage.CostUsd != 0 {
		t.Fatalf("eventual usage %+v, row %+v", got.Usage, u)
	}

	// The same question in another conversation gets the same bytes.
	c2, sid2 := e.session()
	if again := replyOf(t, c2.Terminal(send(t, c2, sid2, "How do I embed the widget?"))); again.Text != got.Text {
		t.Fatalf("a second asking differs:\n%s\n---\n%s", again.Text, got.Text)
	}
}

func TestDemoModelSaysSoWhenNothingMatches(t *testing.T) {
	e := newDemoEnv(t)
	c, sid := e.session()
	r := send(t, c, sid, "What is the capital of Peru?")
	evs := c.Terminal(r)
	if ch := chunks(evs); len(ch) != 2 || ch[1]["toolResult"].(map[string]any)["result"] != "[]" {
		t.Fatalf("chunks %v", ch)
	}
	got := replyOf(t, evs)
	if !strings.HasPrefix(got.Text, "I found nothing about that in this organization's knowledge base") || len(got.Citations) != 0 {
		t.Fatalf("reply %+v", got)
	}
	if u := e.usage(r); u.Model != "switchboard-demo" || u.Cost != 0 {
		t.Fatalf("usage %+v", u)
	}
}

func TestDemoModelRunsTheSeededToolThroughApproveAndDeny(t *testing.T) {
	e := newDemoEnv(t)
	c, sid := e.session()
	for _, approved := range []bool{true, false} {
		r := send(t, c, sid, `/tool create_ticket {"subject":"test"}`)
		w := c.Next()
		if w.Type() != "write_confirmation_required" || w.Inner()["toolId"] != "create_ticket" ||
			w.Inner()["arguments"].(map[string]any)["subject"] != "test" {
			t.Fatalf("expected the park: %s", w.Raw)
		}
		if held := c.Next(); held.Type() != "stream_chunk" || chunks([]wstest.Event{held})[0]["toolCall"] == nil {
			t.Fatalf("held-back toolCall: %s", held.Raw)
		}
		ack := c.Request(map[string]any{"action": "confirm_tool_action", "requestId": "cf", "sessionId": sid, "approved": approved})
		if ack.Status() != 200 {
			t.Fatalf("confirm: %s", ack.Raw)
		}
		evs := c.Terminal(r)
		res := chunks(evs)[0]["toolResult"].(map[string]any)
		got := replyOf(t, evs)
		if approved {
			var ticket map[string]string
			if res["isError"] != false || json.Unmarshal([]byte(res["result"].(string)), &ticket) != nil ||
				!strings.HasPrefix(ticket["ticket"], "DEMO-") || ticket["subject"] != "test" || ticket["status"] != "open" {
				t.Fatalf("approved result %v", res)
			}
			if !strings.HasPrefix(got.Text, "I called `create_ticket`. It answered:") || !strings.Contains(got.Text, ticket["ticket"]) {
				t.Fatalf("approved reply:\n%s", got.Text)
			}
		} else {
			if res["isError"] != true || res["result"] != "Denied: the user rejected this action." {
				t.Fatalf("denied result %v", res)
			}
			if got.Text != "The tool `create_ticket` did not run to completion:\n\n> Denied: the user rejected this action." {
				t.Fatalf("denied reply:\n%s", got.Text)
			}
		}
		if u := e.usage(r); u.Model != "switchboard-demo" || u.Cost != 0 || !u.KeyIsNull {
			t.Fatalf("usage %+v", u)
		}
	}
	var approvals string
	if err := e.srv.Pool.QueryRow(ctx(), `SELECT string_agg(status, ',' ORDER BY created_at) FROM pending_approvals WHERE org_id = $1`, e.org).Scan(&approvals); err != nil || approvals != "approved,rejected" {
		t.Fatalf("approvals %q %v", approvals, err)
	}
}

func TestAnAgentWhoseModelIsSwitchboardDemoNeverReachesTheGateway(t *testing.T) {
	// The server has a key, and an allowance of 1 token per org on it: the model's name alone
	// decides, so no gateway is asked, nobody pays, and the allowance does not count the turns.
	e := newEnv(t, fixture.Agent{Model: "switchboard-demo"}, map[string]string{"SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG": "1"})
	c, ack := e.session()
	for range 2 {
		r := send(t, c, ack.Str("sessionId"), "Hello!")
		got := replyOf(t, c.Terminal(r))
		if !strings.Contains(got.Text, "offline demo model") || e.gw.RequestCount() != 0 {
			t.Fatalf("reply %q, %d gateway requests", got.Text, e.gw.RequestCount())
		}
		var model string
		var keyIsNull bool
		if err := e.srv.Pool.QueryRow(ctx(), `SELECT model, gateway_key_id IS NULL FROM usage_events WHERE request_id = $1`, r).Scan(&model, &keyIsNull); err != nil || model != "switchboard-demo" || !keyIsNull {
			t.Fatalf("usage row %q %v %v", model, keyIsNull, err)
		}
	}
	if n := count(t, e, `SELECT coalesce(sum(server_key_tokens), 0)::int FROM org_usage_months WHERE org_id = $1`, e.org); n != 0 {
		t.Fatalf("%d tokens counted as the server key's", n)
	}
}
