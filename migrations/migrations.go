// Package migrations embeds the goose SQL migrations that define Switchboard's whole
// schema (River's job tables included) and applies them through goose's Provider API.
// The .sql files stay usable by the goose CLI as they are:
//
//	goose -dir migrations postgres "$DATABASE_URL" up
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var FS embed.FS

// Latest is the newest migration version this binary carries.
func Latest() int64 {
	var latest int64
	files, _ := fs.Glob(FS, "*.sql")
	for _, f := range files {
		if v, err := goose.NumericComponent(f); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// Open connects to databaseURL. A Postgres session advisory lock serialises migrators, so
// several instances starting at once cannot corrupt the migration state.
func Open(databaseURL string) (*Migrator, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migration locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS, goose.WithSessionLocker(locker))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	return m.provider.Up(ctx)
}

// Down rolls back the newest applied migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	return m.provider.Down(ctx)
}

// DownTo rolls back to version (0 removes every migration).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	return m.provider.DownTo(ctx, version)
}

// Status lists every migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	return m.provider.Status(ctx)
}

// Version is the database's current migration version.
func (m *Migrator) Version(ctx context.Context) (int64, error) {
	return m.provider.GetDBVersion(ctx)
}

// ErrSchemaBehind means the database has not been migrated to this binary's schema.
var ErrSchemaBehind = errors.New("database schema is older than this binary; run `switchboard migrate up` (or set SWITCHBOARD_AUTO_MIGRATE=1)")

// VersionQuery reads the applied version from goose's own table; an empty or missing table
// is version 0. It is the one query of the schema check and lives here, beside the migrations.
const VersionQuery = `SELECT coalesce(max(version_id), 0) FROM goose_db_version`

// RowQuerier is a pgx pool, connection or transaction.
type RowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DBVersion reads the database's applied migration version through a pgx connection;
// a database goose never touched is version 0.
func DBVersion(ctx context.Context, q RowQuerier) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, VersionQuery).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	return v, err
}

// CheckCurrent returns ErrSchemaBehind unless the database is at this binary's version.
func CheckCurrent(ctx context.Context, q RowQuerier) error {
	v, err := DBVersion(ctx, q)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v < Latest() {
		return fmt.Errorf("%w (database at %d, binary at %d)", ErrSchemaBehind, v, Latest())
	}
	return nil
}
