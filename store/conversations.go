package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Viewer is who reads conversations: All for admins and curators; otherwise the identity
// (jwt:<sub>, or "" for none) and email a basic principal is matched by (ADMIN-API §4.1).
type Viewer struct {
	All      bool
	Identity string
	Email    string
}

// ListedConversation is a conversation of a list with what its display name derives from.
type ListedConversation struct {
	db.Conversation
	// FirstInbound is the first message of the conversation, its text cut to 1024
	// characters, when the visitor wrote it; "" otherwise.
	FirstInbound string
	// VisitorName is the name of its first user participant ("" when it has none).
	VisitorName string
}

// ListConversations pages the org's conversations visible to v, newest first, optionally
// of one agent.
func (s *Store) ListConversations(ctx context.Context, orgID uuid.UUID, agentID uuid.NullUUID, v Viewer, p Page) ([]ListedConversation, error) {
	rows, err := queries.ConversationList(ctx, s.pool, db.ConversationListParams{
		OrgID: orgID, AgentID: agentID, AllVisible: v.All, Identity: v.Identity, Email: v.Email,
		AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]ListedConversation, len(rows))
	for i, r := range rows {
		out[i] = ListedConversation{
			Conversation: db.Conversation{
				ID: r.ID, OrgID: r.OrgID, AgentID: r.AgentID, Title: r.Title, Platform: r.Platform, Metadata: r.Metadata,
				ClientSupports: r.ClientSupports, MessageCount: r.MessageCount, LastMessageAt: r.LastMessageAt,
				CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
			},
			VisitorName: r.VisitorName,
		}
		if r.FirstDirection == "inbound" {
			out[i].FirstInbound = r.FirstText
		}
	}
	return out, nil
}

// VisibleConversation loads a conversation of the org that v may see. ErrNotFound for an
// unknown, foreign or invisible one alike.
func (s *Store) VisibleConversation(ctx context.Context, orgID, id uuid.UUID, v Viewer) (db.Conversation, error) {
	c, err := queries.ConversationGet(ctx, s.pool, db.ConversationGetParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.Conversation{}, fmt.Errorf("load conversation %s: %w", id, Classify(err))
	}
	if v.All {
		return c, nil
	}
	ok, err := queries.ConversationVisibleTo(ctx, s.pool, db.ConversationVisibleToParams{
		OrgID: orgID, ConversationID: id, Identity: v.Identity, Email: v.Email,
	})
	if err != nil {
		return db.Conversation{}, fmt.Errorf("check conversation %s visibility: %w", id, err)
	}
	if !ok {
		return db.Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// Participants lists a conversation's participants in creation order.
func (s *Store) Participants(ctx context.Context, orgID, conversationID uuid.UUID) ([]db.ParticipantListRow, error) {
	rows, err := queries.ParticipantList(ctx, s.pool, db.ParticipantListParams{OrgID: orgID, ConversationID: conversationID})
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	return rows, nil
}

// ConversationForWS returns a conversation by id, whatever its org.
func (s *Store) ConversationForWS(ctx context.Context, id uuid.UUID) (db.Conversation, error) {
	c, err := queries.ConversationGetForWS(ctx, s.pool, id)
	if err != nil {
		return db.Conversation{}, fmt.Errorf("load conversation %s: %w", id, Classify(err))
	}
	return c, nil
}

// Owner is one user participant that makes a conversation owned (PROTOCOL §3.2).
type Owner struct {
	Email      string
	ExternalID string
}

// ConversationOwners lists the user participants with a non-blank email or external id.
func (s *Store) ConversationOwners(ctx context.Context, orgID, conversationID uuid.UUID) ([]Owner, error) {
	rows, err := queries.ParticipantListUserIdentities(ctx, s.pool, db.ParticipantListUserIdentitiesParams{
		OrgID: orgID, ConversationID: conversationID,
	})
	if err != nil {
		return nil, fmt.Errorf("load owners of conversation %s: %w", conversationID, err)
	}
	out := make([]Owner, 0, len(rows))
	for _, r := range rows {
		var o Owner
		if r.Email != nil {
			o.Email = *r.Email
		}
		if r.ExternalID != nil {
			o.ExternalID = *r.ExternalID
		}
		out = append(out, o)
	}
	return out, nil
}

// RenameConversation stores a sanitized title.
func (s *Store) RenameConversation(ctx context.Context, orgID, id uuid.UUID, title string) error {
	if _, err := queries.ConversationRename(ctx, s.pool, db.ConversationRenameParams{OrgID: orgID, ID: id, Title: &title}); err != nil {
		return fmt.Errorf("rename conversation %s: %w", id, Classify(err))
	}
	return nil
}

// ReadableConversationsQuery is one org's part of a list_conversations.
type ReadableConversationsQuery struct {
	OrgID      uuid.UUID
	AgentID    uuid.NullUUID
	Granted    []uuid.UUID
	Identities []string // jwt:<sub>, ctx:<userId>
	Email      string   // the principal's verified email, or ""
	Limit      int
}

// ConversationSummary is one list_conversations item before its title is derived.
type ConversationSummary struct {
	ID           uuid.UUID
	Title        *string
	FirstInbound string
	MessageCount int
	UpdatedAt    time.Time
}

// ReadableConversations lists, within one org, the conversations the query names that have
// at least one message, most recent activity first.
func (s *Store) ReadableConversations(ctx context.Context, q ReadableConversationsQuery) ([]ConversationSummary, error) {
	granted, identities := q.Granted, q.Identities
	if granted == nil {
		granted = []uuid.UUID{}
	}
	if identities == nil {
		identities = []string{}
	}
	rows, err := queries.ConversationListReadable(ctx, s.pool, db.ConversationListReadableParams{
		OrgID: q.OrgID, AgentID: q.AgentID, Granted: granted, Identities: identities, Email: q.Email, Lim: int32(q.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]ConversationSummary, 0, len(rows))
	for _, r := range rows {
		c := ConversationSummary{ID: r.ID, Title: r.Title, FirstInbound: r.FirstInbound, MessageCount: int(r.MessageCount)}
		if r.LastMessageAt != nil {
			c.UpdatedAt = *r.LastMessageAt
		}
		out = append(out, c)
	}
	return out, nil
}
