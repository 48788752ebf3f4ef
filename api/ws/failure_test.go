package ws_test

import (
	"encoding/base64"
	"testing"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// Unexpected failures answer PROTOCOL §6's codes with the spec's messages, echo the frame's
// requestId, carry nothing of their cause, and leave the connection open.

const msgStorage = "storage is temporarily unavailable; try again"

func TestADatabaseFailureAnswersStorageError(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c, ack := e.session()
	sid := ack.Str("sessionId")
	exec := func(sql string) {
		t.Helper()
		if _, err := e.srv.Pool.Exec(ctx(), sql); err != nil {
			t.Fatal(err)
		}
	}
	// The table of messages goes away under the running server: every statement on it fails.
	exec(`ALTER TABLE messages RENAME TO messages_gone`)
	wstest.RequireError(t, c.Request(map[string]any{"action": "send_message", "requestId": "s-1", "sessionId": sid, "message": "hello"}),
		"s-1", "STORAGE_ERROR", msgStorage)
	wstest.RequireError(t, c.Request(map[string]any{"action": "get_conversation_messages", "requestId": "h-1", "sessionId": sid}),
		"h-1", "STORAGE_ERROR", msgStorage)
	// So does the table of sessions, for an action that writes one.
	exec(`ALTER TABLE sessions RENAME TO sessions_gone`)
	wstest.RequireError(t, c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-2", "agentId": e.agent.ID.String()}),
		"c-2", "STORAGE_ERROR", msgStorage)
	if pong := c.Request(map[string]any{"action": "ping", "requestId": "p"}); pong.Type() != "pong" {
		t.Fatalf("the connection stopped serving after the failures: %s", pong.Raw)
	}
	if n := e.gw.RequestCount(); n != 0 {
		t.Fatalf("the gateway was called %d times", n)
	}
}

func TestAGatewayKeyThisServerCannotOpenAnswersInternalError(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	// The org's key was sealed by a server with another encryption key.
	elsewhere := fixture.New(t, e.srv.Pool)
	elsewhere.Box = fixture.Box(t, base64.StdEncoding.EncodeToString([]byte("another-server's-key-of-32-bytes")))
	elsewhere.GatewayKey(e.org, fixture.GatewayKey{Secret: "sk-sealed-elsewhere-9999"})

	c, ack := e.session()
	ev := c.Request(map[string]any{"action": "send_message", "requestId": "s-1", "sessionId": ack.Str("sessionId"), "message": "hello"})
	wstest.RequireError(t, ev, "s-1", "INTERNAL_ERROR", "internal error")
	if n := count(t, e, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if n := e.gw.RequestCount(); n != 0 {
		t.Fatalf("the gateway was called %d times", n)
	}
	if pong := c.Request(map[string]any{"action": "ping", "requestId": "p"}); pong.Type() != "pong" {
		t.Fatalf("the connection stopped serving after the failure: %s", pong.Raw)
	}
}
