package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/events"
)

// InsertUserMessage stores a turn's inbound message, exactly as sent, the conversation's last
// activity, and its message.created event, in one transaction.
//
// Its commit does not wait for the disk (synchronous_commit off for this transaction only):
// the message is committed, visible to every instance, before it returns, and durable once
// the turn's end-of-turn write commits (synchronously, flushing the WAL up to and past this
// commit) or the WAL writer flushes it, within 3 × wal_writer_delay. Only a PostgreSQL crash
// in that window, in a turn that has not ended, can lose it (docs/decisions.md).
func (s *Store) InsertUserMessage(ctx context.Context, orgID, conversationID, participantID uuid.UUID, text, requestID string) error {
	p := &pipeline{}
	async := queries.TransactionSetSynchronousCommit(ctx, p, []string{"off"})
	id := uuid.New()
	ins := queries.MessageInsert(ctx, p, []db.MessageInsertParams{{
		ID: id, OrgID: orgID, ConversationID: conversationID, ParticipantID: uuid.NullUUID{UUID: participantID, Valid: true},
		Direction: "inbound", Text: text, RequestID: &requestID,
	}})
	emitted, err := emitBatch(ctx, p, []uuid.UUID{orgID}, []events.Data{events.MessageCreated{
		ConversationID: conversationID, MessageID: id, Role: events.RoleVisitor, Text: text, RequestID: requestID,
	}})
	if err != nil {
		return err
	}
	p.send(ctx, s.pool)
	var asyncErr, emitErr error
	async.Exec(func(_ int, e error) { asyncErr = e })
	ins.QueryRow(func(_ int, _ uuid.UUID, e error) { err = e })
	emitted.Exec(func(_ int, e error) { emitErr = e })
	if err = errors.Join(asyncErr, err, emitErr, p.close()); err != nil {
		return fmt.Errorf("store user message: %w", err)
	}
	return nil
}

// ConversationMessages pages a conversation's messages oldest first, after p.AfterSeq.
func (s *Store) ConversationMessages(ctx context.Context, orgID, conversationID uuid.UUID, p Page) ([]db.MessageListOldestFirstRow, error) {
	rows, err := queries.MessageListOldestFirst(ctx, s.pool, db.MessageListOldestFirstParams{
		OrgID: orgID, ConversationID: conversationID, AfterSeq: p.AfterSeq, Lim: p.Limit, Off: p.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return rows, nil
}

// MessageSeq returns the storage sequence of a message of the conversation; ErrNotFound
// when the id names no message of it.
func (s *Store) MessageSeq(ctx context.Context, orgID, conversationID, id uuid.UUID) (int64, error) {
	seq, err := queries.MessageGetSeq(ctx, s.pool, db.MessageGetSeqParams{OrgID: orgID, ConversationID: conversationID, ID: id})
	if err != nil {
		return 0, fmt.Errorf("load message %s: %w", id, Classify(err))
	}
	if seq == nil {
		return 0, fmt.Errorf("load message %s: %w", id, ErrNotFound)
	}
	return *seq, nil
}

// MessagesNewestFirst returns up to lim messages of the conversation older than beforeSeq
// (all when nil), newest first.
func (s *Store) MessagesNewestFirst(ctx context.Context, orgID, conversationID uuid.UUID, beforeSeq *int64, lim int) ([]db.Message, error) {
	msgs, err := queries.MessageListNewestFirst(ctx, s.pool, db.MessageListNewestFirstParams{
		OrgID: orgID, ConversationID: conversationID, BeforeSeq: beforeSeq, Lim: int32(lim),
	})
	if err != nil {
		return nil, fmt.Errorf("list messages of conversation %s: %w", conversationID, err)
	}
	return msgs, nil
}

// FirstInbound returns the first message of a conversation of the org, its text cut to 1024
// characters, when the visitor wrote it; "" otherwise (or when it has no message).
func (s *Store) FirstInbound(ctx context.Context, orgID, conversationID uuid.UUID) (string, error) {
	m, err := queries.MessageGetFirst(ctx, s.pool, db.MessageGetFirstParams{OrgID: orgID, ConversationID: conversationID})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("first message of %s: %w", conversationID, err)
	case m.Direction != "inbound":
		return "", nil
	}
	return m.Text, nil
}
