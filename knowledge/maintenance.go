package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/store"
)

// maintenanceWorker is River's periodic job, inserted by the elected leader only, so one
// instance at a time queues scheduled runs and sweeps lost runs.
type maintenanceWorker struct {
	river.WorkerDefaults[maintenanceArgs]
	s *Service
}

func (w *maintenanceWorker) Timeout(*river.Job[maintenanceArgs]) time.Duration {
	return w.s.opts.JobTimeout
}

func (w *maintenanceWorker) Work(ctx context.Context, _ *river.Job[maintenanceArgs]) error {
	return errors.Join(w.s.SweepLostRuns(ctx), w.s.QueueScheduledRuns(ctx, time.Now()))
}

// How far back the sweeper looks: for jobs River gave up on, and for completed jobs
// (many, and only abandoned in the rare case of a worker outliving its job's rescue).
const (
	lostRunWindow   = 24 * time.Hour
	completedWindow = 15 * time.Minute
)

// SweepLostRuns fails the runs whose job River finished without a worker finishing the
// run: the job was rescued as stuck on its last attempt (the worker's process died) and
// discarded, or cancelled, or completed by a worker that had lost the run to a newer
// attempt. Such a run would otherwise stay running for ever; it becomes
// failed with the error "indexing worker lost" and its pending rows are deleted. The
// maintenance job calls it on the leader; calling it anywhere else is safe too.
func (s *Service) SweepLostRuns(ctx context.Context) error {
	now := time.Now()
	jobs, err := s.st.FinishedJobs(ctx, indexRunKind, now.Add(-lostRunWindow), now.Add(-completedWindow))
	if err != nil {
		return fmt.Errorf("sweep lost runs: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		var args indexRunArgs
		if err := json.Unmarshal(j.Args, &args); err != nil || args.OrgID == uuid.Nil {
			continue
		}
		msg := MsgWorkerLost
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			r, err := tx.FailLostRun(ctx, args.OrgID, args.RunID, msg)
			if isNotFound(err) {
				return nil // finished by its worker, as it should be
			}
			if err != nil {
				return err
			}
			if _, err := tx.DeletePendingDocumentsOfRun(ctx, args.OrgID, r.ID); err != nil {
				return err
			}
			s.log.Warn("indexing run failed: its worker was lost", "org_id", args.OrgID, "run_id", r.ID, "job_id", j.ID)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("fail lost run %s: %w", args.RunID, err))
		}
	}
	return errors.Join(errs...)
}

// QueueScheduledRuns queues a run for every enabled connector whose schedule fired since
// its last run (or since it was last written, when it never ran), unless it already has
// a queued or running run or its last run was created less than 15 minutes before now.
// Scheduled runs write no audit row. The check is repeated under the connector's row
// lock, so two callers never queue two runs.
//
// Orgs are walked one by one because every query on tenant tables is org-scoped.
func (s *Service) QueueScheduledRuns(ctx context.Context, now time.Time) error {
	var after uuid.NullUUID
	var errs []error
	for {
		orgs, err := s.st.ListOrgIDs(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("list orgs: %w", err)
		}
		for _, org := range orgs {
			if err := s.queueOrgSchedules(ctx, org, now); err != nil {
				errs = append(errs, err)
			}
		}
		if len(orgs) < 500 {
			return errors.Join(errs...)
		}
		after = uuid.NullUUID{UUID: orgs[len(orgs)-1], Valid: true}
	}
}

func (s *Service) queueOrgSchedules(ctx context.Context, orgID uuid.UUID, now time.Time) error {
	rows, err := s.st.ListScheduledConnectors(ctx, orgID)
	if err != nil {
		return fmt.Errorf("scheduled connectors of %s: %w", orgID, err)
	}
	var errs []error
	for _, r := range rows {
		if r.Schedule == nil {
			continue
		}
		sch, err := parseStoredSchedule(*r.Schedule)
		if err != nil {
			continue // stored schedules were validated; a grammar change must not stop the others
		}
		since := r.UpdatedAt
		if last := asTime(r.LastRunAt); last != nil && last.After(since) {
			since = *last
		}
		if !due(sch, since, now) {
			continue
		}
		queued, err := s.queueScheduled(ctx, orgID, r.ID, now)
		switch {
		case errors.Is(err, ErrQueueFull):
			s.log.Warn("scheduled connector run skipped: queued-run limit reached", "org_id", orgID, "connector_id", r.ID)
		case err != nil:
			errs = append(errs, fmt.Errorf("schedule connector %s: %w", r.ID, err))
		case queued != nil:
			s.log.Info("scheduled connector run queued", "org_id", orgID, "connector_id", r.ID, "run_id", queued.ID)
		}
	}
	return errors.Join(errs...)
}

// queueScheduled re-checks the guards under the connector's lock and queues a run.
func (s *Service) queueScheduled(ctx context.Context, orgID, id uuid.UUID, now time.Time) (*Run, error) {
	var out *Run
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.LockConnector(ctx, orgID, id)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !c.Enabled || c.Schedule == nil {
			return nil
		}
		sch, err := parseStoredSchedule(*c.Schedule)
		if err != nil {
			return nil
		}
		since := c.UpdatedAt
		last, err := tx.LastRunForConnector(ctx, orgID, id)
		switch {
		case err == nil:
			if last.Status == StatusQueued || last.Status == StatusRunning || now.Sub(last.CreatedAt) < scheduleGuard {
				return nil
			}
			if last.CreatedAt.After(since) {
				since = last.CreatedAt
			}
		case !isNotFound(err):
			return err
		}
		if _, err := tx.ActiveRunForConnector(ctx, orgID, id); err == nil {
			return nil
		} else if !isNotFound(err) {
			return err
		}
		if !due(sch, since, now) {
			return nil
		}
		r, err := s.createRun(ctx, tx, orgID, &c.ID, c.DocumentSet, 0)
		if err != nil {
			return err
		}
		run := runFromDB(r)
		out = &run
		return nil
	})
	return out, err
}
