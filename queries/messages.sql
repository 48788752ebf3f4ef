-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: MessageInsert :batchone
-- A turn's inbound message or its reply, and the conversation's last activity, in one
-- statement (PROTOCOL §8). The id comes from the caller, so that the message.created event
-- queued beside it in the same pipeline can name it.
WITH m AS (
    INSERT INTO messages (id, org_id, conversation_id, participant_id, direction, text, request_id, usage, tool_calls)
    VALUES (@id, @org_id, @conversation_id, sqlc.narg(participant_id), @direction, @text, @request_id,
            sqlc.narg(usage), sqlc.narg(tool_calls))
    RETURNING id, created_at
), activity AS (
    UPDATE conversations c
    SET message_count = c.message_count + 1, last_message_at = m.created_at, updated_at = m.created_at
    FROM m
    WHERE c.org_id = @org_id AND c.id = @conversation_id
)
SELECT id FROM m;

-- name: MessageInsertRow :one
-- A message alone, without the conversation's activity (test fixtures); turns use MessageInsert.
INSERT INTO messages (org_id, conversation_id, participant_id, direction, text, request_id, usage, tool_calls)
VALUES (@org_id, @conversation_id, sqlc.narg(participant_id), @direction, @text, sqlc.narg(request_id),
        sqlc.narg(usage), sqlc.narg(tool_calls))
RETURNING *;

-- name: MessageGetSeq :one
SELECT seq FROM messages WHERE org_id = @org_id AND conversation_id = @conversation_id AND id = @id;

-- name: MessageListForTurn :batchmany
-- The conversation's newest non-empty messages, newest first (PROTOCOL §7.1). It is read
-- before the turn's user message is stored, so every message it returns was stored before it.
SELECT direction, text FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id AND text <> ''
ORDER BY seq DESC
LIMIT @lim;

-- name: MessageListNewestFirst :many
SELECT * FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq)::bigint)
ORDER BY seq DESC
LIMIT @lim;

-- name: MessageListOldestFirst :many
SELECT m.*, p.type AS from_type, p.name AS from_name
FROM messages m
LEFT JOIN participants p ON p.id = m.participant_id AND p.org_id = m.org_id
WHERE m.org_id = @org_id AND m.conversation_id = @conversation_id
  AND (sqlc.narg(after_seq)::bigint IS NULL OR m.seq > sqlc.narg(after_seq)::bigint)
ORDER BY m.seq
LIMIT @lim OFFSET @off;

-- name: MessageGetFirst :one
-- The first message of a conversation, its text cut to 1024 characters (the display name of
-- ADMIN-API §9.7 derives from it).
SELECT direction, left(text, 1024)::text AS text FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id
ORDER BY seq
LIMIT 1;

-- name: MessageListByConversations :many
-- Export (ADMIN-API §9.17): every message of the conversations, in order.
SELECT * FROM messages WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY conversation_id, seq;
