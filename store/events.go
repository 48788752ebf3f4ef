package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// Emit writes an event in the transaction (package events): the event row, and a delivery
// and its River job for each enabled webhook endpoint of the org subscribed to its type, so
// that the event leaves exactly when what it reports commits. Nothing is written when no
// endpoint subscribes.
func (t *Tx) Emit(ctx context.Context, orgID uuid.UUID, d events.Data) error {
	p, err := emitParams(orgID, d)
	if err != nil {
		return err
	}
	var errs []error
	queries.WebhookEventEmit(ctx, t.pg, []db.WebhookEventEmitParams{p}).Exec(func(_ int, err error) { errs = append(errs, err) })
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("emit %s: %w", d.EventType(), err)
	}
	return nil
}

// Emit writes an event that reports no other write (budget.reached) in a transaction of its
// own; see Tx.Emit.
func (s *Store) Emit(ctx context.Context, orgID uuid.UUID, d events.Data) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.Emit(ctx, orgID, d) })
}

// emitParams is an event's row: a fresh id (its webhook-id), its conversation and dedupe key.
func emitParams(orgID uuid.UUID, d events.Data) (db.WebhookEventEmitParams, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return db.WebhookEventEmitParams{}, fmt.Errorf("emit %s: %w", d.EventType(), err)
	}
	p := db.WebhookEventEmitParams{
		OrgID: orgID, ID: uuid.New(), Type: string(d.EventType()), Data: data,
		Kind: events.DeliveryKind, Queue: events.DeliveryQueue, MaxAttempts: events.DeliveryMaxAttempts,
	}
	if c := d.Conversation(); c != uuid.Nil {
		p.ConversationID = uuid.NullUUID{UUID: c, Valid: true}
	}
	if dd, ok := d.(events.Deduped); ok {
		k := dd.DedupeKey()
		p.DedupeKey = &k
	}
	return p, nil
}

// emitBatch queues events on a pipeline (InsertUserMessage, writeTurnBatch): they commit with
// its other statements. Read its results with Exec, in queue order.
func emitBatch(ctx context.Context, p *pipeline, orgIDs []uuid.UUID, ds []events.Data) (*db.WebhookEventEmitBatchResults, error) {
	params := make([]db.WebhookEventEmitParams, len(ds))
	for i, d := range ds {
		var err error
		if params[i], err = emitParams(orgIDs[i], d); err != nil {
			return nil, err
		}
	}
	return queries.WebhookEventEmit(ctx, p, params), nil
}
