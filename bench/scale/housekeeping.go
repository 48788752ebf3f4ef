package scalebench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// Housekeeping is a simulated week of the tables that only housekeeping keeps small:
// backplane_events (pruned by every instance every minute, rows older than an hour),
// River's job table (River's cleaner, completed jobs older than a day) and instances (rows
// silent for a week, hourly). The clock is simulated: each step is one minute of it, its
// rows carry the simulated time, and each pruner runs at its own interval as of that time,
// through the same queries the server runs (db.BackplaneEventPrune, Store.PruneInstancesAt,
// River's JobDeleteBefore). Every turn is assumed to publish one backplane event and queue
// one River job, more than a turn does today (none of either); 1 turn in Sample is written,
// so the counts printed are the rows written times Sample.
type Housekeeping struct {
	TurnsPerSecond int           // 100
	Sample         int           // 100: one turn in Sample is written
	Days           int           // 7
	Instances      int           // 4 serve processes, each restarted once a day (a deploy)
	Retention      time.Duration // backplane: 1h (backplane.Options.Retention's default)
	JobRetention   time.Duration // River's CompletedJobRetentionPeriod: 24h (its default)
}

// HousekeepingCounts is the simulated state at one moment, in turns' worth of rows
// (written rows times Sample; instances as written).
type HousekeepingCounts struct {
	At                           time.Duration // since the simulation's start
	BackplaneEvents, RiverJobs   int64
	Instances                    int64
	MaxBackplane, MaxRiver       int64
	MaxInstances, TurnsSimulated int64
}

// Simulate runs the week on the migrated, empty database at dbURL and reports the counts
// every report interval of simulated time, and at the end.
func (h Housekeeping) Simulate(ctx context.Context, dbURL string, every time.Duration, out io.Writer) (HousekeepingCounts, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return HousekeepingCounts{}, err
	}
	defer pool.Close()
	st := store.New(pool, nil)
	q := db.New()
	exec := riverpgxv5.New(pool).GetExecutor()
	org := uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO orgs (id, name) VALUES ($1, 'housekeeping')`, org); err != nil {
		return HousekeepingCounts{}, err
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	perMinute := h.TurnsPerSecond * 60 / h.Sample
	var c HousekeepingCounts
	instances := make([]uuid.UUID, h.Instances)
	if _, err := fmt.Fprintf(out, "%-10s %16s %16s %10s\n", "simulated", "backplane_events", "river_job", "instances"); err != nil {
		return HousekeepingCounts{}, err
	}
	for minute := 0; minute < h.Days*24*60; minute++ {
		now := start.Add(time.Duration(minute) * time.Minute)
		// A deploy a day restarts every instance: a new row each; the old ones stop.
		if minute%(24*60) == 0 {
			for i := range instances {
				if instances[i] != uuid.Nil {
					if _, err := pool.Exec(ctx, `UPDATE instances SET stopped_at = $2 WHERE id = $1`, instances[i], now); err != nil {
						return c, err
					}
				}
				instances[i] = uuid.New()
				if _, err := pool.Exec(ctx, `INSERT INTO instances (id, hostname, started_at, heartbeat_at) VALUES ($1, 'sim', $2, $2)`,
					instances[i], now); err != nil {
					return c, err
				}
			}
		}
		if _, err := pool.Exec(ctx, `UPDATE instances SET heartbeat_at = $2 WHERE id = ANY($1) AND stopped_at IS NULL`, instances, now); err != nil {
			return c, err
		}
		// This minute's turns: their events, spread over the minute, and their jobs, done.
		if _, err := pool.Exec(ctx, `INSERT INTO backplane_events (org_id, target_type, target_id, event, created_at)
			SELECT $1, 'conversation', 'sim', '{"type":"sim"}', $2::timestamptz + i * ($3::float8 / $4) * interval '1 second'
			FROM generate_series(0, $4 - 1) AS i`, org, now, 60.0, perMinute); err != nil {
			return c, err
		}
		jobs := make([]*riverdriver.JobInsertFullParams, perMinute)
		for i := range jobs {
			at := now.Add(time.Duration(i) * time.Minute / time.Duration(perMinute))
			jobs[i] = &riverdriver.JobInsertFullParams{
				Attempt: 1, AttemptedAt: &at, CreatedAt: &at, FinalizedAt: &at, ScheduledAt: &at,
				EncodedArgs: []byte(`{}`), Kind: "simulated_turn", MaxAttempts: 25, Metadata: []byte(`{}`), Priority: 1,
				Queue: "default", State: rivertype.JobStateCompleted, Tags: []string{},
			}
		}
		if _, err := exec.JobInsertFullMany(ctx, &riverdriver.JobInsertFullManyParams{Jobs: jobs}); err != nil {
			return c, fmt.Errorf("insert jobs: %w", err)
		}
		c.TurnsSimulated += int64(perMinute * h.Sample)
		// The pruners, each at its interval: backplane every minute, River's cleaner every 30 s
		// (here once a minute, in batches of its 10,000 until one comes back short), instances
		// hourly.
		if _, err := q.BackplaneEventPrune(ctx, pool, now.Add(time.Minute).Add(-h.Retention)); err != nil {
			return c, err
		}
		for {
			n, err := exec.JobDeleteBefore(ctx, &riverdriver.JobDeleteBeforeParams{
				CompletedDoDelete: true, CompletedFinalizedAtHorizon: now.Add(time.Minute).Add(-h.JobRetention),
				CancelledDoDelete: true, CancelledFinalizedAtHorizon: now.Add(time.Minute).Add(-h.JobRetention),
				DiscardedDoDelete: true, DiscardedFinalizedAtHorizon: now.Add(time.Minute).Add(-7 * 24 * time.Hour),
				Max: 10_000,
			})
			if err != nil {
				return c, fmt.Errorf("river cleaner: %w", err)
			}
			if n < 10_000 {
				break
			}
		}
		if minute%60 == 59 {
			if err := st.PruneInstancesAt(ctx, now.Add(time.Minute)); err != nil {
				return c, err
			}
		}
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM backplane_events), (SELECT count(*) FROM river_job),
			(SELECT count(*) FROM instances)`).Scan(&c.BackplaneEvents, &c.RiverJobs, &c.Instances); err != nil {
			return c, err
		}
		c.BackplaneEvents *= int64(h.Sample)
		c.RiverJobs *= int64(h.Sample)
		c.MaxBackplane, c.MaxRiver, c.MaxInstances = max(c.MaxBackplane, c.BackplaneEvents), max(c.MaxRiver, c.RiverJobs), max(c.MaxInstances, c.Instances)
		c.At = time.Duration(minute+1) * time.Minute
		if c.At%every == 0 {
			if _, err := fmt.Fprintf(out, "%-10s %16d %16d %10d\n", fmtSim(c.At), c.BackplaneEvents, c.RiverJobs, c.Instances); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

func fmtSim(d time.Duration) string {
	return fmt.Sprintf("d%d %02dh", int(d.Hours())/24, int(d.Hours())%24)
}
