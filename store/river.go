package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/switchboard-dev/switchboard/db"
)

// River keeps its jobs in its own tables of the same database. The store builds its client
// on the pool, inserts jobs inside the store's transactions, and reads finished jobs for
// the lost-run sweep; River's own queries are River's.

// NewRiverClient builds a River client on the store's pool.
func (s *Store) NewRiverClient(cfg *river.Config) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(s.pool), cfg)
}

// InsertJob queues a River job in the transaction: it is worked only if the transaction
// commits.
func (t *Tx) InsertJob(ctx context.Context, c *river.Client[pgx.Tx], args river.JobArgs, opts *river.InsertOpts) error {
	_, err := c.InsertTx(ctx, t.pg, args, opts)
	return err
}

// FinishedJobs lists the jobs of kind River gave up on or cancelled since since, and those
// it completed since completedSince, oldest first.
func (s *Store) FinishedJobs(ctx context.Context, kind string, since, completedSince time.Time) ([]db.RiverJobListFinishedRow, error) {
	return queries.RiverJobListFinished(ctx, s.pool, db.RiverJobListFinishedParams{Kind: kind, Since: since, CompletedSince: completedSince})
}
