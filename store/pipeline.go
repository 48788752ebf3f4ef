package store

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeline is a db.DBTX that only queues: each sqlc :batch call made on it adds its queries
// to one pgx.Batch, and that call's results then read, in queue order, from the results of
// the batch that send sent. Different queries thus travel in one round trip and run in one
// implicit transaction (pgx.Conn.SendBatch): all of them take effect, or none.
//
// Use: queue with the sqlc calls, send, read every queued call's results in the order they
// were queued, close.
type pipeline struct {
	batch pgx.Batch
	res   pgx.BatchResults
}

var errPipelineOnly = errors.New("store: a pipeline runs :batch queries only")

func (p *pipeline) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errPipelineOnly
}

func (p *pipeline) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errPipelineOnly
}

func (p *pipeline) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

// SendBatch queues b's queries; nothing is sent yet. UUID arguments are handed to pgx as
// pgtype.UUID: pgx encodes a github.com/google/uuid value through its driver.Valuer, which
// costs a failed binary attempt (with a formatted error) and a text fallback each time.
func (p *pipeline) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		for i, a := range q.Arguments {
			switch v := a.(type) {
			case uuid.UUID:
				q.Arguments[i] = pgtype.UUID{Bytes: v, Valid: true}
			case uuid.NullUUID:
				q.Arguments[i] = pgtype.UUID{Bytes: v.UUID, Valid: v.Valid}
			}
		}
	}
	p.batch.QueuedQueries = append(p.batch.QueuedQueries, b.QueuedQueries...)
	return pipelineResults{p}
}

func (p *pipeline) send(ctx context.Context, pool *pgxpool.Pool) {
	p.res = pool.SendBatch(ctx, &p.batch)
}

// close ends the batch and returns the connection to the pool.
func (p *pipeline) close() error { return p.res.Close() }

// pipelineResults is one sqlc call's view of the pipeline's results. Its Close does nothing:
// the sqlc results close their view after reading, and the pipeline's batch stays open for
// the next call's results until pipeline.close.
type pipelineResults struct{ p *pipeline }

func (r pipelineResults) Exec() (pgconn.CommandTag, error) { return r.p.res.Exec() }

func (r pipelineResults) Query() (pgx.Rows, error) { return r.p.res.Query() }

func (r pipelineResults) QueryRow() pgx.Row { return r.p.res.QueryRow() }

func (r pipelineResults) Close() error { return nil }

func (r pipelineResults) Tx() pgx.Tx { return nil }

type errRow struct{}

func (errRow) Scan(...any) error { return errPipelineOnly }
