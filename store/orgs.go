package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// NewAPIKeyRow is a freshly minted org API key as stored: its hash, never its plaintext.
type NewAPIKeyRow struct {
	Name   string
	Role   string
	Hash   []byte
	Prefix string
	Last4  string
}

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

// CreateOrgWithKey creates an org and its first API key in one transaction, with their
// org.create and apiKey.create audit rows.
func (s *Store) CreateOrgWithKey(ctx context.Context, name string, externalID *string, key NewAPIKeyRow, m Meta) (db.Org, db.ApiKey, error) {
	var org db.Org
	var row db.ApiKey
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		org, err = s.Q.OrgCreate(ctx, tx, db.OrgCreateParams{Name: name, ExternalID: externalID})
		if err != nil {
			return Classify(err)
		}
		row, err = s.Q.APIKeyCreate(ctx, tx, db.APIKeyCreateParams{
			OrgID: org.ID, Name: key.Name, Role: key.Role, KeyHash: key.Hash,
			Prefix: key.Prefix, Last4: key.Last4, CreatedBy: m.Actor.ID,
		})
		if err != nil {
			return Classify(err)
		}
		if err := s.Audit(ctx, tx, org.ID, m, "org.create", "org", org.ID.String(), map[string]any{"fields": []string{"name"}}); err != nil {
			return err
		}
		return s.Audit(ctx, tx, org.ID, m, "apiKey.create", "apiKey", row.ID.String(), map[string]any{"role": key.Role})
	})
	if err != nil {
		return db.Org{}, db.ApiKey{}, fmt.Errorf("create org: %w", err)
	}
	return org, row, nil
}

// Audit appends one audit_log row inside tx, in the same transaction as the change.
func (s *Store) Audit(ctx context.Context, tx db.DBTX, orgID uuid.UUID, m Meta, action, targetType, targetID string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	err = s.Q.AuditInsert(ctx, tx, db.AuditInsertParams{
		OrgID: orgID, ActorType: m.Actor.Type, ActorID: m.Actor.ID, ActorName: optional(m.Actor.Name),
		Action: action, TargetType: targetType, TargetID: targetID,
		RequestID: optional(m.RequestID), Ip: optional(m.IP), Details: raw,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
