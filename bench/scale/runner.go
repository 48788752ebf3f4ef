package scalebench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options of a runner pass.
type Options struct {
	Seed       uint64
	Warmup     int           // untimed iterations before each row
	Iterations int           // timed iterations of each row at each size
	RowBudget  time.Duration // a row stops after the block that passes this, per size
	Bin        string        // the switchboard binary
	GatewayURL string        // the scripted gateway
	Logs       io.Writer     // the server's output
	Logf       Logf
}

// Sample is one row measured at one size.
type Sample struct {
	Lat     []time.Duration
	Server  time.Duration // server process CPU per operation; 0 when the row runs in the runner
	PG      time.Duration // PostgreSQL backend CPU per operation
	HasProc bool          // Server was measured
}

// reset removes what earlier runs wrote (everything newer than the generated year, all of
// it in the measured orgs) so that every run starts from the generated data, and vacuums
// what it removed (the cluster may run without autovacuum). The rows go in an order that
// leaves no reference behind, with the foreign-key triggers off: each deleted participant
// would otherwise make PostgreSQL scan the whole messages table for rows to set null
// (messages.participant_id has no index), minutes per run at L.
func reset(ctx context.Context, pool *pgxpool.Pool, small, big Probe) error {
	orgs := []uuid.UUID{small.OrgID, big.OrgID}
	convs := []uuid.UUID{small.ConversationID, big.ConversationID}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		return fmt.Errorf("reset needs a role that may set session_replication_role: %w", err)
	}
	for _, t := range []struct{ table, column string }{
		{"messages", "created_at"}, {"usage_events", "created_at"}, {"org_usage_months", "month"}, {"usage_days", "day"}, {"sessions", "created_at"},
		{"participants", "created_at"}, {"conversations", "created_at"}, {"audit_log", "at"}, {"backplane_events", "created_at"},
	} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.table+" WHERE org_id = ANY($1) AND "+t.column+" >= $2", orgs, Anchor); err != nil {
			return fmt.Errorf("reset %s: %w", t.table, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations c SET message_count = m.n, last_message_at = m.last, updated_at = m.last
		FROM (SELECT org_id, conversation_id, count(*)::int AS n, max(created_at) AS last FROM messages
		      WHERE org_id = ANY($1) AND conversation_id = ANY($2) GROUP BY 1, 2) m
		WHERE c.org_id = m.org_id AND c.id = m.conversation_id AND c.message_count <> m.n`, orgs, convs); err != nil {
		return fmt.Errorf("reset conversations: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `VACUUM messages, usage_events, org_usage_months, usage_days, sessions, participants, conversations, audit_log, backplane_events`)
	return err
}

func openPool(ctx context.Context, dbURL, app string, conns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = conns
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	return pgxpool.NewWithConfig(ctx, cfg)
}
