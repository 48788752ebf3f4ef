package ws_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// TestSessionCreatedOnOneInstanceIsServedByAnother pins PROTOCOL §11 item 29: two servers on
// one database; a session created through A is read, continued and resumed through B.
func TestSessionCreatedOnOneInstanceIsServedByAnother(t *testing.T) {
	gw := llmtest.New(t)
	url := dbtest.NewURL(t)
	vars := map[string]string{"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-test", "AUTH_JWT_SECRET": testJWTSecret}
	a := servetest.StartOn(t, url, vars)
	b := servetest.StartOn(t, url, vars)
	fx := fixture.New(t, a.Pool)
	org := fx.Org(fixture.Org{Name: "Acme", ExternalID: "acme"}).ID
	ag := fx.Agent(org, fixture.Agent{})
	token := jwtToken(t, map[string]any{"sub": "dana", "org": "acme", "email": "dana@example.org"})

	// A verified visitor: the conversation is owned, so any connection of the same identity reads it.
	onA := wstest.Dial(t, a.WSURL+"?token="+token, nil)
	ack := onA.Request(map[string]any{"action": "create_conversation_session", "agentId": ag.ID.String()})
	sid := ack.Str("sessionId")
	gw.Push(textReply("Answer from A."))
	onA.Terminal(send(t, onA, sid, "Question on A"))

	onB := wstest.Dial(t, b.WSURL+"?token="+token, nil)
	if g := onB.Request(map[string]any{"action": "get_session", "sessionId": sid}); g.Str("conversationId") != ack.Str("conversationId") {
		t.Fatalf("get_session on B: %s", g.Raw)
	}
	if p := messagesPage(t, onB.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid})); len(p.Messages) != 2 {
		t.Fatalf("messages on B: %+v", p)
	}
	gw.Push(textReply("Answer from B."))
	evs := onB.Terminal(send(t, onB, sid, "Question on B"))
	if evs[len(evs)-1].Type() != "eventual_response" {
		t.Fatalf("send on B: %s", evs[len(evs)-1].Raw)
	}
	if msgs := gw.Request(1).Chat.Messages; len(msgs) != 4 || msgs[2].Content != "Answer from A." {
		t.Fatalf("B's turn did not replay A's history: %+v", msgs)
	}

	// An anonymous visitor resumes its conversation on B with the resume token.
	anonA := wstest.Dial(t, a.WSURL, nil)
	anon := anonA.Request(map[string]any{"action": "create_conversation_session", "agentId": ag.ID.String()})
	gw.Push(textReply("hi"))
	anonA.Terminal(send(t, anonA, anon.Str("sessionId"), "anonymous question"))
	anonB := wstest.Dial(t, b.WSURL, http.Header{})
	res := anonB.Request(map[string]any{"action": "create_conversation_session", "agentId": ag.ID.String(),
		"conversationId": anon.Str("conversationId"), "resumeToken": anon.Str("resumeToken")})
	if res.Str("conversationId") != anon.Str("conversationId") {
		t.Fatalf("resume on B: %s", res.Raw)
	}
	gw.Push(textReply("continued"))
	anonB.Terminal(send(t, anonB, res.Str("sessionId"), "continue on B"))
	if p := messagesPage(t, anonB.Request(map[string]any{"action": "get_conversation_messages", "sessionId": res.Str("sessionId")})); len(p.Messages) != 4 {
		t.Fatalf("messages after resume: %+v", p)
	}
}
