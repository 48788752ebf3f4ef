package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// SessionForWS returns a session by id, whatever its org.
func (s *Store) SessionForWS(ctx context.Context, id uuid.UUID) (db.Session, error) {
	sess, err := queries.SessionGetForWS(ctx, s.pool, id)
	if err != nil {
		return db.Session{}, fmt.Errorf("load session %s: %w", id, Classify(err))
	}
	return sess, nil
}

// ResumeTokenValid reports whether hash is the hash of an unexpired resume token of the
// conversation.
func (s *Store) ResumeTokenValid(ctx context.Context, orgID, conversationID uuid.UUID, hash []byte) (bool, error) {
	ok, err := queries.SessionResumeTokenValid(ctx, s.pool, db.SessionResumeTokenValidParams{
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

// CreateWidgetSession writes, in one transaction, the conversation (when fresh, with its
// conversation.created event) or its new clientSupports (on a resume with supports), both
// participants and the session.
func (s *Store) CreateWidgetSession(ctx context.Context, p NewWidgetSession) (WidgetSession, error) {
	var out WidgetSession
	err := s.InTx(ctx, func(tx *Tx) error {
		convID := p.ResumeConversationID
		if convID == uuid.Nil {
			c, err := queries.ConversationCreate(ctx, tx.pg, db.ConversationCreateParams{
				ID: uuid.Must(uuid.NewV7()), OrgID: p.OrgID, AgentID: p.AgentID, Metadata: p.Metadata, ClientSupports: p.Supports,
			})
			if err != nil {
				return fmt.Errorf("create conversation: %w", err)
			}
			convID = c.ID
		} else if p.Supports != nil {
			if err := queries.ConversationSetSupports(ctx, tx.pg, db.ConversationSetSupportsParams{
				OrgID: p.OrgID, ID: convID, ClientSupports: p.Supports,
			}); err != nil {
				return fmt.Errorf("set client supports: %w", err)
			}
		}
		user, err := queries.ParticipantCreate(ctx, tx.pg, db.ParticipantCreateParams{
			OrgID: p.OrgID, ConversationID: convID, Type: "user", Name: p.UserName,
			Email: p.UserEmail, ExternalID: p.ExternalID, BrowserFingerprint: p.Fingerprint,
		})
		if err != nil {
			return fmt.Errorf("create user participant: %w", err)
		}
		agent, err := queries.ParticipantCreate(ctx, tx.pg, db.ParticipantCreateParams{
			OrgID: p.OrgID, ConversationID: convID, Type: "ai-agent", Name: p.AgentName,
		})
		if err != nil {
			return fmt.Errorf("create agent participant: %w", err)
		}
		sess, err := queries.SessionCreate(ctx, tx.pg, db.SessionCreateParams{
			ID: uuid.Must(uuid.NewV7()), OrgID: p.OrgID, ConversationID: convID, AgentID: p.AgentID,
			UserParticipantID: user.ID, AgentParticipantID: agent.ID, ContactEmail: p.ContactEmail,
			UserName: p.UserName, Supports: p.Supports, ResumeTokenHash: p.ResumeTokenHash,
			ResumeTokenExpiresAt: p.ResumeTokenExpiresAt,
		})
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		out = WidgetSession{SessionID: sess.ID, ConversationID: convID, UserParticipantID: user.ID, AgentParticipantID: agent.ID}
		if p.ResumeConversationID != uuid.Nil {
			return nil
		}
		return tx.Emit(ctx, p.OrgID, events.ConversationCreated{
			ConversationID: convID, AgentID: p.AgentID, SessionID: sess.ID, ExternalUserID: p.ExternalID, Metadata: p.Metadata,
		})
	})
	if err != nil {
		return WidgetSession{}, fmt.Errorf("create widget session: %w", err)
	}
	return out, nil
}
