package ws

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/store"
)

// Rich interactions on the wire (PROTOCOL-1.1 §4.12, §5.12, §5.13).

const (
	codeNoPendingInteraction = "NO_PENDING_INTERACTION"
	codeInteractionMismatch  = "INTERACTION_MISMATCH"

	// maxValuesBytes bounds submit_interaction's values, serialized (PROTOCOL-1.1 §1.11).
	maxValuesBytes = 16384
)

type interactionAck struct {
	SessionID     string          `json:"sessionId"`
	InteractionID string          `json:"interactionId"`
	Kind          string          `json:"kind"`
	Values        json.RawMessage `json:"values,omitempty"`
	Declined      bool            `json:"declined,omitempty"`
}

type interactionInvalid struct {
	InteractionID string                   `json:"interactionId"`
	Kind          string                   `json:"kind"`
	Errors        []interaction.FieldError `json:"errors"`
	Message       string                   `json:"message"`
}

// submitInteraction is submit_interaction (PROTOCOL-1.1 §4.12), its steps in order. It is
// served while draining (§1.8). Every answer but the ack and the delivery leaves the turn
// parked (O13).
func (c *conn) submitInteraction(ctx context.Context, f *frame) error {
	if f.requestID == "" { // 1
		return unechoedError(codeValidation, "submit_interaction requires a 'requestId'")
	}
	sid, ok := f.str("sessionId") // 2
	if !ok {
		return newError(codeValidation, "submit_interaction requires a 'sessionId'")
	}
	iid, ok := f.str("interactionId") // 3
	if !ok {
		return newError(codeValidation, "submit_interaction requires an 'interactionId'")
	}
	values, hasValues := f.object("values") // 4
	if hasValues && len(values) > maxValuesBytes {
		return newError(codeValidation, "'values' must be at most 16384 bytes")
	}
	noPending := newError(codeNoPendingInteraction, "no interaction is awaiting submission for session '"+echo(sid)+"'")
	row, err := c.pendingInteraction(ctx, sid, iid, noPending) // 5, 6
	if err != nil {
		return err
	}
	if kind, ok := f.str("kind"); ok && kind != row.Kind { // 7
		return newError(codeInteractionMismatch, "the pending interaction is '"+row.Kind+"', not '"+echo(kind)+"'")
	}
	declined, _ := f.boolean("declined") // 8
	answer := store.InteractionAnswer{Declined: declined}
	if !declined {
		if !hasValues { // 9
			return newError(codeValidation, "submit_interaction requires 'values' (or 'declined': true)")
		}
		v := interaction.Validate(interaction.Kind(row.Kind), row.Spec, values) // 10
		if len(v.Errors) > 0 {
			c.send(wrappedEvent("interaction_invalid", f.requestID, 0, interactionInvalid{
				InteractionID: iid, Kind: row.Kind, Errors: v.Errors, Message: "Some fields need attention.",
			}))
			return nil
		}
		answer.Values, answer.Contact = v.Canonical, store.ContactOf(v.Identity)
	}
	// 11: the turn is parked here, or the store publishes the answer to its instance in the
	// deciding transaction.
	local := c.h.d.Hub == nil || c.h.d.Instance == nil || row.InstanceID == c.h.d.Instance.ID
	_, err = c.h.d.Store.AnswerInteraction(ctx, row.OrgID, row.ID, answer, !local)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return noPending
	case errors.Is(err, store.ErrInteractionOrphaned):
		return newError(codeNoPendingInteraction, "the turn awaiting an interaction for session '"+echo(sid)+"' is no longer active")
	case err != nil:
		return storageFailure(err)
	}
	// 12: the ack is queued before the answer can reach the turn (O12).
	ack := interactionAck{SessionID: sid, InteractionID: iid, Kind: row.Kind}
	msg, outcome := "Interaction submitted", interaction.Submitted
	if declined {
		ack.Declined, msg, outcome = true, "Interaction declined", interaction.Declined
	} else {
		ack.Values = answer.Values
	}
	c.send(immediateEvent(f.requestID, 200, msg, ack))
	if local { // 13
		c.h.interactions.DeliverInteraction(ctx, interaction.Answer{InteractionID: row.ID, OrgID: row.OrgID, Outcome: outcome})
	}
	return nil
}

// pendingInteraction is steps 5 and 6 of submit_interaction: the session must be readable and
// have a pending, unexpired interaction (noPending otherwise), and one of them must have the
// id iid, compared as a string (INTERACTION_MISMATCH otherwise).
func (c *conn) pendingInteraction(ctx context.Context, sid, iid string, noPending *protocolError) (db.PendingInteraction, error) {
	sess, err := c.turnSession(ctx, sid, noPending)
	if err != nil {
		return db.PendingInteraction{}, err
	}
	pending, err := c.h.d.Store.PendingInteractionsForSession(ctx, sess.org, sess.id)
	if err != nil {
		return db.PendingInteraction{}, storageFailure(err)
	}
	if len(pending) == 0 {
		return db.PendingInteraction{}, noPending
	}
	i := slices.IndexFunc(pending, func(p db.PendingInteraction) bool { return p.ID.String() == iid })
	if i < 0 {
		return db.PendingInteraction{}, newError(codeInteractionMismatch, "the submitted 'interactionId' does not match the pending interaction")
	}
	return pending[i], nil
}

type interactionRequired struct {
	InteractionID string           `json:"interactionId"`
	Kind          interaction.Kind `json:"kind"`
	Spec          json.RawMessage  `json:"spec"`
	Reason        string           `json:"reason"`
}

// InteractionRequired sends interaction_required (PROTOCOL-1.1 §5.12) under R.
func (s *turnSink) InteractionRequired(id uuid.UUID, kind interaction.Kind, spec json.RawMessage, reason string) {
	s.emit(wrappedEvent("interaction_required", s.run.requestID, 0, interactionRequired{
		InteractionID: id.String(), Kind: kind, Spec: spec, Reason: reason,
	}))
}
