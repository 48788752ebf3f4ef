package instance

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/store"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// A heartbeat stuck on a locked row (or a dying connection) gives up at its own timeout, so
// the beats after it are not held up.
func TestAStuckHeartbeatGivesUpAtItsTimeout(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	in, err := Register(ctx, store.New(pool, nil), "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM instances WHERE id = $1 FOR UPDATE`, in.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { in.beat(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a hang guard, far beyond the beat's timeout
		t.Fatal("a heartbeat blocked on a locked row never gave up")
	}
}
