package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// PublishTargetExists reports whether a session, conversation or agent (live) of the org
// has the id; other kinds are the caller's to check.
func (s *Store) PublishTargetExists(ctx context.Context, orgID uuid.UUID, kind string, id uuid.UUID) (bool, error) {
	var err error
	switch kind {
	case "session":
		_, err = queries.SessionGet(ctx, s.pool, db.SessionGetParams{OrgID: orgID, ID: id})
	case "conversation":
		_, err = queries.ConversationGet(ctx, s.pool, db.ConversationGetParams{OrgID: orgID, ID: id})
	case "agent":
		_, err = queries.AgentGet(ctx, s.pool, db.AgentGetParams{OrgID: orgID, ID: id})
	default:
		return false, fmt.Errorf("publish target %q is not checked by id", kind)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load %s %s: %w", kind, id, err)
	}
	return true, nil
}

// PublishTenantEvent writes a tenant event to the backplane outbox (insert and NOTIFY of its id) with
// the publish.send audit row, in one transaction, and returns the event id.
func (s *Store) PublishTenantEvent(ctx context.Context, orgID uuid.UUID, targetType, targetID string, event []byte, eventType string, m Meta) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		id, err = queries.BackplaneEventPublish(ctx, tx.pg, db.BackplaneEventPublishParams{
			OrgID: orgID, TargetType: targetType, TargetID: targetID, Event: event,
		})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, orgID, m, "publish.send", targetType, targetID, map[string]any{"eventType": eventType})
	})
	if err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}
	return id, nil
}
