package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// NewAPIKeyRow is a freshly minted org API key as stored: its hash, never its plaintext.
type NewAPIKeyRow struct {
	Name   string
	Role   string
	Hash   []byte
	Prefix string
	Last4  string
}

// APIKeyByHash loads the API key whose SHA-256 digest is hash, across orgs: authentication
// runs before any org is known. ErrNotFound when there is none.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (db.ApiKey, error) {
	k, err := queries.APIKeyGetByHash(ctx, s.pool, hash)
	if err != nil {
		return db.ApiKey{}, fmt.Errorf("load api key: %w", Classify(err))
	}
	return k, nil
}

// TouchAPIKey records a use of the key, at most once a minute (the query's condition).
func (s *Store) TouchAPIKey(ctx context.Context, orgID, id uuid.UUID) error {
	if err := queries.APIKeyTouch(ctx, s.pool, db.APIKeyTouchParams{OrgID: orgID, ID: id}); err != nil {
		return fmt.Errorf("touch api key %s: %w", id, err)
	}
	return nil
}

// CreateAPIKey stores a minted key (its hash, never its plaintext) with its apiKey.create
// audit row. ErrConflict when the name is taken in the org.
func (s *Store) CreateAPIKey(ctx context.Context, orgID uuid.UUID, key NewAPIKeyRow, m Meta) (db.ApiKey, error) {
	var row db.ApiKey
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		row, err = queries.APIKeyCreate(ctx, tx.pg, db.APIKeyCreateParams{
			OrgID: orgID, Name: key.Name, Role: key.Role, KeyHash: key.Hash,
			Prefix: key.Prefix, Last4: key.Last4, CreatedBy: m.Actor.ID,
		})
		if err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "apiKey.create", "apiKey", row.ID.String(), map[string]any{"role": key.Role})
	})
	if err != nil {
		return db.ApiKey{}, fmt.Errorf("create api key: %w", err)
	}
	return row, nil
}

// ListAPIKeys pages the org's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID uuid.UUID, p Page) ([]db.ApiKey, error) {
	rows, err := queries.APIKeyList(ctx, s.pool, db.APIKeyListParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return rows, nil
}

// DeleteAPIKey deletes the key with its apiKey.delete audit row. ErrNotFound when the org
// has no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		n, err := queries.APIKeyDelete(ctx, tx.pg, db.APIKeyDeleteParams{OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "apiKey.delete", "apiKey", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}
