package knowledge

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

var testMeta = store.Meta{Actor: store.Actor{Type: "user", ID: "tester"}, RequestID: "req-1"}

// testOptions are short settings so that retries, rescues and maintenance happen within
// a test; production keeps the defaults of Options.
func testOptions() Options {
	return Options{
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		AllowPrivateURLs:    true,
		MaxAttempts:         3,
		JobTimeout:          3 * time.Second,
		SliceBudget:         time.Second,
		RetryDelay:          50 * time.Millisecond,
		MaintenanceInterval: 200 * time.Millisecond,
		PageTimeout:         500 * time.Millisecond,
	}
}

// testRescue is the stuck-job rescue of the tests' job runners.
const testRescue = 3 * time.Second

type env struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
	st   *store.Store
	fx   *fixture.Factory
}

func newEnv(t *testing.T) *env {
	t.Helper()
	u := dbtest.NewURL(t)
	pool := dbtest.Pool(t, u)
	return &env{t: t, url: u, pool: pool, st: store.New(pool, nil), fx: fixture.New(t, pool)}
}

// service builds a Service on the env's database, on a job runner of its own (a process of
// its own, to River) whose stuck-job rescue is testRescue; started ones are stopped at
// cleanup.
func (e *env) service(opts Options, start bool) *Service {
	e.t.Helper()
	return e.serviceRescue(opts, testRescue, start)
}

func (e *env) serviceRescue(opts Options, rescue time.Duration, start bool) *Service {
	e.t.Helper()
	r := jobs.New(e.st, jobs.Options{Logger: opts.Logger, RescueStuckJobsAfter: rescue, TestOnly: true})
	s, err := New(e.st, r, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if start {
		if err := r.Start(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Stop(ctx); err != nil {
				e.t.Logf("stop job runner: %v", err)
			}
		})
	}
	return s
}

func (e *env) org(name string) uuid.UUID {
	e.t.Helper()
	return e.fx.Org(fixture.Org{Name: name}).ID
}

// waitRun polls a run until it reaches a final status and returns it.
func waitRun(t *testing.T, s *Service, org, id uuid.UUID) Run {
	t.Helper()
	var r Run
	testkit.Eventually(t, "run "+id.String()+" to end", func() bool {
		var err error
		if r, err = s.GetRun(context.Background(), org, id); err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case StatusSucceeded, StatusFailed, StatusCancelled:
			return true
		}
		return false
	})
	return r
}

// ingest submits docs and waits for the run to end.
func ingest(t *testing.T, s *Service, org uuid.UUID, set string, docs ...DocumentInput) (Run, []string) {
	t.Helper()
	run, ids, err := s.Ingest(context.Background(), org, set, docs, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	return waitRun(t, s, org, run.ID), ids
}

func docIDs(hits []Hit) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, h := range hits {
		if !seen[h.DocID] {
			seen[h.DocID] = true
			out = append(out, h.DocID)
		}
	}
	return out
}

func strp(s string) *string { return &s }

func search(t *testing.T, s *Service, org uuid.UUID, v Viewer, q string) []string {
	t.Helper()
	hits, err := s.Search(context.Background(), org, nil, v, q, 20)
	if err != nil {
		t.Fatal(err)
	}
	return docIDs(hits)
}
