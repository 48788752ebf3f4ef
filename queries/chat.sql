-- name: CreateConversation :one
INSERT INTO conversations (id, org_id, agent_id, metadata, client_supports)
VALUES (@id, @org_id, @agent_id, sqlc.narg(metadata), sqlc.narg(client_supports)::text[])
RETURNING *;

-- name: GetConversation :one
SELECT * FROM conversations WHERE org_id = @org_id AND id = @id;

-- name: GetConversationForWS :one
-- Allow-listed: /ws resolves a conversation by id, then checks org and grants at once.
SELECT * FROM conversations WHERE id = @id;

-- name: SetConversationSupports :exec
UPDATE conversations SET client_supports = @client_supports::text[]
WHERE org_id = @org_id AND id = @id;

-- name: RenameConversation :one
UPDATE conversations SET title = @title, updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: ListConversations :many
-- Admin listing, newest first. A basic principal (all_visible = false) sees only the
-- conversations with a user participant carrying its jwt:<sub> identity or its email.
SELECT c.* FROM conversations c
WHERE c.org_id = @org_id
  AND (sqlc.narg(agent_id)::uuid IS NULL OR c.agent_id = sqlc.narg(agent_id)::uuid)
  AND (@all_visible::bool OR EXISTS (
        SELECT 1 FROM participants p
        WHERE p.org_id = c.org_id AND p.conversation_id = c.id AND p.type = 'user'
          AND (p.external_id = @identity::text
               OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))))
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (c.created_at, c.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY c.created_at DESC, c.id DESC
LIMIT @lim;

-- name: ConversationVisibleTo :one
SELECT EXISTS (
    SELECT 1 FROM participants p
    WHERE p.org_id = @org_id AND p.conversation_id = @conversation_id AND p.type = 'user'
      AND (p.external_id = @identity::text
           OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))
)::bool AS visible;

-- name: CreateParticipant :one
INSERT INTO participants (org_id, conversation_id, type, name, email, external_id, browser_fingerprint)
VALUES (@org_id, @conversation_id, @type, @name, sqlc.narg(email), sqlc.narg(external_id), sqlc.narg(browser_fingerprint))
RETURNING *;

-- name: ListParticipants :many
SELECT * FROM participants WHERE org_id = @org_id AND conversation_id = @conversation_id
ORDER BY created_at, id;

-- name: ListUserParticipantIdentities :many
-- What the /ws read rule compares: the owners of a conversation.
SELECT email, external_id FROM participants
WHERE org_id = @org_id AND conversation_id = @conversation_id AND type = 'user'
  AND (nullif(btrim(email), '') IS NOT NULL OR nullif(btrim(external_id), '') IS NOT NULL);

-- name: InsertMessage :one
INSERT INTO messages (org_id, conversation_id, participant_id, direction, text, request_id, usage, tool_calls)
VALUES (@org_id, @conversation_id, sqlc.narg(participant_id), @direction, @text, sqlc.narg(request_id),
        sqlc.narg(usage), sqlc.narg(tool_calls))
RETURNING *;

-- name: TouchConversationActivity :exec
UPDATE conversations
SET message_count = message_count + 1, last_message_at = @at, updated_at = @at
WHERE org_id = @org_id AND id = @id;

-- name: GetMessageSeq :one
SELECT seq FROM messages WHERE org_id = @org_id AND conversation_id = @conversation_id AND id = @id;

-- name: ListMessagesNewestFirst :many
SELECT * FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq)::bigint)
ORDER BY seq DESC
LIMIT @lim;

-- name: ListMessagesOldestFirst :many
SELECT m.*, p.type AS from_type, p.name AS from_name
FROM messages m
LEFT JOIN participants p ON p.id = m.participant_id AND p.org_id = m.org_id
WHERE m.org_id = @org_id AND m.conversation_id = @conversation_id
  AND (sqlc.narg(after_seq)::bigint IS NULL OR m.seq > sqlc.narg(after_seq)::bigint)
ORDER BY m.seq
LIMIT @lim;

-- name: CreateSession :one
INSERT INTO sessions (id, org_id, conversation_id, agent_id, user_participant_id, agent_participant_id,
                      contact_email, user_name, supports, resume_token_hash, resume_token_expires_at)
VALUES (@id, @org_id, @conversation_id, @agent_id, @user_participant_id, @agent_participant_id,
        sqlc.narg(contact_email), @user_name, sqlc.narg(supports)::text[], @resume_token_hash, @resume_token_expires_at)
RETURNING *;

-- name: GetSession :one
SELECT * FROM sessions WHERE org_id = @org_id AND id = @id;

-- name: GetSessionForWS :one
-- Allow-listed: /ws resolves a session by id, then checks org and grants at once.
SELECT * FROM sessions WHERE id = @id;

-- name: ValidResumeToken :one
SELECT EXISTS (
    SELECT 1 FROM sessions
    WHERE org_id = @org_id AND conversation_id = @conversation_id
      AND resume_token_hash = @resume_token_hash AND resume_token_expires_at > now()
)::bool AS valid;
