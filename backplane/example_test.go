package backplane_test

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/backplane"
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

// How a process wires the hub: one per process, started before it serves and closed
// after its sockets, before its pool.
func Example() {
	ctx := context.Background()
	pool, _ := pgxpool.New(ctx, "postgres://…")
	instanceID := uuid.New() // instance.Instance.ID
	var engine approval.Deliverer

	hub, _ := backplane.New(pool, backplane.Options{InstanceID: instanceID, Registerer: prometheus.DefaultRegisterer})
	go hub.Run(ctx) //nolint:errcheck // owned by the process; hub.Close stops it
	defer hub.Close()
	hub.DeliverDecisions(engine) // approvals decided anywhere reach the turns parked here
	// /readyz: api.Deps{ListenerUp: hub.Up}

	// A socket: registered on connect, bound as it learns who it is and what it opens.
	orgID, sessionID := uuid.New(), uuid.New()
	b := hub.Register(&socket{out: make(chan json.RawMessage, 64)})
	defer b.Close()
	b.Bind(backplane.Connection, "conn-id")
	b.Bind(backplane.Org, orgID.String())
	b.BindUser(orgID, "jwt:user-sub")
	b.Bind(backplane.Session, sessionID.String()) // and its conversation and agent

	// POST /admin/publish, in the transaction that writes its audit row.
	_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := hub.Publish(ctx, tx, orgID, backplane.Target{Type: backplane.Session, ID: sessionID.String()},
			json.RawMessage(`{"type":"notice","data":{"text":"An agent will join shortly."}}`))
		return err
	})
}
