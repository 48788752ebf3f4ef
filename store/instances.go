package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Instances are not tenant data: one row per `switchboard serve` process (package instance
// registers it and keeps its heartbeat).

// InstanceRetention is how long the row of a silent instance is kept.
const InstanceRetention = 7 * 24 * time.Hour

// PruneInstances deletes the rows of instances silent for a week that no approval names.
func (s *Store) PruneInstances(ctx context.Context) error { return s.PruneInstancesAt(ctx, time.Now()) }

// PruneInstancesAt is PruneInstances as of now (a simulated clock in bench/scale's
// housekeeping simulation).
func (s *Store) PruneInstancesAt(ctx context.Context, now time.Time) error {
	if err := queries.InstancePrune(ctx, s.pool, now.Add(-InstanceRetention)); err != nil {
		return fmt.Errorf("prune instances: %w", err)
	}
	return nil
}

// RegisterInstance inserts the row of a starting `switchboard serve` process.
func (s *Store) RegisterInstance(ctx context.Context, id uuid.UUID, hostname, version string) error {
	if err := queries.InstanceRegister(ctx, s.pool, db.InstanceRegisterParams{ID: id, Hostname: hostname, Version: version}); err != nil {
		return fmt.Errorf("register instance: %w", err)
	}
	return nil
}

// HeartbeatInstance keeps a running instance live (15 s without a beat and it is not).
func (s *Store) HeartbeatInstance(ctx context.Context, id uuid.UUID) error {
	return queries.InstanceHeartbeat(ctx, s.pool, id)
}

// StopInstance marks an instance stopped, so its parked approvals stop being decidable.
func (s *Store) StopInstance(ctx context.Context, id uuid.UUID) error {
	return queries.InstanceStop(ctx, s.pool, id)
}
