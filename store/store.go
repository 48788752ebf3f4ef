// Package store is Switchboard's data layer: the one package that runs the sqlc-generated
// queries of package db. It turns database outcomes into domain errors (ErrNotFound,
// ErrConflict), so that callers never see pgx types or SQL errors, and it never opens a
// transaction that spans a network call.
//
// How data is reached:
//
//   - Only this package runs queries. Every other package calls methods of Store; the pool
//     and the generated queries are not exported. (Tests and benchmarks seed rows with
//     package db on their own pool.)
//   - A Store method is one statement, or one unit of work in one transaction of its own
//     (a write and its audit row; an approval decision and its publication through the
//     DecisionPublisher the store is built with, so it leaves only if the decision commits).
//   - When the steps of a unit of work are decided outside the store (knowledge's indexing
//     runs: fence the run, then index a document), the caller runs them in InTx, which hands
//     out a Tx: methods for the statements of that work, all in the one transaction. A River
//     job joins it through Tx.InsertJob, so the job exists only if its run does.
//   - Every method on tenant data takes the org id first after the context, and every
//     query on a tenant table filters by it (accounting_test.go). The /ws lookups by id
//     alone (AgentForWS, SessionForWS, ConversationForWS) are allow-listed: their caller
//     learns the org from the row and checks it, and the connection's grants, before
//     anything else uses the row.
//   - Files follow the table groups: queries/<group>.sql, db/<group>.sql.go and
//     store/<group>.go hold everything on those tables, and queries are named table first
//     (AgentGet, MessageInsert). Work that spans tables lives with the table it is about
//     (CreateWidgetSession in sessions.go) or in the turn's own files (turns*.go).
//
// Below the store, two libraries keep their own tables and connections: the backplane (its
// LISTEN connection and its backplane_events outbox; the store hands it its transaction to
// publish in) and River (its job tables, on the client NewRiverClient builds).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
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

// queries are the generated queries; they hold no state.
var queries = db.New()

// Store runs queries on a pool.
type Store struct {
	pool *pgxpool.Pool
	pub  DecisionPublisher // nil: approval decisions are not published
	rec  *recorder         // end-of-turn writes (RecordTurn)
}

// New returns a Store on pool that publishes the approval decisions it commits through pub
// (the backplane), or nowhere when pub is nil.
func New(pool *pgxpool.Pool, pub DecisionPublisher) *Store {
	return &Store{pool: pool, pub: pub, rec: &recorder{}}
}

// Tx is one transaction of a Store, handed out by InTx. Its methods run inside it.
type Tx struct {
	pg pgx.Tx
}

// InTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(&Tx{pg: tx}) })
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

// MaxOffset is the most rows a list skips for a Page.Offset (ADMIN-API §1.6): every
// skipped row is read, so deeper positions are keyset ones.
const MaxOffset = 10000

// Page is a position in a list: a keyset position for lists ordered by a timestamp and id,
// by a name and id, or by a sequence, or (ADMIN-API §1.6's offset dialect) a number of rows
// to skip. A zero Page is the first page.
type Page struct {
	AfterAt   *time.Time
	AfterName *string // name-ordered lists; nil with AfterID set: read from that row
	AfterID   uuid.NullUUID
	AfterSeq  *int64
	Offset    int32 // rows to skip, with no keyset position
	Limit     int32 // rows to fetch: the caller asks for one more than it shows
}
