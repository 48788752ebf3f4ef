package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/interaction"
)

// The cards a turn parks on (PROTOCOL-1.1 §7.9, §8, §9): written by the turn, answered by a
// conditional update from any instance, the answer published to the owning instance in the
// same transaction, like approvals (approvals.go).

// NewInteraction is a park on a card about to be written.
type NewInteraction struct {
	ID, OrgID, SessionID, ConversationID, AgentID, InstanceID uuid.UUID
	RequestID                                                 string
	Kind                                                      interaction.Kind
	Spec                                                      json.RawMessage
	Reason                                                    string
	ExpiresAt                                                 time.Time
}

// CreateInteraction commits a pending interaction.
func (s *Store) CreateInteraction(ctx context.Context, n NewInteraction) error {
	err := queries.InteractionCreate(ctx, s.pool, db.InteractionCreateParams{
		ID: n.ID, OrgID: n.OrgID, SessionID: n.SessionID, ConversationID: n.ConversationID, AgentID: n.AgentID,
		RequestID: n.RequestID, Kind: string(n.Kind), Spec: n.Spec, Reason: n.Reason, InstanceID: n.InstanceID,
		ExpiresAt: n.ExpiresAt,
	})
	if err != nil {
		return fmt.Errorf("create interaction %s: %w", n.ID, err)
	}
	return nil
}

// Interaction reads one interaction.
func (s *Store) Interaction(ctx context.Context, orgID, id uuid.UUID) (db.PendingInteraction, error) {
	r, err := queries.InteractionGet(ctx, s.pool, db.InteractionGetParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.PendingInteraction{}, fmt.Errorf("load interaction %s: %w", id, Classify(err))
	}
	return r, nil
}

// PendingInteractionsForSession lists the session's pending, unexpired interactions, oldest
// first (PROTOCOL-1.1 §4.12 step 5).
func (s *Store) PendingInteractionsForSession(ctx context.Context, orgID, sessionID uuid.UUID) ([]db.PendingInteraction, error) {
	rows, err := queries.InteractionListPendingForSession(ctx, s.pool, db.InteractionListPendingForSessionParams{OrgID: orgID, SessionID: sessionID})
	if err != nil {
		return nil, fmt.Errorf("list pending interactions: %w", err)
	}
	return rows, nil
}

// FinishInteraction moves a still pending interaction to status (expired or cancelled);
// false when it was no longer pending.
func (s *Store) FinishInteraction(ctx context.Context, orgID, id uuid.UUID, status string) (bool, error) {
	_, err := queries.InteractionFinish(ctx, s.pool, db.InteractionFinishParams{Status: status, OrgID: orgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish interaction %s: %w", id, err)
	}
	return true, nil
}

// Contact is an identity intake's host effect (PROTOCOL-1.1 §7.12): each non-empty value
// replaces the session's.
type Contact struct {
	Name, Email, Phone string
}

func (c Contact) empty() bool { return c.Name == "" && c.Email == "" && c.Phone == "" }

// ContactOf is the host effect of canonical identity values.
func ContactOf(id *interaction.Identity) Contact {
	if id == nil {
		return Contact{}
	}
	return Contact{Name: id.Name, Email: id.Email, Phone: id.Phone}
}

// SetSessionContact writes a contact to a session (and a name to its user participant), in
// one transaction: the conversational path's host effect.
func (s *Store) SetSessionContact(ctx context.Context, orgID, sessionID uuid.UUID, c Contact) error {
	if c.empty() {
		return nil
	}
	err := s.InTx(ctx, func(tx *Tx) error { return setContact(ctx, tx, orgID, sessionID, c) })
	if err != nil {
		return fmt.Errorf("set session contact: %w", err)
	}
	return nil
}

func setContact(ctx context.Context, tx *Tx, orgID, sessionID uuid.UUID, c Contact) error {
	if c.empty() {
		return nil
	}
	user, err := queries.SessionSetContact(ctx, tx.pg, db.SessionSetContactParams{
		UserName: nonEmpty(c.Name), ContactEmail: nonEmpty(c.Email), ContactPhone: nonEmpty(c.Phone), OrgID: orgID, ID: sessionID,
	})
	if err != nil {
		return Classify(err)
	}
	if c.Name == "" {
		return nil
	}
	return queries.ParticipantSetName(ctx, tx.pg, db.ParticipantSetNameParams{Name: c.Name, OrgID: orgID, ID: user})
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InteractionAnswer is a visitor's answer to a card: declined, or canonical values (and, for
// an identity intake, the contact they set).
type InteractionAnswer struct {
	Declined bool
	Values   json.RawMessage
	Contact  Contact
}

// ErrInteractionOrphaned: the answer failed because the interaction's owning instance is
// gone (or its time ran out); the interaction is now recorded expired.
var ErrInteractionOrphaned = errors.New("interaction owner no longer live")

// InteractionPublisher publishes an answered card to the instance whose turn is parked on it
// (backplane.Hub.PublishInteraction), inside the transaction that answered it.
type InteractionPublisher interface {
	PublishInteraction(ctx context.Context, tx db.DBTX, owner uuid.UUID, a interaction.Answer) (int64, error)
}

func (s *Store) publishInteraction(ctx context.Context, tx *Tx, owner uuid.UUID, a interaction.Answer) error {
	p, ok := s.pub.(InteractionPublisher)
	if !ok {
		return nil
	}
	_, err := p.PublishInteraction(ctx, tx.pg, owner, a)
	return err
}

// AnswerInteraction is step 11 of submit_interaction (PROTOCOL-1.1 §4.12): one transaction,
// one conditional update from pending to submitted or declined, the host effect of a
// submitted identity intake, and, with publish (a turn parked on another instance), the
// answer's publication to that instance. Errors: ErrNotFound when the interaction was no
// longer pending, ErrInteractionOrphaned when its owner or its time was gone (it is then
// recorded expired, and that commits).
func (s *Store) AnswerInteraction(ctx context.Context, orgID, id uuid.UUID, a InteractionAnswer, publish bool) (db.PendingInteraction, error) {
	status, outcome, values := "submitted", interaction.Submitted, a.Values
	if a.Declined {
		status, outcome, values = "declined", interaction.Declined, nil
	}
	var row db.PendingInteraction
	var result error
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		row, err = queries.InteractionDecide(ctx, tx.pg, db.InteractionDecideParams{Status: status, SubmittedValues: values, OrgID: orgID, ID: id})
		if err == nil {
			if !a.Declined && row.Kind == string(interaction.IdentityIntake) {
				if err := setContact(ctx, tx, orgID, row.SessionID, a.Contact); err != nil {
					return err
				}
			}
			if publish {
				return s.publishInteraction(ctx, tx, row.InstanceID, interaction.Answer{InteractionID: row.ID, OrgID: orgID, Outcome: outcome})
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := queries.InteractionExpireIfOrphaned(ctx, tx.pg, db.InteractionExpireIfOrphanedParams{OrgID: orgID, ID: id}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		result = ErrInteractionOrphaned // committed: the expiry is recorded
		return nil
	})
	if err == nil {
		err = result
	}
	if err != nil {
		return db.PendingInteraction{}, fmt.Errorf("answer interaction %s: %w", id, err)
	}
	return row, nil
}

// cancelAgentInteractions records the pending interactions of a deleted agent cancelled and,
// in the same transaction, tells each owning instance (interaction.AgentDeleted).
func (s *Store) cancelAgentInteractions(ctx context.Context, tx *Tx, orgID, agentID uuid.UUID) error {
	cancelled, err := queries.InteractionCancelForAgent(ctx, tx.pg, db.InteractionCancelForAgentParams{OrgID: orgID, AgentID: agentID})
	if err != nil {
		return err
	}
	for _, c := range cancelled {
		a := interaction.Answer{InteractionID: c.ID, OrgID: orgID, Outcome: interaction.AgentDeleted}
		if err := s.publishInteraction(ctx, tx, c.InstanceID, a); err != nil {
			return err
		}
	}
	return nil
}

// StaleInteraction is a pending interaction the sweeper recorded expired.
type StaleInteraction struct {
	ID, OrgID, SessionID uuid.UUID
}

// ExpireStaleInteractions records as expired, across every org, each pending interaction
// whose deadline has passed or whose owning instance is no longer live (stopped, or no
// heartbeat for 15 s). It is idempotent, so every instance may run it at once.
func (s *Store) ExpireStaleInteractions(ctx context.Context) ([]StaleInteraction, error) {
	rows, err := queries.InteractionExpireStale(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("expire stale interactions: %w", err)
	}
	out := make([]StaleInteraction, len(rows))
	for i, r := range rows {
		out[i] = StaleInteraction{ID: r.ID, OrgID: r.OrgID, SessionID: r.SessionID}
	}
	return out, nil
}
