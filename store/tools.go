package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// MaxToolsPerAgent is how many HTTP tools one agent may have (ADMIN-API §9.5).
const MaxToolsPerAgent = 64

// Tool kinds: a tenant's HTTP tool, or a tool the server serves itself (only the server
// creates those, for the seeded demo).
const (
	ToolKindHTTP    = "http"
	ToolKindBuiltin = "builtin"
)

// EnsureBuiltinTool gives a live agent a tool of kind builtin named p.Name, with its
// tool.create audit row, unless the agent has a tool of that name already (of any kind: a
// tenant's change to it is kept). It reports whether it created one. ErrAgentNotFound,
// ErrTooManyTools.
func (s *Store) EnsureBuiltinTool(ctx context.Context, orgID uuid.UUID, p db.ToolCreateBuiltinParams, m Meta) (bool, error) {
	p.OrgID = orgID
	created := false
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := queries.AgentGetForUpdate(ctx, tx.pg, db.AgentGetForUpdateParams{OrgID: orgID, ID: p.AgentID}); err != nil {
			return agentErr(p.AgentID, err)
		}
		_, err := queries.ToolGetByName(ctx, tx.pg, db.ToolGetByNameParams{OrgID: orgID, AgentID: p.AgentID, Name: p.Name})
		if err == nil {
			return nil
		}
		if !errors.Is(Classify(err), ErrNotFound) {
			return err
		}
		n, err := queries.ToolCount(ctx, tx.pg, db.ToolCountParams{OrgID: orgID, AgentID: p.AgentID})
		if err != nil {
			return err
		}
		if n >= MaxToolsPerAgent {
			return ErrTooManyTools
		}
		row, err := queries.ToolCreateBuiltin(ctx, tx.pg, p)
		if err != nil {
			return Classify(err)
		}
		created = true
		return tx.Audit(ctx, orgID, m, "tool.create", "tool", row.ID.String(),
			map[string]any{"fields": []string{"name", "description", "parameters", "requiresApproval", "timeoutMs"}, "kind": ToolKindBuiltin})
	})
	if err != nil {
		return false, fmt.Errorf("ensure tool %s: %w", p.Name, err)
	}
	return created, nil
}

// ErrTooManyTools: the agent already has MaxToolsPerAgent tools.
var ErrTooManyTools = errors.New("agent has the maximum number of tools")

// CreateTool adds an HTTP tool to a live agent with its tool.create audit row; the agent
// row is locked so the per-agent cap holds under concurrency. ErrAgentNotFound,
// ErrTooManyTools, ErrConflict (name taken on this agent).
func (s *Store) CreateTool(ctx context.Context, orgID uuid.UUID, p db.ToolCreateParams, m Meta, details map[string]any) (db.AgentTool, error) {
	p.OrgID = orgID
	var row db.AgentTool
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := queries.AgentGetForUpdate(ctx, tx.pg, db.AgentGetForUpdateParams{OrgID: orgID, ID: p.AgentID}); err != nil {
			return agentErr(p.AgentID, err)
		}
		n, err := queries.ToolCount(ctx, tx.pg, db.ToolCountParams{OrgID: orgID, AgentID: p.AgentID})
		if err != nil {
			return err
		}
		if n >= MaxToolsPerAgent {
			return ErrTooManyTools
		}
		if row, err = queries.ToolCreate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "tool.create", "tool", row.ID.String(), details)
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
	t, err := queries.ToolGet(ctx, s.pool, db.ToolGetParams{OrgID: orgID, AgentID: agentID, ID: id})
	if err != nil {
		return db.AgentTool{}, fmt.Errorf("load tool %s: %w", id, Classify(err))
	}
	return t, nil
}

// ListTools pages a live agent's tools by lower(name), id (see ListAgents for the cursor).
func (s *Store) ListTools(ctx context.Context, orgID, agentID uuid.UUID, p Page) ([]db.AgentTool, error) {
	if _, err := s.GetAgent(ctx, orgID, agentID); err != nil {
		return nil, err
	}
	rows, err := queries.ToolList(ctx, s.pool, db.ToolListParams{
		OrgID: orgID, AgentID: agentID, AfterName: p.AfterName, AfterID: p.AfterID, Lim: p.Limit, Off: p.Offset,
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
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := queries.AgentGetForUpdate(ctx, tx.pg, db.AgentGetForUpdateParams{OrgID: orgID, ID: agentID}); err != nil {
			return agentErr(agentID, err)
		}
		cur, err := queries.ToolGet(ctx, tx.pg, db.ToolGetParams{OrgID: orgID, AgentID: agentID, ID: id})
		if err != nil {
			return Classify(err)
		}
		p, details, err := plan(cur)
		if err != nil {
			return err
		}
		p.OrgID, p.AgentID, p.ID = orgID, agentID, id
		if row, err = queries.ToolUpdate(ctx, tx.pg, p); err != nil {
			return Classify(err)
		}
		return tx.Audit(ctx, orgID, m, "tool.update", "tool", id.String(), details)
	})
	if err != nil {
		return db.AgentTool{}, fmt.Errorf("update tool %s: %w", id, err)
	}
	return row, nil
}

// DeleteTool deletes a tool of a live agent with its tool.delete audit row.
func (s *Store) DeleteTool(ctx context.Context, orgID, agentID, id uuid.UUID, m Meta) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := queries.AgentGetForUpdate(ctx, tx.pg, db.AgentGetForUpdateParams{OrgID: orgID, ID: agentID}); err != nil {
			return agentErr(agentID, err)
		}
		n, err := queries.ToolDelete(ctx, tx.pg, db.ToolDeleteParams{OrgID: orgID, AgentID: agentID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "tool.delete", "tool", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete tool %s: %w", id, err)
	}
	return nil
}

// ReservedNamedTools lists, across orgs, the live agents' tools whose name equals one of names
// (lower case) ignoring case: tools stored before those names were reserved.
func (s *Store) ReservedNamedTools(ctx context.Context, names []string) ([]db.ToolListReservedNamedRow, error) {
	rows, err := queries.ToolListReservedNamed(ctx, s.pool, names)
	if err != nil {
		return nil, fmt.Errorf("list tools under reserved names: %w", err)
	}
	return rows, nil
}
