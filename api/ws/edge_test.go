package ws_test

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// terminal reports whether ev ends the turn R.
func terminal(ev wstest.Event, r string) bool {
	switch ev.Type() {
	case "eventual_response", "cancelled", "error":
		return ev.RequestID() == r
	}
	return false
}

// A cancel racing the end of a turn: exactly one terminal event, and `cancelled` only when
// the cancel took the turn (no reply stored for it). Run it under -race.
func TestCancelRacingTheEndOfATurnGivesExactlyOneTerminalEvent(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_TURN_BURST_PER_SESSION": "0", "SWITCHBOARD_WS_FRAME_BURST": "0"})
	c, ack := e.session()
	sid := ack.Str("sessionId")
	outcomes := map[string]int{}
	for i := range 200 {
		e.gw.Push(textReply("done"))
		r := nextR()
		c.Send(map[string]any{"action": "send_message", "requestId": r, "sessionId": sid, "message": "race"})
		if d := rand.N(4 * time.Millisecond); d > time.Millisecond { // sometimes at once
			time.Sleep(d)
		}
		c.Send(map[string]any{"action": "cancel", "requestId": r})
		// Read until the turn has ended and a ping sent after it is answered: by then every
		// event of the turn is queued (a cancel that took it waited for it to stop).
		var ends []string
		pinged := false
		for {
			ev := c.Next()
			if terminal(ev, r) {
				ends = append(ends, ev.Type())
				if !pinged {
					c.Send(map[string]any{"action": "ping", "requestId": "after"})
					pinged = true
				}
			}
			if ev.Type() == "pong" {
				break
			}
		}
		if len(ends) != 1 {
			t.Fatalf("iteration %d: terminal events %v, want exactly one", i, ends)
		}
		replies := count(t, e, `SELECT count(*) FROM messages WHERE direction = 'outbound' AND request_id = $1`, r)
		switch ends[0] {
		case "cancelled":
			if replies != 0 {
				t.Fatalf("iteration %d: cancelled, but the reply was stored", i)
			}
		case "eventual_response":
			if replies != 1 {
				t.Fatalf("iteration %d: completed, but %d replies stored", i, replies)
			}
		default:
			t.Fatalf("iteration %d: ended with %s", i, ends[0])
		}
		outcomes[ends[0]]++
	}
	t.Logf("outcomes over 200 races: %v", outcomes)
}

// No event over 1 MiB (PROTOCOL §1.4): a model delta that JSON escaping would blow past it
// goes out as several stream_tokens that still concatenate to the reply.
func TestAHugeDeltaIsSplitIntoTokensUnder1MiB(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	huge := strings.Repeat("\x01", 90000) // 540,000 bytes escaped, twice in a stream_token
	e.gw.Push(textReply(huge))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "go")
	evs := c.Terminal(r)
	n := 0
	for _, ev := range evs {
		if len(ev.Raw) > 1<<20 {
			t.Fatalf("a %s of %d bytes", ev.Type(), len(ev.Raw))
		}
		if ev.Type() == "stream_token" {
			n++
		}
	}
	parts := reply(t, evs[len(evs)-1]).Response.ResponseParts
	if len(parts) != 1 || parts[0] != huge || tokens(evs) != huge || n < 2 {
		t.Fatalf("%d tokens; the reply has %d parts, or they differ from the delta", n, len(parts))
	}
}

// An approval stores its arguments: at most 64 KiB as stored (ADMIN-API §9.8). Arguments
// under 64 KiB as sent but over it as PostgreSQL prints them never park.
func TestApprovalArgumentsOver64KiBAsStoredNeverPark(t *testing.T) {
	e := newEnv(t, fixture.Agent{ConfirmTools: []string{"refund"}}, nil)
	ts := newToolServer(t, 200, "refunded")
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "refund", URL: ts.URL})
	args := `{"a":[` + strings.Repeat("1,", 32000) + `1]}` // 64,008 bytes; 96,009 as jsonb text
	e.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "refund", Arguments: args}), textReply("Could not do it."))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "refund me")
	evs := c.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("events %v", types(evs))
	}
	want := []wstest.Envelope[wstest.Chunk]{
		wstest.CallChunk(r, wstest.ToolCall{Name: "refund", Arguments: map[string]any{}}),
		wstest.ResultChunk(r, wstest.ToolResult{Name: "refund", IsError: true, Result: "Error: invalid tool arguments: arguments exceed 65536 bytes"}),
	}
	if diff := cmp.Diff(want, chunks(t, evs)); diff != "" {
		t.Fatalf("chunks (-want +got):\n%s", diff)
	}
	for _, ev := range evs {
		if ev.Type() == "write_confirmation_required" {
			t.Fatal("it parked")
		}
	}
	if count(t, e, `SELECT count(*) FROM pending_approvals`) != 0 || len(ts.Calls()) != 0 {
		t.Fatal("an approval was stored or the tool was called")
	}
}

// PROTOCOL §1.1–1.2: a database failure while resolving a verified token's org is not an
// invalid token. The upgrade is refused with 503 STORAGE_ERROR, which clients retry, in
// lenient and strict mode alike, rather than silently making a signed-in visitor anonymous.
func TestADatabaseFailureResolvingTheTokenOrgIs503(t *testing.T) {
	for _, mode := range []string{"lenient", "strict"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_AUTH": mode, "AUTH_JWT_SECRET": testJWTSecret})
			if _, err := e.srv.Pool.Exec(ctx(), `UPDATE orgs SET external_id = 'acme-ext' WHERE id = $1`, e.org); err != nil {
				t.Fatal(err)
			}
			u := e.srv.WSURL + "?token=" + url.QueryEscape(jwtToken(t, map[string]any{"sub": "dana", "org": "acme-ext"}))
			if _, err := e.srv.Pool.Exec(ctx(), `ALTER TABLE orgs RENAME TO orgs_away`); err != nil {
				t.Fatal(err)
			}
			_, resp, err := websocket.DefaultDialer.Dial(u, nil)
			if err == nil || resp == nil {
				t.Fatal("upgraded without the org")
			}
			code, msg := readEnvelope(t, resp)
			if resp.StatusCode != 503 || code != "STORAGE_ERROR" || msg != "storage is temporarily unavailable; try again" {
				t.Fatalf("got %d %s %q", resp.StatusCode, code, msg)
			}
			if _, err := e.srv.Pool.Exec(ctx(), `ALTER TABLE orgs_away RENAME TO orgs`); err != nil {
				t.Fatal(err)
			}
			c := wstest.Dial(t, u, nil)
			if ev := c.Request(map[string]any{"action": "list_conversations", "requestId": "l"}); ev.Status() != 200 {
				t.Fatalf("after the database came back: %s", ev.Raw)
			}
		})
	}
}

func TestRefusedTokensDoNotFloodTheLog(t *testing.T) {
	logs := &logBuffer{}
	e := newLoggedEnv(t, logs, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	for range 5 {
		wstest.Dial(t, e.srv.WSURL+"?token=garbage", nil)
	}
	if n := logs.count("token refused"); n != 1 {
		t.Fatalf("%d log lines for 5 refused tokens, want 1:\n%s", n, logs.buf.String())
	}
}
