package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// CreateGatewayKey stores a gateway key row whose ciphertext the caller sealed for this
// row's id, with its gatewayKey.create audit row (details carry last4 only).
func (s *Store) CreateGatewayKey(ctx context.Context, orgID uuid.UUID, p db.GatewayKeyCreateParams, m Meta) (db.GatewayKey, error) {
	p.OrgID = orgID
	var row db.GatewayKey
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		row, err = queries.GatewayKeyCreate(ctx, tx.pg, p)
		if err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "gatewayKey.create", "gatewayKey", row.ID.String(), map[string]any{"last4": row.Last4})
	})
	if err != nil {
		return db.GatewayKey{}, fmt.Errorf("create gateway key: %w", err)
	}
	return row, nil
}

// ListGatewayKeys pages the org's gateway keys, newest first, revoked ones included.
func (s *Store) ListGatewayKeys(ctx context.Context, orgID uuid.UUID, p Page) ([]db.GatewayKey, error) {
	rows, err := queries.GatewayKeyList(ctx, s.pool, db.GatewayKeyListParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list gateway keys: %w", err)
	}
	return rows, nil
}

// RevokeGatewayKey revokes an active key (erasing its ciphertext) with a gatewayKey.revoke
// audit row. An already revoked key is left alone and reports revoked=false without an
// audit row; ErrNotFound when the org has no such key.
func (s *Store) RevokeGatewayKey(ctx context.Context, orgID, id uuid.UUID, m Meta) (revoked bool, err error) {
	err = s.InTx(ctx, func(tx *Tx) error {
		_, err := queries.GatewayKeyRevoke(ctx, tx.pg, db.GatewayKeyRevokeParams{OrgID: orgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := queries.GatewayKeyGet(ctx, tx.pg, db.GatewayKeyGetParams{OrgID: orgID, ID: id}); err != nil {
				return Classify(err)
			}
			return nil
		}
		if err != nil {
			return err
		}
		revoked = true
		return tx.Audit(ctx, orgID, m, "gatewayKey.revoke", "gatewayKey", id.String(), nil)
	})
	if err != nil {
		return false, fmt.Errorf("revoke gateway key %s: %w", id, err)
	}
	return revoked, nil
}
