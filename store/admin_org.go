package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
)

// StoredSettings loads the org's stored settings; found is false while they were never written.
func (s *Store) StoredSettings(ctx context.Context, orgID uuid.UUID) (row db.OrgSetting, found bool, err error) {
	row, err = s.Q.OrgSettingsGet(ctx, s.Pool, orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return db.OrgSetting{}, false, nil
	}
	if err != nil {
		return db.OrgSetting{}, false, fmt.Errorf("load settings: %w", err)
	}
	return row, true, nil
}

// SettingsDetails computes the audit details of a settings write from the settings stored
// before it (nil when never written) and the new ones.
type SettingsDetails func(prev *db.OrgSetting, next db.OrgSettingsUpsertParams) map[string]any

// PutSettings replaces the org's settings with their settings.update audit row.
func (s *Store) PutSettings(ctx context.Context, orgID uuid.UUID, p db.OrgSettingsUpsertParams, details SettingsDetails, m Meta) (db.OrgSetting, error) {
	p.OrgID = orgID
	var row db.OrgSetting
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var prev *db.OrgSetting
		cur, err := s.Q.OrgSettingsGet(ctx, tx, orgID)
		switch {
		case err == nil:
			prev = &cur
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if row, err = s.Q.OrgSettingsUpsert(ctx, tx, p); err != nil {
			return err
		}
		return s.Audit(ctx, tx, orgID, m, "settings.update", "settings", orgID.String(), details(prev, p))
	})
	if err != nil {
		return db.OrgSetting{}, fmt.Errorf("put settings: %w", err)
	}
	return row, nil
}

// Viewer is who reads conversations: All for admins and curators; otherwise the identity
// (jwt:<sub>, or "" for none) and email a basic principal is matched by (ADMIN-API §4.1).
type Viewer struct {
	All      bool
	Identity string
	Email    string
}

// ListConversations pages the org's conversations visible to v, newest first, optionally
// of one agent.
func (s *Store) ListConversations(ctx context.Context, orgID uuid.UUID, agentID uuid.NullUUID, v Viewer, p Page) ([]db.Conversation, error) {
	rows, err := s.Q.ConversationList(ctx, s.Pool, db.ConversationListParams{
		OrgID: orgID, AgentID: agentID, AllVisible: v.All, Identity: v.Identity, Email: v.Email,
		AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return rows, nil
}

// VisibleConversation loads a conversation of the org that v may see. ErrNotFound for an
// unknown, foreign or invisible one alike.
func (s *Store) VisibleConversation(ctx context.Context, orgID, id uuid.UUID, v Viewer) (db.Conversation, error) {
	c, err := s.Q.ConversationGet(ctx, s.Pool, db.ConversationGetParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.Conversation{}, fmt.Errorf("load conversation %s: %w", id, Classify(err))
	}
	if v.All {
		return c, nil
	}
	ok, err := s.Q.ConversationVisibleTo(ctx, s.Pool, db.ConversationVisibleToParams{
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
func (s *Store) Participants(ctx context.Context, orgID, conversationID uuid.UUID) ([]db.Participant, error) {
	rows, err := s.Q.ParticipantList(ctx, s.Pool, db.ParticipantListParams{OrgID: orgID, ConversationID: conversationID})
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	return rows, nil
}

// ConversationMessages pages a conversation's messages oldest first, after p.AfterSeq.
func (s *Store) ConversationMessages(ctx context.Context, orgID, conversationID uuid.UUID, p Page) ([]db.MessageListOldestFirstRow, error) {
	rows, err := s.Q.MessageListOldestFirst(ctx, s.Pool, db.MessageListOldestFirstParams{
		OrgID: orgID, ConversationID: conversationID, AfterSeq: p.AfterSeq, Lim: p.Limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return rows, nil
}

// ListPendingApprovals pages the org's undecided, unexpired approvals, oldest first.
func (s *Store) ListPendingApprovals(ctx context.Context, orgID uuid.UUID, p Page) ([]db.PendingApproval, error) {
	rows, err := s.Q.ApprovalListPending(ctx, s.Pool, db.ApprovalListPendingParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	return rows, nil
}

// AdminDecision is an admin's decision on a parked tool call.
type AdminDecision struct {
	Approved  bool
	DecidedBy string
	Reason    *string
}

// DecideApprovalByAdmin applies an admin decision with the one conditional update of ADMIN-API
// §9.8 and, in the same transaction, the approval.decide audit row and onDecided (which
// publishes the decision so it leaves only on commit). When the update matches nothing,
// an approval whose time or owner is gone is recorded expired (and committed); the answer
// is then ErrNotFound, as for an unknown, foreign, cancelled or expired one. ErrConflict
// when it was already approved or rejected.
func (s *Store) DecideApprovalByAdmin(ctx context.Context, orgID, id uuid.UUID, d AdminDecision, m Meta, onDecided func(tx db.DBTX, row db.PendingApproval) error) (db.PendingApproval, error) {
	status := "rejected"
	if d.Approved {
		status = "approved"
	}
	via := "admin"
	var row db.PendingApproval
	var outcome error
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = s.Q.ApprovalDecide(ctx, tx, db.ApprovalDecideParams{
			Status: status, DecidedVia: &via, DecidedBy: &d.DecidedBy, Reason: d.Reason, OrgID: orgID, ID: id,
		})
		if err == nil {
			details := map[string]any{"approved": d.Approved}
			if d.Reason != nil {
				details["reason"] = *d.Reason
			}
			if err := s.Audit(ctx, tx, orgID, m, "approval.decide", "approval", id.String(), details); err != nil {
				return err
			}
			if onDecided != nil {
				return onDecided(tx, row)
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Not decidable: record an orphaned or timed-out park as expired (committed), then
		// tell a finished decision (409) from everything else (404).
		if _, err := s.Q.ApprovalExpireIfOrphaned(ctx, tx, db.ApprovalExpireIfOrphanedParams{OrgID: orgID, ID: id}); err == nil {
			outcome = ErrNotFound
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		cur, err := s.Q.ApprovalGet(ctx, tx, db.ApprovalGetParams{OrgID: orgID, ID: id})
		if err != nil {
			return Classify(err)
		}
		if cur.Status == "approved" || cur.Status == "rejected" {
			return ErrConflict
		}
		return ErrNotFound
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	return row, nil
}

// DecisionOutcome is the approval.Outcome of a decided row.
func DecisionOutcome(row db.PendingApproval) approval.Outcome {
	if row.Status == "approved" {
		return approval.Approved
	}
	return approval.Rejected
}

// PublishTargetExists reports whether a session, conversation or agent (live) of the org
// has the id; other kinds are the caller's to check.
func (s *Store) PublishTargetExists(ctx context.Context, orgID uuid.UUID, kind string, id uuid.UUID) (bool, error) {
	var err error
	switch kind {
	case "session":
		_, err = s.Q.SessionGet(ctx, s.Pool, db.SessionGetParams{OrgID: orgID, ID: id})
	case "conversation":
		_, err = s.Q.ConversationGet(ctx, s.Pool, db.ConversationGetParams{OrgID: orgID, ID: id})
	case "agent":
		_, err = s.Q.AgentGet(ctx, s.Pool, db.AgentGetParams{OrgID: orgID, ID: id})
	default:
		return false, fmt.Errorf("publish target %q is not checked by id", kind)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load %s %s: %w", kind, id, err)
	}
	return true, nil
}

// PublishTenantEvent writes a tenant event to the backplane outbox (insert and NOTIFY of its id) with
// the publish.send audit row, in one transaction, and returns the event id.
func (s *Store) PublishTenantEvent(ctx context.Context, orgID uuid.UUID, targetType, targetID string, event []byte, eventType string, m Meta) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = s.Q.BackplaneEventPublish(ctx, tx, db.BackplaneEventPublishParams{
			OrgID: orgID, TargetType: targetType, TargetID: targetID, Event: event,
		})
		if err != nil {
			return err
		}
		return s.Audit(ctx, tx, orgID, m, "publish.send", targetType, targetID, map[string]any{"eventType": eventType})
	})
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	return id, nil
}

// UsageRow is one bucket of GET /admin/usage.
type UsageRow struct {
	Bucket           string
	Turns            int64
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64 // summed, not yet rounded
}

// Usage aggregates the org's usage_events with from ≤ created_at < to by groupBy (day,
// model, agent or key), buckets in ascending order.
func (s *Store) Usage(ctx context.Context, orgID uuid.UUID, groupBy string, from, to time.Time) ([]UsageRow, error) {
	var out []UsageRow
	add := func(bucket string, turns, prompt, completion int64, cost float64) {
		out = append(out, UsageRow{Bucket: bucket, Turns: turns, PromptTokens: prompt, CompletionTokens: completion, CostUSD: cost})
	}
	var err error
	switch groupBy {
	case "day":
		var rows []db.UsageByDayRow
		rows, err = s.Q.UsageByDay(ctx, s.Pool, db.UsageByDayParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "model":
		var rows []db.UsageByModelRow
		rows, err = s.Q.UsageByModel(ctx, s.Pool, db.UsageByModelParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "agent":
		var rows []db.UsageByAgentRow
		rows, err = s.Q.UsageByAgent(ctx, s.Pool, db.UsageByAgentParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "key":
		var rows []db.UsageByKeyRow
		rows, err = s.Q.UsageByKey(ctx, s.Pool, db.UsageByKeyParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	default:
		return nil, fmt.Errorf("usage: unknown groupBy %q", groupBy)
	}
	if err != nil {
		return nil, fmt.Errorf("usage by %s: %w", groupBy, err)
	}
	return out, nil
}

// RoundUSD rounds a dollar amount to 6 decimal places (ADMIN-API §1.4).
func RoundUSD(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// ListAudit pages the org's audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, orgID uuid.UUID, p Page) ([]db.AuditLog, error) {
	rows, err := s.Q.AuditList(ctx, s.Pool, db.AuditListParams{OrgID: orgID, AfterAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return rows, nil
}
