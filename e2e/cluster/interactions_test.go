package cluster_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// carded is a turn parked on an identity intake.
type carded struct {
	*widget
	r, interactionID string
}

const intakeArgs = `{"fields":["name","email",{"key":"phone","required":false}],"reason":"to follow up"}`

// raiseCard opens a widget declaring identity_form on srv (as visitor tok) and sends a
// message whose turn parks on a card; after is what the gateway answers once it resumes.
func (c *cluster) raiseCard(srv *servetest.Server, tok string, agentID uuid.UUID, after ...llmtest.Response) *carded {
	c.t.Helper()
	c.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "request_identity_intake", Arguments: intakeArgs}))
	c.gw.Push(after...)
	w := openWidget(c.t, srv, tok, agentID, map[string]any{"supports": []string{"identity_form"}})
	k := &carded{widget: w, r: w.send(c.t, "Please follow up with me.")}
	ev := w.Next()
	if ev.Type() != "interaction_required" || ev.RequestID() != k.r {
		c.t.Fatalf("expected the card: %s", ev.Raw)
	}
	k.interactionID = wstest.Decode[wstest.Wrapped[wstest.InteractionRequired]](c.t, ev).Data.Data.InteractionID
	if call := w.Next(); call.Type() != "stream_chunk" {
		c.t.Fatalf("expected the held-back toolCall: %s", call.Raw)
	}
	return k
}

func (w *widget) submitCard(sessionID, interactionID string, values map[string]any) wstest.Event {
	return w.Request(map[string]any{"action": "submit_interaction", "requestId": "si", "sessionId": sessionID,
		"interactionId": interactionID, "values": values})
}

func (c *cluster) interactionStatus(id string) string {
	c.t.Helper()
	var s string
	if err := c.pool.QueryRow(ctx(), `SELECT status FROM pending_interactions WHERE id = $1`, id).Scan(&s); err != nil {
		c.t.Fatal(err)
	}
	return s
}

// TestChecklist40ASubmitOnAnotherInstanceResumesTheTurn pins PROTOCOL-1.1 §11 line 40 and
// §9: a card parked on A is answered from B, by the visitor's other connection; the turn
// completes on A's socket, the host effect is written once, and a second submit is refused.
// Deleting the agent on B ends a card parked on A with the no-response payload.
func TestChecklist40ASubmitOnAnotherInstanceResumesTheTurn(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a, b := c.start(nil), c.start(nil)
	dana := visitorToken(t, "dana")

	k := c.raiseCard(a, dana, c.agent.ID, llmtest.Text("Thanks, Dana."))
	other := openWidget(t, b, dana, c.agent.ID, nil) // a second tab of the same visitor, on B
	values := map[string]any{"name": "Dana", "email": "Dana@Example.ORG", "phone": "555 010 0199"}
	ack := wstest.Decode[wstest.InteractionAck](t, other.submitCard(k.session, k.interactionID, values))
	want := wstest.Envelope[wstest.InteractionAck]{Type: "immediate_response", RequestID: "si", Status: 200, Message: "Interaction submitted",
		Data: wstest.InteractionAck{SessionID: k.session, InteractionID: k.interactionID, Kind: "identity_intake",
			Values: map[string]any{"name": "Dana", "email": "Dana@example.org", "phone": "+15550100199"}}}
	if diff := cmp.Diff(want, ack); diff != "" {
		t.Fatalf("ack on B (-want +got):\n%s", diff)
	}
	evs := k.Terminal(k.r)
	wantResult := wstest.ToolResult{Name: "request_identity_intake",
		Result: `{"status":"submitted","values":{"name":"Dana","email":"Dana@example.org","phone":"+15550100199"}}`}
	if diff := cmp.Diff(wantResult, toolResult(t, evs)); diff != "" {
		t.Fatalf("toolResult on A (-want +got):\n%s", diff)
	}
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" || last.RequestID() != k.r {
		t.Fatalf("terminal on A: %s", last.Raw)
	}
	if s := c.interactionStatus(k.interactionID); s != "submitted" {
		t.Fatalf("status %s", s)
	}
	var n int
	if err := c.pool.QueryRow(ctx(), `SELECT count(*) FROM sessions s JOIN participants p ON p.id = s.user_participant_id
		WHERE s.id = $1 AND p.name = 'Dana' AND s.contact_email = 'Dana@example.org' AND s.contact_phone = '+15550100199'`, k.session).Scan(&n); err != nil || n != 1 {
		t.Fatalf("host effect: %d %v", n, err)
	}
	if ev := other.submitCard(k.session, k.interactionID, values); ev.Code() != "NO_PENDING_INTERACTION" {
		t.Fatalf("second submit: %s", ev.Raw)
	}

	doomed := c.fx.Agent(c.org, fixture.Agent{})
	k = c.raiseCard(a, "", doomed.ID, llmtest.Text("I will not ask again."))
	if r := call(t, b, "DELETE", "/admin/agents/"+doomed.ID.String(), adminToken(t, acme), nil); r.status != 204 {
		t.Fatalf("delete on B: %d %s", r.status, r.raw)
	}
	evs = k.Terminal(k.r)
	wantResult = wstest.ToolResult{Name: "request_identity_intake",
		Result: `{"status":"no_response","message":"The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant."}`}
	if diff := cmp.Diff(wantResult, toolResult(t, evs)); diff != "" {
		t.Fatalf("toolResult after the deletion (-want +got):\n%s", diff)
	}
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" || c.interactionStatus(k.interactionID) != "cancelled" {
		t.Fatalf("terminal %s, status %s", last.Raw, c.interactionStatus(k.interactionID))
	}
}

// TestACardOfAKilledInstanceExpires: A stops heartbeating without draining (as if killed);
// once its heartbeat is 15 s old, a submit on B finds the turn gone and gets
// NO_PENDING_INTERACTION "…is no longer active", the card is recorded expired and nothing
// is written; a card nobody answers is recorded expired by the instances' sweepers.
func TestACardOfAKilledInstanceExpires(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	// A's parked turns outlive the test's submits; a short drain ends them at cleanup.
	a := c.start(map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "1s"})
	b := c.start(nil)
	dana := visitorToken(t, "dana")
	bySubmit := c.raiseCard(a, dana, c.agent.ID)
	bySweeper := c.raiseCard(a, dana, c.agent.ID)

	a.StopHeartbeat()
	if _, err := c.pool.Exec(ctx(), `UPDATE instances SET heartbeat_at = now() - interval '16 seconds' WHERE id = $1`, a.InstanceID()); err != nil {
		t.Fatal(err)
	}
	other := openWidget(t, b, dana, c.agent.ID, nil)
	ev := other.submitCard(bySubmit.session, bySubmit.interactionID, map[string]any{"name": "Mallory", "email": "m@example.org"})
	// Whether B's submit or a sweeper records the expiry first, the card is gone.
	if ev.Code() != "NO_PENDING_INTERACTION" || ev.RequestID() != "si" {
		t.Fatalf("submit for a dead instance: %s", ev.Raw)
	}
	if s := c.interactionStatus(bySubmit.interactionID); s != "expired" {
		t.Fatalf("card %s", s)
	}
	var n int
	if err := c.pool.QueryRow(ctx(), `SELECT count(*) FROM participants WHERE name = 'Mallory'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a refused submit wrote the contact: %d %v", n, err)
	}
	testkit.Eventually(t, "a sweeper expires the unanswered card", func() bool { return c.interactionStatus(bySweeper.interactionID) == "expired" })
	if n := metric(t, a, "switchboard_interactions_expired_total") + metric(t, b, "switchboard_interactions_expired_total"); n < 1 {
		t.Fatalf("interactions expired by the sweepers: %v", n)
	}
}
