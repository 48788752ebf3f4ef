package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Actor names who made a change, for the audit log.
type Actor struct {
	Type string // user, apiKey, dev, system
	ID   string
	Name string
}

// SystemCLI is the actor of the bootstrap command.
var SystemCLI = Actor{Type: "system", ID: "cli"}

// Meta is who asked for a change, and through which request: what every audit row records.
type Meta struct {
	Actor     Actor
	RequestID string // "" outside a request
	IP        string
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Audit appends one audit_log row, in the same transaction as the change.
func (t *Tx) Audit(ctx context.Context, orgID uuid.UUID, m Meta, action, targetType, targetID string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	err = queries.AuditInsert(ctx, t.pg, db.AuditInsertParams{
		OrgID: orgID, ActorType: m.Actor.Type, ActorID: m.Actor.ID, ActorName: optional(m.Actor.Name),
		Action: action, TargetType: targetType, TargetID: targetID,
		RequestID: optional(m.RequestID), Ip: optional(m.IP), Details: raw,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// ListAudit pages the org's audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, orgID uuid.UUID, p Page) ([]db.AuditLog, error) {
	rows, err := queries.AuditList(ctx, s.pool, db.AuditListParams{OrgID: orgID, AfterAt: p.AfterAt, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return rows, nil
}
