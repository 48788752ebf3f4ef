package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// ResolveOrg names an org from a JWT org claim (ADMIN-API §2.5): a value in UUID syntax is
// the org id itself, any other value is matched exactly against orgs.external_id. When
// nothing matches, provision decides: /admin creates the org on first use (race-free,
// with an org.create audit row by actor), /ws never does and gets ErrNotFound.
func (s *Store) ResolveOrg(ctx context.Context, claim string, provision bool, m Meta) (uuid.UUID, error) {
	if id, err := uuid.Parse(claim); err == nil && len(claim) == 36 {
		org, err := s.Q.OrgGet(ctx, s.Pool, id)
		if err == nil {
			return org.ID, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("resolve org: %w", err)
		}
		if !provision {
			return uuid.Nil, ErrNotFound
		}
		return s.provision(ctx, m, func(tx pgx.Tx) (db.Org, error) {
			return s.Q.OrgProvisionByID(ctx, tx, db.OrgProvisionByIDParams{ID: id, Name: claim})
		}, func() (db.Org, error) { return s.Q.OrgGet(ctx, s.Pool, id) })
	}
	org, err := s.Q.OrgGetByExternalID(ctx, s.Pool, &claim)
	if err == nil {
		return org.ID, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("resolve org: %w", err)
	}
	if !provision {
		return uuid.Nil, ErrNotFound
	}
	return s.provision(ctx, m, func(tx pgx.Tx) (db.Org, error) {
		return s.Q.OrgProvisionByExternalID(ctx, tx, db.OrgProvisionByExternalIDParams{Name: claim, ExternalID: &claim})
	}, func() (db.Org, error) { return s.Q.OrgGetByExternalID(ctx, s.Pool, &claim) })
}

// provision inserts with ON CONFLICT DO NOTHING; the request that wins writes the audit
// row, and a loser re-reads the winner's org.
func (s *Store) provision(ctx context.Context, m Meta, insert func(pgx.Tx) (db.Org, error), reread func() (db.Org, error)) (uuid.UUID, error) {
	var created db.Org
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		org, err := insert(tx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // another request created it first
		}
		if err != nil {
			return err
		}
		created = org
		return s.Audit(ctx, tx, org.ID, m, "org.create", "org", org.ID.String(), map[string]any{"fields": []string{"name"}})
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("provision org: %w", err)
	}
	if created.ID != uuid.Nil {
		return created.ID, nil
	}
	org, err := reread()
	if err != nil {
		return uuid.Nil, fmt.Errorf("provision org: re-read: %w", err)
	}
	return org.ID, nil
}
