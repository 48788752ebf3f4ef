package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// Page is a keyset position for lists ordered by a timestamp and id (or, with Seq, by a
// sequence). A zero Page is the first page.
type Page struct {
	AfterAt  *time.Time
	AfterID  uuid.NullUUID
	AfterSeq *int64
	Limit    int32 // rows to fetch: the caller asks for one more than it shows
}

// APIKeyByHash loads the API key whose SHA-256 digest is hash, across orgs: authentication
// runs before any org is known. ErrNotFound when there is none.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (db.ApiKey, error) {
	k, err := s.Q.APIKeyGetByHash(ctx, s.Pool, hash)
	if err != nil {
		return db.ApiKey{}, fmt.Errorf("load api key: %w", Classify(err))
	}
	return k, nil
}

// TouchAPIKey records a use of the key, at most once a minute (the query's condition).
func (s *Store) TouchAPIKey(ctx context.Context, orgID, id uuid.UUID) error {
	if err := s.Q.APIKeyTouch(ctx, s.Pool, db.APIKeyTouchParams{OrgID: orgID, ID: id}); err != nil {
		return fmt.Errorf("touch api key %s: %w", id, err)
	}
	return nil
}

// CreateAPIKey stores a minted key (its hash, never its plaintext) with its apiKey.create
// audit row. ErrConflict when the name is taken in the org.
func (s *Store) CreateAPIKey(ctx context.Context, orgID uuid.UUID, key NewAPIKeyRow, m Meta) (db.ApiKey, error) {
	var row db.ApiKey
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = s.Q.APIKeyCreate(ctx, tx, db.APIKeyCreateParams{
			OrgID: orgID, Name: key.Name, Role: key.Role, KeyHash: key.Hash,
			Prefix: key.Prefix, Last4: key.Last4, CreatedBy: m.Actor.ID,
		})
		if err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "apiKey.create", "apiKey", row.ID.String(), map[string]any{"role": key.Role})
	})
	if err != nil {
		return db.ApiKey{}, fmt.Errorf("create api key: %w", err)
	}
	return row, nil
}

// ListAPIKeys pages the org's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID uuid.UUID, p Page) ([]db.ApiKey, error) {
	rows, err := s.Q.APIKeyList(ctx, s.Pool, db.APIKeyListParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return rows, nil
}

// DeleteAPIKey deletes the key with its apiKey.delete audit row. ErrNotFound when the org
// has no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		n, err := s.Q.APIKeyDelete(ctx, tx, db.APIKeyDeleteParams{OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return s.Audit(ctx, tx, orgID, m, "apiKey.delete", "apiKey", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}

// CreateGatewayKey stores a gateway key row whose ciphertext the caller sealed for this
// row's id, with its gatewayKey.create audit row (details carry last4 only).
func (s *Store) CreateGatewayKey(ctx context.Context, orgID uuid.UUID, p db.GatewayKeyCreateParams, m Meta) (db.GatewayKey, error) {
	p.OrgID = orgID
	var row db.GatewayKey
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = s.Q.GatewayKeyCreate(ctx, tx, p)
		if err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "gatewayKey.create", "gatewayKey", row.ID.String(), map[string]any{"last4": row.Last4})
	})
	if err != nil {
		return db.GatewayKey{}, fmt.Errorf("create gateway key: %w", err)
	}
	return row, nil
}

// ListGatewayKeys pages the org's gateway keys, newest first, revoked ones included.
func (s *Store) ListGatewayKeys(ctx context.Context, orgID uuid.UUID, p Page) ([]db.GatewayKey, error) {
	rows, err := s.Q.GatewayKeyList(ctx, s.Pool, db.GatewayKeyListParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit,
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
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := s.Q.GatewayKeyRevoke(ctx, tx, db.GatewayKeyRevokeParams{OrgID: orgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.Q.GatewayKeyGet(ctx, tx, db.GatewayKeyGetParams{OrgID: orgID, ID: id}); err != nil {
				return Classify(err)
			}
			return nil
		}
		if err != nil {
			return err
		}
		revoked = true
		return s.Audit(ctx, tx, orgID, m, "gatewayKey.revoke", "gatewayKey", id.String(), nil)
	})
	if err != nil {
		return false, fmt.Errorf("revoke gateway key %s: %w", id, err)
	}
	return revoked, nil
}
