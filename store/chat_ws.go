package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// The /ws protocol's data access (PROTOCOL.md §3, §4, §8). The *ForWS lookups are by id
// alone (allow-listed queries): the caller learns the org from the row and checks it, and
// the connection's grants, before anything else uses the row.

// AgentForWS returns a live (not deleted) agent by id, whatever its org.
func (s *Store) AgentForWS(ctx context.Context, id uuid.UUID) (db.Agent, error) {
	a, err := s.Q.AgentGetForWS(ctx, s.Pool, id)
	if err != nil {
		return db.Agent{}, fmt.Errorf("load agent %s: %w", id, Classify(err))
	}
	return a, nil
}

// AgentNameAnyState names an agent even after it was disabled or deleted.
func (s *Store) AgentNameAnyState(ctx context.Context, orgID, id uuid.UUID) (string, error) {
	name, err := s.Q.AgentGetNameAnyState(ctx, s.Pool, db.AgentGetNameAnyStateParams{OrgID: orgID, ID: id})
	if err != nil {
		return "", fmt.Errorf("load agent name %s: %w", id, Classify(err))
	}
	return name, nil
}

// SessionForWS returns a session by id, whatever its org.
func (s *Store) SessionForWS(ctx context.Context, id uuid.UUID) (db.Session, error) {
	sess, err := s.Q.SessionGetForWS(ctx, s.Pool, id)
	if err != nil {
		return db.Session{}, fmt.Errorf("load session %s: %w", id, Classify(err))
	}
	return sess, nil
}

// ConversationForWS returns a conversation by id, whatever its org.
func (s *Store) ConversationForWS(ctx context.Context, id uuid.UUID) (db.Conversation, error) {
	c, err := s.Q.ConversationGetForWS(ctx, s.Pool, id)
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
	rows, err := s.Q.ParticipantListUserIdentities(ctx, s.Pool, db.ParticipantListUserIdentitiesParams{
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

// ResumeTokenValid reports whether hash is the hash of an unexpired resume token of the
// conversation.
func (s *Store) ResumeTokenValid(ctx context.Context, orgID, conversationID uuid.UUID, hash []byte) (bool, error) {
	ok, err := s.Q.SessionResumeTokenValid(ctx, s.Pool, db.SessionResumeTokenValidParams{
		OrgID: orgID, ConversationID: conversationID, ResumeTokenHash: hash,
	})
	if err != nil {
		return false, fmt.Errorf("check resume token: %w", err)
	}
	return ok, nil
}

// NewWidgetSession is what create_conversation_session persists (PROTOCOL §8).
type NewWidgetSession struct {
	OrgID     uuid.UUID
	AgentID   uuid.UUID
	AgentName string
	// ResumeConversationID names the conversation to resume; uuid.Nil creates a fresh one.
	ResumeConversationID uuid.UUID
	Metadata             json.RawMessage // fresh conversations only; nil for none
	Supports             []string        // nil when the frame had none
	UserName             string
	UserEmail            *string // verified (the token's email) only
	ExternalID           *string // jwt:<sub> or ctx:<userId>
	Fingerprint          *string
	ContactEmail         *string
	ResumeTokenHash      []byte
	ResumeTokenExpiresAt time.Time
}

// WidgetSession names the rows a create wrote.
type WidgetSession struct {
	SessionID          uuid.UUID
	ConversationID     uuid.UUID
	UserParticipantID  uuid.UUID
	AgentParticipantID uuid.UUID
}

// CreateWidgetSession writes, in one transaction, the conversation (when fresh) or its new
// clientSupports (on a resume with supports), both participants and the session.
func (s *Store) CreateWidgetSession(ctx context.Context, p NewWidgetSession) (WidgetSession, error) {
	var out WidgetSession
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		convID := p.ResumeConversationID
		if convID == uuid.Nil {
			c, err := s.Q.ConversationCreate(ctx, tx, db.ConversationCreateParams{
				ID: uuid.New(), OrgID: p.OrgID, AgentID: p.AgentID, Metadata: p.Metadata, ClientSupports: p.Supports,
			})
			if err != nil {
				return fmt.Errorf("create conversation: %w", err)
			}
			convID = c.ID
		} else if p.Supports != nil {
			if err := s.Q.ConversationSetSupports(ctx, tx, db.ConversationSetSupportsParams{
				OrgID: p.OrgID, ID: convID, ClientSupports: p.Supports,
			}); err != nil {
				return fmt.Errorf("set client supports: %w", err)
			}
		}
		user, err := s.Q.ParticipantCreate(ctx, tx, db.ParticipantCreateParams{
			OrgID: p.OrgID, ConversationID: convID, Type: "user", Name: p.UserName,
			Email: p.UserEmail, ExternalID: p.ExternalID, BrowserFingerprint: p.Fingerprint,
		})
		if err != nil {
			return fmt.Errorf("create user participant: %w", err)
		}
		agent, err := s.Q.ParticipantCreate(ctx, tx, db.ParticipantCreateParams{
			OrgID: p.OrgID, ConversationID: convID, Type: "ai-agent", Name: p.AgentName,
		})
		if err != nil {
			return fmt.Errorf("create agent participant: %w", err)
		}
		sess, err := s.Q.SessionCreate(ctx, tx, db.SessionCreateParams{
			ID: uuid.New(), OrgID: p.OrgID, ConversationID: convID, AgentID: p.AgentID,
			UserParticipantID: user.ID, AgentParticipantID: agent.ID, ContactEmail: p.ContactEmail,
			UserName: p.UserName, Supports: p.Supports, ResumeTokenHash: p.ResumeTokenHash,
			ResumeTokenExpiresAt: p.ResumeTokenExpiresAt,
		})
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		out = WidgetSession{SessionID: sess.ID, ConversationID: convID, UserParticipantID: user.ID, AgentParticipantID: agent.ID}
		return nil
	})
	if err != nil {
		return WidgetSession{}, fmt.Errorf("create widget session: %w", err)
	}
	return out, nil
}

// MessageSeq returns the storage sequence of a message of the conversation; ErrNotFound
// when the id names no message of it.
func (s *Store) MessageSeq(ctx context.Context, orgID, conversationID, id uuid.UUID) (int64, error) {
	seq, err := s.Q.MessageGetSeq(ctx, s.Pool, db.MessageGetSeqParams{OrgID: orgID, ConversationID: conversationID, ID: id})
	if err != nil {
		return 0, fmt.Errorf("load message %s: %w", id, Classify(err))
	}
	if seq == nil {
		return 0, fmt.Errorf("load message %s: %w", id, ErrNotFound)
	}
	return *seq, nil
}

// MessagesNewestFirst returns up to lim messages of the conversation older than beforeSeq
// (all when nil), newest first.
func (s *Store) MessagesNewestFirst(ctx context.Context, orgID, conversationID uuid.UUID, beforeSeq *int64, lim int) ([]db.Message, error) {
	msgs, err := s.Q.MessageListNewestFirst(ctx, s.Pool, db.MessageListNewestFirstParams{
		OrgID: orgID, ConversationID: conversationID, BeforeSeq: beforeSeq, Lim: int32(lim),
	})
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %s: %w", conversationID, err)
	}
	return msgs, nil
}

// RenameConversation stores a sanitized title.
func (s *Store) RenameConversation(ctx context.Context, orgID, id uuid.UUID, title string) error {
	if _, err := s.Q.ConversationRename(ctx, s.Pool, db.ConversationRenameParams{OrgID: orgID, ID: id, Title: &title}); err != nil {
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
	rows, err := s.Q.ConversationListReadable(ctx, s.Pool, db.ConversationListReadableParams{
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
