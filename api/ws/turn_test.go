package ws_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

type usageRow struct {
	outcome            string
	prompt, completion int64
	estimated          bool
	cost               float64
	requestID          string
	keyID              *uuid.UUID
}

func usageRows(t *testing.T, e *env) []usageRow {
	t.Helper()
	rows, err := e.srv.Pool.Query(ctx(), `SELECT outcome, prompt_tokens, completion_tokens, tokens_estimated, cost_usd::float8, request_id, gateway_key_id FROM usage_events ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []usageRow
	for rows.Next() {
		var u usageRow
		if err := rows.Scan(&u.outcome, &u.prompt, &u.completion, &u.estimated, &u.cost, &u.requestID, &u.keyID); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func outbound(t *testing.T, e *env) int {
	return count(t, e, `SELECT count(*) FROM messages WHERE direction = 'outbound'`)
}

func TestPlainTurnStreamsAndStoresReplyAndUsage(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("We're open ", "9–5, Monday to Friday.").WithUsage(412, 11).WithCost(0.000431))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "What are your hours?")
	evs := c.Terminal(r)
	last := evs[len(evs)-1]
	for _, ev := range evs {
		checkEnvelope(t, ev)
		if ev.RequestID() != r || ev.Type() == "stream_token" && (ev.Token() == "" || ev.Str("token") != ev.Token()) {
			t.Fatalf("event %s", ev.Raw)
		}
	}
	if last.Type() != "eventual_response" {
		t.Fatalf("terminal %s", last.Raw)
	}
	got := wstest.Decode[wstest.Wrapped[wstest.Reply]](t, last)
	const text = "We're open 9–5, Monday to Friday."
	if tokens(evs) != text {
		t.Fatalf("streamed tokens %q, want %q", tokens(evs), text)
	}
	want := wstest.Envelope[wstest.Wrapped[wstest.Reply]]{Type: "eventual_response", RequestID: r, Status: 200,
		Data: wstest.Wrapped[wstest.Reply]{RequestID: r, Status: 200, Data: wstest.Reply{
			MessageID: got.Data.Data.MessageID,
			Response:  got.Data.Data.Response,
			Usage:     wstest.Usage{PromptTokens: 412, CompletionTokens: 11, CostUSD: 0.000431},
		}}}
	want.Data.Data.Response.ResponseParts = []string{text}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("eventual_response (-want +got):\n%s", diff)
	}
	in := got.Data.Data
	rows := usageRows(t, e)
	if len(rows) != 1 || rows[0].outcome != "completed" || rows[0].cost != 0.000431 || rows[0].requestID != r || rows[0].estimated || rows[0].keyID != nil {
		t.Fatalf("usage rows %+v", rows)
	}
	if n := count(t, e, `SELECT count(*) FROM messages WHERE id = $1 AND direction = 'outbound' AND text = $2`, in.MessageID, text); n != 1 {
		t.Fatal("reply not stored under messageId")
	}
	// The gateway got the server key, the default model and the user message.
	req := e.gw.Request(0)
	if req.Header.Get("Authorization") != "Bearer sk-server-test-key" || req.Chat.Model != "gpt-4o-mini" || !req.Chat.Stream || req.Chat.MaxTokens != nil {
		t.Fatalf("gateway request: %s", req.Body)
	}
	if msgs := req.Chat.Messages; msgs[0].Role != "system" || msgs[len(msgs)-1].Content != "What are your hours?" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestMultiByteRepliesStreamValidUTF8Tokens(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	reply := []string{"Grüße ", "aus 東京 ", "🌍🎉", " — ça va?"}
	e.gw.Push(llmtest.Text(reply...).WithReasoning("denke…"))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "hi")
	evs := c.Terminal(r)
	var reasoning int
	for _, ev := range evs {
		if ev.Type() == "stream_token" && !utf8.ValidString(ev.Token()) {
			t.Fatalf("invalid token %q", ev.Token())
		}
		if ev.Type() == "stream_reasoning" {
			reasoning++
		}
	}
	if got := tokens(evs); got != strings.Join(reply, "") || reasoning == 0 {
		t.Fatalf("tokens %q reasoning %d", got, reasoning)
	}
}

func TestSecondTurnReplaysTheFirstExchange(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(textReply("First answer."), textReply("Second answer."))
	c, ack := e.session()
	sid := ack.Str("sessionId")
	c.Terminal(send(t, c, sid, "First question"))
	c.Terminal(send(t, c, sid, "Second question"))
	msgs := e.gw.Request(1).Chat.Messages
	var got []string
	for _, m := range msgs[1:] {
		got = append(got, m.Role+":"+m.Content)
	}
	want := "user:First question|assistant:First answer.|user:Second question"
	if strings.Join(got, "|") != want {
		t.Fatalf("second request %q", strings.Join(got, "|"))
	}
}

func TestHistoryKeepsTheNewestMessages(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_HISTORY_MESSAGES": "2"})
	c, ack := e.session()
	sid := ack.Str("sessionId")
	for i, q := range []string{"q1", "q2", "q3"} {
		e.gw.Push(textReply("a" + string(rune('1'+i))))
		c.Terminal(send(t, c, sid, q))
	}
	msgs := e.gw.Request(2).Chat.Messages
	var got []string
	for _, m := range msgs[1:] {
		got = append(got, m.Content)
	}
	if strings.Join(got, ",") != "q2,a2,q3" {
		t.Fatalf("history %v", got)
	}
}

func TestGatewayFailureEndsTurnWithAgentError(t *testing.T) {
	cases := []struct {
		name, msg string
		resp      llmtest.Response
		outcome   string
		attempts  int // a 5xx is retried twice (SWITCHBOARD_GATEWAY_RETRIES), a started stream never
	}{
		{"HTTP 500", "agent turn failed: model gateway error (HTTP 500)", llmtest.Error(500, ""), "error", 3},
		{"broken stream", "agent turn failed: model stream interrupted", llmtest.Text("Here are your last", " three").BreakAfter(1), "error", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fixture.Agent{}, nil)
			for range tc.attempts {
				e.gw.Push(tc.resp)
			}
			c, ack := e.session()
			r := send(t, c, ack.Str("sessionId"), "hi")
			evs := c.Terminal(r)
			wstest.RequireError(t, evs[len(evs)-1], r, "AGENT_ERROR", tc.msg)
			if outbound(t, e) != 0 {
				t.Fatal("assistant message stored after a failure")
			}
			if rows := usageRows(t, e); len(rows) != 1 || rows[0].outcome != tc.outcome {
				t.Fatalf("usage %+v", rows)
			}
			// The slot is free again.
			e.gw.Push(textReply("ok"))
			c.Terminal(send(t, c, ack.Str("sessionId"), "again"))
		})
	}
}

func TestSendMessageRefusalsComeAloneAndStoreNothing(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c, ack := e.session()
	sid := ack.Str("sessionId")
	long := strings.Repeat("é", 10001)
	cases := []struct {
		name      string
		frame     map[string]any
		code, msg string
		requestID string
	}{
		{"no requestId", map[string]any{"sessionId": sid, "message": "x"}, "VALIDATION_ERROR", "send_message requires a 'requestId'", ""},
		{"no sessionId", map[string]any{"requestId": "s1", "message": "x"}, "VALIDATION_ERROR", "missing 'sessionId'", "s1"},
		{"blank message", map[string]any{"requestId": "s2", "sessionId": sid, "message": "  "}, "VALIDATION_ERROR", "missing or empty 'message'", "s2"},
		{"long message", map[string]any{"requestId": "s3", "sessionId": sid, "message": long}, "VALIDATION_ERROR", "'message' must be at most 10000 characters", "s3"},
		{"skill", map[string]any{"requestId": "s4", "sessionId": sid, "message": "x", "skill": "math"}, "SKILL_NOT_FOUND", "skill 'math' is not available on this server", "s4"},
		{"unknown session", map[string]any{"requestId": "s5", "sessionId": "S9", "message": "x"}, "SESSION_NOT_FOUND", "session 'S9' not found", "s5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.frame["action"] = "send_message"
			wstest.RequireError(t, c.Request(tc.frame), tc.requestID, tc.code, tc.msg)
			if pong := c.Request(map[string]any{"action": "ping"}); pong.Type() != "pong" {
				t.Fatalf("a second event followed the refusal: %s", pong.Raw)
			}
		})
	}
	if n := count(t, e, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestBillingRefusalsBeforeTheAck(t *testing.T) {
	t.Run("LLM_UNAVAILABLE without any key and without the demo model", func(t *testing.T) {
		e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_GATEWAY_KEY": "", "SWITCHBOARD_DEMO_MODEL": "0"})
		c, ack := e.session()
		ev := c.Request(map[string]any{"action": "send_message", "requestId": "k", "sessionId": ack.Str("sessionId"), "message": "hi"})
		wstest.RequireError(t, ev, "k", "LLM_UNAVAILABLE", "no LLM gateway key is configured for this organization")
		if n := count(t, e, `SELECT count(*) FROM messages`); n != 0 {
			t.Fatal("message stored")
		}
	})
	t.Run("QUOTA_EXCEEDED with a zero budget", func(t *testing.T) {
		e := newEnv(t, fixture.Agent{}, nil)
		if _, err := e.srv.Pool.Exec(ctx(), `INSERT INTO org_settings (org_id, model, system_prompt, monthly_token_budget) VALUES ($1, 'gpt-4o-mini', 'p', 0)`, e.org); err != nil {
			t.Fatal(err)
		}
		c, ack := e.session()
		ev := c.Request(map[string]any{"action": "send_message", "requestId": "q", "sessionId": ack.Str("sessionId"), "message": "hi"})
		wstest.RequireError(t, ev, "q", "QUOTA_EXCEEDED", "the organization's monthly token budget is exhausted")
		if n := count(t, e, `SELECT count(*) FROM messages`); n != 0 {
			t.Fatal("message stored")
		}
	})
	t.Run("AGENT_NOT_FOUND once the agent is disabled", func(t *testing.T) {
		e := newEnv(t, fixture.Agent{}, nil)
		c, ack := e.session()
		if _, err := e.srv.Pool.Exec(ctx(), `UPDATE agents SET enabled = false WHERE id = $1`, e.agent.ID); err != nil {
			t.Fatal(err)
		}
		ev := c.Request(map[string]any{"action": "send_message", "requestId": "a", "sessionId": ack.Str("sessionId"), "message": "hi"})
		wstest.RequireError(t, ev, "a", "AGENT_NOT_FOUND", "agent '"+e.agent.ID.String()+"' not found")
	})
	t.Run("the org's newest key pays", func(t *testing.T) {
		e := newEnv(t, fixture.Agent{}, nil)
		e.fx.GatewayKey(e.org, fixture.GatewayKey{Secret: "sk-org-old-key-1111"})
		keyID := e.fx.GatewayKey(e.org, fixture.GatewayKey{Secret: "sk-org-new-key-2222", BaseURL: e.gw.BaseURL()}).ID
		e.gw.Push(textReply("paid"))
		c, ack := e.session()
		c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
		if auth := e.gw.Request(0).Header.Get("Authorization"); auth != "Bearer sk-org-new-key-2222" {
			t.Fatalf("Authorization %q", auth)
		}
		if rows := usageRows(t, e); len(rows) != 1 || rows[0].keyID == nil || *rows[0].keyID != keyID {
			t.Fatalf("usage %+v", rows)
		}
	})
}

func TestTurnInProgressRefusesASecondSend(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("slow").StallAfter(0))
	c, ack := e.session()
	sid := ack.Str("sessionId")
	r := send(t, c, sid, "first")
	ev := c.Request(map[string]any{"action": "send_message", "requestId": "second", "sessionId": sid, "message": "again"})
	wstest.RequireError(t, ev, "second", "TURN_IN_PROGRESS", "a turn is already in progress on this connection; cancel it or wait for it to complete")
	if n := count(t, e, `SELECT count(*) FROM messages`); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
	c.Send(map[string]any{"action": "cancel", "requestId": r})
	if ev := c.Next(); ev.Type() != "cancelled" {
		t.Fatalf("got %s", ev.Raw)
	}
}

func TestCancelMidStreamStopsTheGatewayAndRecordsUsage(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("Here is the first part", " and more").StallAfter(1))
	c, ack := e.session()
	sid := ack.Str("sessionId")
	r := send(t, c, sid, "tell me")
	if ev, _ := c.WaitFor("stream_token"); ev.RequestID() != r {
		t.Fatalf("token %s", ev.Raw)
	}
	c.Send(map[string]any{"action": "cancel", "requestId": r})
	ev, _ := c.WaitFor("cancelled")
	want := wstest.Envelope[wstest.Cancelled]{Type: "cancelled", RequestID: r, Status: 499, Data: wstest.Cancelled{RequestID: r, Status: 499}}
	if diff := cmp.Diff(want, wstest.Decode[wstest.Cancelled](t, ev)); diff != "" {
		t.Fatalf("cancelled (-want +got):\n%s", diff)
	}
	// Nothing more for R: the next event answers the next frame.
	if pong := c.Request(map[string]any{"action": "ping", "requestId": "after"}); pong.Type() != "pong" {
		t.Fatalf("after cancel: %s", pong.Raw)
	}
	rows := usageRows(t, e)
	if len(rows) != 1 || rows[0].outcome != "cancelled" || !rows[0].estimated || rows[0].prompt == 0 {
		t.Fatalf("usage %+v", rows)
	}
	if outbound(t, e) != 0 || count(t, e, `SELECT count(*) FROM messages WHERE direction = 'inbound'`) != 1 {
		t.Fatal("messages after cancel")
	}
	// The next send is accepted; the cancelled turn made no further request.
	e.gw.Push(textReply("fresh"))
	c.Terminal(send(t, c, sid, "again"))
	if n := e.gw.RequestCount(); n != 2 {
		t.Fatalf("gateway requests %d", n)
	}
}

func TestDisconnectMidTurnCancelsAndRecordsUsage(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("partial", " rest").StallAfter(1))
	c, ack := e.session()
	send(t, c, ack.Str("sessionId"), "tell me")
	c.WaitFor("stream_token")
	_ = c.Conn.Close()
	testkit.Eventually(t, "a cancelled usage row", func() bool {
		rows := usageRows(t, e)
		return len(rows) == 1 && rows[0].outcome == "cancelled"
	})
	if outbound(t, e) != 0 || count(t, e, `SELECT count(*) FROM messages`) != 1 {
		t.Fatal("messages after disconnect")
	}
}
