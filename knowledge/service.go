package knowledge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/knowledge/webconn"
	"github.com/switchboard-dev/switchboard/store"
)

// Production settings of ADMIN-API §9.12 and §9.11.
const (
	DefaultMaxAttempts          = 3
	DefaultRescueStuckJobsAfter = 2 * time.Minute
	// An attempt's work is cut into slices that each end well inside the rescue window:
	// a slice stops taking new documents after SliceBudget and the job snoozes to
	// continue, so a long run is never mistaken for a stuck one.
	DefaultSliceBudget         = 60 * time.Second
	DefaultJobTimeout          = 100 * time.Second
	DefaultMaintenanceInterval = time.Minute
	DefaultWorkers             = 2
	// scheduleGuard: a schedule does not queue a run when the last one is younger.
	scheduleGuard = 15 * time.Minute
	// riverQueue is the River queue knowledge jobs run on.
	riverQueue = "knowledge"
)

// MsgWorkerLost is the error message of a run whose last attempt's worker disappeared.
const MsgWorkerLost = "indexing worker lost"

// Options configure a Service. Zero values take the production defaults above.
type Options struct {
	Logger *slog.Logger
	// InstanceID names this process to River (its client id must be unique among the
	// running clients); empty means a random one.
	InstanceID string
	// MaxQueuedRuns is SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS; 0 disables the limit.
	MaxQueuedRuns int
	// AllowPrivateURLs is SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS.
	AllowPrivateURLs bool
	// Workers is how many runs this instance indexes at once.
	Workers int

	// Job tuning; tests shorten these, production keeps the defaults.
	MaxAttempts          int
	RescueStuckJobsAfter time.Duration
	JobTimeout           time.Duration
	SliceBudget          time.Duration
	// RetryDelay, when set, replaces River's exponential backoff between attempts.
	RetryDelay time.Duration
	// MaintenanceInterval is how often the leader queues scheduled connector runs and
	// fails runs whose job River gave up on.
	MaintenanceInterval time.Duration
	// PageTimeout bounds one web request (default 15 s).
	PageTimeout time.Duration

	// Jobs registers other packages' River work on this client, until the process has a
	// River client of its own for all of them: each registers its workers and returns its
	// periodic jobs and the queues they run on (retention.Jobs).
	Jobs []func(*river.Workers) ([]*river.PeriodicJob, map[string]river.QueueConfig, error)

	// testOnly makes River skip start-up jitter; set by this package's tests.
	testOnly bool
}

func (o *Options) defaults() error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RescueStuckJobsAfter <= 0 {
		o.RescueStuckJobsAfter = DefaultRescueStuckJobsAfter
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.SliceBudget <= 0 {
		o.SliceBudget = DefaultSliceBudget
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = DefaultMaintenanceInterval
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = webconn.PageTimeout
	}
	if o.JobTimeout > o.RescueStuckJobsAfter {
		return fmt.Errorf("knowledge: job timeout %s must not exceed the stuck-job rescue %s", o.JobTimeout, o.RescueStuckJobsAfter)
	}
	if o.SliceBudget >= o.JobTimeout {
		return fmt.Errorf("knowledge: slice budget %s must be below the job timeout %s", o.SliceBudget, o.JobTimeout)
	}
	return nil
}

// Service is the knowledge component of one process. Its methods are safe for
// concurrent use. The River client it holds inserts jobs from any instance; Start makes
// this instance work them too.
type Service struct {
	st    *store.Store
	log   *slog.Logger
	opts  Options
	river *river.Client[pgx.Tx]
	web   *webconn.Fetcher
}

// New builds a Service on st. It does not start workers: call Start.
func New(st *store.Store, opts Options) (*Service, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	s := &Service{st: st, log: opts.Logger, opts: opts}
	s.web = webconn.New(webconn.Options{AllowPrivate: opts.AllowPrivateURLs, Timeout: opts.PageTimeout})

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &indexWorker{s: s}); err != nil {
		return nil, fmt.Errorf("knowledge: register index worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &maintenanceWorker{s: s}); err != nil {
		return nil, fmt.Errorf("knowledge: register maintenance worker: %w", err)
	}
	id := opts.InstanceID
	if id == "" {
		id = uuid.NewString()
	}
	cfg := &river.Config{
		ID:                   "switchboard_" + id,
		Logger:               opts.Logger,
		Queues:               map[string]river.QueueConfig{riverQueue: {MaxWorkers: opts.Workers}},
		Workers:              workers,
		MaxAttempts:          opts.MaxAttempts,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		TestOnly:             opts.testOnly,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(opts.MaintenanceInterval),
				func() (river.JobArgs, *river.InsertOpts) { return maintenanceArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	}
	if opts.RetryDelay > 0 {
		cfg.RetryPolicy = fixedRetry(opts.RetryDelay)
	}
	for _, register := range opts.Jobs {
		periodic, queues, err := register(workers)
		if err != nil {
			return nil, fmt.Errorf("knowledge: register jobs: %w", err)
		}
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, periodic...)
		for name, q := range queues {
			if _, taken := cfg.Queues[name]; taken {
				return nil, fmt.Errorf("knowledge: queue %q registered twice", name)
			}
			cfg.Queues[name] = q
		}
	}
	client, err := st.NewRiverClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("knowledge: river client: %w", err)
	}
	s.river = client
	return s, nil
}

// Start makes this instance work indexing jobs and, when it is River's elected leader,
// run the maintenance job (connector schedules, lost runs). Stop ends it.
func (s *Service) Start(ctx context.Context) error {
	if err := s.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("knowledge: start river: %w", err)
	}
	return nil
}

// Stop stops working jobs. Slices in progress may finish until ctx is done; then they are
// cancelled, and River hands their jobs to another instance without counting an
// attempt. It returns once every job goroutine has returned.
func (s *Service) Stop(ctx context.Context) error {
	err := s.river.Stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if herr := s.river.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("knowledge: stop river: %w", errors.Join(err, herr))
	}
	return nil
}

// fixedRetry waits the same delay before every retry.
type fixedRetry time.Duration

func (f fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(f)) }

// indexRunArgs is the job of one indexing run.
type indexRunArgs struct {
	OrgID uuid.UUID `json:"org_id"`
	RunID uuid.UUID `json:"run_id"`
}

const indexRunKind = "knowledge_index_run"

func (indexRunArgs) Kind() string { return indexRunKind }

func (indexRunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: riverQueue}
}

// maintenanceArgs is the periodic job run by the leader.
type maintenanceArgs struct{}

func (maintenanceArgs) Kind() string { return "knowledge_maintenance" }

func (maintenanceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: riverQueue, MaxAttempts: 1}
}
