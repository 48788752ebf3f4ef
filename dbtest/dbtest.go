// Package dbtest gives tests a real PostgreSQL: one template database migrated once per
// run (shared safely by test packages running in parallel), a fresh database per test
// cloned from it, and a rolled-back transaction for fast store tests. Tests need only
// DATABASE_URL (default: the local server); when PostgreSQL is unreachable they fail with
// a clear message and never skip. It must never touch a database it did not create.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/migrations"
)

// BaseURL is the server tests run against: DATABASE_URL, else the default local server.
func BaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return config.DefaultDatabaseURL
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// migrationsHash names the template after the migrations it holds, so a changed
// migration gets a fresh template instead of a stale one.
func migrationsHash() string {
	h := sha256.New()
	files, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(files)
	for _, f := range files {
		b, _ := fs.ReadFile(migrations.FS, f)
		h.Write([]byte(f))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func adminConn(ctx context.Context) (*pgx.Conn, error) {
	u, err := withDatabase(BaseURL(), "postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("dbtest: cannot reach PostgreSQL at %s (set DATABASE_URL; `make test` starts one): %w", redact(BaseURL()), err)
	}
	return conn, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "DATABASE_URL"
	}
	return u.Redacted()
}

// ensureTemplate creates the migrated template database once per process. A session
// advisory lock makes concurrent test processes wait for one builder.
func ensureTemplate(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		templateName = "switchboard_tmpl_" + migrationsHash()
		templateErr = buildTemplate(ctx, templateName)
	})
	return templateName, templateErr
}

func buildTemplate(ctx context.Context, name string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	const lockKey = 0x5b_7e_57 // "switchboard test template"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("dbtest: lock: %w", err)
	}
	// Closing conn releases the lock as well; unlocking first only lets a waiter go sooner.
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey) }()

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	if exists {
		return nil
	}
	// Drop templates of older migration sets, and any half-built one.
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'switchboard\\_tmpl\\_%'")
	if err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	for _, s := range stale {
		// A template cannot be dropped; if this fails, the DROP below says why.
		_, _ = conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{s}.Sanitize()+" IS_TEMPLATE false")
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dbtest: drop stale template %s: %w", s, err)
		}
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return fmt.Errorf("dbtest: create template: %w", err)
	}
	u, err := withDatabase(BaseURL(), building)
	if err != nil {
		return err
	}
	m, err := migrations.Open(u)
	if err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	_, err = m.Up(ctx)
	_ = m.Close()
	if err != nil {
		return fmt.Errorf("dbtest: migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("dbtest: finish template: %w", err)
	}
	_, err = conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true")
	return err
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewURL creates a fresh, migrated database for this test, dropped when the test ends,
// and returns its connection string. Use it for anything that relies on commit or NOTIFY,
// and for servers started by the test.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := ensureTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := randomName("switchboard_test_")
	if err := createFromTemplate(ctx, name, tmpl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	u, err := withDatabase(BaseURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NewEmptyURL creates a fresh database with no schema at all, for migration tests.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := adminConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := randomName("switchboard_test_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	u, err := withDatabase(BaseURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func createFromTemplate(ctx context.Context, name, tmpl string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
		var pgErr *pgconn.PgError
		// 55006: the template is briefly in use by another clone; try again.
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 50 {
			break
		}
		time.Sleep(time.Duration(20+attempt*10) * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("dbtest: clone template: %w", err)
	}
	return nil
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := adminConn(ctx)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	// Best effort at cleanup: a database left behind costs disk, not correctness.
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// NewPool returns a pool on a fresh database (see NewURL), closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Pool(t, NewURL(t))
}

// Pool opens a pool on url, closed when the test ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var (
	sharedOnce sync.Once
	sharedPool *pgxpool.Pool
	sharedErr  error
)

// sharedDatabase is one cloned database per test binary, for rolled-back transactions.
// It is dropped by the next run's cleanup of stale databases, or by the operator.
func shared(ctx context.Context) (*pgxpool.Pool, error) {
	sharedOnce.Do(func() {
		tmpl, err := ensureTemplate(ctx)
		if err != nil {
			sharedErr = err
			return
		}
		name := randomName("switchboard_test_tx_")
		if sharedErr = createFromTemplate(ctx, name, tmpl); sharedErr != nil {
			return
		}
		u, err := withDatabase(BaseURL(), name)
		if err != nil {
			sharedErr = err
			return
		}
		sharedPool, sharedErr = pgxpool.New(ctx, u)
		registerSharedDrop(name)
	})
	return sharedPool, sharedErr
}

// TestTx begins a transaction on a database shared by the test binary and rolls it back
// when the test ends, so store tests are fast and leave nothing behind.
func TestTx(t testing.TB) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	pool, err := shared(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatalf("dbtest: begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}

var (
	dropMu    sync.Mutex
	dropNames []string
)

func registerSharedDrop(name string) {
	dropMu.Lock()
	defer dropMu.Unlock()
	dropNames = append(dropNames, name)
}

// Main wraps testing.M so the shared transaction database is dropped after the package's
// tests: call it from TestMain as `os.Exit(dbtest.Main(m))`.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if sharedPool != nil {
		sharedPool.Close()
	}
	dropMu.Lock()
	defer dropMu.Unlock()
	for _, n := range dropNames {
		dropDatabase(n)
	}
	return code
}
