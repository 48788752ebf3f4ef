package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/store"
)

// park writes a pending identity intake of the world's session owned by instance.
func (w *turnWorld) parkCard(t *testing.T, instance uuid.UUID, expires time.Duration) uuid.UUID {
	t.Helper()
	id := uuid.New()
	err := w.st.CreateInteraction(w.ctx, store.NewInteraction{
		ID: id, OrgID: w.org, SessionID: w.sessionID, ConversationID: w.conv.ID, AgentID: w.agent.ID, InstanceID: instance,
		RequestID: "r-1", Kind: interaction.IdentityIntake, Spec: json.RawMessage(`{"fields":[{"key":"email","required":true}]}`),
		Reason: "to help you better", ExpiresAt: time.Now().Add(expires),
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *turnWorld) liveInstance(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.New()
	w.exec(t, `INSERT INTO instances (id) VALUES ($1)`, id)
	return id
}

func (w *turnWorld) cardStatus(t *testing.T, id uuid.UUID) string {
	t.Helper()
	row, err := w.st.Interaction(w.ctx, w.org, id)
	if err != nil {
		t.Fatal(err)
	}
	return row.Status
}

func TestAnswerInteractionWritesTheContactOnceAndOnlyFromPending(t *testing.T) {
	w := newTurnWorld(t)
	card := w.parkCard(t, w.liveInstance(t), time.Minute)
	pending, err := w.st.PendingInteractionsForSession(w.ctx, w.org, w.sessionID)
	if err != nil || len(pending) != 1 || pending[0].ID != card {
		t.Fatalf("pending %v %v", pending, err)
	}
	if other, err := w.st.PendingInteractionsForSession(w.ctx, w.otherOrgID, w.sessionID); err != nil || len(other) != 0 {
		t.Fatalf("another org sees the card: %v %v", other, err)
	}
	values := json.RawMessage(`{"name":"Dana","email":"Dana@example.com","phone":"+15550100199"}`)
	answer := store.InteractionAnswer{Values: values, Contact: store.Contact{Name: "Dana", Email: "Dana@example.com", Phone: "+15550100199"}}
	row, err := w.st.AnswerInteraction(w.ctx, w.org, card, answer, false)
	if err != nil || row.Status != "submitted" || string(interaction.CanonicalValues(interaction.IdentityIntake, row.SubmittedValues)) != string(values) || row.DecidedAt == nil {
		t.Fatalf("answer: %+v %v", row, err)
	}
	var name, email, phone, participant string
	if err := w.pool.QueryRow(w.ctx, `SELECT s.user_name, s.contact_email, s.contact_phone, p.name FROM sessions s
		JOIN participants p ON p.id = s.user_participant_id WHERE s.id = $1`, w.sessionID).Scan(&name, &email, &phone, &participant); err != nil {
		t.Fatal(err)
	}
	if name != "Dana" || email != "Dana@example.com" || phone != "+15550100199" || participant != "Dana" {
		t.Fatalf("contact %q %q %q %q", name, email, phone, participant)
	}
	// A second answer finds nothing pending and writes nothing.
	if _, err := w.st.AnswerInteraction(w.ctx, w.org, card, store.InteractionAnswer{Values: json.RawMessage(`{"email":"x@y.io"}`),
		Contact: store.Contact{Email: "x@y.io"}}, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second answer: %v", err)
	}
	if n := w.count(t, `SELECT count(*) FROM sessions WHERE id = $1 AND contact_email = 'Dana@example.com'`, w.sessionID); n != 1 {
		t.Fatal("the second answer wrote the contact")
	}
	if pending, _ := w.st.PendingInteractionsForSession(w.ctx, w.org, w.sessionID); len(pending) != 0 {
		t.Fatal("an answered card is still pending")
	}
}

func TestADeclineWritesNoContactAndAnotherOrgCannotAnswer(t *testing.T) {
	w := newTurnWorld(t)
	card := w.parkCard(t, w.liveInstance(t), time.Minute)
	if _, err := w.st.AnswerInteraction(w.ctx, w.otherOrgID, card, store.InteractionAnswer{Declined: true}, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign answer: %v", err)
	}
	row, err := w.st.AnswerInteraction(w.ctx, w.org, card, store.InteractionAnswer{Declined: true, Contact: store.Contact{Name: "ignored"}}, false)
	if err != nil || row.Status != "declined" || row.SubmittedValues != nil {
		t.Fatalf("decline: %+v %v", row, err)
	}
	if n := w.count(t, `SELECT count(*) FROM participants WHERE name = 'ignored'`); n != 0 {
		t.Fatal("a decline wrote a name")
	}
}

func TestAnAnswerForADeadOwnerOrAPassedDeadlineExpiresTheCard(t *testing.T) {
	w := newTurnWorld(t)
	dead := w.liveInstance(t)
	w.exec(t, `UPDATE instances SET heartbeat_at = now() - interval '16 seconds' WHERE id = $1`, dead)
	orphan := w.parkCard(t, dead, time.Minute)
	late := w.parkCard(t, w.liveInstance(t), -time.Second)
	for _, id := range []uuid.UUID{orphan, late} {
		_, err := w.st.AnswerInteraction(w.ctx, w.org, id, store.InteractionAnswer{Declined: true}, false)
		if !errors.Is(err, store.ErrInteractionOrphaned) {
			t.Fatalf("answer: %v", err)
		}
		if s := w.cardStatus(t, id); s != "expired" {
			t.Fatalf("status %s", s)
		}
	}
}

func TestFinishCancelForAgentAndTheSweeper(t *testing.T) {
	w := newTurnWorld(t)
	live := w.liveInstance(t)
	finished := w.parkCard(t, live, time.Minute)
	if ok, err := w.st.FinishInteraction(w.ctx, w.org, finished, "cancelled"); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if ok, err := w.st.FinishInteraction(w.ctx, w.org, finished, "expired"); err != nil || ok {
		t.Fatalf("finish twice: %v %v", ok, err)
	}

	deleted := w.parkCard(t, live, time.Minute)
	if err := w.st.DeleteAgent(w.ctx, w.org, w.agent.ID, store.Meta{Actor: store.SystemCLI}); err != nil {
		t.Fatal(err)
	}
	if s := w.cardStatus(t, deleted); s != "cancelled" {
		t.Fatalf("card of a deleted agent: %s", s)
	}

	dead := w.liveInstance(t)
	stale := w.parkCard(t, dead, time.Minute)
	overdue := w.parkCard(t, live, -time.Second)
	fresh := w.parkCard(t, live, time.Minute)
	w.exec(t, `UPDATE instances SET stopped_at = now() WHERE id = $1`, dead)
	swept, err := w.st.ExpireStaleInteractions(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uuid.UUID]bool{}
	for _, s := range swept {
		got[s.ID] = s.OrgID == w.org && s.SessionID == w.sessionID
	}
	if len(got) != 2 || !got[stale] || !got[overdue] {
		t.Fatalf("swept %+v", swept)
	}
	if s := w.cardStatus(t, fresh); s != "pending" {
		t.Fatalf("a live card was swept: %s", s)
	}
}

func TestSetSessionContactKeepsWhatIsNotGiven(t *testing.T) {
	w := newTurnWorld(t)
	if err := w.st.SetSessionContact(w.ctx, w.org, w.sessionID, store.Contact{Phone: "+15550100199"}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.SetSessionContact(w.ctx, w.org, w.sessionID, store.Contact{Email: "a@b.io"}); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, `SELECT count(*) FROM sessions WHERE id = $1 AND contact_phone = '+15550100199' AND contact_email = 'a@b.io'`, w.sessionID); n != 1 {
		t.Fatal("a later write cleared an earlier value")
	}
	if err := w.st.SetSessionContact(w.ctx, w.otherOrgID, w.sessionID, store.Contact{Email: "evil@x.io"}); err == nil {
		t.Fatal("another org wrote the contact")
	}
}
