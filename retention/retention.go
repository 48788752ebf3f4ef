// Package retention enforces each org's conversationRetentionDays (ADMIN-API §9.6): it
// deletes the conversations whose last activity is older than the org's period, with
// everything that goes with them, as a periodic River job run by one instance at a time.
//
// It must never hold a lock for long or queue behind a chat: it deletes at most BatchSize
// conversations per statement, each statement its own transaction, and passes over
// conversations that another transaction holds (a turn writing to them); a later batch
// or run takes them.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/store"
)

// BatchSize is how many conversations one statement deletes.
const BatchSize = 500

// Interval is how often the job runs.
const Interval = time.Hour

// Sweeper deletes expired conversations.
type Sweeper struct {
	st    *store.Store
	log   *slog.Logger
	batch int32
}

// New returns a Sweeper on st deleting batch conversations per statement (BatchSize when
// batch is 0).
func New(st *store.Store, log *slog.Logger, batch int32) *Sweeper {
	if batch <= 0 {
		batch = BatchSize
	}
	if log == nil {
		log = slog.Default()
	}
	return &Sweeper{st: st, log: log, batch: batch}
}

// Result is what one sweep did.
type Result struct {
	Deleted    int64 // conversations
	Statements int   // delete statements run
}

// Sweep deletes, for every org with a retention period, the conversations last active
// (their updatedAt: a message or a rename) before now minus the period, batch by batch,
// until a batch comes back short. An org whose deletion fails is logged and the others go
// on; the first error is returned.
func (s *Sweeper) Sweep(ctx context.Context, now time.Time) (Result, error) {
	var res Result
	orgs, err := s.st.RetentionPeriods(ctx)
	if err != nil {
		return res, err
	}
	var first error
	for _, o := range orgs {
		before := now.Add(-time.Duration(o.Days) * 24 * time.Hour)
		var deleted int64
		for {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n, err := s.st.DeleteExpiredConversations(ctx, o.OrgID, before, s.batch)
			if err != nil {
				s.log.Error("retention: delete expired conversations", "org_id", o.OrgID, "err", err)
				if first == nil {
					first = err
				}
				break
			}
			res.Statements++
			deleted += n
			if n < int64(s.batch) {
				break
			}
		}
		if deleted > 0 {
			s.log.Info("retention: deleted expired conversations", "org_id", o.OrgID, "conversations", deleted,
				"retention_days", o.Days, "last_active_before", before.UTC().Format(time.RFC3339))
		}
		res.Deleted += deleted
	}
	return res, first
}

// Args is the periodic job.
type Args struct{}

// Kind names the job in River's tables.
func (Args) Kind() string { return "conversation_retention" }

// InsertOpts: one attempt; the next run picks up whatever this one left.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 1}
}

// Queue is the River queue the job runs on.
const Queue = "retention"

// Worker runs a Sweep.
type Worker struct {
	river.WorkerDefaults[Args]
	Sweeper *Sweeper
}

// Work sweeps once.
func (w *Worker) Work(ctx context.Context, _ *river.Job[Args]) error {
	if _, err := w.Sweeper.Sweep(ctx, time.Now()); err != nil {
		return fmt.Errorf("retention sweep: %w", err)
	}
	return nil
}

// Jobs registers the worker on workers and returns the periodic job and the queue it
// needs, for the process's River client.
func Jobs(workers *river.Workers, s *Sweeper) ([]*river.PeriodicJob, map[string]river.QueueConfig, error) {
	if err := river.AddWorkerSafely(workers, &Worker{Sweeper: s}); err != nil {
		return nil, nil, fmt.Errorf("retention: register worker: %w", err)
	}
	periodic := river.NewPeriodicJob(river.PeriodicInterval(Interval),
		func() (river.JobArgs, *river.InsertOpts) { return Args{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
	return []*river.PeriodicJob{periodic}, map[string]river.QueueConfig{Queue: {MaxWorkers: 1}}, nil
}
