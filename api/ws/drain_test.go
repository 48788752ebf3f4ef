package ws_test

import (
	"context"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit"
)

func TestDrainRefusesNewWorkAndEndsParkedTurnsAtTheDeadline(t *testing.T) {
	p := newParked(t, map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "1s"})
	other, ack := p.session()
	shut := make(chan error, 1)
	go func() { shut <- p.srv.Shutdown(context.Background()) }()

	// Existing sockets are still served, but refuse new work.
	testkit.Eventually(t, "draining", func() bool {
		ev := other.Request(map[string]any{"action": "create_conversation_session", "requestId": "d1", "agentId": p.agent.ID.String()})
		return ev.Code() == "SERVER_SHUTTING_DOWN" && ev.Message() == "server is shutting down; reconnect and retry" && ev.RequestID() == "d1"
	})
	ev := other.Request(map[string]any{"action": "send_message", "requestId": "d2", "sessionId": ack.Str("sessionId"), "message": "hi"})
	wstest.RequireError(t, ev, "d2", "SERVER_SHUTTING_DOWN", "server is shutting down; reconnect and retry")
	evs := p.c.Terminal(p.r)
	wstest.RequireError(t, evs[len(evs)-1], p.r, "AGENT_ERROR", "agent turn failed: server is shutting down")
	if _, err := p.c.TryNext(5e9); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("socket not closed with 1001: %v", err)
	}
	if err := <-shut; err != nil {
		t.Logf("shutdown: %v (the parked turn outlives the drain on purpose)", err)
	}
}
