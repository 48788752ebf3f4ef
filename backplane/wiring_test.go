package backplane_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// socket stands for a /ws connection: Deliver queues the frame for its writer goroutine
// and never blocks.
type socket struct{ out chan json.RawMessage }

func (s *socket) Deliver(ev backplane.Event) {
	select {
	case s.out <- ev.Frame:
	default: // the writer is behind: drop, as for any slow consumer
	}
}

// TestHowAProcessWiresTheHub is the package's walkthrough, run: one hub per process,
// started before it serves and closed after its sockets, before its pool; a socket
// registered on connect and bound as it learns who it is; an admin publish, in the
// transaction that writes its audit row, reaching it; an approval decision reaching the
// engine of the instance that owns the parked turn.
func TestHowAProcessWiresTheHub(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	instanceID := uuid.New() // instance.Instance.ID
	engine := &decisions{}   // the turn engine

	hub, err := backplane.New(pool, backplane.Options{InstanceID: instanceID, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- hub.Run(ctx) }() // owned by the process; hub.Close stops it
	defer func() {
		hub.Close()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	hub.DeliverDecisions(engine) // approvals decided anywhere reach the turns parked here
	// /readyz: api.Deps{ListenerUp: hub.Up}
	testkit.Eventually(t, "the listener to come up", hub.Up)

	// A socket: registered on connect, bound as it learns who it is and what it opens.
	orgID, sessionID := fixture.New(t, pool).Org(fixture.Org{Name: "Acme"}).ID, uuid.New()
	sock := &socket{out: make(chan json.RawMessage, 64)}
	b := hub.Register(sock)
	defer b.Close()
	b.Bind(backplane.Connection, "conn-id")
	b.Bind(backplane.Org, orgID.String())
	b.BindUser(orgID, "jwt:user-sub")
	b.Bind(backplane.Session, sessionID.String()) // and its conversation and agent

	// POST /admin/publish, in the transaction that writes its audit row.
	notice := json.RawMessage(`{"type":"notice","data":{"text":"An agent will join shortly."}}`)
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := hub.Publish(ctx, tx, orgID, backplane.Target{Type: backplane.Session, ID: sessionID.String()}, notice)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the notice on the socket", func() bool { return len(sock.out) > 0 })
	type noticeFrame struct {
		Type string `json:"type"`
		Data struct {
			Text string `json:"text"`
		} `json:"data"`
		Timestamp int64 `json:"timestamp"` // stamped on delivery
	}
	got := testkit.DecodeJSON[noticeFrame](t, <-sock.out)
	want := noticeFrame{Type: "notice", Timestamp: got.Timestamp}
	want.Data.Text = "An agent will join shortly."
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("frame on the socket (-want +got):\n%s", diff)
	}
	if got.Timestamp <= 0 {
		t.Fatalf("frame timestamp %d", got.Timestamp)
	}

	// An approval decided (on any instance) for a turn parked on this one.
	d := approval.Decision{ApprovalID: uuid.New(), OrgID: orgID, Outcome: approval.Approved, Via: "admin"}
	if _, err := hub.PublishDecision(ctx, pool, instanceID, d); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the decision at the engine", func() bool { return len(engine.all()) > 0 })
	if diff := cmp.Diff([]approval.Decision{d}, engine.all()); diff != "" {
		t.Fatalf("decisions delivered (-want +got):\n%s", diff)
	}
	if len(sock.out) != 0 {
		t.Fatalf("the decision reached the socket: %s", <-sock.out)
	}
}
