package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Indexing runs (ADMIN-API §9.12). A run's job is a River job inserted in the transaction
// that creates the run (Tx.InsertJob); every step of an attempt runs in a transaction that
// first fences the run (Tx.FenceRun).

// NamedRun is a run with the current name of its connector (nil for an ingestion run, or
// once the connector is deleted).
type NamedRun struct {
	db.IndexingRun
	ConnectorName *string
}

// GetIndexingRun loads a run of the org. ErrNotFound otherwise.
func (s *Store) GetIndexingRun(ctx context.Context, orgID, id uuid.UUID) (NamedRun, error) {
	r, err := queries.IndexingRunGet(ctx, s.pool, db.IndexingRunGetParams{OrgID: orgID, ID: id})
	return NamedRun{IndexingRun: r.IndexingRun, ConnectorName: r.ConnectorName}, Classify(err)
}

// ListIndexingRuns pages the org's runs, newest first.
func (s *Store) ListIndexingRuns(ctx context.Context, orgID uuid.UUID, p db.IndexingRunListParams) ([]NamedRun, error) {
	p.OrgID = orgID
	rows, err := queries.IndexingRunList(ctx, s.pool, p)
	if err != nil {
		return nil, err
	}
	out := make([]NamedRun, len(rows))
	for i, r := range rows {
		out[i] = NamedRun{IndexingRun: r.IndexingRun, ConnectorName: r.ConnectorName}
	}
	return out, nil
}

// StartRunAttempt marks a queued or running run running under attempt (a new attempt
// resets its start and error). ErrNotFound when the run is finished or has a later attempt.
func (s *Store) StartRunAttempt(ctx context.Context, orgID, id uuid.UUID, attempt int32) (db.IndexingRun, error) {
	r, err := queries.IndexingRunStartAttempt(ctx, s.pool, db.IndexingRunStartAttemptParams{OrgID: orgID, ID: id, Attempt: attempt})
	return r, Classify(err)
}

// RecordRunAttemptError shows msg on a run still running attempt.
func (s *Store) RecordRunAttemptError(ctx context.Context, orgID, id uuid.UUID, attempt int32, msg string) error {
	return queries.IndexingRunRecordAttemptError(ctx, s.pool, db.IndexingRunRecordAttemptErrorParams{
		OrgID: orgID, ID: id, Attempt: attempt, Error: &msg})
}

// LockRunQueue serialises run creation in the org until the transaction ends, so the
// queued-run limit holds under concurrency.
func (t *Tx) LockRunQueue(ctx context.Context, orgID uuid.UUID) error {
	return queries.IndexingRunLockOrgQueue(ctx, t.pg, "switchboard.indexing_runs:"+orgID.String())
}

// CountQueuedRuns counts the org's queued runs.
func (t *Tx) CountQueuedRuns(ctx context.Context, orgID uuid.UUID) (int64, error) {
	return queries.IndexingRunCountQueued(ctx, t.pg, orgID)
}

// CreateIndexingRun inserts a queued run.
func (t *Tx) CreateIndexingRun(ctx context.Context, orgID uuid.UUID, p db.IndexingRunCreateParams) (db.IndexingRun, error) {
	p.OrgID = orgID
	return queries.IndexingRunCreate(ctx, t.pg, p)
}

// ActiveRunForConnector returns the connector's queued or running run. ErrNotFound when
// it has none.
func (t *Tx) ActiveRunForConnector(ctx context.Context, orgID, connectorID uuid.UUID) (db.IndexingRun, error) {
	r, err := queries.IndexingRunGetActiveForConnector(ctx, t.pg, db.IndexingRunGetActiveForConnectorParams{
		OrgID: orgID, ConnectorID: uuid.NullUUID{UUID: connectorID, Valid: true}})
	return r, Classify(err)
}

// LastRunForConnector returns the connector's newest run. ErrNotFound when it never ran.
func (t *Tx) LastRunForConnector(ctx context.Context, orgID, connectorID uuid.UUID) (db.IndexingRun, error) {
	r, err := queries.IndexingRunGetLastForConnector(ctx, t.pg, db.IndexingRunGetLastForConnectorParams{
		OrgID: orgID, ConnectorID: uuid.NullUUID{UUID: connectorID, Valid: true}})
	return r, Classify(err)
}

// CancelConnectorRuns marks the connector's queued and running runs cancelled.
func (t *Tx) CancelConnectorRuns(ctx context.Context, orgID, connectorID uuid.UUID) error {
	return queries.IndexingRunCancelForConnector(ctx, t.pg, db.IndexingRunCancelForConnectorParams{
		OrgID: orgID, ConnectorID: uuid.NullUUID{UUID: connectorID, Valid: true}})
}

// FenceRun locks the run until the transaction ends, provided it is still running attempt;
// ErrNotFound when it was cancelled, finished or taken over by a later attempt.
func (t *Tx) FenceRun(ctx context.Context, orgID, id uuid.UUID, attempt int32) error {
	_, err := queries.IndexingRunFence(ctx, t.pg, db.IndexingRunFenceParams{OrgID: orgID, ID: id, Attempt: attempt})
	return Classify(err)
}

// AddRunCounts adds to a run's document and chunk counts.
func (t *Tx) AddRunCounts(ctx context.Context, orgID uuid.UUID, p db.IndexingRunAddCountsParams) error {
	p.OrgID = orgID
	return queries.IndexingRunAddCounts(ctx, t.pg, p)
}

// SetRunDocumentsSeen records how many documents the run found.
func (t *Tx) SetRunDocumentsSeen(ctx context.Context, orgID, id uuid.UUID, seen int32) error {
	return queries.IndexingRunSetDocumentsSeen(ctx, t.pg, db.IndexingRunSetDocumentsSeenParams{OrgID: orgID, ID: id, DocumentsSeen: seen})
}

// FinishRunAttempt ends a run still running p.Attempt with p.Status. ErrNotFound otherwise.
func (t *Tx) FinishRunAttempt(ctx context.Context, orgID uuid.UUID, p db.IndexingRunFinishAttemptParams) (db.IndexingRun, error) {
	p.OrgID = orgID
	r, err := queries.IndexingRunFinishAttempt(ctx, t.pg, p)
	return r, Classify(err)
}

// FailLostRun fails a queued or running run with msg. ErrNotFound when it had ended.
func (t *Tx) FailLostRun(ctx context.Context, orgID, id uuid.UUID, msg string) (db.IndexingRun, error) {
	r, err := queries.IndexingRunFailLost(ctx, t.pg, db.IndexingRunFailLostParams{OrgID: orgID, ID: id, Error: &msg})
	return r, Classify(err)
}
