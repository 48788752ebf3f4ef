package backplane_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// checkExactlyOnce fails unless each socket received exactly the ids of want, once each.
func checkExactlyOnce(t *testing.T, want []int64, socks ...*recorder) {
	t.Helper()
	for _, r := range socks {
		got := r.counts()
		for _, id := range want {
			if got[id] != 1 {
				t.Errorf("socket %s received event %d %d times", r.name, id, got[id])
			}
		}
		if len(got) != len(want) {
			t.Errorf("socket %s received %d distinct events, want %d", r.name, len(got), len(want))
		}
	}
}

// checkPublisherOrder fails unless each socket received each sequential publisher's
// events in the order it published them.
func checkPublisherOrder(t *testing.T, publishers [][]int64, socks ...*recorder) {
	t.Helper()
	for _, r := range socks {
		pos := map[int64]int{}
		for i, ev := range r.snapshot() {
			pos[ev.ID] = i
		}
		for p, ids := range publishers {
			for i := 1; i < len(ids); i++ {
				if pos[ids[i]] < pos[ids[i-1]] {
					t.Errorf("socket %s: publisher %d's event %d arrived before its earlier %d", r.name, p, ids[i], ids[i-1])
				}
			}
		}
	}
}

func TestConcurrentPublishersOnTwoInstancesLoseAndDuplicateNothing(t *testing.T) {
	url := dbtest.NewURL(t)
	a := startHub(t, url, backplane.Options{})
	b := startHub(t, url, backplane.Options{BatchSize: 7}) // catch-ups span several reads
	org := newOrg(t, a.pool, "org")
	target := backplane.Target{Type: backplane.Org, ID: org.String()}

	socks := []*recorder{{name: "a1"}, {name: "a2"}, {name: "b1"}, {name: "b2"}}
	for i, r := range socks {
		h := a
		if i >= 2 {
			h = b
		}
		bind := h.Register(r)
		bind.Bind(backplane.Org, org.String())
		t.Cleanup(bind.Close)
	}
	ctx := context.Background()

	// A publish that takes its id first and commits only after later ids were delivered.
	held, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heldID, err := a.Publish(ctx, held, org, target, payload("held", 0))
	if err != nil {
		t.Fatal(err)
	}
	// And one that never commits: its id stays a gap for good.
	rolled, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rolledID, err := b.Publish(ctx, rolled, org, target, payload("rolled back", 0))
	if err != nil {
		t.Fatal(err)
	}

	const perPublisher = 60
	publishers := make([][]int64, 8) // four on each instance's pool
	var wg sync.WaitGroup
	for p := range publishers {
		h := a
		if p%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPublisher {
				id, err := h.Publish(ctx, h.pool, org, target, payload("p", p*1000+i))
				if err != nil {
					t.Errorf("publisher %d: %v", p, err)
					return
				}
				publishers[p] = append(publishers[p], id)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	all := slices.Concat(publishers...)
	last := slices.Max(all)
	for _, r := range socks {
		testkit.Eventually(t, "the newest event on "+r.name, func() bool { return r.has(last) })
	}
	for _, r := range socks {
		if r.has(heldID) {
			t.Fatalf("socket %s received the held event before it committed", r.name)
		}
	}

	if err := rolled.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range socks {
		testkit.Eventually(t, "the late lower id on "+r.name, func() bool { return r.has(heldID) })
	}
	// A fence published after everything: once it is in, nothing else is on its way.
	fence, err := b.Publish(ctx, b.pool, org, target, payload("fence", 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range socks {
		testkit.Eventually(t, "the fence on "+r.name, func() bool { return r.has(fence) })
	}

	want := append(all, heldID, fence)
	checkExactlyOnce(t, want, socks...)
	checkPublisherOrder(t, publishers, socks...)
	for _, r := range socks {
		if r.has(rolledID) {
			t.Errorf("socket %s received a rolled-back event", r.name)
		}
		evs := r.snapshot()
		if evs[len(evs)-2].ID != heldID || heldID > last {
			t.Errorf("socket %s: the held event (id %d) should arrive after the newer %d", r.name, heldID, last)
		}
	}
}

func TestEveryInstanceHoldsExactlyOneNamedListenerConnection(t *testing.T) {
	url := dbtest.NewURL(t)
	startHub(t, url, backplane.Options{})
	startHub(t, url, backplane.Options{})
	adm := newAdmin(t, url)
	if n := adm.listeners(t); n != 2 {
		t.Fatalf("%d connections named %s for two instances", n, backplane.ApplicationName)
	}
}

func TestRunAfterCloseReturnsErrClosed(t *testing.T) {
	h, err := backplane.New(dbtest.NewPool(t), backplane.Options{InstanceID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := h.Run(context.Background()); !errors.Is(err, backplane.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if h.Up() {
		t.Fatal("a closed hub reports its listener up")
	}
}

// The documented limit of the gap window: a publish that commits after its id was given
// up on is not delivered, and the give-up is counted.
func TestPublishCommittedAfterTheGapTimeoutIsCountedNotDelivered(t *testing.T) {
	url := dbtest.NewURL(t)
	h := startHub(t, url, backplane.Options{GapTimeout: time.Millisecond, PollEvery: 10 * time.Millisecond})
	org := newOrg(t, h.pool, "org")
	target := backplane.Target{Type: backplane.Org, ID: org.String()}
	sock := &recorder{name: "s"}
	b := h.Register(sock)
	b.Bind(backplane.Org, org.String())
	t.Cleanup(b.Close)
	ctx := context.Background()

	held, err := h.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heldID, err := h.Publish(ctx, held, org, target, payload("held", 0))
	if err != nil {
		t.Fatal(err)
	}
	later, err := h.Publish(ctx, h.pool, org, target, payload("later", 0))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the later event", func() bool { return sock.has(later) })
	testkit.Eventually(t, "the gap to be given up", func() bool {
		return metric(t, h.reg, "switchboard_backplane_gaps_expired_total") >= 1
	})
	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	fence, err := h.Publish(ctx, h.pool, org, target, payload("fence", 0))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the fence", func() bool { return sock.has(fence) })
	if sock.has(heldID) {
		t.Fatal("an event whose gap had expired was delivered")
	}
}
