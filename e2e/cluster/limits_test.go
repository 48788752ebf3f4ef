package cluster_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

// L9 holds across instances (PROTOCOL-1.1 §1.10, §9): what the server's key paid for through
// instance A counts on instance B. The other limits are per instance by design.
func TestTheServerKeyAllowanceIsSharedByTwoInstances(t *testing.T) {
	c := newCluster(t, map[string]string{"SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG": "20"})
	a, b := c.start(nil), c.start(nil)
	c.gw.Push(llmtest.Text("one").WithUsage(10, 2), llmtest.Text("two").WithUsage(10, 2))

	turn := func(url, r string) wstest.Event {
		ws := wstest.Dial(t, url, nil)
		ack := ws.Request(map[string]any{"action": "create_conversation_session", "requestId": "c", "agentId": c.agent.ID.String()})
		ws.Send(map[string]any{"action": "send_message", "requestId": r, "sessionId": ack.Str("sessionId"), "message": "hi"})
		evs := ws.Terminal(r)
		return evs[len(evs)-1]
	}
	if ev := turn(a.WSURL, "a-1"); ev.Type() != "eventual_response" { // 12 of 20
		t.Fatalf("first turn on A: %s", ev.Raw)
	}
	if ev := turn(b.WSURL, "b-1"); ev.Type() != "eventual_response" { // 24: over, but started under
		t.Fatalf("first turn on B: %s", ev.Raw)
	}
	for _, srv := range []string{a.WSURL, b.WSURL} {
		wstest.RequireError(t, turn(srv, "over"), "over", "QUOTA_EXCEEDED", "the organization's monthly allowance on the server's gateway key is exhausted")
	}
}
