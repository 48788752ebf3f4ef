package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// emitted is an event row with the delivery jobs queued for it.
type emitted struct {
	Type       string
	Data       map[string]any
	Deliveries int // delivery rows
	Jobs       int // River jobs naming those deliveries
}

// events reads the org's events, oldest first, with their deliveries and jobs.
func (w *turnWorld) events(t *testing.T, org uuid.UUID) []emitted {
	t.Helper()
	rows, err := w.pool.Query(w.ctx, `
		SELECT ev.type, ev.data,
			(SELECT count(*) FROM webhook_deliveries d WHERE d.org_id = ev.org_id AND d.event_id = ev.id),
			(SELECT count(*) FROM river_job j JOIN webhook_deliveries d
			   ON j.args->>'delivery_id' = d.id::text AND j.args->>'org_id' = d.org_id::text
			 WHERE d.org_id = ev.org_id AND d.event_id = ev.id AND j.kind = 'webhook_delivery'
			   AND j.queue = 'webhooks' AND j.state = 'available' AND j.max_attempts = $2)
		FROM webhook_events ev WHERE ev.org_id = $1 ORDER BY ev.created_at, ev.type`, org, events.DeliveryMaxAttempts)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []emitted{}
	for rows.Next() {
		var e emitted
		var raw json.RawMessage
		if err := rows.Scan(&e.Type, &raw, &e.Deliveries, &e.Jobs); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &e.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *turnWorld) subscribe(types ...events.Type) db.WebhookEndpoint {
	names := make([]string, len(types))
	for i, ty := range types {
		names[i] = string(ty)
	}
	return w.fx.Webhook(w.org, fixture.Webhook{URL: "https://hooks.example.com/" + uuid.NewString(), Events: names})
}

func TestEmitWritesNothingWhenItsTransactionRollsBack(t *testing.T) {
	w := newTurnWorld(t)
	w.subscribe(events.TurnFailedType)
	boom := errors.New("the reported write failed")
	err := w.st.InTx(w.ctx, func(tx *store.Tx) error {
		if err := tx.Emit(w.ctx, w.org, events.TurnFailed{ConversationID: w.conv.ID, Error: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the callback's error", err)
	}
	if got := w.events(t, w.org); len(got) != 0 {
		t.Fatalf("a rolled-back emit left events: %+v", got)
	}
	if n := w.count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook_delivery'`); n != 0 {
		t.Fatalf("a rolled-back emit left %d delivery jobs", n)
	}
	if n := w.count(t, `SELECT count(*) FROM webhook_deliveries WHERE org_id = $1`, w.org); n != 0 {
		t.Fatalf("a rolled-back emit left %d deliveries", n)
	}

	if err := w.st.InTx(w.ctx, func(tx *store.Tx) error {
		return tx.Emit(w.ctx, w.org, events.TurnFailed{ConversationID: w.conv.ID, Error: "x"})
	}); err != nil {
		t.Fatal(err)
	}
	want := []emitted{{Type: "turn.failed", Deliveries: 1, Jobs: 1, Data: map[string]any{
		"conversationId": w.conv.ID.String(), "agentId": uuid.Nil.String(), "sessionId": uuid.Nil.String(),
		"requestId": "", "error": "x",
	}}}
	if d := cmp.Diff(want, w.events(t, w.org)); d != "" {
		t.Fatalf("committed emit (-want +got):\n%s", d)
	}
}

func TestEmitFansOutToEveryEnabledSubscriberOfTheOrgOnly(t *testing.T) {
	w := newTurnWorld(t)
	w.subscribe(events.TurnFailedType, events.MessageCreatedType)
	w.subscribe(events.TurnFailedType)
	w.subscribe(events.MessageCreatedType)                                                                               // another type
	w.fx.Webhook(w.org, fixture.Webhook{URL: "https://x.example.com/", Events: []string{"turn.failed"}, Disabled: true}) // disabled
	w.fx.Webhook(w.otherOrgID, fixture.Webhook{URL: "https://y.example.com/", Events: []string{"turn.failed"}})          // other org

	if err := w.st.Emit(w.ctx, w.org, events.TurnFailed{ConversationID: w.conv.ID}); err != nil {
		t.Fatal(err)
	}
	got := w.events(t, w.org)
	if len(got) != 1 || got[0].Deliveries != 2 || got[0].Jobs != 2 {
		t.Fatalf("events = %+v, want one turn.failed with 2 deliveries and 2 jobs", got)
	}
	if other := w.events(t, w.otherOrgID); len(other) != 0 {
		t.Fatalf("the other org got %+v", other)
	}

	// Nobody subscribes to approval.requested: nothing is written at all.
	if err := w.st.Emit(w.ctx, w.org, events.ApprovalRequested{ConversationID: w.conv.ID}); err != nil {
		t.Fatal(err)
	}
	if got := w.events(t, w.org); len(got) != 1 {
		t.Fatalf("an unsubscribed event was written: %+v", got)
	}
}

func TestBudgetReachedIsEmittedOncePerOrgAndMonth(t *testing.T) {
	w := newTurnWorld(t)
	w.subscribe(events.BudgetReachedType)
	for _, month := range []string{"2026-11", "2026-11", "2026-12"} {
		if err := w.st.Emit(w.ctx, w.org, events.BudgetReached{Month: month, Budget: 10, UsedTokens: 12}); err != nil {
			t.Fatal(err)
		}
	}
	var months []any
	for _, e := range w.events(t, w.org) {
		months = append(months, e.Data["month"])
	}
	if d := cmp.Diff([]any{"2026-11", "2026-12"}, months); d != "" {
		t.Fatalf("budget.reached months (-want +got):\n%s", d)
	}
}

// Every write that reports something emits its event in its own transaction.
func TestTurnWritesEmitTheirEvents(t *testing.T) {
	w := newTurnWorld(t)
	w.subscribe(events.Types...)
	instanceID := uuid.New()
	if err := q.InstanceRegister(w.ctx, w.pool, db.InstanceRegisterParams{ID: instanceID, Hostname: "h", Version: "v"}); err != nil {
		t.Fatal(err)
	}

	fresh, err := w.st.CreateWidgetSession(w.ctx, store.NewWidgetSession{
		OrgID: w.org, AgentID: w.agent.ID, AgentName: "Support", UserName: "Visitor",
		ResumeTokenHash: []byte(uuid.NewString()), ResumeTokenExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A resume is not a new conversation.
	if _, err := w.st.CreateWidgetSession(w.ctx, store.NewWidgetSession{
		OrgID: w.org, AgentID: w.agent.ID, AgentName: "Support", UserName: "Visitor", ResumeConversationID: fresh.ConversationID,
		ResumeTokenHash: []byte(uuid.NewString()), ResumeTokenExpiresAt: time.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.InsertUserMessage(w.ctx, w.org, w.conv.ID, w.user, "hello", "r-1"); err != nil {
		t.Fatal(err)
	}
	replyID, err := w.record(store.TurnRecord{Outcome: "completed", Reply: "hi there", CalledGateway: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.record(store.TurnRecord{Outcome: "error", Failure: "agent turn failed: model gateway timed out"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.record(store.TurnRecord{Outcome: "cancelled", CalledGateway: true}); err != nil {
		t.Fatal(err)
	}
	approvalID := uuid.New()
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := w.st.CreateApproval(w.ctx, store.NewApproval{
		ID: approvalID, OrgID: w.org, SessionID: w.sessionID, ConversationID: w.conv.ID, AgentID: w.agent.ID,
		InstanceID: instanceID, RequestID: "r-2", ToolName: "create_ticket", Arguments: json.RawMessage(`{"a":1}`), ExpiresAt: expires,
	}); err != nil {
		t.Fatal(err)
	}
	if err := q.InstanceHeartbeat(w.ctx, w.pool, instanceID); err != nil {
		t.Fatal(err)
	}
	if err := w.st.DecideApprovalByWidget(w.ctx, w.org, approvalID, approval.Approved, false); err != nil {
		t.Fatal(err)
	}

	var visitorID string
	if err := w.pool.QueryRow(w.ctx, `SELECT id::text FROM messages WHERE org_id = $1 AND direction = 'inbound' AND text = 'hello'`, w.org).Scan(&visitorID); err != nil {
		t.Fatal(err)
	}
	conv, agentID, sess := w.conv.ID.String(), w.agent.ID.String(), w.sessionID.String()
	want := []emitted{
		{Type: "conversation.created", Data: map[string]any{"conversationId": fresh.ConversationID.String(), "agentId": agentID,
			"sessionId": fresh.SessionID.String(), "externalUserId": nil, "metadata": nil}},
		{Type: "message.created", Data: map[string]any{"conversationId": conv, "messageId": visitorID, "role": "visitor",
			"text": "hello", "requestId": "r-1"}},
		{Type: "message.created", Data: map[string]any{"conversationId": conv, "messageId": replyID.String(), "role": "assistant",
			"text": "hi there", "requestId": "r-1"}},
		{Type: "turn.failed", Data: map[string]any{"conversationId": conv, "agentId": agentID, "sessionId": sess,
			"requestId": "r-1", "error": "agent turn failed: model gateway timed out"}},
		{Type: "approval.requested", Data: map[string]any{"approvalId": approvalID.String(), "conversationId": conv,
			"agentId": agentID, "sessionId": sess, "requestId": "r-2", "toolName": "create_ticket",
			"arguments": map[string]any{"a": float64(1)}, "expiresAt": "2030-01-02T03:04:05Z"}},
		{Type: "approval.decided", Data: map[string]any{"approvalId": approvalID.String(), "conversationId": conv,
			"agentId": agentID, "toolName": "create_ticket", "status": "approved", "decidedVia": "widget",
			"decidedBy": nil, "reason": nil}},
	}
	for i := range want {
		want[i].Deliveries, want[i].Jobs = 1, 1
	}
	if d := cmp.Diff(want, w.events(t, w.org)); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
}

func TestDeletingAConversationDeletesItsEvents(t *testing.T) {
	w := newTurnWorld(t)
	w.subscribe(events.TurnFailedType, events.BudgetReachedType)
	if err := w.st.Emit(w.ctx, w.org, events.TurnFailed{ConversationID: w.conv.ID}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.Emit(w.ctx, w.org, events.BudgetReached{Month: "2026-12"}); err != nil {
		t.Fatal(err)
	}
	w.exec(t, `DELETE FROM conversations WHERE org_id = $1 AND id = $2`, w.org, w.conv.ID)
	got := w.events(t, w.org)
	if len(got) != 1 || got[0].Type != "budget.reached" {
		t.Fatalf("events after the conversation's deletion = %+v, want only budget.reached", got)
	}
	if n := w.count(t, `SELECT count(*) FROM webhook_deliveries WHERE org_id = $1`, w.org); n != 1 {
		t.Fatalf("%d deliveries left, want budget.reached's one", n)
	}
}
