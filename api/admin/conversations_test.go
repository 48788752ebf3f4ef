package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/testkit"
)

// namedChat writes a conversation of agent in o whose user participant is called visitor,
// with the given messages (inbound when the text starts with "> ", else outbound).
func (s *server) namedChat(t *testing.T, o org, agent uuid.UUID, visitor string, msgs ...string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	q := db.New()
	conv, err := q.ConversationCreate(ctx, s.Pool, db.ConversationCreateParams{ID: uuid.New(), OrgID: o.id, AgentID: agent})
	if err != nil {
		t.Fatal(err)
	}
	user, err := q.ParticipantCreate(ctx, s.Pool, db.ParticipantCreateParams{OrgID: o.id, ConversationID: conv.ID, Type: "user", Name: visitor})
	if err != nil {
		t.Fatal(err)
	}
	ai, err := q.ParticipantCreate(ctx, s.Pool, db.ParticipantCreateParams{OrgID: o.id, ConversationID: conv.ID, Type: "ai-agent", Name: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		dir, from, text := "outbound", ai.ID, m
		if after, ok := strings.CutPrefix(m, "> "); ok {
			dir, from, text = "inbound", user.ID, after
		}
		if _, err := q.MessageInsertRow(ctx, s.Pool, db.MessageInsertRowParams{OrgID: o.id, ConversationID: conv.ID,
			ParticipantID: uuid.NullUUID{UUID: from, Valid: true}, Direction: dir, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	return conv.ID
}

func TestConversationsCarryADisplayName(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	long := "Can I get a refund\n\n  for order   1042? It arrived broken and the box was soaked through, twice."
	titled := s.namedChat(t, a, agent, "Grace", "> What are your hours?", "We're open 9-5.")
	if _, err := db.New().ConversationRename(context.Background(), s.Pool, db.ConversationRenameParams{OrgID: a.id, ID: titled, Title: ptr("Opening hours")}); err != nil {
		t.Fatal(err)
	}
	want := map[uuid.UUID]string{
		titled: "Opening hours",
		s.namedChat(t, a, agent, "Grace", "> "+long, "Sorry to hear that."):   "Can I get a refund for order 1042? It arrived broken and the…",
		s.namedChat(t, a, agent, "Grace", "> Short   one\n", "Reply."):        "Short one",
		s.namedChat(t, a, agent, "Ada Lovelace"):                              "Ada Lovelace",
		s.namedChat(t, a, agent, "Visitor"):                                   "Visitor",
		s.namedChat(t, a, agent, "Grace", "Welcome! How can I help?", "> Hi"): "Grace", // the visitor did not open it
		s.namedChat(t, a, agent, "Grace", "> "+strings.Repeat("é", 60)):       strings.Repeat("é", 60),
	}
	list := decode[admintest.ConversationList](t, s.do(t, "GET", "/admin/conversations", a.key, nil).want(t, 200)).Conversations
	if n := len(list); n != len(want) {
		t.Fatalf("%d conversations listed", n)
	}
	for _, c := range list {
		id := uuid.MustParse(c.ID)
		if c.Name != want[id] {
			t.Errorf("list: %s named %q, want %q", id, c.Name, want[id])
		}
		one := s.do(t, "GET", "/admin/conversations/"+id.String(), a.key, nil).want(t, 200)
		if got := one.str(t, "conversation.name"); got != want[id] {
			t.Errorf("get: %s named %q, want %q", id, got, want[id])
		}
	}
	// The offset dialect lists the same names.
	// (after an offset, nextCursor is the next offset, a number)
	r := s.do(t, "GET", "/admin/conversations?cursor=0&limit=2", a.key, nil).want(t, 200)
	page := testkit.DecodeJSON[struct {
		Conversations []admintest.Conversation `json:"conversations"`
		NextCursor    json.RawMessage          `json:"nextCursor"`
	}](t, r.body)
	for _, c := range page.Conversations {
		if c.Name != want[uuid.MustParse(c.ID)] {
			t.Errorf("offset page: %+v", c)
		}
	}
}

func ptr[T any](v T) *T { return &v }
