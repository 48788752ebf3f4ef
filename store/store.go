// Package store is Switchboard's data layer: it runs the sqlc-generated queries of package
// db on a pgx pool and turns database outcomes into domain errors (ErrNotFound,
// ErrConflict), so that callers never see pgx types or SQL errors. Every method on tenant
// data takes the org id first after the context. It never opens a transaction that spans
// a network call.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/db"
)

var (
	// ErrNotFound: no row, or a row of another org (the two are never told apart).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name or key is taken.
	ErrConflict = errors.New("conflict")
)

// Store runs queries on a pool.
type Store struct {
	Pool *pgxpool.Pool
	Q    *db.Queries
	rec  *recorder // end-of-turn writes (RecordTurn)
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool, Q: db.New(), rec: &recorder{}} }

// InTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.Pool, fn)
}

// Classify maps pgx and Postgres errors to the store's sentinels; other errors pass through.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	return err
}
