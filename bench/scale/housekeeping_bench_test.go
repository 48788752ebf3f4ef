package scalebench

import (
	"context"
	"fmt"
	"os"
	"time"

	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/migrations"
)

// BenchmarkHousekeeping simulates a week at BENCH_HOUSEKEEPING_TURNS turns per second (100)
// on a fresh database, switchboard_scale_housekeeping, and prints the housekeeping tables'
// counts every simulated 6 hours (bench/README.md, "Housekeeping over a simulated week").
func BenchmarkHousekeeping(b *testing.B) {
	ctx := context.Background()
	base := envStr("DATABASE_URL", config.DefaultDatabaseURL)
	adminURL, err := withDatabase(base, "postgres")
	if err != nil {
		b.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	const name = "switchboard_scale_housekeeping"
	for _, s := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := admin.Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	dbURL, err := withDatabase(base, name)
	if err != nil {
		b.Fatal(err)
	}
	m, err := migrations.Open(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		b.Fatal(err)
	}
	_ = m.Close()
	h := Housekeeping{TurnsPerSecond: envInt("BENCH_HOUSEKEEPING_TURNS", 100), Sample: envInt("BENCH_HOUSEKEEPING_SAMPLE", 100),
		Days: envInt("BENCH_HOUSEKEEPING_DAYS", 7), Instances: 4, Retention: time.Hour, JobRetention: 24 * time.Hour}
	fmt.Printf("simulated: %d turns/s for %d days, each turn 1 backplane event and 1 River job (today: none of either); 1 turn in %d written, counts scaled back\n",
		h.TurnsPerSecond, h.Days, h.Sample)
	t0 := time.Now()
	c, err := h.Simulate(ctx, dbURL, 6*time.Hour, os.Stdout)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("after %s simulated (%d turns) in %s: backplane_events %d (max %d), river_job %d (max %d), instances %d (max %d)\n",
		fmtSim(c.At), c.TurnsSimulated, time.Since(t0).Round(time.Second), c.BackplaneEvents, c.MaxBackplane, c.RiverJobs, c.MaxRiver,
		c.Instances, c.MaxInstances)
}
