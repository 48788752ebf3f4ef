package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// NewApproval is a park about to be written.
type NewApproval struct {
	ID, OrgID, SessionID, ConversationID, AgentID, InstanceID uuid.UUID
	RequestID, ToolName                                       string
	Arguments                                                 json.RawMessage
	ExpiresAt                                                 time.Time
}

// CreateApproval commits a pending approval with its approval.requested event.
func (s *Store) CreateApproval(ctx context.Context, a NewApproval) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		row, err := queries.ApprovalCreate(ctx, tx.pg, db.ApprovalCreateParams{
			ID: a.ID, OrgID: a.OrgID, SessionID: a.SessionID, ConversationID: a.ConversationID, AgentID: a.AgentID,
			RequestID: a.RequestID, ToolName: a.ToolName, Arguments: a.Arguments, InstanceID: a.InstanceID, ExpiresAt: a.ExpiresAt,
		})
		if err != nil {
			return err
		}
		return tx.Emit(ctx, a.OrgID, events.ApprovalRequested{
			ApprovalID: row.ID, ConversationID: row.ConversationID, AgentID: row.AgentID, SessionID: row.SessionID,
			RequestID: row.RequestID, ToolName: row.ToolName, Arguments: row.Arguments, ExpiresAt: row.ExpiresAt,
		})
	})
	if err != nil {
		return fmt.Errorf("create approval %s: %w", a.ID, err)
	}
	return nil
}

// FinishApproval moves a still pending approval to status (expired or cancelled); false
// when it was no longer pending.
func (s *Store) FinishApproval(ctx context.Context, orgID, id uuid.UUID, status string) (bool, error) {
	_, err := queries.ApprovalFinish(ctx, s.pool, db.ApprovalFinishParams{Status: status, OrgID: orgID, ID: id})
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
	r, err := queries.ApprovalGetStatus(ctx, s.pool, db.ApprovalGetStatusParams{OrgID: orgID, ID: id})
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
	a, err := queries.ApprovalFindPendingForSession(ctx, s.pool, db.ApprovalFindPendingForSessionParams{OrgID: orgID, SessionID: sessionID, ID: id})
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("find pending approval: %w", Classify(err))
	}
	return a, nil
}

// ListPendingApprovals pages the org's undecided, unexpired approvals, oldest first.
func (s *Store) ListPendingApprovals(ctx context.Context, orgID uuid.UUID, p Page) ([]db.PendingApproval, error) {
	rows, err := queries.ApprovalListPending(ctx, s.pool, db.ApprovalListPendingParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	return rows, nil
}

// ErrApprovalOrphaned: the decision failed because the approval's owning instance is gone (or
// its time ran out); the approval is now recorded expired.
var ErrApprovalOrphaned = errors.New("approval owner no longer live")

// DecisionPublisher publishes an approval decision to the instance whose turn is parked on
// it (backplane.Hub.PublishDecision), inside the transaction that decided it, so that it
// leaves exactly when the decision commits.
type DecisionPublisher interface {
	PublishDecision(ctx context.Context, tx db.DBTX, owner uuid.UUID, d approval.Decision) (int64, error)
}

// publish hands d to the store's publisher inside tx; a store built without one (tests of a
// single process) publishes nothing.
func (s *Store) publish(ctx context.Context, tx *Tx, owner uuid.UUID, d approval.Decision) error {
	if s.pub == nil {
		return nil
	}
	_, err := s.pub.PublishDecision(ctx, tx.pg, owner, d)
	return err
}

// DecideApprovalByWidget applies a widget's decision on a park (PROTOCOL §4.9 step 2) with
// the conditional update. With publish, for a turn parked on another instance, the decision
// is published to that instance in the same transaction; the caller hands a decision for a
// turn parked here to its engine itself, after its ack. Errors: ErrNotFound when the
// approval was no longer pending, ErrApprovalOrphaned when its owner or its time was gone
// (it is then recorded expired, and that commits).
func (s *Store) DecideApprovalByWidget(ctx context.Context, orgID, id uuid.UUID, outcome approval.Outcome, publish bool) error {
	status := "rejected"
	if outcome == approval.Approved {
		status = "approved"
	}
	via := "widget"
	var result error
	err := s.InTx(ctx, func(tx *Tx) error {
		row, err := queries.ApprovalDecide(ctx, tx.pg, db.ApprovalDecideParams{Status: status, DecidedVia: &via, OrgID: orgID, ID: id})
		if err == nil {
			if err := tx.Emit(ctx, orgID, approvalDecided(row)); err != nil {
				return err
			}
			if publish {
				return s.publish(ctx, tx, row.InstanceID, approval.Decision{ApprovalID: row.ID, OrgID: orgID, Outcome: outcome, Via: via})
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := queries.ApprovalExpireIfOrphaned(ctx, tx.pg, db.ApprovalExpireIfOrphanedParams{OrgID: orgID, ID: id}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		result = ErrApprovalOrphaned // committed: the expiry is recorded
		return nil
	})
	if err == nil {
		err = result
	}
	if err != nil {
		return fmt.Errorf("decide approval %s: %w", id, err)
	}
	return nil
}

// approvalDecided is the approval.decided event of a decided row.
func approvalDecided(row db.PendingApproval) events.ApprovalDecided {
	via := ""
	if row.DecidedVia != nil {
		via = *row.DecidedVia
	}
	return events.ApprovalDecided{
		ApprovalID: row.ID, ConversationID: row.ConversationID, AgentID: row.AgentID, ToolName: row.ToolName,
		Status: row.Status, DecidedVia: via, DecidedBy: row.DecidedBy, Reason: row.Reason,
	}
}

// AdminDecision is an admin's decision on a parked tool call.
type AdminDecision struct {
	Approved  bool
	DecidedBy string
	Reason    *string
}

// DecideApprovalByAdmin applies an admin decision with the one conditional update of
// ADMIN-API §9.8 and, in the same transaction, the approval.decide audit row and the
// decision's publication to the instance owning the turn (this one included), so it leaves
// only on commit. When the update matches nothing, an approval whose time or owner is gone
// is recorded expired (and committed); the answer is then ErrNotFound, as for an unknown,
// foreign, cancelled or expired one. ErrConflict when it was already approved or rejected.
func (s *Store) DecideApprovalByAdmin(ctx context.Context, orgID, id uuid.UUID, d AdminDecision, m Meta) (db.PendingApproval, error) {
	status := "rejected"
	if d.Approved {
		status = "approved"
	}
	via := "admin"
	var row db.PendingApproval
	var result error
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		row, err = queries.ApprovalDecide(ctx, tx.pg, db.ApprovalDecideParams{
			Status: status, DecidedVia: &via, DecidedBy: &d.DecidedBy, Reason: d.Reason, OrgID: orgID, ID: id,
		})
		if err == nil {
			details := map[string]any{"approved": d.Approved}
			if d.Reason != nil {
				details["reason"] = *d.Reason
			}
			if err := tx.Audit(ctx, orgID, m, "approval.decide", "approval", id.String(), details); err != nil {
				return err
			}
			if err := tx.Emit(ctx, orgID, approvalDecided(row)); err != nil {
				return err
			}
			dec := approval.Decision{ApprovalID: row.ID, OrgID: orgID, Outcome: approval.Rejected, Via: via}
			if row.Status == "approved" {
				dec.Outcome = approval.Approved
			}
			if row.Reason != nil {
				dec.Reason = *row.Reason
			}
			return s.publish(ctx, tx, row.InstanceID, dec)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Not decidable: record an orphaned or timed-out park as expired (committed), then
		// tell a finished decision (409) from everything else (404).
		if _, err := queries.ApprovalExpireIfOrphaned(ctx, tx.pg, db.ApprovalExpireIfOrphanedParams{OrgID: orgID, ID: id}); err == nil {
			result = ErrNotFound
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		cur, err := queries.ApprovalGet(ctx, tx.pg, db.ApprovalGetParams{OrgID: orgID, ID: id})
		if err != nil {
			return Classify(err)
		}
		if cur.Status == "approved" || cur.Status == "rejected" {
			return ErrConflict
		}
		return ErrNotFound
	})
	if err == nil {
		err = result
	}
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	return row, nil
}

// cancelAgentApprovals records the pending approvals of a deleted agent cancelled and, in
// the same transaction, tells each owning instance (approval.AgentDeleted).
func (s *Store) cancelAgentApprovals(ctx context.Context, tx *Tx, orgID, agentID uuid.UUID) error {
	cancelled, err := queries.ApprovalCancelForAgent(ctx, tx.pg, db.ApprovalCancelForAgentParams{OrgID: orgID, AgentID: agentID})
	if err != nil {
		return err
	}
	for _, a := range cancelled {
		if err := s.publish(ctx, tx, a.InstanceID, approval.Decision{ApprovalID: a.ID, OrgID: orgID, Outcome: approval.AgentDeleted}); err != nil {
			return err
		}
	}
	return nil
}

// StaleApproval is a pending approval the sweeper recorded expired.
type StaleApproval struct {
	ID, OrgID, SessionID uuid.UUID
}

// ExpireStaleApprovals records as expired, across every org, each pending approval whose
// expiry has passed or whose owning instance is no longer live (stopped, or no heartbeat
// for 15 s). It is idempotent, so every instance may run it at once.
func (s *Store) ExpireStaleApprovals(ctx context.Context) ([]StaleApproval, error) {
	rows, err := queries.ApprovalExpireStale(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("expire stale approvals: %w", err)
	}
	out := make([]StaleApproval, len(rows))
	for i, r := range rows {
		out[i] = StaleApproval{ID: r.ID, OrgID: r.OrgID, SessionID: r.SessionID}
	}
	return out, nil
}
