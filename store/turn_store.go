package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/db"
)

// The turn engine's data access (PROTOCOL §7, §8; ADMIN-API §7): the inputs send_message
// checks and its turn runs on, the user message before the 202, approvals, and the end-of-turn
// records. A turn's reads and its final writes each take one round trip (pipeline, below).

// InsertUserMessage stores a turn's inbound message, exactly as sent, and the conversation's
// last activity, in one statement.
//
// Its commit does not wait for the disk (synchronous_commit off for this transaction only):
// the message is committed, visible to every instance, before it returns, and durable once
// the turn's end-of-turn write commits (synchronously, flushing the WAL up to and past this
// commit) or the WAL writer flushes it, within 3 × wal_writer_delay. Only a PostgreSQL crash
// in that window, in a turn that has not ended, can lose it (docs/decisions.md).
func (s *Store) InsertUserMessage(ctx context.Context, orgID, conversationID, participantID uuid.UUID, text, requestID string) error {
	p := &pipeline{}
	async := s.Q.TransactionSetSynchronousCommit(ctx, p, []string{"off"})
	ins := s.Q.MessageInsert(ctx, p, []db.MessageInsertParams{{
		OrgID: orgID, ConversationID: conversationID, ParticipantID: uuid.NullUUID{UUID: participantID, Valid: true},
		Direction: "inbound", Text: text, RequestID: &requestID,
	}})
	p.send(ctx, s.Pool)
	var asyncErr, err error
	async.Exec(func(_ int, e error) { asyncErr = e })
	ins.QueryRow(func(_ int, _ uuid.UUID, e error) { err = e })
	if err = errors.Join(asyncErr, err, p.close()); err != nil {
		return fmt.Errorf("store user message: %w", err)
	}
	return nil
}

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
	MonthTokens   int64            // the org's prompt plus completion tokens of the current UTC month
	HasKnowledge  bool             // the org has at least one indexed document
	History       []HistoryMessage // oldest first
}

// HistoryMessage is one replayed message.
type HistoryMessage struct {
	Inbound bool
	Text    string
}

// LoadTurnInputs reads a turn's inputs in one round trip. History is the newest historyLimit
// non-empty messages of the conversation stored so far: load before the turn's user message
// is stored.
func (s *Store) LoadTurnInputs(ctx context.Context, orgID, agentID, conversationID uuid.UUID, historyLimit int) (*TurnInputs, error) {
	p := &pipeline{}
	agent := s.Q.AgentGetForTurn(ctx, p, []db.AgentGetForTurnParams{{OrgID: orgID, ID: agentID}})
	settings := s.Q.OrgSettingsGetForTurn(ctx, p, []uuid.UUID{orgID})
	tools := s.Q.ToolListForTurn(ctx, p, []db.ToolListForTurnParams{{OrgID: orgID, AgentID: agentID}})
	key := s.Q.GatewayKeyNewestActiveForTurn(ctx, p, []uuid.UUID{orgID})
	month := s.Q.UsageMonthTokensForTurn(ctx, p, []uuid.UUID{orgID})
	knowledge := s.Q.DocumentHasIndexedForTurn(ctx, p, []uuid.UUID{orgID})
	history := s.Q.MessageListForTurn(ctx, p, []db.MessageListForTurnParams{{OrgID: orgID, ConversationID: conversationID, Lim: int32(historyLimit)}})
	p.send(ctx, s.Pool)

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
	month.QueryRow(func(_ int, n int64, err error) {
		in.MonthTokens = n
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
	if err := errors.Join(append(errs, p.close())...); err != nil {
		return nil, fmt.Errorf("load turn inputs: %w", err)
	}
	return in, nil
}

// NewApproval is a park about to be written.
type NewApproval struct {
	ID, OrgID, SessionID, ConversationID, AgentID, InstanceID uuid.UUID
	RequestID, ToolName                                       string
	Arguments                                                 json.RawMessage
	ExpiresAt                                                 time.Time
}

// CreateApproval commits a pending approval.
func (s *Store) CreateApproval(ctx context.Context, a NewApproval) error {
	_, err := s.Q.ApprovalCreate(ctx, s.Pool, db.ApprovalCreateParams{
		ID: a.ID, OrgID: a.OrgID, SessionID: a.SessionID, ConversationID: a.ConversationID, AgentID: a.AgentID,
		RequestID: a.RequestID, ToolName: a.ToolName, Arguments: a.Arguments, InstanceID: a.InstanceID, ExpiresAt: a.ExpiresAt,
	})
	if err != nil {
		return fmt.Errorf("create approval %s: %w", a.ID, err)
	}
	return nil
}

// FinishApproval moves a still pending approval to status (expired or cancelled); false
// when it was no longer pending.
func (s *Store) FinishApproval(ctx context.Context, orgID, id uuid.UUID, status string) (bool, error) {
	_, err := s.Q.ApprovalFinish(ctx, s.Pool, db.ApprovalFinishParams{Status: status, OrgID: orgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish approval %s: %w", id, err)
	}
	return true, nil
}

// ApprovalOutcome is how an approval ended.
type ApprovalOutcome struct {
	Status     string
	DecidedVia string
	Reason     string
}

// ApprovalOutcome reads an approval's status.
func (s *Store) ApprovalOutcome(ctx context.Context, orgID, id uuid.UUID) (ApprovalOutcome, error) {
	r, err := s.Q.ApprovalGetStatus(ctx, s.Pool, db.ApprovalGetStatusParams{OrgID: orgID, ID: id})
	if err != nil {
		return ApprovalOutcome{}, fmt.Errorf("load approval %s: %w", id, Classify(err))
	}
	o := ApprovalOutcome{Status: r.Status}
	if r.DecidedVia != nil {
		o.DecidedVia = *r.DecidedVia
	}
	if r.Reason != nil {
		o.Reason = *r.Reason
	}
	return o, nil
}

// PendingApprovalForSession returns the approval a confirm decides: the named one when id is
// valid, else the session's earliest-parked pending one; ErrNotFound when there is none.
func (s *Store) PendingApprovalForSession(ctx context.Context, orgID, sessionID uuid.UUID, id uuid.NullUUID) (db.PendingApproval, error) {
	a, err := s.Q.ApprovalFindPendingForSession(ctx, s.Pool, db.ApprovalFindPendingForSessionParams{OrgID: orgID, SessionID: sessionID, ID: id})
	if err != nil {
		return db.PendingApproval{}, fmt.Errorf("find pending approval: %w", Classify(err))
	}
	return a, nil
}

// ErrApprovalOrphaned: the decision failed because the approval's owning instance is gone (or
// its time ran out); the approval is now recorded expired.
var ErrApprovalOrphaned = errors.New("approval owner no longer live")

// DecideApproval is the conditional update that decides a park (PROTOCOL §4.9 step 2). It
// returns ErrNotFound when the approval was no longer pending and ErrApprovalOrphaned when
// it was pending but its owner or time was gone (it is then recorded expired).
func (s *Store) DecideApproval(ctx context.Context, orgID, id uuid.UUID, approved bool, via string, decidedBy, reason *string) (db.PendingApproval, error) {
	status := "rejected"
	if approved {
		status = "approved"
	}
	a, err := s.Q.ApprovalDecide(ctx, s.Pool, db.ApprovalDecideParams{
		Status: status, DecidedVia: &via, DecidedBy: decidedBy, Reason: reason, OrgID: orgID, ID: id,
	})
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	if _, err := s.Q.ApprovalExpireIfOrphaned(ctx, s.Pool, db.ApprovalExpireIfOrphanedParams{OrgID: orgID, ID: id}); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, ErrNotFound)
		}
		return db.PendingApproval{}, fmt.Errorf("expire orphaned approval %s: %w", id, err)
	}
	return db.PendingApproval{}, fmt.Errorf("decide approval %s: %w", id, ErrApprovalOrphaned)
}

// pipeline is a db.DBTX that only queues: each sqlc :batch call made on it adds its queries
// to one pgx.Batch, and that call's results then read, in queue order, from the results of
// the batch that send sent. Different queries thus travel in one round trip and run in one
// implicit transaction (pgx.Conn.SendBatch): all of them take effect, or none.
//
// Use: queue with the sqlc calls, send, read every queued call's results in the order they
// were queued, close.
type pipeline struct {
	batch pgx.Batch
	res   pgx.BatchResults
}

var errPipelineOnly = errors.New("store: a pipeline runs :batch queries only")

func (p *pipeline) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errPipelineOnly
}

func (p *pipeline) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errPipelineOnly
}

func (p *pipeline) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

// SendBatch queues b's queries; nothing is sent yet. UUID arguments are handed to pgx as
// pgtype.UUID: pgx encodes a github.com/google/uuid value through its driver.Valuer, which
// costs a failed binary attempt (with a formatted error) and a text fallback each time.
func (p *pipeline) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	for _, q := range b.QueuedQueries {
		for i, a := range q.Arguments {
			switch v := a.(type) {
			case uuid.UUID:
				q.Arguments[i] = pgtype.UUID{Bytes: v, Valid: true}
			case uuid.NullUUID:
				q.Arguments[i] = pgtype.UUID{Bytes: v.UUID, Valid: v.Valid}
			}
		}
	}
	p.batch.QueuedQueries = append(p.batch.QueuedQueries, b.QueuedQueries...)
	return pipelineResults{p}
}

func (p *pipeline) send(ctx context.Context, pool *pgxpool.Pool) {
	p.res = pool.SendBatch(ctx, &p.batch)
}

// close ends the batch and returns the connection to the pool.
func (p *pipeline) close() error { return p.res.Close() }

// pipelineResults is one sqlc call's view of the pipeline's results. Its Close does nothing:
// the sqlc results close their view after reading, and the pipeline's batch stays open for
// the next call's results until pipeline.close.
type pipelineResults struct{ p *pipeline }

func (r pipelineResults) Exec() (pgconn.CommandTag, error) { return r.p.res.Exec() }
func (r pipelineResults) Query() (pgx.Rows, error)         { return r.p.res.Query() }
func (r pipelineResults) QueryRow() pgx.Row                { return r.p.res.QueryRow() }
func (r pipelineResults) Close() error                     { return nil }
func (r pipelineResults) Tx() pgx.Tx                       { return nil }

type errRow struct{}

func (errRow) Scan(...any) error { return errPipelineOnly }
