package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// The turn engine's reads (PROTOCOL §7, ADMIN-API §7): the inputs send_message checks and
// its turn runs on, read in one round trip (pipeline.go). Its writes are RecordTurn
// (turns_record.go), InsertUserMessage (messages.go) and the approvals (approvals.go).

// TurnInputs is what a turn reads from Postgres (PROTOCOL §4.7 checks 8–10, §7.1): its agent,
// the agent's tools and the org settings, the org's paying key and month-to-date tokens, and
// the conversation's history.
type TurnInputs struct {
	Agent      db.Agent
	AgentFound bool // false: no such agent in the org, or deleted
	// Settings are the org settings; HasSettings is false while they were never written.
	Settings    db.OrgSetting
	HasSettings bool
	Tools       []db.AgentTool
	// GatewayKey is the org's newest active key (ADMIN-API §7.1), when HasGatewayKey.
	GatewayKey    db.GatewayKey
	HasGatewayKey bool
	MonthTokens   int64 // the org's prompt plus completion tokens of the current UTC month
	// ServerKeyMonthTokens are those of MonthTokens that the server's gateway key paid for
	// (PROTOCOL-1.1 §4.7.1, L9).
	ServerKeyMonthTokens int64
	HasKnowledge         bool             // the org has at least one indexed document
	History              []HistoryMessage // oldest first
	// Capabilities are the session's (PROTOCOL-1.1 §4.2.8), read at the turn's start.
	Capabilities []string
}

// HistoryMessage is one replayed message.
type HistoryMessage struct {
	Inbound bool
	Text    string
}

// LoadTurnInputs reads a turn's inputs in one round trip. History is the newest historyLimit
// non-empty messages of the conversation stored so far: load before the turn's user message
// is stored.
func (s *Store) LoadTurnInputs(ctx context.Context, orgID, agentID, sessionID, conversationID uuid.UUID, historyLimit int) (*TurnInputs, error) {
	p := &pipeline{}
	agent := queries.AgentGetForTurn(ctx, p, []db.AgentGetForTurnParams{{OrgID: orgID, ID: agentID}})
	settings := queries.OrgSettingsGetForTurn(ctx, p, []uuid.UUID{orgID})
	tools := queries.ToolListForTurn(ctx, p, []db.ToolListForTurnParams{{OrgID: orgID, AgentID: agentID}})
	key := queries.GatewayKeyNewestActiveForTurn(ctx, p, []uuid.UUID{orgID})
	month := queries.UsageMonthTokensForTurn(ctx, p, []uuid.UUID{orgID})
	knowledge := queries.DocumentHasIndexedForTurn(ctx, p, []uuid.UUID{orgID})
	history := queries.MessageListForTurn(ctx, p, []db.MessageListForTurnParams{{OrgID: orgID, ConversationID: conversationID, Lim: int32(historyLimit)}})
	caps := queries.SessionCapabilitiesForTurn(ctx, p, []db.SessionCapabilitiesForTurnParams{{OrgID: orgID, ID: sessionID}})
	p.send(ctx, s.pool)

	// Read in the order queued; a missing agent, settings or key is an answer, not a failure.
	in := &TurnInputs{}
	var errs []error
	found := func(what string, ok *bool, err error) {
		switch {
		case err == nil:
			*ok = true
		case !errors.Is(err, pgx.ErrNoRows):
			errs = append(errs, fmt.Errorf("load %s: %w", what, err))
		}
	}
	agent.QueryRow(func(_ int, a db.Agent, err error) { in.Agent = a; found("agent", &in.AgentFound, err) })
	settings.QueryRow(func(_ int, st db.OrgSetting, err error) {
		in.Settings = st
		found("org settings", &in.HasSettings, err)
	})
	tools.Query(func(_ int, ts []db.AgentTool, err error) {
		in.Tools = ts
		if err != nil {
			errs = append(errs, fmt.Errorf("load tools: %w", err))
		}
	})
	key.QueryRow(func(_ int, k db.GatewayKey, err error) {
		in.GatewayKey = k
		found("gateway key", &in.HasGatewayKey, err)
	})
	month.QueryRow(func(_ int, n db.UsageMonthTokensForTurnRow, err error) {
		in.MonthTokens, in.ServerKeyMonthTokens = n.Tokens, n.ServerKeyTokens
		if err != nil {
			errs = append(errs, fmt.Errorf("load month tokens: %w", err))
		}
	})
	knowledge.QueryRow(func(_ int, has bool, err error) {
		in.HasKnowledge = has
		if err != nil {
			errs = append(errs, fmt.Errorf("load knowledge presence: %w", err))
		}
	})
	history.Query(func(_ int, rows []db.MessageListForTurnRow, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("load history: %w", err))
			return
		}
		in.History = make([]HistoryMessage, len(rows))
		for i, r := range rows {
			in.History[len(rows)-1-i] = HistoryMessage{Inbound: r.Direction == "inbound", Text: r.Text}
		}
	})
	caps.QueryRow(func(_ int, c []string, err error) {
		in.Capabilities = c
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			errs = append(errs, fmt.Errorf("load session capabilities: %w", err))
		}
	})
	if err := errors.Join(append(errs, p.close())...); err != nil {
		return nil, fmt.Errorf("load turn inputs: %w", err)
	}
	return in, nil
}
