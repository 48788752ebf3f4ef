package backplane_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// recorder is a socket that remembers what it was given.
type recorder struct {
	name   string
	mu     sync.Mutex
	events []backplane.Event
}

func (r *recorder) Deliver(ev backplane.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []backplane.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]backplane.Event(nil), r.events...)
}

// counts maps each event id received to how many times it was.
func (r *recorder) counts() map[int64]int {
	out := map[int64]int{}
	for _, ev := range r.snapshot() {
		out[ev.ID]++
	}
	return out
}

func (r *recorder) has(id int64) bool { return r.counts()[id] > 0 }

// hubOn is one simulated instance: its own pool, instance id, registry and hub.
type hubOn struct {
	*backplane.Hub
	pool *pgxpool.Pool
	reg  *prometheus.Registry
	id   uuid.UUID
}

// startHub runs a hub on its own pool to dbURL and waits until its listener is up.
func startHub(t testing.TB, dbURL string, opts backplane.Options) *hubOn {
	t.Helper()
	pool := dbtest.Pool(t, dbURL)
	if opts.InstanceID == uuid.Nil {
		opts.InstanceID = uuid.New()
	}
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 200 * time.Millisecond
	}
	h, err := backplane.New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- h.Run(context.Background()) }()
	t.Cleanup(func() {
		h.Close()
		if err := <-ran; err != nil {
			t.Errorf("hub Run: %v", err)
		}
	})
	testkit.Eventually(t, "the listener to come up", h.Up)
	return &hubOn{Hub: h, pool: pool, reg: reg, id: opts.InstanceID}
}

func newOrg(t testing.TB, pool *pgxpool.Pool, name string) uuid.UUID {
	t.Helper()
	return fixture.New(t, pool).Org(fixture.Org{Name: name}).ID
}

func payload(typ string, n int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":%q,"n":%d}`, typ, n))
}

// metric reads one counter or gauge, or a histogram's sample count, from reg.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// admin is a superuser connection to the server's maintenance database, for what a test
// does to its own database from outside: terminate its backends, refuse new connections.
type admin struct {
	conn *pgx.Conn
	db   string
}

func newAdmin(t testing.TB, dbURL string) *admin {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	u.Path = "/postgres"
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	a := &admin{conn: conn, db: name}
	t.Cleanup(func() {
		a.allowConnections(t, true)
		conn.Close(context.Background())
	})
	return a
}

func (a *admin) allowConnections(t testing.TB, allow bool) {
	t.Helper()
	sql := fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{a.db}.Sanitize(), allow)
	if _, err := a.conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// terminate ends the backends of the test database that match where (SQL on
// pg_stat_activity) and returns how many it ended.
func (a *admin) terminate(t testing.TB, where string) int {
	t.Helper()
	var n int
	err := a.conn.QueryRow(context.Background(),
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND "+where,
		a.db).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listeners counts the test database's connections named switchboard-listener.
func (a *admin) listeners(t testing.TB) int {
	t.Helper()
	var n int
	err := a.conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
		a.db, backplane.ApplicationName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// publishRetrying publishes on pool until it succeeds, for publishers that must ride out
// an outage.
func publishRetrying(t testing.TB, h *backplane.Hub, pool *pgxpool.Pool, org uuid.UUID, target backplane.Target, ev json.RawMessage) int64 {
	t.Helper()
	var id int64
	var lastErr error
	testkit.Eventually(t, "a publish to get through", func() bool {
		id, lastErr = h.Publish(context.Background(), pool, org, target, ev)
		if errors.Is(lastErr, backplane.ErrInvalidTarget) {
			t.Fatalf("publish: %v", lastErr)
		}
		return lastErr == nil
	})
	return id
}
