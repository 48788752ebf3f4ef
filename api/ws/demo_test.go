package ws_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/jobs"
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
	kn, err := knowledge.New(srv.Store, jobs.New(srv.Store, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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

// demoReply decodes a turn's eventual_response, which holds one part streamed as its
// tokens, and returns that part's text with the whole reply.
func demoReply(t *testing.T, evs []wstest.Event) (string, wstest.Reply) {
	t.Helper()
	r := reply(t, evs[len(evs)-1])
	if len(r.Response.ResponseParts) != 1 {
		t.Fatalf("responseParts %q, want one", r.Response.ResponseParts)
	}
	text := r.Response.ResponseParts[0]
	if got := tokens(evs); got != text {
		t.Fatalf("tokens %q differ from the reply %q", got, text)
	}
	return text, r
}

// searchCall is the stream_chunk of the demo model's knowledge_search for query.
func searchCall(r, query string) wstest.Envelope[wstest.Chunk] {
	return wstest.CallChunk(r, wstest.ToolCall{Name: "knowledge_search", Arguments: map[string]any{"query": query}})
}

func TestDemoModelAnswersFromTheSeededKnowledgeWithQuotesAndCitations(t *testing.T) {
	e := newDemoEnv(t)
	c, sid := e.session()
	r := send(t, c, sid, "How do I embed the widget?")
	evs := c.Terminal(r)

	// knowledge_search is a real tool call, visible in the stream, before the answer.
	ch := chunks(t, evs)
	if len(ch) != 2 {
		t.Fatalf("chunks %+v, want the call and its result", ch)
	}
	if diff := cmp.Diff(searchCall(r, "How do I embed the widget?"), ch[0]); diff != "" {
		t.Fatalf("knowledge_search call (-want +got):\n%s", diff)
	}
	if res := toolResult(t, ch[1]); res.Name != "knowledge_search" || res.IsError || !strings.Contains(res.Result, "switchboard-demo:embed-the-widget") {
		t.Fatalf("tool result %+v", res)
	}
	text, got := demoReply(t, evs)
	const quote = "> To embed the widget on your website, add one script tag to every page that should show the chat: `<script src=\"https://chat.example.com/widget.js\" data-agent-id=\"AGENT_ID\" async></script>`."
	if !strings.Contains(text, quote) || !strings.Contains(text, "[How to embed the widget](https://github.com/switchboard-dev/switchboard/blob/main/README.md)") {
		t.Fatalf("reply:\n%s", text)
	}
	if len(got.Citations) == 0 {
		t.Fatal("no citations")
	}
	c0 := got.Citations[0]
	if c0.ID != "switchboard-demo:embed-the-widget" || c0.Title != "How to embed the widget" ||
		c0.URL == nil || *c0.URL != "https://github.com/switchboard-dev/switchboard/blob/main/README.md" ||
		!strings.HasPrefix(c0.Snippet, "To embed the widget on your website") || len([]rune(c0.Snippet)) > 281 {
		t.Fatalf("citations %+v", got.Citations)
	}

	u := e.usage(r)
	if u.Model != "switchboard-demo" || u.Cost != 0 || !u.KeyIsNull || u.TokensEst || u.Outcome != "completed" || u.Prompt == 0 || u.Completion == 0 {
		t.Fatalf("usage row %+v", u)
	}
	if diff := cmp.Diff(wstest.Usage{PromptTokens: u.Prompt, CompletionTokens: u.Completion}, got.Usage); diff != "" {
		t.Fatalf("eventual usage against the row (-want +got):\n%s", diff)
	}

	// The same question in another conversation gets the same bytes.
	c2, sid2 := e.session()
	if again, _ := demoReply(t, c2.Terminal(send(t, c2, sid2, "How do I embed the widget?"))); again != text {
		t.Fatalf("a second asking differs:\n%s\n---\n%s", again, text)
	}
}

func TestDemoModelSaysSoWhenNothingMatches(t *testing.T) {
	e := newDemoEnv(t)
	c, sid := e.session()
	r := send(t, c, sid, "What is the capital of Peru?")
	evs := c.Terminal(r)
	want := []wstest.Envelope[wstest.Chunk]{
		searchCall(r, "What is the capital of Peru?"),
		wstest.ResultChunk(r, wstest.ToolResult{Name: "knowledge_search", Result: "[]"}),
	}
	if diff := cmp.Diff(want, chunks(t, evs)); diff != "" {
		t.Fatalf("chunks (-want +got):\n%s", diff)
	}
	text, got := demoReply(t, evs)
	if !strings.HasPrefix(text, "I found nothing about that in this organization's knowledge base") || len(got.Citations) != 0 {
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
		if w.Type() != "write_confirmation_required" {
			t.Fatalf("expected the park: %s", w.Raw)
		}
		park := wstest.Decode[wstest.Wrapped[wstest.Confirmation]](t, w)
		approvalID := park.Data.Data.ApprovalID
		args := map[string]any{"subject": "test"}
		wantPark := wstest.Envelope[wstest.Wrapped[wstest.Confirmation]]{Type: "write_confirmation_required", RequestID: r,
			Data: wstest.Wrapped[wstest.Confirmation]{RequestID: r, Data: wstest.Confirmation{
				ToolID: "create_ticket", ActionDescription: "The agent wants to run 'create_ticket'. Allow?", ApprovalID: approvalID, Arguments: args,
			}}}
		if diff := cmp.Diff(wantPark, park); diff != "" {
			t.Fatalf("write_confirmation_required (-want +got):\n%s", diff)
		}
		held := c.Next()
		if held.Type() != "stream_chunk" {
			t.Fatalf("held-back toolCall: %s", held.Raw)
		}
		if diff := cmp.Diff(wstest.CallChunk(r, wstest.ToolCall{Name: "create_ticket", Arguments: args}), wstest.Decode[wstest.Chunk](t, held)); diff != "" {
			t.Fatalf("held-back toolCall (-want +got):\n%s", diff)
		}
		verdict := map[bool]string{true: "Tool action approved", false: "Tool action rejected"}[approved]
		wantAck := wstest.Envelope[wstest.ConfirmAck]{Type: "immediate_response", RequestID: "cf", Status: 200, Message: verdict,
			Data: wstest.ConfirmAck{SessionID: sid, Approved: approved, ApprovalID: approvalID}}
		ack := c.Request(map[string]any{"action": "confirm_tool_action", "requestId": "cf", "sessionId": sid, "approved": approved})
		if diff := cmp.Diff(wantAck, wstest.Decode[wstest.ConfirmAck](t, ack)); diff != "" {
			t.Fatalf("ack (-want +got):\n%s", diff)
		}
		evs := c.Terminal(r)
		res := toolResult(t, chunks(t, evs)[0])
		text, _ := demoReply(t, evs)
		if approved {
			var ticket map[string]string
			if res.Name != "create_ticket" || res.IsError || json.Unmarshal([]byte(res.Result), &ticket) != nil ||
				!strings.HasPrefix(ticket["ticket"], "DEMO-") || ticket["subject"] != "test" || ticket["status"] != "open" {
				t.Fatalf("approved result %+v", res)
			}
			if !strings.HasPrefix(text, "I called `create_ticket`. It answered:") || !strings.Contains(text, ticket["ticket"]) {
				t.Fatalf("approved reply:\n%s", text)
			}
		} else {
			want := wstest.ToolResult{Name: "create_ticket", IsError: true, Result: "Denied: the user rejected this action."}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Fatalf("denied result (-want +got):\n%s", diff)
			}
			if text != "The tool `create_ticket` did not run to completion:\n\n> Denied: the user rejected this action." {
				t.Fatalf("denied reply:\n%s", text)
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
		text, _ := demoReply(t, c.Terminal(r))
		if !strings.Contains(text, "offline demo model") || e.gw.RequestCount() != 0 {
			t.Fatalf("reply %q, %d gateway requests", text, e.gw.RequestCount())
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
