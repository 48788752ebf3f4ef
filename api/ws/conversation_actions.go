package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/store"
)

// timeFormat is RFC 3339 in UTC with milliseconds (PROTOCOL §4.4).
const timeFormat = "2006-01-02T15:04:05.000Z"

// pageBudget keeps a page of history, with its envelope, within the 1 MiB event limit.
const pageBudget = maxFrameBytes - 4096

type messageItem struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Content   struct {
		Text string `json:"text"`
	} `json:"content"`
	CreatedAt string `json:"createdAt"`
}

type messagesPage struct {
	Messages   []json.RawMessage `json:"messages"`
	NextCursor *string           `json:"nextCursor"`
	HasMore    bool              `json:"hasMore"`
}

// getMessages is get_conversation_messages (PROTOCOL §4.4).
func (c *conn) getMessages(ctx context.Context, f *frame) error {
	sid, ok := f.str("sessionId")
	if !ok {
		return newError(codeValidation, "missing 'sessionId'")
	}
	sess, err := c.session(ctx, sid, sessionNotFound(sid))
	if err != nil {
		return err
	}
	limit := f.clampLimit()
	cursor, ok := f.str("cursor")
	if !ok || cursor == "" {
		cursor, _ = f.str("before")
	}
	var before *int64
	if cursor != "" {
		id, ok := parseID(cursor)
		if !ok {
			return newError(codeValidation, "invalid 'cursor'")
		}
		seq, err := c.h.d.Store.MessageSeq(ctx, sess.org, sess.conversation, id)
		if errors.Is(err, store.ErrNotFound) {
			return newError(codeValidation, "invalid 'cursor'")
		}
		if err != nil {
			return storageFailure(err)
		}
		before = &seq
	}
	msgs, err := c.h.d.Store.MessagesNewestFirst(ctx, sess.org, sess.conversation, before, limit+1)
	if err != nil {
		return storageFailure(err)
	}
	page := messagesPage{Messages: []json.RawMessage{}, HasMore: len(msgs) > limit}
	msgs = msgs[:min(len(msgs), limit)]
	size := 0
	var last string
	for i, m := range msgs {
		var it messageItem
		it.ID, it.Direction, it.Content.Text = m.ID.String(), m.Direction, m.Text
		it.CreatedAt = m.CreatedAt.UTC().Format(timeFormat)
		b := marshal(it)
		// Never an empty page while messages remain, even for one huge message.
		if i > 0 && size+len(b)+1 > pageBudget-2*len(f.requestID) {
			page.HasMore = true
			break
		}
		size += len(b) + 1
		page.Messages = append(page.Messages, b)
		last = it.ID
	}
	if page.HasMore {
		page.NextCursor = &last
	}
	c.send(immediateEvent(f.requestID, 200, "ConversationMessages", page))
	return nil
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type conversationItem struct {
	ConversationID string `json:"conversationId"`
	Title          string `json:"title"`
	UpdatedAt      string `json:"updatedAt"`
	MessageCount   int    `json:"messageCount"`
}

// listConversations is list_conversations (PROTOCOL §4.5).
func (c *conn) listConversations(ctx context.Context, f *frame) error {
	limit := f.clampLimit()
	var agentFilter uuid.NullUUID
	if raw, ok := f.str("agentId"); ok {
		id, ok := parseID(raw)
		if !ok {
			c.send(immediateEvent(f.requestID, 200, "Conversations", map[string]any{"conversations": []conversationItem{}}))
			return nil
		}
		agentFilter = uuid.NullUUID{UUID: id, Valid: true}
	}
	queries := map[uuid.UUID]*store.ReadableConversationsQuery{}
	q := func(org uuid.UUID) *store.ReadableConversationsQuery {
		if c.principal != nil && c.principal.orgID != org {
			return nil // org first (PROTOCOL §3.3 step 1)
		}
		if queries[org] == nil {
			queries[org] = &store.ReadableConversationsQuery{OrgID: org, AgentID: agentFilter, Limit: limit, Identities: c.identities(org)}
			if c.principal != nil {
				queries[org].Email = strings.TrimSpace(c.principal.email)
			}
		}
		return queries[org]
	}
	if c.principal != nil {
		q(c.principal.orgID)
	}
	for w := range c.widgetW {
		q(w.org)
	}
	for conv, org := range c.grants {
		if qq := q(org); qq != nil {
			qq.Granted = append(qq.Granted, conv)
		}
	}
	var all []store.ConversationSummary
	for _, qq := range queries {
		rows, err := c.h.d.Store.ReadableConversations(ctx, *qq)
		if err != nil {
			return storageFailure(err)
		}
		all = append(all, rows...)
	}
	slices.SortFunc(all, func(a, b store.ConversationSummary) int {
		if d := b.UpdatedAt.Compare(a.UpdatedAt); d != 0 {
			return d
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	})
	items := make([]conversationItem, 0, min(len(all), limit))
	for _, s := range all[:min(len(all), limit)] {
		items = append(items, conversationItem{
			ConversationID: s.ID.String(), Title: listTitle(s), UpdatedAt: s.UpdatedAt.UTC().Format(timeFormat), MessageCount: s.MessageCount,
		})
	}
	c.send(immediateEvent(f.requestID, 200, "Conversations", map[string]any{"conversations": items}))
	return nil
}

// listTitle is the stored title, else the first inbound message collapsed and cut to 60
// characters with "…" (PROTOCOL §4.5).
func listTitle(s store.ConversationSummary) string {
	if s.Title != nil {
		return *s.Title
	}
	t := strings.Join(strings.Fields(s.FirstInbound), " ")
	if cut := cutRunes(t, 60); cut != t {
		return cut + "…"
	}
	return t
}

// sanitizeTitle applies PROTOCOL §4.6 in order.
func sanitizeTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Trim(s, "\"'*`# ")
	return cutRunes(s, 60)
}

// renameConversation is rename_conversation (PROTOCOL §4.6).
func (c *conn) renameConversation(ctx context.Context, f *frame) error {
	cid, ok := f.str("conversationId")
	if !ok {
		return newError(codeValidation, "rename_conversation requires a 'conversationId'")
	}
	raw, ok := f.str("title")
	title := sanitizeTitle(raw)
	if !ok || title == "" {
		return newError(codeValidation, "rename_conversation requires a non-empty 'title'")
	}
	conv, err := c.conversation(ctx, cid, newError(codeConversationNF, "conversation '"+cid+"' not found"))
	if err != nil {
		return err
	}
	if err := c.h.d.Store.RenameConversation(ctx, conv.OrgID, conv.ID, title); err != nil {
		return storageFailure(err)
	}
	c.send(immediateEvent(f.requestID, 200, "Conversation renamed", map[string]string{"conversationId": conv.ID.String(), "title": title}))
	return nil
}
