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

// EnsureDemo creates, once, an org with external id "demo", an admin API key and an
// enabled agent with no origin restriction, so a fresh checkout has something to talk to.
func (s *Store) EnsureDemo(ctx context.Context, key NewAPIKeyRow) (Demo, error) {
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
	org, _, err = s.CreateOrgWithKey(ctx, "Demo", &ext, key, Meta{Actor: SystemCLI})
	if err != nil {
		return Demo{}, err
	}
	var agentID uuid.UUID
	err = s.InTx(ctx, func(tx *Tx) error {
		a, err := queries.AgentCreate(ctx, tx.pg, db.AgentCreateParams{
			ID: uuid.New(), OrgID: org.ID, Name: "Demo assistant", Enabled: true,
			ConfirmTools: []string{}, DocumentSets: []string{}, AllowedOrigins: []string{},
		})
		if err != nil {
			return err
		}
		agentID = a.ID
		return tx.Audit(ctx, org.ID, Meta{Actor: SystemCLI}, "agent.create", "agent", a.ID.String(), map[string]any{"fields": []string{"name"}})
	})
	if err != nil {
		return Demo{}, fmt.Errorf("create demo agent: %w", err)
	}
	return Demo{OrgID: org.ID, AgentID: agentID, Created: true}, nil
}
