package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// The turn engine's data access (PROTOCOL §7, §8; ADMIN-API §7): the user message before the
// 202, the configuration a turn reads at its start, approvals, and the end-of-turn records.

// InsertUserMessage stores a turn's inbound message, exactly as sent, and the conversation's
// last activity, in one transaction.
func (s *Store) InsertUserMessage(ctx context.Context, orgID, conversationID, participantID uuid.UUID, text, requestID string) (db.Message, error) {
	var msg db.Message
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		msg, err = s.Q.InsertMessage(ctx, tx, db.InsertMessageParams{
			OrgID: orgID, ConversationID: conversationID,
			ParticipantID: uuid.NullUUID{UUID: participantID, Valid: true},
			Direction:     "inbound", Text: text, RequestID: &requestID,
		})
		if err != nil {
			return err
		}
		return s.Q.TouchConversationActivity(ctx, tx, db.TouchConversationActivityParams{At: &msg.CreatedAt, OrgID: orgID, ID: conversationID})
	})
	if err != nil {
		return db.Message{}, fmt.Errorf("store user message: %w", err)
	}
	return msg, nil
}

// LiveAgent returns the org's agent unless it was deleted.
func (s *Store) LiveAgent(ctx context.Context, orgID, id uuid.UUID) (db.Agent, error) {
	a, err := s.Q.GetAgent(ctx, s.Pool, db.GetAgentParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.Agent{}, fmt.Errorf("load agent %s: %w", id, Classify(err))
	}
	return a, nil
}

// OrgSettings returns the org's stored settings, or ok false while they were never written.
func (s *Store) OrgSettings(ctx context.Context, orgID uuid.UUID) (db.OrgSetting, bool, error) {
	st, err := s.Q.GetOrgSettings(ctx, s.Pool, orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return db.OrgSetting{}, false, nil
	}
	if err != nil {
		return db.OrgSetting{}, false, fmt.Errorf("load org settings: %w", err)
	}
	return st, true, nil
}

// AgentTools returns the agent's HTTP tools.
func (s *Store) AgentTools(ctx context.Context, orgID, agentID uuid.UUID) ([]db.AgentTool, error) {
	ts, err := s.Q.ListAgentToolsForTurn(ctx, s.Pool, db.ListAgentToolsForTurnParams{OrgID: orgID, AgentID: agentID})
	if err != nil {
		return nil, fmt.Errorf("load tools of agent %s: %w", agentID, err)
	}
	return ts, nil
}

// HistoryMessage is one replayed message.
type HistoryMessage struct {
	Inbound bool
	Text    string
}

// History returns the newest lim non-empty messages stored before beforeSeq, oldest first.
func (s *Store) History(ctx context.Context, orgID, conversationID uuid.UUID, beforeSeq int64, lim int) ([]HistoryMessage, error) {
	rows, err := s.Q.ListHistoryMessages(ctx, s.Pool, db.ListHistoryMessagesParams{
		OrgID: orgID, ConversationID: conversationID, BeforeSeq: beforeSeq, Lim: int32(lim),
	})
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	out := make([]HistoryMessage, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = HistoryMessage{Inbound: r.Direction == "inbound", Text: r.Text}
	}
	return out, nil
}

// NewestActiveGatewayKey returns the org key that pays for a new turn (ADMIN-API §7.1), or
// ErrNotFound when the org has none.
func (s *Store) NewestActiveGatewayKey(ctx context.Context, orgID uuid.UUID) (db.GatewayKey, error) {
	k, err := s.Q.NewestActiveGatewayKey(ctx, s.Pool, orgID)
	if err != nil {
		return db.GatewayKey{}, fmt.Errorf("load gateway key: %w", Classify(err))
	}
	return k, nil
}

// MonthTokens returns the org's prompt plus completion tokens of the current UTC month.
func (s *Store) MonthTokens(ctx context.Context, orgID uuid.UUID) (int64, error) {
	n, err := s.Q.OrgMonthTokens(ctx, s.Pool, orgID)
	if err != nil {
		return 0, fmt.Errorf("load month tokens: %w", err)
	}
	return n, nil
}

// NewApproval is a park about to be written.
type NewApproval struct {
	ID, OrgID, SessionID, ConversationID, AgentID, InstanceID uuid.UUID
	RequestID, ToolName                                       string
	Arguments                                                 json.RawMessage
	ExpiresAt                                                 time.Time
}

// CreateApproval commits a pending approval.
func (s *Store) CreateApproval(ctx context.Context, a NewApproval) error {
	_, err := s.Q.CreateApproval(ctx, s.Pool, db.CreateApprovalParams{
		ID: a.ID, OrgID: a.OrgID, SessionID: a.SessionID, ConversationID: a.ConversationID, AgentID: a.AgentID,
		RequestID: a.RequestID, ToolName: a.ToolName, Arguments: a.Arguments, InstanceID: a.InstanceID, ExpiresAt: a.ExpiresAt,
	})
	if err != nil {
		return fmt.Errorf("create approval %s: %w", a.ID, err)
	}
	return nil
}

// FinishApproval moves a still pending approval to status (expired or cancelled); false
// when it was no longer pending.
func (s *Store) FinishApproval(ctx context.Context, orgID, id uuid.UUID, status string) (bool, error) {
	_, err := s.Q.FinishApproval(ctx, s.Pool, db.FinishApprovalParams{Status: status, OrgID: orgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish approval %s: %w", id, err)
	}
	return true, nil
}

// ApprovalOutcome is how an approval ended.
type ApprovalOutcome struct {
	Status     string
	DecidedVia string
	Reason     string
}

// ApprovalOutcome reads an approval's status.
func (s *Store) ApprovalOutcome(ctx context.Context, orgID, id uuid.UUID) (ApprovalOutcome, error) {
	r, err := s.Q.GetApprovalStatus(ctx, s.Pool, db.GetApprovalStatusParams{OrgID: orgID, ID: id})
	if err != nil {
		return ApprovalOutcome{}, fmt.Errorf("load approval %s: %w", id, Classify(err))
	}
	o := ApprovalOutcome{Status: r.Status}
	if r.DecidedVia != nil {
		o.DecidedVia = *r.DecidedVia
	}
	if r.Reason != nil {
		o.Reason = *r.Reason
	}
	return o, nil
}

// PendingApprovalForSession returns the approval a confirm decides: the named one when id is
// valid, else the session's earliest-parked pending one; ErrNotFound when there is none.
func (s *Store) PendingApprovalForSession(ctx context.Context, orgID, sessionID uuid.UUID, id uuid.NullUUID) (db.PendingApproval, error) {
	a, err := s.Q.FindPendingApprovalForSession(ctx, s.Pool, db.FindPendingApprovalForSessionParams{OrgID: orgID, SessionID: sessionID, ID: id})
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("find pending approval: %w", Classify(err))
	}
	return a, nil
}

// ErrApprovalOrphaned: the decision failed because the approval's owning instance is gone (or
// its time ran out); the approval is now recorded expired.
var ErrApprovalOrphaned = errors.New("approval owner no longer live")

// DecideApproval is the conditional update that decides a park (PROTOCOL §4.9 step 2). It
// returns ErrNotFound when the approval was no longer pending and ErrApprovalOrphaned when
// it was pending but its owner or time was gone (it is then recorded expired).
func (s *Store) DecideApproval(ctx context.Context, orgID, id uuid.UUID, approved bool, via string, decidedBy, reason *string) (db.PendingApproval, error) {
	status := "rejected"
	if approved {
		status = "approved"
	}
	a, err := s.Q.DecideApproval(ctx, s.Pool, db.DecideApprovalParams{
		Status: status, DecidedVia: &via, DecidedBy: decidedBy, Reason: reason, OrgID: orgID, ID: id,
	})
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	if _, err := s.Q.ExpireApprovalIfOrphaned(ctx, s.Pool, db.ExpireApprovalIfOrphanedParams{OrgID: orgID, ID: id}); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, ErrNotFound)
		}
		return db.PendingApproval{}, fmt.Errorf("expire orphaned approval %s: %w", id, err)
	}
	return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, ErrApprovalOrphaned)
}

// TurnRecord is what the end of a turn writes (PROTOCOL §8).
type TurnRecord struct {
	TurnID                                    uuid.UUID
	OrgID, AgentID, ConversationID, SessionID uuid.UUID
	AgentParticipantID                        uuid.UUID
	RequestID, Model                          string
	Outcome                                   string // completed, cancelled, error
	Reply                                     string // stored only when Outcome is completed and non-empty
	ReplyUsage, ToolCalls                     json.RawMessage
	PromptTokens, CompletionTokens            int64
	TokensEstimated, CostEstimated            bool
	CostUSD                                   float64
	GatewayKeyID                              uuid.NullUUID
	CalledGateway                             bool // no usage row when false
}

// RecordTurn writes, in one transaction, the assistant message (completed turns with a
// non-empty reply) and the turn's usage row with the org's month counter. It returns the
// stored message id, or uuid.Nil when nothing was stored.
func (s *Store) RecordTurn(ctx context.Context, r TurnRecord) (uuid.UUID, error) {
	var msgID uuid.UUID
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if r.Outcome == "completed" && r.Reply != "" {
			msg, err := s.Q.InsertMessage(ctx, tx, db.InsertMessageParams{
				OrgID: r.OrgID, ConversationID: r.ConversationID,
				ParticipantID: uuid.NullUUID{UUID: r.AgentParticipantID, Valid: r.AgentParticipantID != uuid.Nil},
				Direction:     "outbound", Text: r.Reply, RequestID: &r.RequestID, Usage: r.ReplyUsage, ToolCalls: r.ToolCalls,
			})
			if err != nil {
				return fmt.Errorf("insert reply: %w", err)
			}
			if err := s.Q.TouchConversationActivity(ctx, tx, db.TouchConversationActivityParams{At: &msg.CreatedAt, OrgID: r.OrgID, ID: r.ConversationID}); err != nil {
				return fmt.Errorf("touch conversation: %w", err)
			}
			msgID = msg.ID
		}
		if !r.CalledGateway {
			return nil
		}
		if err := s.Q.InsertUsageEvent(ctx, tx, db.InsertUsageEventParams{
			ID: r.TurnID, OrgID: r.OrgID, AgentID: r.AgentID, ConversationID: r.ConversationID, SessionID: r.SessionID,
			RequestID: r.RequestID, Model: r.Model, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			TokensEstimated: r.TokensEstimated, CostUsd: r.CostUSD, CostEstimated: r.CostEstimated,
			GatewayKeyID: r.GatewayKeyID, Outcome: r.Outcome,
		}); err != nil {
			return fmt.Errorf("insert usage: %w", err)
		}
		if err := s.Q.AddOrgMonthTokens(ctx, tx, db.AddOrgMonthTokensParams{OrgID: r.OrgID, Tokens: r.PromptTokens + r.CompletionTokens}); err != nil {
			return fmt.Errorf("count month tokens: %w", err)
		}
		if r.GatewayKeyID.Valid {
			if err := s.Q.TouchGatewayKey(ctx, tx, db.TouchGatewayKeyParams{OrgID: r.OrgID, ID: r.GatewayKeyID.UUID}); err != nil {
				return fmt.Errorf("touch gateway key: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("record turn %s: %w", r.TurnID, err)
	}
	return msgID, nil
}
