package knowledge

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge/webconn"
	"github.com/switchboard-dev/switchboard/store"
)

// Production settings of ADMIN-API §9.12 and §9.11.
const (
	DefaultMaxAttempts = 3
	// An attempt's work is cut into slices that each end well inside the rescue window
	// (jobs.DefaultRescueStuckJobsAfter):
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
	// MaxQueuedRuns is SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS; 0 disables the limit.
	MaxQueuedRuns int
	// AllowPrivateURLs is SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS.
	AllowPrivateURLs bool
	// Workers is how many runs this instance indexes at once.
	Workers int

	// Job tuning; tests shorten these, production keeps the defaults. The stuck-job rescue
	// is the Runner's (jobs.Options).
	MaxAttempts int
	JobTimeout  time.Duration
	SliceBudget time.Duration
	// RetryDelay, when set, replaces River's exponential backoff between attempts.
	RetryDelay time.Duration
	// MaintenanceInterval is how often the leader queues scheduled connector runs and
	// fails runs whose job River gave up on.
	MaintenanceInterval time.Duration
	// PageTimeout bounds one web request (default 15 s).
	PageTimeout time.Duration
}

func (o *Options) defaults(rescue time.Duration) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
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
	if o.JobTimeout > rescue {
		return fmt.Errorf("knowledge: job timeout %s must not exceed the stuck-job rescue %s", o.JobTimeout, rescue)
	}
	if o.SliceBudget >= o.JobTimeout {
		return fmt.Errorf("knowledge: slice budget %s must be below the job timeout %s", o.SliceBudget, o.JobTimeout)
	}
	return nil
}

// Service is the knowledge component of one process. Its methods are safe for
// concurrent use. Its jobs run on the process's jobs.Runner: the Runner's client inserts
// them from any instance, and starting the Runner makes this instance work them too, and,
// when it is River's elected leader, run the maintenance job (connector schedules, lost
// runs).
type Service struct {
	st   *store.Store
	log  *slog.Logger
	opts Options
	jobs *jobs.Runner
	web  *webconn.Fetcher
}

// New builds a Service on st and registers its queue, workers and maintenance job on r.
func New(st *store.Store, r *jobs.Runner, opts Options) (*Service, error) {
	if err := opts.defaults(r.RescueStuckJobsAfter()); err != nil {
		return nil, err
	}
	s := &Service{st: st, log: opts.Logger, opts: opts, jobs: r}
	s.web = webconn.New(webconn.Options{AllowPrivate: opts.AllowPrivateURLs, Timeout: opts.PageTimeout})
	err := errors.Join(
		r.Queue(riverQueue, opts.Workers),
		jobs.Add(r, &indexWorker{s: s}),
		jobs.Periodic(r, opts.MaintenanceInterval, &maintenanceWorker{s: s}),
	)
	if err != nil {
		return nil, fmt.Errorf("knowledge: register jobs: %w", err)
	}
	return s, nil
}

// river is the process's River client, to insert jobs with.
func (s *Service) river() (*river.Client[pgx.Tx], error) { return s.jobs.Client() }

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
