package serve

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/store"
)

// What makes instances act as one: the backplane hub, the approval expiry sweeper and the
// metrics registry every component reports to.

const (
	// sweepEvery is how often each instance records stale approvals expired. A decision finds
	// an orphaned approval by itself; the sweep makes listings and the row's final status
	// right when nobody decides.
	sweepEvery = 5 * time.Second
	// pruneInstancesEvery is how often each instance deletes week-old instances rows.
	pruneInstancesEvery = time.Hour
	// listenerWait bounds how long Start waits for the LISTEN connection before serving
	// anyway (with /readyz reporting the listener down until it connects).
	listenerWait = 10 * time.Second
)

// newBackplane builds the metrics registry (with the Go runtime and process collectors) and
// the hub; start then hands it the engine, to which it delivers the approval decisions
// addressed to this instance. No label of any metric registered here carries an org, agent
// or user id or key material.
func (s *Server) newBackplane(instanceID uuid.UUID) (err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "switchboard", Name: "turns_active",
			Help: "Turns running on this instance, parked ones included.",
		}, func() float64 { return float64(s.engine.Active()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "switchboard", Name: "ws_connections",
			Help: "WebSocket connections this instance holds.",
		}, func() float64 { return float64(s.ws.Connections()) }),
	)
	s.approvalsExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Name: "approvals_expired_total",
		Help: "Pending approvals this instance's sweeper recorded expired (past their expiry, or owned by an instance that is no longer live).",
	})
	s.interactionsExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "switchboard", Name: "interactions_expired_total",
		Help: "Pending interactions this instance's sweeper recorded expired (past their deadline, or owned by an instance that is no longer live).",
	})
	reg.MustRegister(s.approvalsExpired, s.interactionsExpired)
	s.panics, err = panics.NewCounter(reg)
	if err != nil {
		return err
	}
	hub, err := backplane.New(s.pool, backplane.Options{InstanceID: instanceID, Logger: s.log, Registerer: reg, Panics: s.panics})
	if err != nil {
		return err
	}
	s.metrics, s.hub = reg, hub
	return nil
}

// runCluster starts the hub and the sweeper under s.wg, then waits (boundedly) for the
// LISTEN connection, so that an instance reports ready, and receives published events, as
// soon as it serves.
func (s *Server) runCluster(ctx, bg context.Context) {
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.hub.Run(bg) // nil when stopped, ErrClosed after Close: both are the end
	}()
	go func() {
		defer s.wg.Done()
		s.sweep(bg, store.New(s.pool, nil))
	}()

	wait, cancel := context.WithTimeout(ctx, listenerWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !s.hub.Up() {
		select {
		case <-wait.Done():
			s.log.Warn("serving before the backplane listener is up; /readyz reports it down until it connects")
			return
		case <-tick.C:
		}
	}
}

// sweep records stale approvals and interactions expired every sweepEvery and prunes old instances rows
// every pruneInstancesEvery, until ctx is done. Every instance sweeps; the updates are
// idempotent.
func (s *Server) sweep(ctx context.Context, st *store.Store) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		expired, err := sweepOnce(ctx, st.ExpireStaleApprovals)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("approval sweep failed", "err", err)
			}
			continue
		}
		s.approvalsExpired.Add(float64(len(expired)))
		for _, a := range expired {
			s.log.Info("approval expired by the sweeper", "org_id", a.OrgID, "session_id", a.SessionID, "approval_id", a.ID)
		}
		s.sweepInteractions(ctx, st)
		// Challenges of one-time codes are parks too (PROTOCOL-1.1 §9).
		if stale, err := sweepOnce(ctx, st.ExpireStaleChallenges); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("challenge sweep failed", "err", err)
			}
		} else {
			for _, c := range stale {
				s.log.Info("challenge expired by the sweeper", "org_id", c.OrgID, "session_id", c.SessionID, "challenge_id", c.ID)
			}
		}
		if time.Since(lastPrune) >= pruneInstancesEvery {
			lastPrune = time.Now()
			if _, err := sweepOnce(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, st.PruneInstances(ctx) }); err != nil && ctx.Err() == nil {
				s.log.Warn("instance pruning failed", "err", err)
			}
		}
	}
}

// sweepInteractions records stale interactions expired, as the sweep does approvals.
func (s *Server) sweepInteractions(ctx context.Context, st *store.Store) {
	expired, err := sweepOnce(ctx, st.ExpireStaleInteractions)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("interaction sweep failed", "err", err)
		}
		return
	}
	s.interactionsExpired.Add(float64(len(expired)))
	for _, i := range expired {
		s.log.Info("interaction expired by the sweeper", "org_id", i.OrgID, "session_id", i.SessionID, "interaction_id", i.ID)
	}
}

// sweepOnce runs one sweep query with its own timeout, so that one stuck query does not
// stop the sweeps after it.
func sweepOnce[T any](ctx context.Context, q func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, sweepEvery)
	defer cancel()
	return q(ctx)
}

// StopHeartbeat stops refreshing this instance's heartbeat while everything else goes on,
// so that 15 s later every instance treats it as dead, as if it had been killed without
// draining: its parked approvals become undecidable and are recorded expired. It exists for
// multi-instance tests; a process never calls it.
func (s *Server) StopHeartbeat() { s.stopHeartbeat() }

// InstanceID is this process's instances row.
func (s *Server) InstanceID() uuid.UUID { return s.instance.ID }
