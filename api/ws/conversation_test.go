package ws_test

import (
	"testing"

	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

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
	cursor := any(nil)
	for page := 0; page < 3; page++ {
		f := map[string]any{"action": "get_conversation_messages", "requestId": "h", "sessionId": sid, "limit": 2}
		if cursor != nil {
			f["cursor"] = cursor
		}
		ev := c.Request(f)
		if ev.Message() != "ConversationMessages" {
			t.Fatalf("page %d: %s", page, ev.Raw)
		}
		msgs := ev.Data()["messages"].([]any)
		hasMore := ev.Data()["hasMore"].(bool)
		next, present := ev.Data()["nextCursor"]
		if !present || len(msgs) != 2 || hasMore != (page < 2) || (next == nil) == hasMore {
			t.Fatalf("page %d: %s", page, ev.Raw)
		}
		for i, m := range msgs {
			mm := m.(map[string]any)
			ids = append(ids, mm["id"].(string))
			wantDir := "outbound"
			if i == 1 {
				wantDir = "inbound"
			}
			if mm["direction"] != wantDir || len(mm["createdAt"].(string)) != 24 {
				t.Fatalf("message %v", mm)
			}
		}
		if hasMore && next != ids[len(ids)-1] {
			t.Fatalf("nextCursor %v is not the last id", next)
		}
		cursor = next
	}
	// "before" is an alias; a foreign id is an invalid cursor; limit clamps.
	ev := c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "before": ids[3]})
	if n := len(ev.Data()["messages"].([]any)); n != 2 {
		t.Fatalf("before alias: %d messages", n)
	}
	ev = c.Request(map[string]any{"action": "get_conversation_messages", "requestId": "bad", "sessionId": sid, "cursor": sid})
	if ev.Code() != "VALIDATION_ERROR" || ev.Message() != "invalid 'cursor'" || ev.RequestID() != "bad" {
		t.Fatalf("invalid cursor: %s", ev.Raw)
	}
	ev = c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "limit": 0})
	if n := len(ev.Data()["messages"].([]any)); n != 1 {
		t.Fatalf("limit 0 clamps to 1, got %d", n)
	}
	ev = c.Request(map[string]any{"action": "get_conversation_messages", "sessionId": sid, "limit": "5"})
	if n := len(ev.Data()["messages"].([]any)); n != 6 {
		t.Fatalf("ill-typed limit defaults to 50, got %d", n)
	}
	if ev := c.Request(map[string]any{"action": "get_conversation_messages"}); ev.Message() != "missing 'sessionId'" {
		t.Fatalf("missing sessionId: %s", ev.Raw)
	}
}

func TestListAndRenameConversations(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c, first := e.session()
	if ev := c.Request(map[string]any{"action": "list_conversations", "requestId": "l"}); len(ev.Data()["conversations"].([]any)) != 0 {
		t.Fatalf("conversation without messages listed: %s", ev.Raw)
	}
	e.gw.Push(textReply("a"), textReply("b"))
	c.Terminal(send(t, c, first.Str("sessionId"), "  What   are your\nhours? This question is long enough to be cut at sixty chars"))
	second := c.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String()})
	c.Terminal(send(t, c, second.Str("sessionId"), "second"))

	ev := c.Request(map[string]any{"action": "list_conversations", "requestId": "l"})
	convs := ev.Data()["conversations"].([]any)
	if ev.Message() != "Conversations" || len(convs) != 2 {
		t.Fatalf("list: %s", ev.Raw)
	}
	top, next := convs[0].(map[string]any), convs[1].(map[string]any)
	if top["conversationId"] != second.Str("conversationId") || top["title"] != "second" || top["messageCount"] != float64(2) {
		t.Fatalf("most recent first: %v", top)
	}
	if next["title"] != "What are your hours? This question is long enough to be cut …" {
		t.Fatalf("derived title %q", next["title"])
	}
	ren := c.Request(map[string]any{"action": "rename_conversation", "requestId": "n", "conversationId": first.Str("conversationId"), "title": "  \"Opening\n hours\"  "})
	if ren.Message() != "Conversation renamed" || ren.Str("title") != "Opening hours" {
		t.Fatalf("rename: %s", ren.Raw)
	}
	ev = c.Request(map[string]any{"action": "list_conversations", "limit": 1, "agentId": e.agent.ID.String()})
	if convs := ev.Data()["conversations"].([]any); len(convs) != 1 {
		t.Fatalf("limit 1: %s", ev.Raw)
	}
	ev = c.Request(map[string]any{"action": "list_conversations"})
	if ev.Data()["conversations"].([]any)[1].(map[string]any)["title"] != "Opening hours" {
		t.Fatalf("renamed title not listed: %s", ev.Raw)
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
	if ev := e.dial(nil).Request(map[string]any{"action": "list_conversations"}); len(ev.Data()["conversations"].([]any)) != 0 {
		t.Fatalf("another visitor lists: %s", ev.Raw)
	}
}
