package knowledge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

var (
	// errSliceSpent: this slice used its time budget; the job snoozes and continues.
	errSliceSpent = errors.New("slice budget spent")
	// errRunStopped: the run is no longer this attempt's to write (cancelled, finished,
	// or taken over by a later attempt).
	errRunStopped = errors.New("run stopped")
)

// indexWorker executes indexing runs.
type indexWorker struct {
	river.WorkerDefaults[indexRunArgs]
	s *Service
}

func (w *indexWorker) Timeout(*river.Job[indexRunArgs]) time.Duration { return w.s.opts.JobTimeout }

// NextRetry is River's exponential backoff, or Options.RetryDelay when set (tests).
func (w *indexWorker) NextRetry(*river.Job[indexRunArgs]) time.Time {
	if d := w.s.opts.RetryDelay; d > 0 {
		return time.Now().Add(d)
	}
	return time.Time{}
}

func (w *indexWorker) Work(ctx context.Context, job *river.Job[indexRunArgs]) error {
	return w.s.work(ctx, job.Args.OrgID, job.Args.RunID, job.Attempt, job.MaxAttempts)
}

// attempt is one attempt (one River attempt, possibly over several slices) of a run.
type attempt struct {
	org      uuid.UUID
	run      db.IndexingRun
	n        int32
	deadline time.Time
	log      *slog.Logger
}

// work runs one slice of a run's current attempt. The outcome, in River's terms:
//   - nil: the run is finished (succeeded, or already ended by someone else);
//   - JobSnooze(0): the slice budget is spent, the job continues at once without
//     counting an attempt;
//   - an error: the attempt failed; River retries it, and on the last attempt the run is
//     marked failed here before returning;
//   - a context.Canceled error when this instance is stopping: River hands the job to
//     another worker without counting an attempt, and the run stays running.
func (s *Service) work(ctx context.Context, orgID, runID uuid.UUID, n, maxAttempts int) error {
	log := s.log.With("org_id", orgID, "run_id", runID, "attempt", n)
	run, err := s.st.StartRunAttempt(ctx, orgID, runID, int32(n))
	if isNotFound(err) {
		log.Info("indexing run is not runnable any more; job ends")
		return nil
	}
	if err != nil {
		return fmt.Errorf("start run %s: %w", runID, err)
	}
	a := &attempt{org: orgID, run: run, n: int32(n), deadline: time.Now().Add(s.opts.SliceBudget), log: log}
	err = s.execute(ctx, a)
	if err == nil {
		err = s.finishSucceeded(ctx, a)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errSliceSpent):
		return river.JobSnooze(0)
	case errors.Is(err, errRunStopped):
		log.Info("indexing run stopped by a newer attempt or a cancellation")
		return nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.Info("indexing interrupted; the job will continue elsewhere")
		return err
	}
	msg := runErrorMessage(ctx, err)
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if n >= maxAttempts {
		log.Warn("indexing run failed", "err", err)
		if ferr := s.finishFailed(bg, a, msg); ferr != nil && !errors.Is(ferr, errRunStopped) {
			log.Error("mark run failed", "err", ferr)
		}
		return err
	}
	log.Warn("indexing attempt failed; it will be retried", "err", err)
	if rerr := s.st.RecordRunAttemptError(bg, orgID, runID, int32(n), msg); rerr != nil {
		log.Error("record attempt error", "err", rerr)
	}
	return err
}

// runErrorMessage is the short cause shown on the run: never SQL, never a secret.
func runErrorMessage(ctx context.Context, err error) string {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return pe.msg
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "indexing attempt timed out"
	}
	return "indexing failed: internal error"
}

// pageError is a failure whose message may be shown on the run as is.
type pageError struct{ msg string }

func (e *pageError) Error() string { return e.msg }

// execute does the run's work until it is done, the slice budget is spent, or the run is
// stopped.
func (s *Service) execute(ctx context.Context, a *attempt) error {
	var conn *db.Connector
	if a.run.ConnectorID.Valid {
		c, err := s.st.GetConnector(ctx, a.org, a.run.ConnectorID.UUID)
		if isNotFound(err) {
			return errRunStopped // deleted: its delete cancelled this run
		}
		if err != nil {
			return fmt.Errorf("load connector: %w", err)
		}
		conn = &c
		if a.run.DocumentsSeen == 0 {
			if err := s.discover(ctx, a, conn); err != nil {
				return err
			}
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(a.deadline) {
			return errSliceSpent
		}
		doc, err := s.st.NextPendingDocument(ctx, a.org, a.run.ID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("next pending document: %w", err)
		}
		if doc.Content == nil && conn != nil {
			err = s.fetchAndIndex(ctx, a, doc)
		} else {
			err = s.indexPending(ctx, a, doc)
		}
		if err != nil {
			return err
		}
	}
}

// stepTx runs fn in one transaction that first checks, and locks, that the run is still
// running this attempt. A cancellation or a newer attempt turns into errRunStopped and
// fn never runs.
func (s *Service) stepTx(ctx context.Context, a *attempt, fn func(tx *store.Tx) error) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.FenceRun(ctx, a.org, a.run.ID, a.n)
		if isNotFound(err) {
			return errRunStopped
		}
		if err != nil {
			return fmt.Errorf("fence run: %w", err)
		}
		return fn(tx)
	})
}

// finishSucceeded ends the run: for a connector run, the documents it produced earlier but
// did not see this time are deleted (full sync) in the same transaction.
func (s *Service) finishSucceeded(ctx context.Context, a *attempt) error {
	return s.stepTx(ctx, a, func(tx *store.Tx) error {
		if a.run.ConnectorID.Valid {
			n, err := tx.DeleteUnseenConnectorDocuments(ctx, a.org, a.run.ConnectorID, a.run.ID)
			if err != nil {
				return fmt.Errorf("delete unseen documents: %w", err)
			}
			if n > 0 {
				a.log.Info("connector documents no longer at the source deleted", "count", n)
			}
		}
		r, err := tx.FinishRunAttempt(ctx, a.org, db.IndexingRunFinishAttemptParams{
			ID: a.run.ID, Attempt: a.n, Status: StatusSucceeded})
		if err != nil {
			return fmt.Errorf("finish run: %w", err)
		}
		a.log.Info("indexing run succeeded", "documents_seen", r.DocumentsSeen, "documents_indexed", r.DocumentsIndexed,
			"documents_skipped", r.DocumentsSkipped, "chunks_indexed", r.ChunksIndexed)
		return nil
	})
}

// finishFailed ends the run as failed and deletes the pending rows it did not index.
func (s *Service) finishFailed(ctx context.Context, a *attempt, msg string) error {
	return s.stepTx(ctx, a, func(tx *store.Tx) error {
		if _, err := tx.DeletePendingDocumentsOfRun(ctx, a.org, a.run.ID); err != nil {
			return fmt.Errorf("delete pending documents: %w", err)
		}
		_, err := tx.FinishRunAttempt(ctx, a.org, db.IndexingRunFinishAttemptParams{
			ID: a.run.ID, Attempt: a.n, Status: StatusFailed, Error: &msg})
		return err
	})
}
