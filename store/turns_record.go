package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// TurnRecord is what the end of a turn writes (PROTOCOL §8).
type TurnRecord struct {
	TurnID                                    uuid.UUID
	OrgID, AgentID, ConversationID, SessionID uuid.UUID
	AgentParticipantID                        uuid.UUID
	RequestID, Model                          string
	Outcome                                   string // completed, cancelled, error
	// Failure is the error a failed turn (Outcome error) ended with, as its client saw it;
	// it is what the turn.failed event carries.
	Failure                        string
	Reply                          string // stored only when Outcome is completed and non-empty
	ReplyUsage, ToolCalls          json.RawMessage
	PromptTokens, CompletionTokens int64
	TokensEstimated, CostEstimated bool
	CostUSD                        float64
	GatewayKeyID                   uuid.NullUUID
	// ServerKeyPaid: the server's gateway key paid (its tokens count toward the org's monthly
	// allowance on it); false for an org key and for the offline model, which nobody pays.
	ServerKeyPaid bool
	CalledGateway bool // no usage row when false
}

func (r *TurnRecord) storesReply() bool { return r.Outcome == "completed" && r.Reply != "" }

func (r *TurnRecord) failed() bool { return r.Outcome == "error" }

// RecordTurn writes the end of a turn, all of it or nothing: the assistant message (completed
// turns with a non-empty reply) with the conversation's last activity and its message.created
// event, the turn's usage row with the org's month counter and the paying key's last use, and
// for a failed turn its turn.failed event. It returns the stored
// message id, or uuid.Nil when nothing was stored.
//
// Turns of this Store that end while another end-of-turn write is in flight are written
// together as soon as it completes, in one round trip and one transaction: under load, the
// synchronous commit (the disk flush PROTOCOL §8 waits for before eventual_response) is then
// paid once for every turn that ended meanwhile, instead of once by each. When that shared
// transaction fails, each of its turns is written again on its own, so that one turn's
// failure never costs another its record. A turn that ends while none is in flight is
// written at once.
func (s *Store) RecordTurn(ctx context.Context, r TurnRecord) (uuid.UUID, error) {
	if !r.storesReply() && !r.CalledGateway && !r.failed() {
		return uuid.Nil, nil
	}
	w := &turnWrite{r: r, done: make(chan bool, 1)}
	if s.rec.enqueue(w) || !<-w.done {
		s.writeNextBatch(ctx)
	}
	return w.msgID, w.err
}

// recorder queues end-of-turn writes. One caller at a time, the leader, writes a batch: the
// oldest queued writes, its own first among them. It then hands each its result and passes
// the lead to the oldest write still queued, if any. Callers never leave the queue before
// their result, so the lead is always taken up.
type recorder struct {
	mu      sync.Mutex
	leading bool
	queue   []*turnWrite
}

type turnWrite struct {
	r     TurnRecord
	msgID uuid.UUID
	err   error
	done  chan bool // true: written (msgID, err are set); false: lead the next batch
}

// maxTurnBatch bounds a batch, and so the transaction that writes it.
const maxTurnBatch = 32

// turnWriteTimeout bounds a batch's write. A batch is written for several callers, so it does
// not end with its leader's context.
const turnWriteTimeout = 30 * time.Second

// enqueue queues w and reports whether its caller leads: no batch was being written.
func (rc *recorder) enqueue(w *turnWrite) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.queue = append(rc.queue, w)
	lead := !rc.leading
	rc.leading = true
	return lead
}

// writeNextBatch is the leader's work: write the batch at the head of the queue, deliver its
// results, pass the lead on.
func (s *Store) writeNextBatch(ctx context.Context) {
	rc := s.rec
	rc.mu.Lock()
	n := min(len(rc.queue), maxTurnBatch)
	batch := slices.Clone(rc.queue[:n])
	rest := copy(rc.queue, rc.queue[n:])
	clear(rc.queue[rest:])
	rc.queue = rc.queue[:rest]
	rc.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), turnWriteTimeout)
	s.writeTurns(ctx, batch)
	cancel()

	rc.mu.Lock()
	var next *turnWrite
	if len(rc.queue) > 0 {
		next = rc.queue[0]
	} else {
		rc.leading = false
	}
	rc.mu.Unlock()
	for _, w := range batch[1:] { // batch[0] is the leader's own
		w.done <- true
	}
	if next != nil {
		next.done <- false
	}
}

// writeTurns writes batch in one transaction, else each of its turns in its own.
func (s *Store) writeTurns(ctx context.Context, batch []*turnWrite) {
	err := s.writeTurnBatch(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].err = fmt.Errorf("record turn %s: %w", batch[0].r.TurnID, err)
		return
	}
	for i := range batch {
		s.writeTurns(ctx, batch[i:i+1])
	}
}

// writeTurnBatch writes the turns of ws in one round trip and one implicit transaction,
// setting each turn's message id, or returns why nothing was written.
//
// Every batch takes its row locks in one order, conversations by id, then month-counter
// shards, then gateway keys by id, so that batches written at the same time by several
// instances never deadlock.
func (s *Store) writeTurnBatch(ctx context.Context, ws []*turnWrite) error {
	var replies, usages []*turnWrite
	var keys []db.GatewayKeyTouchParams
	var eventOrgs []uuid.UUID
	var evs []events.Data
	for _, w := range ws {
		if w.r.storesReply() {
			replies = append(replies, w)
		}
		if w.r.failed() {
			r := &w.r
			eventOrgs = append(eventOrgs, r.OrgID)
			evs = append(evs, events.TurnFailed{ConversationID: r.ConversationID, AgentID: r.AgentID,
				SessionID: r.SessionID, RequestID: r.RequestID, Error: r.Failure})
		}
		if w.r.CalledGateway {
			usages = append(usages, w)
			if w.r.GatewayKeyID.Valid {
				keys = append(keys, db.GatewayKeyTouchParams{OrgID: w.r.OrgID, ID: w.r.GatewayKeyID.UUID})
			}
		}
	}
	slices.SortStableFunc(replies, func(a, b *turnWrite) int {
		return bytes.Compare(a.r.ConversationID[:], b.r.ConversationID[:])
	})
	// The shard is the turn id's last byte mod 16 (UsageRecord).
	slices.SortStableFunc(usages, func(a, b *turnWrite) int { return cmp.Compare(a.r.TurnID[15]%16, b.r.TurnID[15]%16) })
	slices.SortFunc(keys, func(a, b db.GatewayKeyTouchParams) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	keys = slices.CompactFunc(keys, func(a, b db.GatewayKeyTouchParams) bool { return a.ID == b.ID })

	p := &pipeline{}
	var replyRes *db.MessageInsertBatchResults
	if len(replies) > 0 {
		params := make([]db.MessageInsertParams, len(replies))
		for i, w := range replies {
			r := &w.r
			w.msgID = uuid.New()
			eventOrgs = append(eventOrgs, r.OrgID)
			evs = append(evs, events.MessageCreated{ConversationID: r.ConversationID, MessageID: w.msgID,
				Role: events.RoleAssistant, Text: r.Reply, RequestID: r.RequestID})
			params[i] = db.MessageInsertParams{
				ID: w.msgID, OrgID: r.OrgID, ConversationID: r.ConversationID,
				ParticipantID: uuid.NullUUID{UUID: r.AgentParticipantID, Valid: r.AgentParticipantID != uuid.Nil},
				Direction:     "outbound", Text: r.Reply, RequestID: &r.RequestID, Usage: r.ReplyUsage, ToolCalls: r.ToolCalls,
			}
		}
		replyRes = queries.MessageInsert(ctx, p, params)
	}
	var usageRes *db.UsageRecordBatchResults
	if len(usages) > 0 {
		params := make([]db.UsageRecordParams, len(usages))
		for i, w := range usages {
			r := &w.r
			params[i] = db.UsageRecordParams{
				ID: r.TurnID, OrgID: r.OrgID, AgentID: r.AgentID, ConversationID: r.ConversationID, SessionID: r.SessionID,
				RequestID: r.RequestID, Model: r.Model, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
				TokensEstimated: r.TokensEstimated, CostUsd: r.CostUSD, CostEstimated: r.CostEstimated,
				GatewayKeyID: r.GatewayKeyID, Outcome: r.Outcome, Tokens: r.PromptTokens + r.CompletionTokens,
				ServerKeyPaid: r.ServerKeyPaid,
			}
		}
		usageRes = queries.UsageRecord(ctx, p, params)
	}
	var keyRes *db.GatewayKeyTouchBatchResults
	if len(keys) > 0 {
		keyRes = queries.GatewayKeyTouch(ctx, p, keys)
	}
	var eventRes *db.WebhookEventEmitBatchResults
	if len(evs) > 0 {
		var err error
		if eventRes, err = emitBatch(ctx, p, eventOrgs, evs); err != nil {
			return err
		}
	}
	p.send(ctx, s.pool)

	var errs []error
	if replyRes != nil {
		replyRes.QueryRow(func(i int, id uuid.UUID, err error) { replies[i].msgID, errs = id, append(errs, err) })
	}
	if usageRes != nil {
		usageRes.Exec(func(_ int, err error) { errs = append(errs, err) })
	}
	if keyRes != nil {
		keyRes.Exec(func(_ int, err error) { errs = append(errs, err) })
	}
	if eventRes != nil {
		eventRes.Exec(func(_ int, err error) { errs = append(errs, err) })
	}
	if err := errors.Join(cmp.Or(errs...), p.close()); err != nil {
		for _, w := range ws {
			w.msgID = uuid.Nil
		}
		return err
	}
	return nil
}
