package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// DemoExternalID marks the org `switchboard demo` creates.
const DemoExternalID = "demo"

// Demo names the demo org and agent.
type Demo struct {
	OrgID, AgentID uuid.UUID
	Created        bool
}

// DemoAgent is the agent of the demo org (the first by name), or ErrNotFound.
func (s *Store) DemoAgent(ctx context.Context) (uuid.UUID, error) {
	ext := DemoExternalID
	org, err := queries.OrgGetByExternalID(ctx, s.pool, &ext)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, ErrNotFound
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("read demo org: %w", err)
	}
	agents, err := queries.AgentList(ctx, s.pool, db.AgentListParams{OrgID: org.ID, Lim: 1})
	if err != nil {
		return uuid.Nil, fmt.Errorf("read demo agent: %w", err)
	}
	if len(agents) == 0 {
		return uuid.Nil, ErrNotFound
	}
	return agents[0].ID, nil
}

// EnsureDemo creates, once and in one transaction, an org with external id "demo", an admin
// API key and an enabled agent that may be embedded from origins (the try-it page's own), so
// a fresh checkout has something to talk to. origins must be normalised (lowercase, no
// default port), as the admin API stores them. An existing demo is left as it is.
func (s *Store) EnsureDemo(ctx context.Context, key NewAPIKeyRow, origins []string) (Demo, error) {
	ext := DemoExternalID
	org, err := queries.OrgGetByExternalID(ctx, s.pool, &ext)
	if err == nil {
		agents, err := queries.AgentList(ctx, s.pool, db.AgentListParams{OrgID: org.ID, Lim: 1})
		if err != nil {
			return Demo{}, fmt.Errorf("read demo agent: %w", err)
		}
		if len(agents) == 0 {
			return Demo{}, errors.New("the demo org has no agent left; create one with POST /admin/agents")
		}
		return Demo{OrgID: org.ID, AgentID: agents[0].ID}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Demo{}, fmt.Errorf("read demo org: %w", err)
	}
	m := Meta{Actor: SystemCLI}
	var demo Demo
	err = s.InTx(ctx, func(tx *Tx) error {
		org, _, err := tx.createOrgWithKey(ctx, "Demo", &ext, key, m)
		if err != nil {
			return err
		}
		a, err := queries.AgentCreate(ctx, tx.pg, db.AgentCreateParams{
			ID: uuid.New(), OrgID: org.ID, Name: "Demo assistant", Enabled: true,
			ConfirmTools: []string{}, DocumentSets: []string{}, AllowedOrigins: append([]string{}, origins...),
		})
		if err != nil {
			return fmt.Errorf("create demo agent: %w", err)
		}
		demo = Demo{OrgID: org.ID, AgentID: a.ID, Created: true}
		return tx.Audit(ctx, org.ID, m, "agent.create", "agent", a.ID.String(), map[string]any{"fields": []string{"name", "widget.allowedOrigins"}})
	})
	if err != nil {
		return Demo{}, fmt.Errorf("create demo org: %w", err)
	}
	return demo, nil
}
