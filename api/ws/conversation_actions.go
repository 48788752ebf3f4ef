package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
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
	before, err := c.cursor(ctx, f, sess)
	if err != nil {
		return err
	}
	limit := f.clampLimit()
	msgs, err := c.h.d.Store.MessagesNewestFirst(ctx, sess.org, sess.conversation, before, limit+1)
	if err != nil {
		return storageFailure(err)
	}
	c.send(immediateEvent(f.requestID, 200, "ConversationMessages", newMessagesPage(msgs, limit, pageBudget-2*len(f.requestID))))
	return nil
}

// cursor reads `cursor`, else `before`: the sequence of the message it names in the session's
// conversation, or nil for the newest page.
func (c *conn) cursor(ctx context.Context, f *frame, sess sessionKeys) (*int64, error) {
	cursor, ok := f.str("cursor")
	if !ok || cursor == "" {
		cursor, _ = f.str("before")
	}
	if cursor == "" {
		return nil, nil
	}
	invalid := newError(codeValidation, "invalid 'cursor'")
	id, ok := parseID(cursor)
	if !ok {
		return nil, invalid
	}
	seq, err := c.h.d.Store.MessageSeq(ctx, sess.org, sess.conversation, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, storageFailure(err)
	}
	return &seq, nil
}

// newMessagesPage makes a page of at most limit of msgs (read newest first, one more than
// limit so as to know whether older ones remain) whose items fit in budget bytes.
func newMessagesPage(msgs []db.Message, limit, budget int) messagesPage {
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
		if i > 0 && size+len(b)+1 > budget {
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
	return page
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
	var all []store.ConversationSummary
	for _, q := range c.readableQueries(agentFilter, limit) {
		rows, err := c.h.d.Store.ReadableConversations(ctx, *q)
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

// readableQueries are the queries, one per org, whose union is every conversation this
// connection may read (PROTOCOL §4.5): its grants, and what its identities own.
func (c *conn) readableQueries(agentFilter uuid.NullUUID, limit int) map[uuid.UUID]*store.ReadableConversationsQuery {
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
	for _, w := range c.widgetW {
		q(w.org)
	}
	for _, s := range c.sessions {
		if qq := q(s.org); qq != nil && !slices.Contains(qq.Granted, s.conversation) {
			qq.Granted = append(qq.Granted, s.conversation)
		}
	}
	return queries
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
	conv, err := c.conversation(ctx, cid, newError(codeConversationNF, "conversation '"+echo(cid)+"' not found"))
	if err != nil {
		return err
	}
	if err := c.h.d.Store.RenameConversation(ctx, conv.OrgID, conv.ID, title); err != nil {
		return storageFailure(err)
	}
	c.send(immediateEvent(f.requestID, 200, "Conversation renamed", map[string]string{"conversationId": conv.ID.String(), "title": title}))
	return nil
}
