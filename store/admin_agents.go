package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// MaxToolsPerAgent is how many HTTP tools one agent may have (ADMIN-API §9.5).
const MaxToolsPerAgent = 64

var (
	// ErrAgentNotFound: the agent of a nested route is unknown, deleted or of another org.
	ErrAgentNotFound = fmt.Errorf("agent %w", ErrNotFound)
	// ErrTooManyTools: the agent already has MaxToolsPerAgent tools.
	ErrTooManyTools = errors.New("agent has the maximum number of tools")
)

// CreateAgent inserts an agent whose id (and sealed secrets, bound to that id) the caller
// chose, with its agent.create audit row. ErrConflict when a live agent has the name.
func (s *Store) CreateAgent(ctx context.Context, orgID uuid.UUID, p db.AgentCreateParams, m Meta, details map[string]any) (db.Agent, error) {
	p.OrgID = orgID
	var row db.Agent
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if row, err = s.Q.AgentCreate(ctx, tx, p); err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "agent.create", "agent", row.ID.String(), details)
	})
	if err != nil {
		return db.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	return row, nil
}

// GetAgent loads a live agent of the org. ErrAgentNotFound otherwise.
func (s *Store) GetAgent(ctx context.Context, orgID, id uuid.UUID) (db.Agent, error) {
	a, err := s.Q.AgentGet(ctx, s.Pool, db.AgentGetParams{OrgID: orgID, ID: id})
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

// ListAgents pages the org's live agents by lower(name), id. afterName may be nil with
// afterID set: the position is then read from that agent's row.
func (s *Store) ListAgents(ctx context.Context, orgID uuid.UUID, afterName *string, afterID uuid.NullUUID, limit int32) ([]db.Agent, error) {
	rows, err := s.Q.AgentList(ctx, s.Pool, db.AgentListParams{
		OrgID: orgID, AfterName: afterName, AfterID: afterID, Lim: limit,
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
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		cur, err := s.Q.AgentGetForUpdate(ctx, tx, db.AgentGetForUpdateParams{OrgID: orgID, ID: id})
		if err != nil {
			return agentErr(id, err)
		}
		p, details, err := plan(cur)
		if err != nil {
			return err
		}
		p.OrgID, p.ID = orgID, id
		if row, err = s.Q.AgentUpdate(ctx, tx, p); err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "agent.update", "agent", id.String(), details)
	})
	if err != nil {
		return db.Agent{}, fmt.Errorf("update agent %s: %w", id, err)
	}
	return row, nil
}

// DeleteAgent soft-deletes a live agent, cancels its pending approvals and writes the
// agent.delete audit row, in one transaction. onCancelled runs inside that transaction
// with the cancelled approvals (to publish their outcome so it leaves only on commit).
func (s *Store) DeleteAgent(ctx context.Context, orgID, id uuid.UUID, m Meta, onCancelled func(tx db.DBTX, cancelled []db.PendingApproval) error) ([]db.PendingApproval, error) {
	var cancelled []db.PendingApproval
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		n, err := s.Q.AgentSoftDelete(ctx, tx, db.AgentSoftDeleteParams{OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrAgentNotFound
		}
		if cancelled, err = s.Q.ApprovalCancelForAgent(ctx, tx, db.ApprovalCancelForAgentParams{OrgID: orgID, AgentID: id}); err != nil {
			return err
		}
		if onCancelled != nil && len(cancelled) > 0 {
			if err := onCancelled(tx, cancelled); err != nil {
				return err
			}
		}
		return s.Audit(ctx, tx, orgID, m, "agent.delete", "agent", id.String(), nil)
	})
	if err != nil {
		return nil, fmt.Errorf("delete agent %s: %w", id, err)
	}
	return cancelled, nil
}

// CreateTool adds an HTTP tool to a live agent with its tool.create audit row; the agent
// row is locked so the per-agent cap holds under concurrency. ErrAgentNotFound,
// ErrTooManyTools, ErrConflict (name taken on this agent).
func (s *Store) CreateTool(ctx context.Context, orgID uuid.UUID, p db.ToolCreateParams, m Meta, details map[string]any) (db.AgentTool, error) {
	p.OrgID = orgID
	var row db.AgentTool
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Q.AgentGetForUpdate(ctx, tx, db.AgentGetForUpdateParams{OrgID: orgID, ID: p.AgentID}); err != nil {
			return agentErr(p.AgentID, err)
		}
		n, err := s.Q.ToolCount(ctx, tx, db.ToolCountParams{OrgID: orgID, AgentID: p.AgentID})
		if err != nil {
			return err
		}
		if n >= MaxToolsPerAgent {
			return ErrTooManyTools
		}
		if row, err = s.Q.ToolCreate(ctx, tx, p); err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "tool.create", "tool", row.ID.String(), details)
	})
	if err != nil {
		return db.AgentTool{}, fmt.Errorf("create tool: %w", err)
	}
	return row, nil
}

// GetTool loads a tool of a live agent of the org: ErrAgentNotFound for the agent,
// ErrNotFound for a tool that is not this agent's.
func (s *Store) GetTool(ctx context.Context, orgID, agentID, id uuid.UUID) (db.AgentTool, error) {
	if _, err := s.GetAgent(ctx, orgID, agentID); err != nil {
		return db.AgentTool{}, err
	}
	t, err := s.Q.ToolGet(ctx, s.Pool, db.ToolGetParams{OrgID: orgID, AgentID: agentID, ID: id})
	if err != nil {
		return db.AgentTool{}, fmt.Errorf("load tool %s: %w", id, Classify(err))
	}
	return t, nil
}

// ListTools pages a live agent's tools by lower(name), id (see ListAgents for the cursor).
func (s *Store) ListTools(ctx context.Context, orgID, agentID uuid.UUID, afterName *string, afterID uuid.NullUUID, limit int32) ([]db.AgentTool, error) {
	if _, err := s.GetAgent(ctx, orgID, agentID); err != nil {
		return nil, err
	}
	rows, err := s.Q.ToolList(ctx, s.Pool, db.ToolListParams{
		OrgID: orgID, AgentID: agentID, AfterName: afterName, AfterID: afterID, Lim: limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list tools: %w", err)
	}
	return rows, nil
}

// ToolPlan turns the current tool into the update to apply and its audit details.
type ToolPlan func(cur db.AgentTool) (db.ToolUpdateParams, map[string]any, error)

// UpdateTool replaces a tool of a live agent with its tool.update audit row.
func (s *Store) UpdateTool(ctx context.Context, orgID, agentID, id uuid.UUID, plan ToolPlan, m Meta) (db.AgentTool, error) {
	var row db.AgentTool
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Q.AgentGetForUpdate(ctx, tx, db.AgentGetForUpdateParams{OrgID: orgID, ID: agentID}); err != nil {
			return agentErr(agentID, err)
		}
		cur, err := s.Q.ToolGet(ctx, tx, db.ToolGetParams{OrgID: orgID, AgentID: agentID, ID: id})
		if err != nil {
			return Classify(err)
		}
		p, details, err := plan(cur)
		if err != nil {
			return err
		}
		p.OrgID, p.AgentID, p.ID = orgID, agentID, id
		if row, err = s.Q.ToolUpdate(ctx, tx, p); err != nil {
			return Classify(err)
		}
		return s.Audit(ctx, tx, orgID, m, "tool.update", "tool", id.String(), details)
	})
	if err != nil {
		return db.AgentTool{}, fmt.Errorf("update tool %s: %w", id, err)
	}
	return row, nil
}

// DeleteTool deletes a tool of a live agent with its tool.delete audit row.
func (s *Store) DeleteTool(ctx context.Context, orgID, agentID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Q.AgentGetForUpdate(ctx, tx, db.AgentGetForUpdateParams{OrgID: orgID, ID: agentID}); err != nil {
			return agentErr(agentID, err)
		}
		n, err := s.Q.ToolDelete(ctx, tx, db.ToolDeleteParams{OrgID: orgID, AgentID: agentID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return s.Audit(ctx, tx, orgID, m, "tool.delete", "tool", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete tool %s: %w", id, err)
	}
	return nil
}
