// Package backplane makes any number of Switchboard instances act as one: Postgres
// LISTEN/NOTIFY carries control events (an admin publish, an approval decided on another
// instance) to the sockets and turns of whichever instance holds them (DESIGN.md §5).
//
// Publishing inserts a backplane_events row and NOTIFYs its id on channel "switchboard"
// in one statement, so both belong to the caller's transaction (or to one autocommit
// statement on a pool) and the notification leaves only if the row commits. Each process
// runs one Hub, which holds exactly one dedicated LISTEN connection (application_name
// "switchboard-listener", so operators find it in pg_stat_activity), reconnects with
// backoff, and after every notification, every reconnect and every PollEvery reads the
// rows it has not yet seen and hands each to the local subscribers (one per WebSocket)
// bound to its target: connection, session, conversation, agent, user (an identity
// within an org), org, or instance.
//
// Why the hub re-reads gaps instead of serialising publishers, and what it promises about
// ordering, loss and restarts: docs/decisions.md, "Backplane: ordering and loss".
//
// This package must never carry LLM tokens or anything else per token (each publish is a
// row and a commit), never put anything but the event id in a NOTIFY, never deliver a
// user event to a socket holding that identity in another org, and never act as a
// request/reply channel between instances.
package backplane

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/internal/panics"
)

// Channel is the NOTIFY channel; ApplicationName names the LISTEN connection.
const (
	Channel         = "switchboard"
	ApplicationName = "switchboard-listener"
)

// Options configure a Hub. Zero durations and sizes take the defaults shown.
type Options struct {
	// InstanceID is this process's instances row: Instance events addressed to it are
	// this hub's. Required.
	InstanceID uuid.UUID
	Logger     *slog.Logger
	// Registerer receives the hub's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Panics counts the panics contained in deliveries (where "dispatcher"); nil only logs.
	Panics *panics.Counter

	Retention   time.Duration // events older than this are pruned; 1h
	PruneEvery  time.Duration // how often this instance prunes; 1m
	GapTimeout  time.Duration // how long a missing id below the mark is waited for; 10m
	MaxGaps     int           // missing ids remembered at most (oldest dropped first); 10000
	PollEvery   time.Duration // read even without a notification, which also probes the connection; 5s
	ReadTimeout time.Duration // one catch-up query; 10s
	BatchSize   int           // rows per catch-up query; 1000
	MinBackoff  time.Duration // first reconnect delay; 100ms
	MaxBackoff  time.Duration // longest reconnect delay; 5s
}

func (o *Options) defaults() {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.Retention, time.Hour)
	setDur(&o.PruneEvery, time.Minute)
	setDur(&o.GapTimeout, 10*time.Minute)
	setDur(&o.PollEvery, 5*time.Second)
	setDur(&o.ReadTimeout, 10*time.Second)
	setDur(&o.MinBackoff, 100*time.Millisecond)
	setDur(&o.MaxBackoff, 5*time.Second)
	if o.MaxGaps <= 0 {
		o.MaxGaps = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("backplane hub closed")

// Hub is one process's end of the backplane: its publisher, its listener and its
// registry of local subscribers.
type Hub struct {
	pool       *pgxpool.Pool
	connCfg    *pgx.ConnConfig
	q          *db.Queries
	opts       Options
	instanceID uuid.UUID
	log        *slog.Logger
	m          *metrics
	up         atomic.Bool

	mu       sync.RWMutex
	subs     map[key]map[*Binding]struct{}
	handlers map[string]map[*handler]struct{}

	runMu   sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}

	// Owned by the listener goroutine.
	started bool   // the mark has been initialised
	mark    int64  // highest id read
	gaps    gapSet // ids below mark not yet read
	scratch []*Binding
}

// New builds a hub on pool. The LISTEN connection uses the pool's connection settings
// but is not taken from the pool. Nothing runs until Run; Publish works without it.
func New(pool *pgxpool.Pool, opts Options) (*Hub, error) {
	if opts.InstanceID == uuid.Nil {
		return nil, errors.New("backplane: an instance id is required")
	}
	opts.defaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ApplicationName
	// The catch-up query runs after nearly every notification. Its plan (a primary-key
	// range with a limit, and a lookup) is right whatever the values, so plan it once
	// rather than per read, and never in parallel.
	cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	return &Hub{
		pool: pool, connCfg: cfg, q: db.New(), opts: opts, instanceID: opts.InstanceID,
		log: opts.Logger, m: m,
		subs:     map[key]map[*Binding]struct{}{},
		handlers: map[string]map[*handler]struct{}{},
		gaps:     gapSet{ids: map[int64]time.Time{}},
	}, nil
}

// InstanceID is the instance this hub delivers Instance events for.
func (h *Hub) InstanceID() uuid.UUID { return h.instanceID }

// Up reports whether the LISTEN connection is connected and caught up: /readyz's
// `listener` check.
func (h *Hub) Up() bool { return h.up.Load() }

// Publish addresses event (a JSON object) to t in orgID's name: one statement inserts the
// backplane_events row and NOTIFYs its id, on tx (a transaction, whose commit sends it) or
// a pool. The caller has checked that t belongs to orgID. It returns the event id. Publish
// is for control events; never call it per LLM token.
func (h *Hub) Publish(ctx context.Context, tx db.DBTX, orgID uuid.UUID, t Target, event json.RawMessage) (int64, error) {
	t, err := t.canonical(orgID)
	if err != nil {
		return 0, err
	}
	if !isObject(event) {
		return 0, fmt.Errorf("%w: not a JSON object", ErrInvalidEvent)
	}
	id, err := h.q.BackplaneEventPublish(ctx, tx, db.BackplaneEventPublishParams{
		OrgID: orgID, TargetType: string(t.Type), TargetID: t.ID, Event: event,
	})
	if err != nil {
		return 0, fmt.Errorf("publish %s event: %w", t.Type, err)
	}
	h.m.published.Inc()
	return id, nil
}

func isObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return json.Valid(raw)
		}
		return false
	}
	return false
}

// Run listens and prunes until ctx is done or Close is called, reconnecting to Postgres
// for as long as it takes. It returns nil when stopped, ErrClosed after Close.
func (h *Hub) Run(ctx context.Context) error {
	h.runMu.Lock()
	switch {
	case h.closed:
		h.runMu.Unlock()
		return ErrClosed
	case h.running:
		h.runMu.Unlock()
		return errors.New("backplane: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	h.running, h.cancel, h.done = true, cancel, make(chan struct{})
	h.runMu.Unlock()
	defer close(h.done)
	defer cancel()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.prune(ctx)
	}()
	h.listen(ctx)
	wg.Wait()
	return nil
}

// Close stops Run and waits for it. Subscribers stay registered but receive nothing more.
func (h *Hub) Close() {
	h.runMu.Lock()
	h.closed = true
	cancel, done := h.cancel, h.done
	h.runMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (h *Hub) setUp(up bool) {
	h.up.Store(up)
	if up {
		h.m.up.Set(1)
	} else {
		h.m.up.Set(0)
	}
}

// listen keeps one LISTEN connection alive until ctx is done.
func (h *Hub) listen(ctx context.Context) {
	backoff := h.opts.MinBackoff
	for {
		connected, err := h.session(ctx)
		h.setUp(false)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = h.opts.MinBackoff
			h.log.Warn("backplane listener lost; reconnecting", "err", err, "retry_in", backoff)
		} else {
			h.log.Warn("backplane listener cannot connect; retrying", "err", err, "retry_in", backoff)
		}
		// Jitter keeps a fleet that lost Postgres together from reconnecting in step.
		wait := backoff/2 + rand.N(backoff/2+1) //nolint:gosec // G404: jitter, not a secret
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, h.opts.MaxBackoff)
	}
}

// session runs one LISTEN connection until it fails or ctx is done. connected reports
// whether it got as far as listening.
func (h *Hub) session(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, h.connCfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if h.started {
		h.m.reconnects.Inc()
	} else {
		// Listening first: anything committed after this read notifies us.
		mark, err := h.q.BackplaneEventMaxID(ctx, conn)
		if err != nil {
			return true, fmt.Errorf("read newest event id: %w", err)
		}
		h.mark, h.started = mark, true
	}
	n, err := h.catchUp(ctx, conn)
	if err != nil {
		return true, err
	}
	if n > 0 {
		h.log.Info("backplane listener caught up", "events", n)
	}
	h.setUp(true)

	for {
		wctx, cancel := context.WithTimeout(ctx, h.opts.PollEvery)
		note, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, ctx.Err()
		case err == nil:
			if !h.unseen(note.Payload) {
				continue
			}
		case timedOut && !conn.IsClosed():
			// Nothing for a while: read anyway, which also proves the connection alive.
		default:
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		if _, err := h.catchUp(ctx, conn); err != nil {
			return true, err
		}
	}
}

// unseen reports whether a notification may name an event not yet read. Notifications
// queued while a read ran are mostly for events it already returned.
func (h *Hub) unseen(payload string) bool {
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		return true
	}
	return id > h.mark || h.gaps.has(id)
}

// catchUp reads and dispatches every committed event above the mark and every gap that
// has turned up, and returns how many it dispatched.
func (h *Hub) catchUp(ctx context.Context, conn *pgx.Conn) (int, error) {
	total := 0
	for {
		rctx, cancel := context.WithTimeout(ctx, h.opts.ReadTimeout)
		rows, err := h.q.BackplaneEventListAfter(rctx, conn, db.BackplaneEventListAfterParams{
			AfterID: h.mark, GapIds: h.gaps.list(), Lim: int32(h.opts.BatchSize),
		})
		cancel()
		if err != nil {
			return total, fmt.Errorf("read events after %d: %w", h.mark, err)
		}
		readLocal := time.Now()
		above := 0 // rows of the range half, which the limit applies to
		for _, r := range rows {
			if r.ID > h.mark {
				above++
			}
		}
		slices.SortFunc(rows, func(a, b db.BackplaneEventListAfterRow) int { return cmp.Compare(a.ID, b.ID) })
		for _, r := range rows {
			if r.ID <= h.mark {
				if !h.gaps.fill(r.ID) {
					continue // read already; cannot happen with the query as written
				}
			} else {
				h.noteGaps(r.ID, readLocal)
				h.mark = r.ID
			}
			h.dispatch(ctx, r, readLocal)
			total++
		}
		if above < h.opts.BatchSize {
			break
		}
	}
	if n := h.gaps.expire(time.Now().Add(-h.opts.GapTimeout)); n > 0 {
		h.m.gapsExpired.Add(float64(n))
		h.log.Debug("backplane gave up on missing event ids", "count", n)
	}
	return total, nil
}

// noteGaps records the ids skipped between the mark and next.
func (h *Hub) noteGaps(next int64, now time.Time) {
	from := h.mark + 1
	if span := next - from; span > int64(h.opts.MaxGaps) {
		// Far more missing ids than can be uncommitted publishes: after a long outage
		// their rows were pruned. Keep the newest.
		from = next - int64(h.opts.MaxGaps)
		h.m.gapsExpired.Add(float64(span - int64(h.opts.MaxGaps)))
		h.log.Warn("backplane skipped more missing event ids than it tracks", "count", span, "tracked", h.opts.MaxGaps)
	}
	for id := from; id < next; id++ {
		h.gaps.add(id, now)
	}
	if n := h.gaps.trim(h.opts.MaxGaps); n > 0 {
		h.m.gapsExpired.Add(float64(n))
	}
}

// dispatch hands one event to its internal handlers or its subscribers.
func (h *Hub) dispatch(ctx context.Context, r db.BackplaneEventListAfterRow, readLocal time.Time) {
	h.m.received.Inc()
	h.m.lag.Observe(max(r.ReadAt.Sub(r.CreatedAt)+time.Since(readLocal), 0).Seconds())
	ev := Event{
		ID: r.ID, OrgID: r.OrgID, Target: Target{Type: Kind(r.TargetType), ID: r.TargetID},
		Payload: r.Event, CreatedAt: r.CreatedAt,
	}
	if ev.Target.Type == Instance {
		if canonicalID(Instance, ev.Target.ID) != h.instanceID.String() {
			return
		}
		if h.handleInternal(ctx, ev) {
			h.m.delivered.Inc()
			return
		}
	}
	subs := h.bound(eventKey(ev), h.scratch[:0])
	if len(subs) > 0 {
		ev.Frame = frame(ev.Payload, ev.CreatedAt)
		delivered := 0
		for _, b := range subs {
			if h.contained(ev, func() bool { return b.deliver(ev) }) {
				delivered++
			}
		}
		h.m.delivered.Add(float64(delivered))
	}
	clear(subs)
	h.scratch = subs[:0]
}

// contained runs one delivery of ev so that a panic in it (a socket's or a handler's code)
// skips only that delivery: it is logged with its stack and counted, and the dispatcher goes
// on with the next one. It reports what fn returned, false after a panic.
func (h *Hub) contained(ev Event, fn func() bool) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			h.opts.Panics.Record(h.log, panics.Dispatcher, v, "event_id", ev.ID, "org_id", ev.OrgID, "target_type", string(ev.Target.Type))
			ok = false
		}
	}()
	return fn()
}

// prune deletes events older than Retention every PruneEvery.
func (h *Hub) prune(ctx context.Context) {
	t := time.NewTicker(h.opts.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := h.q.BackplaneEventPrune(ctx, h.pool, time.Now().Add(-h.opts.Retention))
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("backplane prune failed", "err", err)
			}
			continue
		}
		h.m.pruned.Add(float64(n))
	}
}
