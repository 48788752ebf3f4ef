package knowledge

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// createRun queues a run and its job inside tx, enforcing the org's queued-run limit
// (ADMIN-API §1.8). Creation is serialised per org so concurrent requests cannot pass
// the limit together.
func (s *Service) createRun(ctx context.Context, tx *store.Tx, orgID uuid.UUID, connectorID *uuid.UUID, set string, seen int) (db.IndexingRun, error) {
	if err := tx.LockRunQueue(ctx, orgID); err != nil {
		return db.IndexingRun{}, fmt.Errorf("lock run queue: %w", err)
	}
	if s.opts.MaxQueuedRuns > 0 {
		n, err := tx.CountQueuedRuns(ctx, orgID)
		if err != nil {
			return db.IndexingRun{}, fmt.Errorf("count queued runs: %w", err)
		}
		if n >= int64(s.opts.MaxQueuedRuns) {
			return db.IndexingRun{}, ErrQueueFull
		}
	}
	run, err := tx.CreateIndexingRun(ctx, orgID, db.IndexingRunCreateParams{
		ConnectorID: toNullUUID(connectorID), DocumentSet: set, DocumentsSeen: int32(seen),
	})
	if err != nil {
		return db.IndexingRun{}, fmt.Errorf("create run: %w", err)
	}
	client, err := s.river()
	if err != nil {
		return db.IndexingRun{}, err
	}
	opts := &river.InsertOpts{Queue: riverQueue, MaxAttempts: s.opts.MaxAttempts}
	if err := tx.InsertJob(ctx, client, indexRunArgs{OrgID: orgID, RunID: run.ID}, opts); err != nil {
		return db.IndexingRun{}, fmt.Errorf("enqueue run %s: %w", run.ID, err)
	}
	return run, nil
}

// GetRun returns one run of the org.
func (s *Service) GetRun(ctx context.Context, orgID, runID uuid.UUID) (Run, error) {
	r, err := s.st.GetIndexingRun(ctx, orgID, runID)
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", runID, err)
	}
	return namedRun(r), nil
}

// ListRuns lists the org's runs, newest first (createdAt, then id, descending), after
// the keyset position after (nil: first page), skipping offset rows. more reports whether
// another row exists past the page. An unknown or foreign connector id yields an empty list.
func (s *Service) ListRuns(ctx context.Context, orgID uuid.UUID, f RunFilter, after *RunKey, limit, offset int) (runs []Run, more bool, err error) {
	limit = clampLimit(limit)
	p := db.IndexingRunListParams{ConnectorID: toNullUUID(f.ConnectorID), Lim: int32(limit + 1), Off: clampOffset(offset)}
	if f.Status != "" {
		st := f.Status
		p.Status = &st
	}
	if after != nil {
		t := after.CreatedAt
		p.AfterCreatedAt = &t
		p.AfterID = uuid.NullUUID{UUID: after.ID, Valid: true}
	}
	rows, err := s.st.ListIndexingRuns(ctx, orgID, p)
	if err != nil {
		return nil, false, fmt.Errorf("list runs: %w", err)
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	runs = make([]Run, len(rows))
	for i, r := range rows {
		runs[i] = namedRun(r)
	}
	return runs, more, nil
}

func namedRun(r store.NamedRun) Run {
	run := runFromDB(r.IndexingRun)
	run.ConnectorName = r.ConnectorName
	return run
}

// clampLimit keeps a page size within 1..200 (the API validates; this is a backstop).
func clampLimit(n int) int {
	switch {
	case n < 1:
		return 50
	case n > 200:
		return 200
	}
	return n
}

// clampOffset keeps a number of rows to skip within 0..store.MaxOffset (the API
// validates; this is a backstop).
func clampOffset(n int) int32 {
	return int32(min(max(n, 0), store.MaxOffset))
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
