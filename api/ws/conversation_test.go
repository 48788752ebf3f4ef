package ws_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// messagesPage decodes a ConversationMessages answer.
func messagesPage(t *testing.T, ev wstest.Event) wstest.MessagesPage {
	t.Helper()
	if ev.Message() != "ConversationMessages" {
		t.Fatalf("not a page of messages: %s", ev.Raw)
	}
	return wstest.Decode[wstest.MessagesPage](t, ev).Data
}

// conversations decodes a Conversations answer.
func conversations(t *testing.T, ev wstest.Event) []wstest.Conversation {
	t.Helper()
	if ev.Message() != "Conversations" {
		t.Fatalf("not a list of conversations: %s", ev.Raw)
	}
	return wstest.Decode[wstest.Conversations](t, ev).Data.Conversations
}

func TestConversationMessagesPageNewestFirst(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c, ack := e.session()
	sid := ack.Str("sessionId")
	for i := 0; i < 3; i++ {
		e.gw.Push(textReply("reply"))
		c.Terminal(send(t, c, sid, "question"))
	}
	// 6 messages: newest first, two per page.
	var ids []string
	var cursor *string
	for page := 0; page < 3; page++ {
		f := map[string]any{"action": "get_conversation_messages", "requestId": "h", "sessionId": sid, "limit": 2}
		if cursor != nil {
			f["cursor"] = *cursor
		}
		p := messagesPage(t, c.Request(f))
		if len(p.Messages) != 2 || p.HasMore != (page < 2) {
			t.Fatalf("page %d: %+v", page, p)
		}
		for i, m := range p.Messages {
			ids = append(ids, m.ID)
			wantDir := "outbound"
			if i == 1 {
				wantDir = "inbound"
			}
			if m.Direction != wantDir || len(m.CreatedAt) != 24 {
				t.Fatalf("message %+v", m)
			}
		}
		// nextCursor is the last id while more remain, and null on the last page.
		var want *string
		if p.HasMore {
			want = &ids[len(ids)-1]
		}
		if diff := cmp.Diff(want, p.NextCursor); diff != "" {
			t.Fatalf("page %d nextCursor (-want +got):\n%s", page, diff)
		}
		cursor = p.NextCursor
	}
	// "before" is an alias; a foreign id is an invalid cursor; limit clamps.
	p := messagesPage(t, c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "before": ids[3]}))
	if n := len(p.Messages); n != 2 {
		t.Fatalf("before alias: %d messages", n)
	}
	ev := c.Request(map[string]any{"action": "get_conversation_messages", "requestId": "bad", "sessionId": sid, "cursor": sid})
	if diff := cmp.Diff(wstest.ErrorEvent("bad", "VALIDATION_ERROR", "invalid 'cursor'"), wstest.Decode[wstest.ErrorData](t, ev)); diff != "" {
		t.Fatalf("invalid cursor (-want +got):\n%s", diff)
	}
	p = messagesPage(t, c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "limit": 0}))
	if n := len(p.Messages); n != 1 {
		t.Fatalf("limit 0 clamps to 1, got %d", n)
	}
	p = messagesPage(t, c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "limit": "5"}))
	if n := len(p.Messages); n != 6 {
		t.Fatalf("ill-typed limit defaults to 50, got %d", n)
	}
	if ev := c.Request(map[string]any{"action": "get_conversation_messages"}); ev.Message() != "missing 'sessionId'" {
		t.Fatalf("missing sessionId: %s", ev.Raw)
	}
}

func TestListAndRenameConversations(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c, first := e.session()
	if convs := conversations(t, c.Request(map[string]any{"action": "list_conversations", "requestId": "l"})); len(convs) != 0 {
		t.Fatalf("conversation without messages listed: %+v", convs)
	}
	e.gw.Push(textReply("a"), textReply("b"))
	c.Terminal(send(t, c, first.Str("sessionId"), "  What   are your\nhours? This question is long enough to be cut at sixty chars"))
	second := c.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String()})
	c.Terminal(send(t, c, second.Str("sessionId"), "second"))

	convs := conversations(t, c.Request(map[string]any{"action": "list_conversations", "requestId": "l"}))
	if len(convs) != 2 {
		t.Fatalf("list: %+v", convs)
	}
	want := []wstest.Conversation{
		{ConversationID: second.Str("conversationId"), Title: "second", MessageCount: 2}, // most recent first
		{ConversationID: first.Str("conversationId"), Title: "What are your hours? This question is long enough to be cut …", MessageCount: 2},
	}
	for i := range convs {
		if len(convs[i].UpdatedAt) != 24 {
			t.Fatalf("updatedAt %q", convs[i].UpdatedAt)
		}
		want[i].UpdatedAt = convs[i].UpdatedAt
	}
	if diff := cmp.Diff(want, convs); diff != "" {
		t.Fatalf("list (-want +got):\n%s", diff)
	}
	ren := c.Request(map[string]any{"action": "rename_conversation", "requestId": "n", "conversationId": first.Str("conversationId"), "title": "  \"Opening\n hours\"  "})
	if ren.Message() != "Conversation renamed" || ren.Str("title") != "Opening hours" {
		t.Fatalf("rename: %s", ren.Raw)
	}
	if convs := conversations(t, c.Request(map[string]any{"action": "list_conversations", "limit": 1, "agentId": e.agent.ID.String()})); len(convs) != 1 {
		t.Fatalf("limit 1: %+v", convs)
	}
	if convs := conversations(t, c.Request(map[string]any{"action": "list_conversations"})); convs[1].Title != "Opening hours" {
		t.Fatalf("renamed title not listed: %+v", convs)
	}
	for _, f := range []map[string]any{
		{"action": "rename_conversation", "title": "x"},
		{"action": "rename_conversation", "conversationId": first.Str("conversationId"), "title": " ** "},
	} {
		if ev := c.Request(f); ev.Code() != "VALIDATION_ERROR" {
			t.Fatalf("rename validation: %s", ev.Raw)
		}
	}
	// Another anonymous visitor sees none of them.
	if convs := conversations(t, e.dial(nil).Request(map[string]any{"action": "list_conversations"})); len(convs) != 0 {
		t.Fatalf("another visitor lists: %+v", convs)
	}
}
