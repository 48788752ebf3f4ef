package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// ErrAgentNotFound: the agent of a nested route is unknown, deleted or of another org.
var ErrAgentNotFound = fmt.Errorf("agent %w", ErrNotFound)

// CreateAgent inserts an agent whose id (and sealed secrets, bound to that id) the caller
// chose, with its agent.create audit row. ErrConflict when a live agent has the name.
func (s *Store) CreateAgent(ctx context.Context, orgID uuid.UUID, p db.AgentCreateParams, m Meta, details map[string]any) (db.Agent, error) {
	p.OrgID = orgID
	var row db.Agent
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if row, err = queries.AgentCreate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "agent.create", "agent", row.ID.String(), details)
	})
	if err != nil {
		return db.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	return row, nil
}

// GetAgent loads a live agent of the org. ErrAgentNotFound otherwise.
func (s *Store) GetAgent(ctx context.Context, orgID, id uuid.UUID) (db.Agent, error) {
	a, err := queries.AgentGet(ctx, s.pool, db.AgentGetParams{OrgID: orgID, ID: id})
	if err != nil {
		return db.Agent{}, agentErr(id, err)
	}
	return a, nil
}

func agentErr(id uuid.UUID, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrAgentNotFound
	}
	return fmt.Errorf("load agent %s: %w", id, err)
}

// ListAgents pages the org's live agents by lower(name), id. p.AfterName may be nil with
// p.AfterID set: the position is then read from that agent's row.
func (s *Store) ListAgents(ctx context.Context, orgID uuid.UUID, p Page) ([]db.Agent, error) {
	rows, err := queries.AgentList(ctx, s.pool, db.AgentListParams{
		OrgID: orgID, AfterName: p.AfterName, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return rows, nil
}

// AgentPlan turns the current (locked) agent into the update to apply and the audit
// details of the change. An error aborts the update and is returned as is.
type AgentPlan func(cur db.Agent) (db.AgentUpdateParams, map[string]any, error)

// UpdateAgent replaces a live agent in one transaction: lock, plan, update, agent.update
// audit row. ErrAgentNotFound, ErrConflict (name taken), or the plan's error.
func (s *Store) UpdateAgent(ctx context.Context, orgID, id uuid.UUID, plan AgentPlan, m Meta) (db.Agent, error) {
	var row db.Agent
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := queries.AgentGetForUpdate(ctx, tx.pg, db.AgentGetForUpdateParams{OrgID: orgID, ID: id})
		if err != nil {
			return agentErr(id, err)
		}
		p, details, err := plan(cur)
		if err != nil {
			return err
		}
		p.OrgID, p.ID = orgID, id
		if row, err = queries.AgentUpdate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "agent.update", "agent", id.String(), details)
	})
	if err != nil {
		return db.Agent{}, fmt.Errorf("update agent %s: %w", id, err)
	}
	return row, nil
}

// DeleteAgent soft-deletes a live agent, cancels its pending approvals and interactions
// (telling the instances whose turns are parked on them) and writes the agent.delete audit row, in one
// transaction.
func (s *Store) DeleteAgent(ctx context.Context, orgID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		n, err := queries.AgentSoftDelete(ctx, tx.pg, db.AgentSoftDeleteParams{OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrAgentNotFound
		}
		if err := s.cancelAgentChallenges(ctx, tx, orgID, id); err != nil {
			return err
		}
		if err := s.cancelAgentApprovals(ctx, tx, orgID, id); err != nil {
			return err
		}
		if err := s.cancelAgentInteractions(ctx, tx, orgID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, orgID, m, "agent.delete", "agent", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete agent %s: %w", id, err)
	}
	return nil
}

// AgentForWS returns a live (not deleted) agent by id, whatever its org.
func (s *Store) AgentForWS(ctx context.Context, id uuid.UUID) (db.Agent, error) {
	a, err := queries.AgentGetForWS(ctx, s.pool, id)
	if err != nil {
		return db.Agent{}, fmt.Errorf("load agent %s: %w", id, Classify(err))
	}
	return a, nil
}

// AgentNameAnyState names an agent even after it was disabled or deleted.
func (s *Store) AgentNameAnyState(ctx context.Context, orgID, id uuid.UUID) (string, error) {
	name, err := queries.AgentGetNameAnyState(ctx, s.pool, db.AgentGetNameAnyStateParams{OrgID: orgID, ID: id})
	if err != nil {
		return "", fmt.Errorf("load agent name %s: %w", id, Classify(err))
	}
	return name, nil
}
