package backplane_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// twoInstances is the shared setup of the routing tests: two hubs on one database and
// three sockets, bound the way /ws binds them.
type twoInstances struct {
	a, b       *hubOn
	org1, org2 uuid.UUID
	s1, s2     uuid.UUID // sessions: s1 on a1, s2 on b1
	conv       uuid.UUID // one conversation resumed on both a1 and b1
	agent1     uuid.UUID
	agent2     uuid.UUID
	a1, b1, b2 *recorder
}

func setupTwoInstances(t *testing.T) *twoInstances {
	t.Helper()
	url := dbtest.NewURL(t)
	x := &twoInstances{
		a:  startHub(t, url, backplane.Options{}),
		b:  startHub(t, url, backplane.Options{}),
		s1: uuid.New(), s2: uuid.New(), conv: uuid.New(), agent1: uuid.New(), agent2: uuid.New(),
		a1: &recorder{name: "a1"}, b1: &recorder{name: "b1"}, b2: &recorder{name: "b2"},
	}
	x.org1 = newOrg(t, x.a.pool, "one")
	x.org2 = newOrg(t, x.a.pool, "two")

	a1 := x.a.Register(x.a1)
	a1.Bind(backplane.Connection, "conn-a1")
	a1.Bind(backplane.Org, x.org1.String())
	a1.BindUser(x.org1, "jwt:alice")
	a1.Bind(backplane.Session, x.s1.String())
	a1.Bind(backplane.Conversation, x.conv.String())
	a1.Bind(backplane.Agent, x.agent1.String())

	b1 := x.b.Register(x.b1)
	b1.Bind(backplane.Connection, "conn-b1")
	b1.Bind(backplane.Org, x.org1.String())
	b1.BindUser(x.org1, "jwt:alice")
	b1.Bind(backplane.Session, x.s2.String())
	b1.Bind(backplane.Conversation, strings.ToUpper(x.conv.String())) // any case binds
	b1.Bind(backplane.Agent, x.agent1.String())

	// The same identity, in another org.
	b2 := x.b.Register(x.b2)
	b2.Bind(backplane.Connection, "conn-b2")
	b2.Bind(backplane.Org, x.org2.String())
	b2.BindUser(x.org2, "jwt:alice")
	b2.Bind(backplane.Agent, x.agent2.String())

	t.Cleanup(func() { a1.Close(); b1.Close(); b2.Close() })
	return x
}

// fence publishes one event to each socket's connection and waits for all three: every
// event published before it has then been dispatched on both instances (sequential
// publishes commit in id order, and each hub dispatches in id order).
func (x *twoInstances) fence(t *testing.T) map[*recorder]int64 {
	t.Helper()
	out := map[*recorder]int64{}
	for _, r := range []*recorder{x.a1, x.b1, x.b2} {
		org := x.org1
		if r == x.b2 {
			org = x.org2
		}
		id, err := x.a.Publish(context.Background(), x.a.pool, org,
			backplane.Target{Type: backplane.Connection, ID: "conn-" + r.name}, payload("fence", 0))
		if err != nil {
			t.Fatal(err)
		}
		out[r] = id
	}
	for r, id := range out {
		testkit.Eventually(t, "the fence on "+r.name, func() bool { return r.has(id) })
	}
	return out
}

func TestTwoInstancesDeliverEachTargetKindToItsBoundSockets(t *testing.T) {
	x := setupTwoInstances(t)
	cases := []struct {
		name   string
		from   *hubOn
		org    uuid.UUID
		target backplane.Target
		want   []*recorder
	}{
		{"connection reaches only that connection", x.a, x.org1, backplane.Target{Type: backplane.Connection, ID: "conn-b1"}, []*recorder{x.b1}},
		{"session reaches the socket it was created on", x.b, x.org1, backplane.Target{Type: backplane.Session, ID: x.s1.String()}, []*recorder{x.a1}},
		{"session id in upper case reaches the same socket", x.a, x.org1, backplane.Target{Type: backplane.Session, ID: strings.ToUpper(x.s2.String())}, []*recorder{x.b1}},
		{"conversation reaches every socket that resumed it, on both instances", x.a, x.org1, backplane.Target{Type: backplane.Conversation, ID: x.conv.String()}, []*recorder{x.a1, x.b1}},
		{"agent reaches the sockets with a session of it", x.b, x.org1, backplane.Target{Type: backplane.Agent, ID: x.agent1.String()}, []*recorder{x.a1, x.b1}},
		{"user reaches that identity in that org only", x.a, x.org1, backplane.Target{Type: backplane.User, ID: "jwt:alice"}, []*recorder{x.a1, x.b1}},
		{"the same identity in the other org reaches only that org's socket", x.a, x.org2, backplane.Target{Type: backplane.User, ID: "jwt:alice"}, []*recorder{x.b2}},
		{"an identity nobody holds reaches nobody", x.a, x.org1, backplane.Target{Type: backplane.User, ID: "ctx:bob"}, nil},
		{"org reaches the sockets of that org", x.b, x.org1, backplane.Target{Type: backplane.Org, ID: x.org1.String()}, []*recorder{x.a1, x.b1}},
		{"other org reaches its own sockets", x.a, x.org2, backplane.Target{Type: backplane.Org, ID: x.org2.String()}, []*recorder{x.b2}},
		{"instance reaches every socket of that instance", x.a, x.org1, backplane.Target{Type: backplane.Instance, ID: x.b.id.String()}, []*recorder{x.b1, x.b2}},
		{"an unbound session reaches nobody", x.a, x.org1, backplane.Target{Type: backplane.Session, ID: uuid.NewString()}, nil},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		ev := payload("case", i)
		id, err := c.from.Publish(context.Background(), c.from.pool, c.org, c.target, ev)
		if err != nil {
			t.Fatalf("%s: publish: %v", c.name, err)
		}
		ids[i] = id
	}
	x.fence(t)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []*recorder{x.a1, x.b1, x.b2} {
				want := 0
				if slices.Contains(c.want, r) {
					want = 1
				}
				if got := r.counts()[ids[i]]; got != want {
					t.Errorf("socket %s received event %d %d times, want %d", r.name, ids[i], got, want)
				}
			}
		})
	}

	// What a socket receives: the row as published, and the wire frame with a timestamp.
	var got backplane.Event
	for _, ev := range x.b1.snapshot() {
		if ev.ID == ids[0] {
			got = ev
		}
	}
	if got.OrgID != x.org1 || got.Target != (backplane.Target{Type: backplane.Connection, ID: "conn-b1"}) {
		t.Errorf("event fields: org %s target %+v", got.OrgID, got.Target)
	}
	var frame map[string]any
	if err := json.Unmarshal(got.Frame, &frame); err != nil {
		t.Fatalf("frame %s: %v", got.Frame, err)
	}
	if frame["type"] != "case" || frame["n"] != float64(0) || frame["timestamp"] != float64(got.CreatedAt.UnixMilli()) {
		t.Errorf("frame %s, created %v", got.Frame, got.CreatedAt)
	}

	if n := metric(t, x.a.reg, "switchboard_backplane_published_total"); n < float64(len(cases)) {
		t.Errorf("published_total on a = %v", n)
	}
	if n := metric(t, x.b.reg, "switchboard_backplane_delivered_total"); n == 0 {
		t.Error("delivered_total on b is 0")
	}
	if n := metric(t, x.b.reg, "switchboard_backplane_delivery_lag_seconds"); n == 0 {
		t.Error("no delivery lag observed on b")
	}
}

func TestUserEventNeverReachesTheSameIdentityInAnotherOrg(t *testing.T) {
	x := setupTwoInstances(t)
	var org1IDs, org2IDs []int64
	for i := range 20 {
		id1, err := x.a.Publish(context.Background(), x.a.pool, x.org1, backplane.Target{Type: backplane.User, ID: "jwt:alice"}, payload("u", i))
		if err != nil {
			t.Fatal(err)
		}
		id2, err := x.b.Publish(context.Background(), x.b.pool, x.org2, backplane.Target{Type: backplane.User, ID: "jwt:alice"}, payload("u", i))
		if err != nil {
			t.Fatal(err)
		}
		org1IDs, org2IDs = append(org1IDs, id1), append(org2IDs, id2)
	}
	x.fence(t)
	for _, ev := range append(x.a1.snapshot(), x.b1.snapshot()...) {
		if ev.OrgID != x.org1 {
			t.Errorf("org1 socket received event %d of org %s", ev.ID, ev.OrgID)
		}
	}
	for _, ev := range x.b2.snapshot() {
		if ev.OrgID != x.org2 {
			t.Errorf("org2 socket received event %d of org %s", ev.ID, ev.OrgID)
		}
	}
	for _, id := range org1IDs {
		if x.a1.counts()[id] != 1 || x.b1.counts()[id] != 1 {
			t.Errorf("org1 user event %d not delivered once to each org1 socket", id)
		}
	}
	for _, id := range org2IDs {
		if x.b2.counts()[id] != 1 {
			t.Errorf("org2 user event %d not delivered once to the org2 socket", id)
		}
	}
}

func TestUnboundAndClosedSocketsReceiveNothingMore(t *testing.T) {
	x := setupTwoInstances(t)
	unbound := &recorder{name: "unbound"}
	closed := &recorder{name: "closed"}
	ub := x.b.Register(unbound)
	ub.Bind(backplane.Session, x.s2.String())
	ub.BindUser(x.org1, "ctx:carol")
	cb := x.b.Register(closed)
	cb.Bind(backplane.Session, x.s2.String())

	first, err := x.a.Publish(context.Background(), x.a.pool, x.org1, backplane.Target{Type: backplane.Session, ID: x.s2.String()}, payload("s", 1))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the first event on both sockets", func() bool { return unbound.has(first) && closed.has(first) })

	ub.Unbind(backplane.Session, x.s2.String())
	cb.Close()
	cb.Bind(backplane.Session, x.s2.String()) // binding a closed socket does nothing
	second, err := x.a.Publish(context.Background(), x.a.pool, x.org1, backplane.Target{Type: backplane.Session, ID: x.s2.String()}, payload("s", 2))
	if err != nil {
		t.Fatal(err)
	}
	still, err := x.a.Publish(context.Background(), x.a.pool, x.org1, backplane.Target{Type: backplane.User, ID: "ctx:carol"}, payload("u", 3))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the second event on b1", func() bool { return x.b1.has(second) })
	testkit.Eventually(t, "the user event on the unbound socket", func() bool { return unbound.has(still) })
	if unbound.has(second) {
		t.Error("a socket received a session event after unbinding the session")
	}
	if closed.has(second) || closed.has(still) {
		t.Error("a closed socket received an event")
	}
}

func TestPublishRefusesWhatItCannotAddress(t *testing.T) {
	h, err := backplane.New(dbtest.NewPool(t), backplane.Options{InstanceID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	org := uuid.New()
	cases := []struct {
		name   string
		target backplane.Target
		event  string
		want   error
	}{
		{"unknown target type", backplane.Target{Type: "room", ID: "x"}, `{"type":"a"}`, backplane.ErrInvalidTarget},
		{"empty id", backplane.Target{Type: backplane.Connection}, `{"type":"a"}`, backplane.ErrInvalidTarget},
		{"session id that is not a UUID", backplane.Target{Type: backplane.Session, ID: "s-1"}, `{"type":"a"}`, backplane.ErrInvalidTarget},
		{"org target other than the event's org", backplane.Target{Type: backplane.Org, ID: uuid.NewString()}, `{"type":"a"}`, backplane.ErrInvalidTarget},
		{"event that is an array", backplane.Target{Type: backplane.Org, ID: org.String()}, `[1]`, backplane.ErrInvalidEvent},
		{"event that is not JSON", backplane.Target{Type: backplane.Org, ID: org.String()}, `{"type":`, backplane.ErrInvalidEvent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A refused publish never reaches the database, so no transaction is needed.
			_, err := h.Publish(context.Background(), nil, org, c.target, json.RawMessage(c.event))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// decisions is an approval.Deliverer that records.
type decisions struct {
	mu  sync.Mutex
	got []approval.Decision
}

func (d *decisions) Deliver(_ context.Context, dec approval.Decision) {
	d.mu.Lock()
	d.got = append(d.got, dec)
	d.mu.Unlock()
}

func (d *decisions) all() []approval.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]approval.Decision(nil), d.got...)
}

func TestApprovalDecisionReachesOnlyTheOwningInstanceAndNoSocket(t *testing.T) {
	x := setupTwoInstances(t)
	onA, onB := &decisions{}, &decisions{}
	x.a.DeliverDecisions(onA)
	x.b.DeliverDecisions(onB)

	ctx := context.Background()
	// Decided on b, in the transaction of the (here omitted) conditional update.
	want := approval.Decision{ApprovalID: uuid.New(), OrgID: x.org1, Outcome: approval.Rejected, Via: "admin", Reason: "not today"}
	tx, err := x.b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	decided, err := x.b.PublishDecision(ctx, tx, x.a.id, want)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A decision whose transaction rolls back never leaves.
	tx, err = x.b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.b.PublishDecision(ctx, tx, x.a.id, approval.Decision{ApprovalID: uuid.New(), OrgID: x.org1, Outcome: approval.Approved}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	x.fence(t)

	if got := onA.all(); len(got) != 1 || got[0] != want {
		t.Errorf("owning instance got %+v, want exactly %+v", got, want)
	}
	if got := onB.all(); len(got) != 0 {
		t.Errorf("the deciding instance got decisions meant for another: %+v", got)
	}
	if x.a1.has(decided) {
		t.Error("a socket of the owning instance received the internal decision event")
	}
}

func TestFrameAddsATimestampOnlyWhenAbsent(t *testing.T) {
	x := setupTwoInstances(t)
	cases := []struct {
		name, event string
		wantTS      func(created int64) any
	}{
		{"absent: the event's creation time in milliseconds", `{"type":"notice"}`, func(c int64) any { return float64(c) }},
		{"present: kept as published", `{"type":"notice","timestamp":42}`, func(int64) any { return float64(42) }},
		{"empty object", `{}`, func(c int64) any { return float64(c) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := x.a.Publish(context.Background(), x.a.pool, x.org1, backplane.Target{Type: backplane.Connection, ID: "conn-a1"}, json.RawMessage(c.event))
			if err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, "the event", func() bool { return x.a1.has(id) })
			for _, ev := range x.a1.snapshot() {
				if ev.ID != id {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal(ev.Frame, &m); err != nil {
					t.Fatalf("frame %s: %v", ev.Frame, err)
				}
				if m["timestamp"] != c.wantTS(ev.CreatedAt.UnixMilli()) {
					t.Errorf("frame %s", ev.Frame)
				}
			}
		})
	}
}
