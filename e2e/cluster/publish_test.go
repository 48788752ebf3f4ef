package cluster_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// fenced publishes a fence to each widget's own session after an event under test, so that
// each can tell "received the event" from "did not" without waiting: one publisher's events
// keep their order on every socket (PROTOCOL §5.11).
type fenced struct {
	t      *testing.T
	srv    *servetest.Server
	tokens map[*widget]string // the admin token of each widget's org
	seq    int
}

func (f *fenced) fence() {
	f.t.Helper()
	f.seq++
	for w, tok := range f.tokens {
		mustPublish(f.t, f.srv, tok, "session", w.session, map[string]any{"type": "fence", "seq": f.seq})
	}
}

// expect reads w's next events: want (when not nil) then the current fence.
func (f *fenced) expect(name string, w *widget, want func(ev wstest.Event) bool) {
	f.t.Helper()
	ev := w.Next()
	if want != nil {
		if !want(ev) {
			f.t.Fatalf("%s: expected the published event, got %s", name, ev.Raw)
		}
		ev = w.Next()
	}
	if ev.Type() != "fence" || ev.Fields["seq"] != float64(f.seq) {
		f.t.Fatalf("%s: expected fence %d, got %s", name, f.seq, ev.Raw)
	}
}

func TestPublishedEventsReachTheBoundSocketsOfEveryInstance(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a, b := c.start(nil), c.start(nil)
	acmeAdmin := adminToken(t, acme)
	globexID := c.fx.Org(fixture.Org{Name: "Globex", ExternalID: "globex"}).ID
	globexAdmin := adminToken(t, "globex")
	second := c.fx.Agent(c.org, fixture.Agent{})
	globexAgent := c.fx.Agent(globexID, fixture.Agent{})

	// dana: a verified visitor on B, with an authContext identity ctx:u-7 for acme.
	dana := openWidget(t, b, visitorToken(t, "dana"), c.agent.ID, map[string]any{"authContext": authContext("u-7")})
	// anon: an anonymous visitor of acme's second agent, on A.
	anon := openWidget(t, a, "", second.ID, nil)
	// foreign: a visitor of another org, on B.
	foreign := openWidget(t, b, "", globexAgent.ID, nil)
	f := &fenced{t: t, srv: a, tokens: map[*widget]string{dana: acmeAdmin, anon: acmeAdmin, foreign: globexAdmin}}

	for _, tc := range []struct {
		name     string
		tok      string
		kind, id string
		to       []*widget
	}{
		{"session", acmeAdmin, "session", dana.session, []*widget{dana}},
		{"conversation", acmeAdmin, "conversation", anon.conversation, []*widget{anon}},
		{"agent", acmeAdmin, "agent", c.agent.ID.String(), []*widget{dana}},
		{"the other agent", acmeAdmin, "agent", second.ID.String(), []*widget{anon}},
		{"org", acmeAdmin, "org", c.org.String(), []*widget{dana, anon}},
		{"token identity", acmeAdmin, "user", "jwt:dana", []*widget{dana}},
		{"authContext identity", acmeAdmin, "user", "ctx:u-7", []*widget{dana}},
		{"bare identity means ctx:", acmeAdmin, "user", "u-7", []*widget{dana}},
		{"identity in another org", globexAdmin, "user", "jwt:dana", nil},
		{"another org", globexAdmin, "org", globexID.String(), []*widget{foreign}},
	} {
		for i, srv := range []*servetest.Server{a, b} { // publishing on either instance
			marker := fmt.Sprintf("%s/%d", tc.name, i)
			mustPublish(t, srv, tc.tok, tc.kind, tc.id, map[string]any{"type": "notice", "data": map[string]any{"text": marker}})
			f.fence()
			for _, w := range []*widget{dana, anon, foreign} {
				var want func(wstest.Event) bool
				for _, to := range tc.to {
					if to == w {
						want = func(ev wstest.Event) bool {
							ts, isInt := ev.Fields["timestamp"].(float64)
							return ev.Type() == "notice" && ev.Data()["text"] == marker && isInt && ts > 0 && ev.RequestID() == ""
						}
					}
				}
				f.expect(marker, w, want)
			}
		}
	}

	// Delivered as the tenant wrote it: its own timestamp and keys stay.
	mustPublish(t, a, acmeAdmin, "session", dana.session, map[string]any{"type": "custom", "timestamp": 123, "requestId": "x", "n": []int{1, 2}})
	ev := dana.Next()
	if ev.Fields["timestamp"] != float64(123) || ev.RequestID() != "x" || fmt.Sprint(ev.Fields["n"]) != "[1 2]" || len(ev.Fields) != 4 {
		t.Fatalf("published event changed on the way: %s", ev.Raw)
	}

	// A target of another org is 404, whatever its kind.
	for _, tc := range []struct{ kind, id string }{
		{"session", foreign.session},
		{"conversation", foreign.conversation},
		{"agent", globexAgent.ID.String()},
		{"org", globexID.String()},
	} {
		if r := publish(t, b, acmeAdmin, tc.kind, tc.id, map[string]any{"type": "notice"}); r.status != 404 {
			t.Errorf("publish to another org's %s: %d %s", tc.kind, r.status, r.raw)
		}
	}
	// A socket that closed is unbound; the others still receive.
	_ = anon.Conn.Close()
	mustPublish(t, a, acmeAdmin, "org", c.org.String(), map[string]any{"type": "notice", "data": map[string]any{"text": "after close"}})
	if ev := dana.Next(); ev.Data()["text"] != "after close" {
		t.Fatalf("after a socket closed: %s", ev.Raw)
	}
}

// collector reads every event of one widget on its own goroutine and counts each seq.
type collector struct {
	w    *widget
	done chan struct{}
	mu   sync.Mutex
	seen map[string]int
	err  error
}

// collect reads until the event of type "end" arrives.
func collect(w *widget) *collector {
	col := &collector{w: w, done: make(chan struct{}), seen: map[string]int{}}
	go func() {
		defer close(col.done)
		for {
			ev, err := w.TryNext(wstest.ReadTimeout)
			if err != nil {
				col.mu.Lock()
				col.err = err
				col.mu.Unlock()
				return
			}
			if ev.Type() == "end" {
				return
			}
			col.mu.Lock()
			col.seen[fmt.Sprint(ev.Fields["seq"])]++
			col.mu.Unlock()
		}
	}()
	return col
}

// check waits for the end event and requires every one of want exactly once, and nothing else.
func (col *collector) check(t *testing.T, name string, want []string) {
	t.Helper()
	<-col.done
	if col.err != nil {
		t.Fatalf("%s: stopped reading: %v (had %d events)", name, col.err, len(col.seen))
	}
	for _, s := range want {
		if n := col.seen[s]; n != 1 {
			t.Errorf("%s: event %s received %d times", name, s, n)
		}
	}
	if len(col.seen) != len(want) {
		t.Errorf("%s: received %d distinct events, want %d", name, len(col.seen), len(want))
	}
}

func TestConcurrentPublishersOnBothInstancesReachEverySocketExactlyOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a, b := c.start(nil), c.start(nil)
	tok := adminToken(t, acme)
	var widgets []*widget
	for _, srv := range []*servetest.Server{a, a, b, b} {
		widgets = append(widgets, openWidget(t, srv, "", c.agent.ID, nil))
	}
	cols := make([]*collector, len(widgets))
	for i, w := range widgets {
		cols[i] = collect(w)
	}

	// A publish that takes its id first and commits last: a lower id committing after
	// higher ones were read.
	tx, err := c.pool.Begin(ctx())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx())
	if _, err := db.New().BackplaneEventPublish(ctx(), tx, db.BackplaneEventPublishParams{
		OrgID: c.org, TargetType: string(backplane.Org), TargetID: c.org.String(), Event: json.RawMessage(`{"type":"notice","seq":"late"}`),
	}); err != nil {
		t.Fatal(err)
	}

	const publishers, each = 4, 15
	want := []string{"late"}
	var wg sync.WaitGroup
	for p := range publishers {
		srv := []*servetest.Server{a, b}[p%2]
		for i := range each {
			want = append(want, fmt.Sprintf("%d-%d", p, i))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if r := publish(t, srv, tok, "org", c.org.String(), map[string]any{"type": "notice", "seq": fmt.Sprintf("%d-%d", p, i)}); r.status != 202 {
					t.Errorf("publish: %d %s", r.status, r.raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := tx.Commit(ctx()); err != nil {
		t.Fatal(err)
	}
	// Committed after "late", so read with or after it: the end of every socket's stream.
	mustPublish(t, b, tok, "org", c.org.String(), map[string]any{"type": "end"})
	for i, col := range cols {
		col.check(t, fmt.Sprintf("socket %d", i), want)
	}
}
