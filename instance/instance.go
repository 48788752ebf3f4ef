// Package instance registers this `switchboard serve` process in the instances table and
// keeps its heartbeat fresh, so that other instances can tell whether the turns it parks
// are still alive (an instance without a heartbeat for 15 s is not live). It holds no
// tenant data.
package instance

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/store"
)

// HeartbeatEvery is well inside the 15 s liveness window, so one missed beat is harmless.
const HeartbeatEvery = 3 * time.Second

// Instance is this process's row.
type Instance struct {
	ID    uuid.UUID
	store *store.Store
	log   *slog.Logger
}

// Register inserts a fresh row for this process.
func Register(ctx context.Context, st *store.Store, version string, log *slog.Logger) (*Instance, error) {
	host, _ := os.Hostname()
	in := &Instance{ID: uuid.New(), store: st, log: log}
	if err := st.RegisterInstance(ctx, in.ID, host, version); err != nil {
		return nil, err
	}
	return in, nil
}

// Run beats until ctx is done.
func (in *Instance) Run(ctx context.Context) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			in.beat(ctx)
		}
	}
}

// beatTimeout bounds one heartbeat: a write stuck on a lock or a dying connection must not
// hold up the beats after it (a missed beat is harmless; a stuck one lets the instance look
// dead while it serves).
const beatTimeout = HeartbeatEvery

func (in *Instance) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, beatTimeout)
	defer cancel()
	if err := in.store.HeartbeatInstance(ctx, in.ID); err != nil && ctx.Err() == nil {
		in.log.Warn("instance heartbeat failed", "instance_id", in.ID, "err", err)
	} else if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		in.log.Warn("instance heartbeat timed out", "instance_id", in.ID, "timeout", beatTimeout)
	}
}

// Stop marks the row stopped, so its parks stop being decidable at once.
func (in *Instance) Stop(ctx context.Context) error {
	return in.store.StopInstance(ctx, in.ID)
}
