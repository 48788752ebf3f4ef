package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// DecideApprovalInTx is DecideApproval with onDecided (when not nil) run inside the
// deciding transaction: a widget decision for a turn parked on another instance is
// published there, so that it leaves exactly when the decision commits. The errors are
// DecideApproval's: ErrNotFound when the approval was no longer pending, ErrApprovalOrphaned
// when its owner or its time was gone (it is then recorded expired, and that commits).
func (s *Store) DecideApprovalInTx(ctx context.Context, orgID, id uuid.UUID, approved bool, via string, onDecided func(tx db.DBTX, row db.PendingApproval) error) (db.PendingApproval, error) {
	status := "rejected"
	if approved {
		status = "approved"
	}
	var row db.PendingApproval
	var outcome error
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = s.Q.ApprovalDecide(ctx, tx, db.ApprovalDecideParams{Status: status, DecidedVia: &via, OrgID: orgID, ID: id})
		if err == nil {
			if onDecided != nil {
				return onDecided(tx, row)
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := s.Q.ApprovalExpireIfOrphaned(ctx, tx, db.ApprovalExpireIfOrphanedParams{OrgID: orgID, ID: id}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		outcome = ErrApprovalOrphaned // committed: the expiry is recorded
		return nil
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	return row, nil
}

// StaleApproval is a pending approval the sweeper recorded expired.
type StaleApproval struct {
	ID, OrgID, SessionID uuid.UUID
}

// ExpireStaleApprovals records as expired, across every org, each pending approval whose
// expiry has passed or whose owning instance is no longer live (stopped, or no heartbeat
// for 15 s). It is idempotent, so every instance may run it at once.
func (s *Store) ExpireStaleApprovals(ctx context.Context) ([]StaleApproval, error) {
	rows, err := s.Q.ApprovalExpireStale(ctx, s.Pool)
	if err != nil {
		return nil, fmt.Errorf("expire stale approvals: %w", err)
	}
	out := make([]StaleApproval, len(rows))
	for i, r := range rows {
		out[i] = StaleApproval{ID: r.ID, OrgID: r.OrgID, SessionID: r.SessionID}
	}
	return out, nil
}

// PruneInstances deletes the rows of instances silent for a week that no approval names.
func (s *Store) PruneInstances(ctx context.Context) error {
	if err := s.Q.InstancePrune(ctx, s.Pool); err != nil {
		return fmt.Errorf("prune instances: %w", err)
	}
	return nil
}
