// Package jobs owns the one River client of a Switchboard process: every component that runs
// background jobs (knowledge's indexing runs and maintenance, webhooks' deliveries, ...)
// registers its workers, queues and periodic jobs on one Runner, and the process starts and
// stops that Runner once. River keeps its jobs in the application's database (store.River).
//
// Adding a job is one line at construction time, before Start:
//
//	jobs.Add(r, &deliveryWorker{…})                  // a worker; its args' InsertOpts pick the queue
//	jobs.Periodic(r, time.Hour, &retentionWorker{…}) // a worker whose zero args the elected
//	                                                 // leader inserts every hour (and at start)
//	r.Queue("webhooks", 4)                           // a queue with its goroutines on this process
//
// Jobs whose args name no queue run on River's default queue, which every Runner works with
// DefaultWorkers goroutines. Jobs are inserted in the caller's transaction with
// store.Tx.InsertJob(ctx, client, args, opts), client from Runner.Client.
//
// This package never decides what a job does, and never runs a job outside River.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/store"
)

// Production settings.
const (
	// DefaultRescueStuckJobsAfter: a job running this long is taken to have lost its process
	// and is handed to another (ADMIN-API §9.12). Every worker's timeout stays below it.
	DefaultRescueStuckJobsAfter = 2 * time.Minute
	// DefaultWorkers work River's default queue on each process.
	DefaultWorkers = 2
)

// Options configure a Runner. Zero values take the defaults above.
type Options struct {
	Logger *slog.Logger
	// InstanceID names this process to River (a client id must be unique among running
	// clients); empty means a random one.
	InstanceID           string
	RescueStuckJobsAfter time.Duration
	// TestOnly makes River skip its start-up jitter; tests only.
	TestOnly bool
	// Middleware wraps every job insert and work (tracing).
	Middleware []rivertype.Middleware
}

// ErrStarted: a registration came after the client was built (by Client or Start).
var ErrStarted = errors.New("jobs: the River client is already built")

// Runner collects registrations, then builds the process's River client once.
type Runner struct {
	st   *store.Store
	opts Options

	mu       sync.Mutex
	workers  *river.Workers
	queues   map[string]river.QueueConfig
	periodic []*river.PeriodicJob
	client   *river.Client[pgx.Tx]
	err      error
	started  bool
}

// New returns a Runner on st's database. Register, then Start (or only call Client, in a
// process that inserts jobs without working them).
func New(st *store.Store, opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RescueStuckJobsAfter <= 0 {
		opts.RescueStuckJobsAfter = DefaultRescueStuckJobsAfter
	}
	if opts.InstanceID == "" {
		opts.InstanceID = uuid.NewString()
	}
	return &Runner{
		st: st, opts: opts, workers: river.NewWorkers(),
		queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: DefaultWorkers}},
	}
}

// RescueStuckJobsAfter is how long a job may run before River hands it to another process;
// workers keep their timeouts below it.
func (r *Runner) RescueStuckJobsAfter() time.Duration { return r.opts.RescueStuckJobsAfter }

// Queue makes this process work queue with up to n jobs at once (n < 1 means 1).
func (r *Runner) Queue(name string, n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return ErrStarted
	}
	r.queues[name] = river.QueueConfig{MaxWorkers: max(n, 1)}
	return nil
}

// Add registers w as the worker of its args' kind.
func Add[T river.JobArgs](r *Runner, w river.Worker[T]) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return ErrStarted
	}
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// Periodic registers w and makes the elected leader insert a zero T every interval, and once
// at start.
func Periodic[T river.JobArgs](r *Runner, interval time.Duration, w river.Worker[T]) error {
	if err := Add(r, w); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.periodic = append(r.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { var args T; return args, nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
	return nil
}

// Client returns the River client, building it at the first call; registrations end there.
func (r *Runner) Client() (*river.Client[pgx.Tx], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil && r.err == nil {
		r.client, r.err = r.st.NewRiverClient(&river.Config{
			ID:                   "switchboard_" + r.opts.InstanceID,
			Logger:               r.opts.Logger,
			Queues:               r.queues,
			Workers:              r.workers,
			PeriodicJobs:         r.periodic,
			RescueStuckJobsAfter: r.opts.RescueStuckJobsAfter,
			// Workers set their own timeouts below the rescue; this bounds those that do not.
			JobTimeout: r.opts.RescueStuckJobsAfter,
			TestOnly:   r.opts.TestOnly,
			Middleware: r.opts.Middleware,
		})
		if r.err != nil {
			r.err = fmt.Errorf("jobs: river client: %w", r.err)
		}
	}
	return r.client, r.err
}

// Start makes this process work its queues and, when River elects it leader, run the
// periodic jobs and River's maintenance (rescuing stuck jobs among them).
func (r *Runner) Start(ctx context.Context) error {
	c, err := r.Client()
	if err != nil {
		return err
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	return nil
}

// Stop stops working jobs. Jobs in progress may finish until ctx is done; then they are
// cancelled, and River hands them to another process without counting an attempt. It
// returns once every job goroutine has returned. A Runner never started stops at once.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	c, started := r.client, r.started
	r.mu.Unlock()
	if !started {
		return nil
	}
	err := c.Stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if herr := c.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("jobs: stop river: %w", errors.Join(err, herr))
	}
	return nil
}
