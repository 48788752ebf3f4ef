package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// CreateOrgWithKey creates an org and its first API key in one transaction, with their
// org.create and apiKey.create audit rows.
func (s *Store) CreateOrgWithKey(ctx context.Context, name string, externalID *string, key NewAPIKeyRow, m Meta) (db.Org, db.ApiKey, error) {
	var org db.Org
	var row db.ApiKey
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		org, row, err = tx.createOrgWithKey(ctx, name, externalID, key, m)
		return err
	})
	if err != nil {
		return db.Org{}, db.ApiKey{}, fmt.Errorf("create org: %w", err)
	}
	return org, row, nil
}

func (t *Tx) createOrgWithKey(ctx context.Context, name string, externalID *string, key NewAPIKeyRow, m Meta) (db.Org, db.ApiKey, error) {
	org, err := queries.OrgCreate(ctx, t.pg, db.OrgCreateParams{Name: name, ExternalID: externalID})
	if err != nil {
		return db.Org{}, db.ApiKey{}, Classify(err)
	}
	row, err := queries.APIKeyCreate(ctx, t.pg, db.APIKeyCreateParams{
		OrgID: org.ID, Name: key.Name, Role: key.Role, KeyHash: key.Hash,
		Prefix: key.Prefix, Last4: key.Last4, CreatedBy: m.Actor.ID,
	})
	if err != nil {
		return db.Org{}, db.ApiKey{}, Classify(err)
	}
	if err := t.Audit(ctx, org.ID, m, "org.create", "org", org.ID.String(), map[string]any{"fields": []string{"name"}}); err != nil {
		return db.Org{}, db.ApiKey{}, err
	}
	if err := t.Audit(ctx, org.ID, m, "apiKey.create", "apiKey", row.ID.String(), map[string]any{"role": key.Role}); err != nil {
		return db.Org{}, db.ApiKey{}, err
	}
	return org, row, nil
}

// ResolveOrg names an org from a JWT org claim (ADMIN-API §2.5): a value in UUID syntax is
// the org id itself, any other value is matched exactly against orgs.external_id. When
// nothing matches, provision decides: /admin creates the org on first use (race-free,
// with an org.create audit row by actor), /ws never does and gets ErrNotFound.
func (s *Store) ResolveOrg(ctx context.Context, claim string, provision bool, m Meta) (uuid.UUID, error) {
	if id, err := uuid.Parse(claim); err == nil && len(claim) == 36 {
		org, err := queries.OrgGet(ctx, s.pool, id)
		if err == nil {
			return org.ID, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("resolve org: %w", err)
		}
		if !provision {
			return uuid.Nil, ErrNotFound
		}
		return s.provision(ctx, m, func(tx *Tx) (db.Org, error) {
			return queries.OrgProvisionByID(ctx, tx.pg, db.OrgProvisionByIDParams{ID: id, Name: claim})
		}, func() (db.Org, error) { return queries.OrgGet(ctx, s.pool, id) })
	}
	org, err := queries.OrgGetByExternalID(ctx, s.pool, &claim)
	if err == nil {
		return org.ID, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("resolve org: %w", err)
	}
	if !provision {
		return uuid.Nil, ErrNotFound
	}
	return s.provision(ctx, m, func(tx *Tx) (db.Org, error) {
		return queries.OrgProvisionByExternalID(ctx, tx.pg, db.OrgProvisionByExternalIDParams{Name: claim, ExternalID: &claim})
	}, func() (db.Org, error) { return queries.OrgGetByExternalID(ctx, s.pool, &claim) })
}

// provision inserts with ON CONFLICT DO NOTHING; the request that wins writes the audit
// row, and a loser re-reads the winner's org.
func (s *Store) provision(ctx context.Context, m Meta, insert func(*Tx) (db.Org, error), reread func() (db.Org, error)) (uuid.UUID, error) {
	var created db.Org
	err := s.InTx(ctx, func(tx *Tx) error {
		org, err := insert(tx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // another request created it first
		}
		if err != nil {
			return err
		}
		created = org
		return tx.Audit(ctx, org.ID, m, "org.create", "org", org.ID.String(), map[string]any{"fields": []string{"name"}})
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

// StoredSettings loads the org's stored settings; found is false while they were never written.
func (s *Store) StoredSettings(ctx context.Context, orgID uuid.UUID) (row db.OrgSetting, found bool, err error) {
	row, err = queries.OrgSettingsGet(ctx, s.pool, orgID)
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

// SettingsChange computes the settings to store from those stored now (nil when never
// written).
type SettingsChange func(cur *db.OrgSetting) db.OrgSettingsUpsertParams

// PutSettings writes the org's settings with their settings.update audit row. change reads
// the settings stored at the moment of the write: writes of one org are serialised, so a
// partial write never undoes a concurrent one.
func (s *Store) PutSettings(ctx context.Context, orgID uuid.UUID, change SettingsChange, details SettingsDetails, m Meta) (db.OrgSetting, error) {
	var row db.OrgSetting
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := queries.OrgSettingsLockWrites(ctx, tx.pg, "switchboard.org_settings:"+orgID.String()); err != nil {
			return err
		}
		var prev *db.OrgSetting
		cur, err := queries.OrgSettingsGet(ctx, tx.pg, orgID)
		switch {
		case err == nil:
			prev = &cur
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		p := change(prev)
		p.OrgID = orgID
		if row, err = queries.OrgSettingsUpsert(ctx, tx.pg, p); err != nil {
			return err
		}
		return tx.Audit(ctx, orgID, m, "settings.update", "settings", orgID.String(), details(prev, p))
	})
	if err != nil {
		return db.OrgSetting{}, fmt.Errorf("put settings: %w", err)
	}
	return row, nil
}

// ListOrgIDs pages every org's id in id order, after after (the first page when not valid).
func (s *Store) ListOrgIDs(ctx context.Context, after uuid.NullUUID, limit int32) ([]uuid.UUID, error) {
	return queries.OrgListIDs(ctx, s.pool, db.OrgListIDsParams{AfterID: after, Lim: limit})
}

// ListOrgs pages every org, oldest first, after the org afterID (uuid.Nil: from the start).
// It crosses tenants: only the operator's command line uses it.
func (s *Store) ListOrgs(ctx context.Context, afterID uuid.UUID, limit int32) ([]db.Org, error) {
	p := db.OrgListParams{Lim: limit}
	if afterID != uuid.Nil {
		p.AfterID = uuid.NullUUID{UUID: afterID, Valid: true}
	}
	rows, err := queries.OrgList(ctx, s.pool, p)
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	return rows, nil
}

// ErrAmbiguous: a name matches more than one row.
var ErrAmbiguous = errors.New("the name matches more than one row")

// FindOrg names an org for the operator's command line: ref is its id, its external id, or
// its name (case-insensitive, which must match one org only: else ErrAmbiguous). ErrNotFound
// when nothing matches.
func (s *Store) FindOrg(ctx context.Context, ref string) (db.Org, error) {
	if id, err := uuid.Parse(ref); err == nil && len(ref) == 36 {
		org, err := queries.OrgGet(ctx, s.pool, id)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return org, Classify(err)
		}
	}
	org, err := queries.OrgGetByExternalID(ctx, s.pool, &ref)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return org, Classify(err)
	}
	rows, err := queries.OrgFindByName(ctx, s.pool, ref)
	switch {
	case err != nil:
		return db.Org{}, fmt.Errorf("find org: %w", err)
	case len(rows) == 0:
		return db.Org{}, ErrNotFound
	case len(rows) > 1:
		return db.Org{}, ErrAmbiguous
	}
	return rows[0], nil
}
