package admin

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/db"
)

type conversationJSON struct {
	ID            string    `json:"id"`
	AgentID       string    `json:"agentId"`
	Title         *string   `json:"title"`
	Name          string    `json:"name"`
	Platform      string    `json:"platform"`
	MessageCount  int32     `json:"messageCount"`
	LastMessageAt *jsonTime `json:"lastMessageAt"`
	CreatedAt     jsonTime  `json:"createdAt"`
	UpdatedAt     jsonTime  `json:"updatedAt"`
}

type participantJSON struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	Email      *string `json:"email"`
	ExternalID *string `json:"externalId"`
	// The contact of the user participant's session (PROTOCOL-1.1 Appendix C.5); null for
	// agent participants. contactEmailVerifiedAt: when that email was verified by a code.
	ContactEmail           *string   `json:"contactEmail"`
	ContactPhone           *string   `json:"contactPhone"`
	ContactEmailVerifiedAt *jsonTime `json:"contactEmailVerifiedAt"`
	CreatedAt              jsonTime  `json:"createdAt"`
}

func conversationOut(c db.Conversation, name string) conversationJSON {
	return conversationJSON{
		ID: c.ID.String(), AgentID: c.AgentID.String(), Title: c.Title, Name: name, Platform: c.Platform,
		MessageCount: c.MessageCount, LastMessageAt: tsPtr(c.LastMessageAt),
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
	}
}

// Display names (ADMIN-API §9.7) cut the visitor's first message to this many characters, as
// list_conversations cuts its titles (PROTOCOL §4.5).
const nameChars = 60

// conversationName is a conversation's display name: its stored title; else its first
// message when the visitor wrote it, whitespace collapsed and cut to 60 characters with "…"
// appended when cut; else the visitor's name.
func conversationName(title *string, firstInbound, visitor string) string {
	if title != nil && *title != "" {
		return *title
	}
	if t := strings.Join(strings.Fields(firstInbound), " "); t != "" {
		if r := []rune(t); len(r) > nameChars {
			return string(r[:nameChars]) + "…"
		}
		return t
	}
	return visitor
}

func (h *handlers) listConversations(c *fiber.Ctx) error {
	q, err := query(c, "agentId", "limit", "cursor")
	if err != nil {
		return err
	}
	var agent uuid.NullUUID
	filter := ""
	if raw, ok := q["agentId"]; ok {
		s, ok := auth.IsUUID(raw)
		if !ok {
			return api.Validation("agentId", "agentId must be a UUID")
		}
		agent, filter = uuid.NullUUID{UUID: uuid.MustParse(s), Valid: true}, s
	}
	pg, err := parsePage(q, "conversations", "t", filter)
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	p := principalOf(c)
	rows, err := h.st.ListConversations(c.UserContext(), p.org, agent, p.viewer(), pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]conversationJSON, len(rows))
	for i, r := range rows {
		out[i] = conversationOut(r.Conversation, conversationName(r.Title, r.FirstInbound, r.VisitorName))
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return timeCursor(last.CreatedAt, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"conversations": out, "nextCursor": next})
}

func (h *handlers) getConversation(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		return err
	}
	p := principalOf(c)
	ctx := c.UserContext()
	conv, err := h.st.VisibleConversation(ctx, p.org, id, p.viewer())
	if err != nil {
		return storeError(err, "conversation", c.Params("id"))
	}
	parts, err := h.st.Participants(ctx, p.org, id)
	if err != nil {
		return err
	}
	first, err := h.st.FirstInbound(ctx, p.org, id)
	if err != nil {
		return err
	}
	contacts, err := h.st.ConversationContacts(ctx, p.org, id)
	if err != nil {
		return err
	}
	visitor := ""
	for _, pt := range parts { // in creation order
		if pt.Participant.Type == "user" {
			visitor = pt.Participant.Name
			break
		}
	}
	out := struct {
		conversationJSON
		Participants []participantJSON `json:"participants"`
	}{conversationJSON: conversationOut(conv, conversationName(conv.Title, first, visitor)), Participants: make([]participantJSON, len(parts))}
	for i, row := range parts {
		pt := row.Participant
		out.Participants[i] = participantJSON{
			ID: pt.ID.String(), Type: pt.Type, Name: pt.Name, Email: pt.Email, ExternalID: pt.ExternalID,
			CreatedAt: ts(pt.CreatedAt),
		}
		if pt.Type == "user" {
			out.Participants[i].ContactEmail, out.Participants[i].ContactPhone = row.ContactEmail, row.ContactPhone
			if ct, ok := contacts[pt.ID]; ok {
				out.Participants[i].ContactEmailVerifiedAt = tsPtr(ct.EmailVerifiedAt)
			}
		}
	}
	return reply(c, fiber.StatusOK, fiber.Map{"conversation": out})
}

type messageJSON struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	Direction      string         `json:"direction"`
	Content        messageContent `json:"content"`
	From           *messageFrom   `json:"from"`
	CreatedAt      jsonTime       `json:"createdAt"`
}

type messageContent struct {
	Items []messageItem `json:"items"`
	Text  string        `json:"text"`
}

type messageItem struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type messageFrom struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

func messageOut(m db.MessageListOldestFirstRow) messageJSON {
	out := messageJSON{
		ID: m.ID.String(), ConversationID: m.ConversationID.String(), Direction: m.Direction,
		Content:   messageContent{Items: []messageItem{{Type: "text", Text: m.Text}}, Text: m.Text},
		CreatedAt: ts(m.CreatedAt),
	}
	// The participant is gone only if it was deleted; the message then names no author.
	if m.ParticipantID.Valid && m.FromType != nil {
		out.From = &messageFrom{ID: m.ParticipantID.UUID.String(), Type: *m.FromType}
		if m.FromName != nil {
			out.From.Name = *m.FromName
		}
	}
	return out
}

func (h *handlers) listMessages(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "messages", "s", canonicalID(c.Params("id")))
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		return err
	}
	p := principalOf(c)
	ctx := c.UserContext()
	if _, err := h.st.VisibleConversation(ctx, p.org, id, p.viewer()); err != nil {
		return storeError(err, "conversation", c.Params("id"))
	}
	rows, err := h.st.ConversationMessages(ctx, p.org, id, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]messageJSON, len(rows))
	for i, m := range rows {
		out[i] = messageOut(m)
	}
	// Every stored message has a sequence; a row without one ends the list.
	next := pg.next(more && rows[len(rows)-1].Seq != nil, func() cursor { return cursor{S: rows[len(rows)-1].Seq} })
	return reply(c, fiber.StatusOK, fiber.Map{"messages": out, "nextCursor": next})
}
