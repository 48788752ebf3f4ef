// Package dbtest gives tests a real PostgreSQL: one template database per migration set
// (switchboard_template_<hash of the migrations>, shared safely by test packages running in
// parallel), a fresh database per test cloned from it, and a rolled-back transaction for
// fast store tests. Tests need only DATABASE_URL (default: the local server); when
// PostgreSQL is unreachable they fail with a clear message and never skip. It must never
// touch a database that is not a test database of this project, nor a template another run
// may still clone from.
//
// Several runs on different migration sets (worktrees of one machine, two branches in CI)
// may share one server, each with its own template. A template of another migration set
// is therefore dropped only once it is stale: every run stamps the template it uses with
// the server's time in COMMENT ON DATABASE ("switchboard dbtest template, last used
// <RFC 3339>"), when it starts and again at most an hour later whenever it clones, and a
// template whose stamp is more than a day old is dropped by the next run that finds it. A
// template without a stamp (made by an older dbtest, named switchboard_tmpl_<hash>) is
// stamped when first seen, so it gets a day too. The check, the stamp and every build and
// drop happen under one advisory lock, so a run that has just found its template cannot
// lose it to a sweeper that read the stamp before it; a half-built template (a builder that
// died) is dropped at once, since no one can be building while the lock is held. That older
// dbtest dropped every switchboard_tmpl_ template but its own; templates are named
// otherwise now so that it cannot drop them, and a clone that finds its template gone all
// the same builds it again once.
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
	"strings"
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

const (
	// templatePrefix names this dbtest's templates. It is not the "switchboard_tmpl_" of the
	// dbtest before stamps, which dropped every template matching that name but its own: a
	// run on such a checkout cannot drop these.
	templatePrefix = "switchboard_template_"
	// legacyPrefix names the templates of that older dbtest, swept by the same rule.
	legacyPrefix = "switchboard_tmpl_"
	// lockKey serialises template builds, stamps and sweeps across test processes.
	lockKey = 0x5b_7e_57 // "switchboard test template"
	// staleAfter is how long a template may go unused before another run drops it.
	staleAfter = 24 * time.Hour
	// restampAfter is how often a long run stamps its template again when it clones.
	restampAfter = time.Hour
	// stampPrefix starts the COMMENT ON DATABASE of a template; the server's time follows.
	stampPrefix = "switchboard dbtest template, last used "
)

var (
	stampMu     sync.Mutex
	lastStamped time.Time // when this process last stamped its template
)

// ensureTemplate creates the migrated template database once per process, stamps it as
// used, and re-stamps it at most every restampAfter.
func ensureTemplate(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		templateName = templatePrefix + migrationsHash()
		templateErr = prepareTemplate(ctx, templateName)
		if templateErr == nil {
			stampMu.Lock()
			lastStamped = time.Now()
			stampMu.Unlock()
		}
	})
	if templateErr != nil {
		return "", templateErr
	}
	stampMu.Lock()
	defer stampMu.Unlock()
	if time.Since(lastStamped) > restampAfter {
		// Without the lock: the stamp is at most an hour old, so no sweeper may drop the
		// template meanwhile, and a newer stamp only keeps it longer.
		conn, err := adminConn(ctx)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		if err := stamp(ctx, conn, templateName); err != nil {
			return "", err
		}
		lastStamped = time.Now()
	}
	return templateName, nil
}

// prepareTemplate, under the advisory lock: drops stale templates of other migration sets,
// builds name when it is missing, and stamps it as used.
func prepareTemplate(ctx context.Context, name string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("dbtest: lock: %w", err)
	}
	// Closing conn releases the lock as well; unlocking first only lets a waiter go sooner.
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey) }()

	for _, prefix := range []string{templatePrefix, legacyPrefix} {
		if err := sweepTemplates(ctx, conn, prefix, name); err != nil {
			return err
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	if !exists {
		if err := buildTemplate(ctx, conn, name); err != nil {
			return err
		}
	}
	return stamp(ctx, conn, name)
}

// stamp records in the template's comment that it was used now, by the server's clock.
func stamp(ctx context.Context, conn *pgx.Conn, name string) error {
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	// The stamp holds digits, '-', ':', 'T' and 'Z' only, so it needs no quoting.
	comment := stampPrefix + now.UTC().Format(time.RFC3339)
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS '"+comment+"'"); err != nil {
		return fmt.Errorf("dbtest: stamp template %s: %w", name, err)
	}
	return nil
}

// sweepTemplates drops the databases named prefix… other than keep that are half-built
// templates, or templates whose stamp is older than staleAfter; it stamps those without
// one. The caller holds the advisory lock.
func sweepTemplates(ctx context.Context, conn *pgx.Conn, prefix, keep string) error {
	type template struct {
		name, comment string
		now           time.Time
	}
	rows, err := conn.Query(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), ''), now()
		FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2`, prefix, keep)
	if err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (template, error) {
		var t template
		return t, r.Scan(&t.name, &t.comment, &t.now)
	})
	if err != nil {
		return fmt.Errorf("dbtest: %w", err)
	}
	for _, t := range found {
		used, stamped := strings.CutPrefix(t.comment, stampPrefix)
		var last time.Time
		if stamped {
			last, err = time.Parse(time.RFC3339, used)
			stamped = err == nil
		}
		// Best effort, as in dropDatabase: a template left behind (another role's, say) costs
		// disk, not correctness.
		switch {
		case strings.HasSuffix(t.name, "_building"), stamped && t.now.Sub(last) > staleAfter:
			// A template cannot be dropped; IS_TEMPLATE false comes first.
			_, _ = conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{t.name}.Sanitize()+" IS_TEMPLATE false")
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{t.name}.Sanitize()+" WITH (FORCE)")
		case !stamped:
			_ = stamp(ctx, conn, t.name)
		}
	}
	return nil
}

// buildTemplate migrates a new database and makes it the template name. The caller holds
// the advisory lock.
func buildTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
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
	restored := false
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || attempt == 50 {
			break
		}
		if pgErr.Code == "3D000" && !restored {
			// The template went away under this run (dropped by hand, or by a dbtest older
			// than the stamps): build it again, once, and clone from the new one.
			restored = true
			if err = prepareTemplate(ctx, tmpl); err != nil {
				break
			}
			continue
		}
		// 55006: the template is briefly in use by another clone; try again.
		if pgErr.Code != "55006" {
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
