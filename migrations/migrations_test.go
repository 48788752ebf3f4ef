package migrations_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/migrations"
)

func tables(t *testing.T, url string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestEmbeddedMigrationsMatchTheDirectory(t *testing.T) {
	onDisk, _ := filepath.Glob("*.sql")
	embedded, _ := fs.Glob(migrations.FS, "*.sql")
	if len(onDisk) != len(embedded) || len(embedded) == 0 {
		t.Fatalf("embedded %d migrations, directory has %d", len(embedded), len(onDisk))
	}
	if got, want := migrations.Latest(), int64(len(onDisk)); got != want {
		t.Fatalf("Latest() = %d, want %d (versions must be contiguous)", got, want)
	}
}

func TestUpDownToZeroAndUpAgain(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	m, err := migrations.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if v, _ := m.Version(ctx); v != migrations.Latest() {
		t.Fatalf("version after up = %d, want %d", v, migrations.Latest())
	}
	got := strings.Join(tables(t, url), ",")
	for _, want := range []string{"orgs", "agents", "agent_tools", "sessions", "messages", "pending_approvals",
		"instances", "backplane_events", "chunks", "gateway_keys", "usage_events", "audit_log", "server_meta",
		"river_job", "river_queue", "river_leader", "river_migration"} {
		if !strings.Contains(","+got+",", ","+want+",") {
			t.Errorf("table %s missing after up; have %s", want, got)
		}
	}

	if _, err := m.DownTo(ctx, 0); err != nil {
		t.Fatalf("down to 0: %v", err)
	}
	if left := tables(t, url); len(left) != 0 {
		t.Fatalf("tables left after down to 0: %v", left)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if v, _ := m.Version(ctx); v != migrations.Latest() {
		t.Fatalf("version after second up = %d", v)
	}
}

func TestEachMigrationStepsDownAndUp(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	m, err := migrations.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	for v := migrations.Latest(); v > 0; v-- {
		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("down from %d: %v", v, err)
		}
		if got, _ := m.Version(ctx); got != v-1 {
			t.Fatalf("after one down from %d: version %d", v, got)
		}
	}
}

func TestConcurrentUpIsSafe(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := migrations.Open(url)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			_, errs[i] = m.Up(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != migrations.Latest() {
		t.Fatalf("goose_db_version holds %d applied rows, want exactly %d", applied, migrations.Latest())
	}
}

func TestCheckCurrentReportsABehindSchema(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := migrations.CheckCurrent(ctx, conn); err == nil {
		t.Fatal("empty database reported current")
	}
	m, err := migrations.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := migrations.CheckCurrent(ctx, conn); err != nil {
		t.Fatalf("migrated database: %v", err)
	}
	if _, err := m.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if err := migrations.CheckCurrent(ctx, conn); err == nil {
		t.Fatal("database one version behind reported current")
	}
}

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
