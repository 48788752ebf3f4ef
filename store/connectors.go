package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Connectors (ADMIN-API §9.11): package knowledge validates them and runs their indexing;
// this file holds their statements.

// GetConnector loads a connector of the org. ErrNotFound otherwise.
func (s *Store) GetConnector(ctx context.Context, orgID, id uuid.UUID) (db.Connector, error) {
	c, err := queries.ConnectorGet(ctx, s.pool, db.ConnectorGetParams{OrgID: orgID, ID: id})
	return c, Classify(err)
}

// ListConnectors pages the org's connectors by lower(name), id.
func (s *Store) ListConnectors(ctx context.Context, orgID uuid.UUID, p db.ConnectorListParams) ([]db.Connector, error) {
	p.OrgID = orgID
	return queries.ConnectorList(ctx, s.pool, p)
}

// ListScheduledConnectors lists the org's enabled web connectors with a schedule, each with
// the creation time of its last run.
func (s *Store) ListScheduledConnectors(ctx context.Context, orgID uuid.UUID) ([]db.ConnectorListScheduledRow, error) {
	return queries.ConnectorListScheduled(ctx, s.pool, orgID)
}

// CreateConnector inserts a connector. ErrConflict when the name is taken in the org.
func (t *Tx) CreateConnector(ctx context.Context, orgID uuid.UUID, p db.ConnectorCreateParams) (db.Connector, error) {
	p.OrgID = orgID
	c, err := queries.ConnectorCreate(ctx, t.pg, p)
	return c, Classify(err)
}

// LockConnector loads a connector of the org and locks its row until the transaction ends.
// ErrNotFound otherwise.
func (t *Tx) LockConnector(ctx context.Context, orgID, id uuid.UUID) (db.Connector, error) {
	c, err := queries.ConnectorGetForUpdate(ctx, t.pg, db.ConnectorGetForUpdateParams{OrgID: orgID, ID: id})
	return c, Classify(err)
}

// UpdateConnector replaces the connector p.ID. ErrConflict when the name is taken.
func (t *Tx) UpdateConnector(ctx context.Context, orgID uuid.UUID, p db.ConnectorUpdateParams) (db.Connector, error) {
	p.OrgID = orgID
	c, err := queries.ConnectorUpdate(ctx, t.pg, p)
	return c, Classify(err)
}

// DeleteConnector deletes a connector with its documents and their chunks (ON DELETE
// CASCADE) and reports how many rows went (0 or 1).
func (t *Tx) DeleteConnector(ctx context.Context, orgID, id uuid.UUID) (int64, error) {
	return queries.ConnectorDelete(ctx, t.pg, db.ConnectorDeleteParams{OrgID: orgID, ID: id})
}
