package migrations_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

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
	// Versions are unique and increasing; numbers reserved for work not yet landed may leave
	// a gap meanwhile (several engineers land migrations at once, each with assigned numbers).
	seen := map[int64]bool{}
	for _, f := range embedded {
		v, err := goose.NumericComponent(f)
		if err != nil || v <= 0 || seen[v] {
			t.Fatalf("%s: version %d is not a new positive number (%v)", f, v, err)
		}
		seen[v] = true
	}
	if !seen[migrations.Latest()] {
		t.Fatalf("Latest() = %d is no migration's version", migrations.Latest())
	}
}

// versions are the embedded migrations' versions, ascending.
func versions(t *testing.T) []int64 {
	t.Helper()
	files, _ := fs.Glob(migrations.FS, "*.sql")
	var out []int64
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out
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
	vs := versions(t)
	for i := len(vs) - 1; i >= 0; i-- {
		if _, err := m.Down(ctx); err != nil {
			t.Fatalf("down from %d: %v", vs[i], err)
		}
		want := int64(0)
		if i > 0 {
			want = vs[i-1]
		}
		if got, _ := m.Version(ctx); got != want {
			t.Fatalf("after one down from %d: version %d, want %d", vs[i], got, want)
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
	if want := int64(len(versions(t))); applied != want {
		t.Fatalf("goose_db_version holds %d applied rows, want exactly %d", applied, want)
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
