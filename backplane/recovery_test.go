package backplane_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// publisher publishes to target from its own pool until stopped, keeping every id it got.
type publisher struct {
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	ids    []int64
	errors atomic.Int64
}

// startPublisher publishes continuously; failed publishes (an outage) are retried
// after a short pause and are not events.
func startPublisher(h *backplane.Hub, pool *pgxpool.Pool, org uuid.UUID, target backplane.Target) *publisher {
	p := &publisher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			id, err := h.Publish(context.Background(), pool, org, target, payload("p", i))
			if err != nil {
				p.errors.Add(1)
				time.Sleep(5 * time.Millisecond)
				continue
			}
			p.mu.Lock()
			p.ids = append(p.ids, id)
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// finish stops the publisher and returns what it published.
func (p *publisher) finish() []int64 {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.ids...)
}

func TestTerminatedListenerReconnectsAndDeliversEveryMissedEventOnce(t *testing.T) {
	url := dbtest.NewURL(t)
	h := startHub(t, url, backplane.Options{BatchSize: 10}) // the catch-up spans several reads
	pubPool := dbtest.Pool(t, url)
	org := newOrg(t, pubPool, "org")
	target := backplane.Target{Type: backplane.Org, ID: org.String()}
	socks := []*recorder{{name: "s1"}, {name: "s2"}}
	for _, r := range socks {
		b := h.Register(r)
		b.Bind(backplane.Org, org.String())
		t.Cleanup(b.Close)
	}
	adm := newAdmin(t, url)

	pub := startPublisher(h.Hub, pubPool, org, target)
	testkit.Eventually(t, "events before the outage", func() bool { return pub.count() >= 20 })

	// Refuse new connections so that the outage lasts until the test ends it: the
	// publisher's open pool connection keeps publishing meanwhile.
	adm.allowConnections(t, false)
	if n := adm.terminate(t, "application_name = '"+backplane.ApplicationName+"'"); n != 1 {
		t.Fatalf("terminated %d listener connections, want 1", n)
	}
	testkit.Eventually(t, "Up to report the listener down", func() bool { return !h.Up() })
	before := pub.count()
	testkit.Eventually(t, "events published during the outage", func() bool { return pub.count() >= before+50 })
	adm.allowConnections(t, true)
	testkit.Eventually(t, "Up to report the listener back", h.Up)
	during := pub.count()
	testkit.Eventually(t, "events after the reconnect", func() bool { return pub.count() >= during+20 })
	ids := pub.finish()

	last := ids[len(ids)-1]
	for _, r := range socks {
		testkit.Eventually(t, "the last event on "+r.name, func() bool { return r.has(last) })
	}
	checkExactlyOnce(t, ids, socks...)
	checkPublisherOrder(t, [][]int64{ids}, socks...)
	if n := metric(t, h.reg, "switchboard_backplane_listener_reconnects_total"); n != 1 {
		t.Errorf("listener_reconnects_total = %v, want 1", n)
	}
	if n := adm.listeners(t); n != 1 {
		t.Errorf("%d listener connections after the reconnect, want 1", n)
	}
}

func TestEveryConnectionTerminatedBothInstancesRecover(t *testing.T) {
	url := dbtest.NewURL(t)
	a := startHub(t, url, backplane.Options{})
	b := startHub(t, url, backplane.Options{})
	org := newOrg(t, a.pool, "org")
	target := backplane.Target{Type: backplane.Org, ID: org.String()}
	socks := []*recorder{{name: "a"}, {name: "b"}}
	for i, h := range []*hubOn{a, b} {
		bind := h.Register(socks[i])
		bind.Bind(backplane.Org, org.String())
		t.Cleanup(bind.Close)
	}
	adm := newAdmin(t, url)

	var ids []int64
	for i := range 10 {
		ids = append(ids, publishRetrying(t, a.Hub, a.pool, org, target, payload("before", i)))
	}
	adm.allowConnections(t, false)
	if n := adm.terminate(t, "true"); n < 2 {
		t.Fatalf("terminated %d connections, want both listeners and the pools", n)
	}
	testkit.Eventually(t, "both listeners down", func() bool { return !a.Up() && !b.Up() })
	if _, err := a.Publish(context.Background(), a.pool, org, target, payload("refused", 0)); err == nil {
		t.Fatal("a publish succeeded while the database refused every connection")
	}
	adm.allowConnections(t, true)
	// Publishing from both pools rides out their dead connections.
	for i := range 10 {
		ids = append(ids, publishRetrying(t, a.Hub, a.pool, org, target, payload("after", i)))
		ids = append(ids, publishRetrying(t, b.Hub, b.pool, org, target, payload("after", i)))
	}
	testkit.Eventually(t, "both listeners back", func() bool { return a.Up() && b.Up() })

	last := ids[len(ids)-1]
	for _, r := range socks {
		testkit.Eventually(t, "the last event on "+r.name, func() bool { return r.has(last) })
	}
	checkExactlyOnce(t, ids, socks...)
	for _, h := range []*hubOn{a, b} {
		if n := metric(t, h.reg, "switchboard_backplane_listener_reconnects_total"); n < 1 {
			t.Errorf("listener_reconnects_total = %v", n)
		}
		if n := metric(t, h.reg, "switchboard_backplane_listener_up"); n != 1 {
			t.Errorf("listener_up = %v after recovery", n)
		}
	}
}

func TestPruningDeletesEventsOlderThanRetentionOnly(t *testing.T) {
	url := dbtest.NewURL(t)
	h := startHub(t, url, backplane.Options{Retention: time.Hour, PruneEvery: 10 * time.Millisecond})
	org := newOrg(t, h.pool, "org")
	target := backplane.Target{Type: backplane.Org, ID: org.String()}
	ctx := context.Background()
	old, err := h.Publish(ctx, h.pool, org, target, payload("old", 0))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := h.Publish(ctx, h.pool, org, target, payload("fresh", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, "UPDATE backplane_events SET created_at = now() - interval '61 minutes' WHERE id = $1", old); err != nil {
		t.Fatal(err)
	}
	exists := func(id int64) bool {
		var ok bool
		if err := h.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM backplane_events WHERE id = $1)", id).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	testkit.Eventually(t, "the old event to be pruned", func() bool { return !exists(old) })
	if !exists(fresh) {
		t.Fatal("an event younger than the retention was pruned")
	}
	if n := metric(t, h.reg, "switchboard_backplane_pruned_total"); n != 1 {
		t.Errorf("pruned_total = %v, want 1", n)
	}
}
