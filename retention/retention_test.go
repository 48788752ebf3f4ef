package retention_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/retention"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

type world struct {
	ctx  context.Context
	pool *pgxpool.Pool
	fx   *fixture.Factory
	now  time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pool := dbtest.NewPool(t)
	return &world{ctx: context.Background(), pool: pool, fx: fixture.New(t, pool), now: time.Now().UTC().Truncate(time.Second)}
}

// org writes an org with an agent and, unless days is 0, a retention period.
func (w *world) org(t *testing.T, days int) (org, agent uuid.UUID) {
	t.Helper()
	org = w.fx.Org(fixture.Org{}).ID
	agent = w.fx.Agent(org, fixture.Agent{}).ID
	if days > 0 {
		if _, err := w.pool.Exec(w.ctx, `INSERT INTO org_settings (org_id, model, system_prompt, conversation_retention_days)
			VALUES ($1, 'gpt-4o-mini', 'hi', $2)`, org, days); err != nil {
			t.Fatal(err)
		}
	}
	return org, agent
}

// conversation writes a conversation with two messages, created at created and last active
// at active.
func (w *world) conversation(t *testing.T, org, agent uuid.UUID, created, active time.Time) uuid.UUID {
	t.Helper()
	c := w.fx.Conversation(org, agent, fixture.Conversation{Messages: 2}).Conversation.ID
	if _, err := w.pool.Exec(w.ctx, `UPDATE conversations SET created_at = $2, updated_at = $3 WHERE id = $1`, c, created, active); err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) conversations(t *testing.T) []uuid.UUID {
	t.Helper()
	rows, err := w.pool.Query(w.ctx, `SELECT id FROM conversations`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	return sorted(ids)
}

func sorted(ids []uuid.UUID) []uuid.UUID {
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSweepDeletesExactlyTheConversationsPastTheirOrgsPeriod(t *testing.T) {
	w := newWorld(t)
	day := 24 * time.Hour
	a, agentA := w.org(t, 30)
	b, agentB := w.org(t, 0) // keeps everything
	c, agentC := w.org(t, 1)
	cutoffA := w.now.Add(-30 * day)
	var kept []uuid.UUID
	expired := []uuid.UUID{
		w.conversation(t, a, agentA, cutoffA.Add(-time.Hour), cutoffA.Add(-time.Millisecond)), // a millisecond past the period
		w.conversation(t, a, agentA, w.now.Add(-400*day), w.now.Add(-300*day)),
		w.conversation(t, c, agentC, w.now.Add(-3*day), w.now.Add(-day-time.Second)),
	}
	for i := 0; i < 4; i++ { // more than a batch
		expired = append(expired, w.conversation(t, a, agentA, w.now.Add(-40*day), w.now.Add(-35*day)))
	}
	kept = append(kept,
		w.conversation(t, a, agentA, cutoffA.Add(-time.Hour), cutoffA),                  // last active exactly at the boundary
		w.conversation(t, a, agentA, cutoffA.Add(-time.Hour), cutoffA.Add(time.Second)), // a second inside the period
		w.conversation(t, a, agentA, w.now.Add(-400*day), w.now.Add(-time.Hour)),        // old but active
		w.conversation(t, a, agentA, w.now, w.now),
		w.conversation(t, b, agentB, w.now.Add(-3000*day), w.now.Add(-3000*day)), // no period
		w.conversation(t, c, agentC, w.now.Add(-3*day), w.now.Add(-day+time.Second)),
	)

	res, err := retention.New(store.New(w.pool, nil), quiet(), 2).Sweep(w.ctx, w.now)
	if err != nil {
		t.Fatal(err)
	}
	// A: 6 expired in batches of 2 (2, 2, 2, then an empty one); C: 1 (a short batch).
	if d := cmp.Diff(retention.Result{Deleted: 7, Statements: 5}, res); d != "" {
		t.Errorf("sweep (-want +got):\n%s", d)
	}
	if d := cmp.Diff(sorted(kept), w.conversations(t)); d != "" {
		t.Errorf("conversations left (-want +got):\n%s", d)
	}
	var orphans int
	if err := w.pool.QueryRow(w.ctx, `SELECT (SELECT count(*) FROM messages WHERE conversation_id = ANY($1))
		+ (SELECT count(*) FROM sessions WHERE conversation_id = ANY($1)) + (SELECT count(*) FROM participants WHERE conversation_id = ANY($1))`,
		expired).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("%d rows of deleted conversations left (%v)", orphans, err)
	}
	// A second sweep finds nothing more.
	if res, err := retention.New(store.New(w.pool, nil), quiet(), 2).Sweep(w.ctx, w.now); err != nil || res.Deleted != 0 {
		t.Fatalf("second sweep: %+v %v", res, err)
	}
}

// A conversation a turn holds is passed over, not waited for, and goes on a later sweep.
func TestSweepSkipsConversationsInUse(t *testing.T) {
	w := newWorld(t)
	a, agent := w.org(t, 1)
	old := w.now.Add(-10 * 24 * time.Hour)
	busy := w.conversation(t, a, agent, old, old)
	w.conversation(t, a, agent, old, old)

	// A turn storing a message holds its conversation's key share lock until it commits.
	tx, err := w.pool.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(w.ctx) }()
	if _, err := tx.Exec(w.ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR KEY SHARE`, busy); err != nil {
		t.Fatal(err)
	}
	sw := retention.New(store.New(w.pool, nil), quiet(), 500)
	res, err := sw.Sweep(w.ctx, w.now)
	if err != nil || res.Deleted != 1 {
		t.Fatalf("sweep with a conversation in use: %+v %v", res, err)
	}
	if d := cmp.Diff([]uuid.UUID{busy}, w.conversations(t)); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
	if err := tx.Rollback(w.ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := sw.Sweep(w.ctx, w.now); err != nil || res.Deleted != 1 {
		t.Fatalf("sweep after the turn: %+v %v", res, err)
	}
	if left := w.conversations(t); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}

// The job registered on a River client runs on start and sweeps.
func TestTheJobSweepsOnARiverClient(t *testing.T) {
	w := newWorld(t)
	a, agent := w.org(t, 1)
	old := w.now.Add(-10 * 24 * time.Hour)
	w.conversation(t, a, agent, old, old)
	kept := w.conversation(t, a, agent, w.now, w.now)

	st := store.New(w.pool, nil)
	workers := river.NewWorkers()
	periodic, queues, err := retention.Jobs(workers, retention.New(st, quiet(), 0))
	if err != nil {
		t.Fatal(err)
	}
	client, err := st.NewRiverClient(&river.Config{Queues: queues, Workers: workers, PeriodicJobs: periodic, TestOnly: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(w.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop(context.Background()) })
	testkit.Eventually(t, "the retention job to delete the expired conversation", func() bool {
		return len(w.conversations(t)) == 1
	})
	if d := cmp.Diff([]uuid.UUID{kept}, w.conversations(t)); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
}
