package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// Webhook endpoints (ADMIN-API §12): written by admins with their audit rows; deliveries
// are worked by package webhooks.

// CreateWebhook stores an endpoint whose secret the caller sealed for p.ID, with its
// webhook.create audit row.
func (s *Store) CreateWebhook(ctx context.Context, orgID uuid.UUID, p db.WebhookEndpointCreateParams, m Meta) (db.WebhookEndpoint, error) {
	p.OrgID = orgID
	var row db.WebhookEndpoint
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if row, err = queries.WebhookEndpointCreate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "webhook.create", "webhook", row.ID.String(),
			map[string]any{"fields": []string{"url", "description", "events", "secret"}})
	})
	if err != nil {
		return db.WebhookEndpoint{}, fmt.Errorf("create webhook: %w", err)
	}
	return row, nil
}

// GetWebhook returns one endpoint of the org.
func (s *Store) GetWebhook(ctx context.Context, orgID, id uuid.UUID) (db.WebhookEndpoint, error) {
	row, err := queries.WebhookEndpointGet(ctx, s.pool, db.WebhookEndpointGetParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.WebhookEndpoint{}, fmt.Errorf("load webhook %s: %w", id, Classify(err))
	}
	return row, nil
}

// ListWebhooks pages the org's endpoints, newest first.
func (s *Store) ListWebhooks(ctx context.Context, orgID uuid.UUID, p Page) ([]db.WebhookEndpoint, error) {
	rows, err := queries.WebhookEndpointList(ctx, s.pool, db.WebhookEndpointListParams{
		OrgID: orgID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return rows, nil
}

// UpdateWebhook replaces an endpoint's url, description, events and enabled flag, with its
// webhook.update audit row naming the fields that changed.
func (s *Store) UpdateWebhook(ctx context.Context, orgID uuid.UUID, p db.WebhookEndpointUpdateParams, m Meta) (db.WebhookEndpoint, error) {
	p.OrgID = orgID
	var row db.WebhookEndpoint
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := queries.WebhookEndpointGet(ctx, tx.pg, db.WebhookEndpointGetParams{OrgID: orgID, ID: p.ID})
		if err != nil {
			return Classify(err)
		}
		if row, err = queries.WebhookEndpointUpdate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		fields := []string{}
		if cur.Url != row.Url {
			fields = append(fields, "url")
		}
		if (cur.Description == nil) != (row.Description == nil) || (cur.Description != nil && *cur.Description != *row.Description) {
			fields = append(fields, "description")
		}
		if fmt.Sprint(cur.EventTypes) != fmt.Sprint(row.EventTypes) {
			fields = append(fields, "events")
		}
		if cur.Enabled != row.Enabled {
			fields = append(fields, "enabled")
		}
		return tx.Audit(ctx, orgID, m, "webhook.update", "webhook", row.ID.String(), map[string]any{"fields": fields})
	})
	if err != nil {
		return db.WebhookEndpoint{}, fmt.Errorf("update webhook %s: %w", p.ID, err)
	}
	return row, nil
}

// DeleteWebhook deletes an endpoint with its deliveries (their pending jobs then find
// nothing to do), with its webhook.delete audit row.
func (s *Store) DeleteWebhook(ctx context.Context, orgID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		n, err := queries.WebhookEndpointDelete(ctx, tx.pg, db.WebhookEndpointDeleteParams{OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "webhook.delete", "webhook", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// TestWebhook queues a webhook.test event for one endpoint only (whether or not it is
// enabled), with its webhook.test audit row, and returns its delivery.
func (s *Store) TestWebhook(ctx context.Context, orgID, id uuid.UUID, data []byte, m Meta) (db.WebhookDeliveryGetRow, error) {
	var d db.WebhookDeliveryGetRow
	err := s.InTx(ctx, func(tx *Tx) error {
		r, err := queries.WebhookEventEmitTest(ctx, tx.pg, db.WebhookEventEmitTestParams{
			ID: uuid.New(), Data: data, OrgID: orgID, EndpointID: id,
			Kind: events.DeliveryKind, Queue: events.DeliveryQueue, MaxAttempts: events.DeliveryMaxAttempts,
		})
		if err != nil {
			return Classify(err)
		}
		if d, err = queries.WebhookDeliveryGet(ctx, tx.pg, db.WebhookDeliveryGetParams{OrgID: orgID, EndpointID: id, ID: r.ID}); err != nil {
			return err
		}
		return tx.Audit(ctx, orgID, m, "webhook.test", "webhook", id.String(), map[string]any{"deliveryId": r.ID})
	})
	if err != nil {
		return db.WebhookDeliveryGetRow{}, fmt.Errorf("test webhook %s: %w", id, err)
	}
	return d, nil
}

// ListWebhookDeliveries pages an endpoint's deliveries, newest first; ErrNotFound when the
// org has no such endpoint.
func (s *Store) ListWebhookDeliveries(ctx context.Context, orgID, endpointID uuid.UUID, p Page) ([]db.WebhookDeliveryListRow, error) {
	if _, err := s.GetWebhook(ctx, orgID, endpointID); err != nil {
		return nil, err
	}
	rows, err := queries.WebhookDeliveryList(ctx, s.pool, db.WebhookDeliveryListParams{
		OrgID: orgID, EndpointID: endpointID, AfterCreatedAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return rows, nil
}

// GetWebhookDelivery returns one delivery of an endpoint of the org.
func (s *Store) GetWebhookDelivery(ctx context.Context, orgID, endpointID, id uuid.UUID) (db.WebhookDeliveryGetRow, error) {
	d, err := queries.WebhookDeliveryGet(ctx, s.pool, db.WebhookDeliveryGetParams{OrgID: orgID, EndpointID: endpointID, ID: id})
	if err != nil {
		return db.WebhookDeliveryGetRow{}, fmt.Errorf("load webhook delivery %s: %w", id, Classify(err))
	}
	return d, nil
}

// RetryWebhookDelivery puts a finished delivery back to pending with a new job, with its
// webhookDelivery.retry audit row. ErrNotFound for an unknown delivery, ErrConflict for one
// still pending.
func (s *Store) RetryWebhookDelivery(ctx context.Context, orgID, endpointID, id uuid.UUID, m Meta) (db.WebhookDeliveryGetRow, error) {
	var d db.WebhookDeliveryGetRow
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := queries.WebhookDeliveryRequeue(ctx, tx.pg, db.WebhookDeliveryRequeueParams{
			OrgID: orgID, EndpointID: endpointID, ID: id,
			Kind: events.DeliveryKind, Queue: events.DeliveryQueue, MaxAttempts: events.DeliveryMaxAttempts,
		})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		requeued := err == nil
		if d, err = queries.WebhookDeliveryGet(ctx, tx.pg, db.WebhookDeliveryGetParams{OrgID: orgID, EndpointID: endpointID, ID: id}); err != nil {
			return Classify(err)
		}
		if !requeued {
			return ErrConflict
		}
		return tx.Audit(ctx, orgID, m, "webhookDelivery.retry", "webhook", endpointID.String(), map[string]any{"deliveryId": id})
	})
	if err != nil {
		return db.WebhookDeliveryGetRow{}, fmt.Errorf("retry webhook delivery %s: %w", id, err)
	}
	return d, nil
}

// WebhookDeliveryForWork reads what one delivery attempt needs.
func (s *Store) WebhookDeliveryForWork(ctx context.Context, orgID, id uuid.UUID) (db.WebhookDeliveryForWorkRow, error) {
	r, err := queries.WebhookDeliveryForWork(ctx, s.pool, db.WebhookDeliveryForWorkParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.WebhookDeliveryForWorkRow{}, fmt.Errorf("load webhook delivery %s: %w", id, Classify(err))
	}
	return r, nil
}

// DeliveryOutcome is what one delivery attempt records.
type DeliveryOutcome struct {
	Status     string // succeeded, pending (to be retried) or failed (given up)
	Attempted  bool   // a request was made (false: the endpoint was disabled)
	StatusCode *int32
	Error      *string
	Response   *string // at most 1 KiB
}

// RecordWebhookDelivery records an attempt and its endpoint's health in one transaction: a
// success stops the endpoint's failure clock; a failure starts it, and an enabled endpoint
// failing since before disableBefore is disabled, with a webhook.disable audit row by the
// system. It reports whether this attempt disabled the endpoint.
func (s *Store) RecordWebhookDelivery(ctx context.Context, orgID, endpointID, id uuid.UUID, o DeliveryOutcome, disableBefore time.Time) (disabled bool, err error) {
	err = s.InTx(ctx, func(tx *Tx) error {
		if err := queries.WebhookDeliveryRecordAttempt(ctx, tx.pg, db.WebhookDeliveryRecordAttemptParams{
			Status: o.Status, Attempted: o.Attempted, LastStatusCode: o.StatusCode, LastError: o.Error, LastResponse: o.Response,
			OrgID: orgID, ID: id,
		}); err != nil {
			return err
		}
		if !o.Attempted {
			return nil
		}
		if o.Status == "succeeded" {
			return queries.WebhookEndpointRecordSuccess(ctx, tx.pg, db.WebhookEndpointRecordSuccessParams{OrgID: orgID, ID: endpointID})
		}
		r, err := queries.WebhookEndpointRecordFailure(ctx, tx.pg, db.WebhookEndpointRecordFailureParams{
			OrgID: orgID, ID: endpointID, DisableBefore: disableBefore,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !r.Disabled {
			return nil
		}
		disabled = true
		details := map[string]any{"reason": "failing"}
		if r.FailingSince != nil {
			details["failingSince"] = r.FailingSince.UTC().Format(time.RFC3339)
		}
		return tx.Audit(ctx, orgID, Meta{Actor: Actor{Type: "system", ID: "webhooks"}}, "webhook.disable", "webhook", endpointID.String(), details)
	})
	if err != nil {
		return false, fmt.Errorf("record webhook delivery %s: %w", id, err)
	}
	return disabled, nil
}
