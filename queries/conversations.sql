-- name: ConversationCreate :one
INSERT INTO conversations (id, org_id, agent_id, metadata, client_supports)
VALUES (@id, @org_id, @agent_id, sqlc.narg(metadata), sqlc.narg(client_supports)::text[])
RETURNING *;

-- name: ConversationGet :one
SELECT * FROM conversations WHERE org_id = @org_id AND id = @id;

-- name: ConversationGetForWS :one
-- Allow-listed: /ws resolves a conversation by id, then checks org and grants at once.
SELECT * FROM conversations WHERE id = @id;

-- name: ConversationList :many
-- Admin listing, newest first. A basic principal (all_visible = false) sees only the
-- conversations with a user participant carrying its jwt:<sub> identity or its email.
-- The page is cut first; then, for its rows only, one index probe each reads the first
-- message (its text cut to 1024 characters) and the visitor's name, which the API's
-- display name derives from (ADMIN-API §9.7).
SELECT c.*, coalesce(fm.direction, '')::text AS first_direction, coalesce(fm.text, '')::text AS first_text,
       coalesce(vp.name, '')::text AS visitor_name
FROM (
    SELECT cv.* FROM conversations cv
    WHERE cv.org_id = @org_id
      AND (sqlc.narg(agent_id)::uuid IS NULL OR cv.agent_id = sqlc.narg(agent_id)::uuid)
      AND (@all_visible::bool OR EXISTS (
            SELECT 1 FROM participants p
            WHERE p.org_id = cv.org_id AND p.conversation_id = cv.id AND p.type = 'user'
              AND (p.external_id = @identity::text
                   OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))))
      AND (sqlc.narg(after_created_at)::timestamptz IS NULL
           OR (cv.created_at, cv.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
    ORDER BY cv.created_at DESC, cv.id DESC
    LIMIT @lim OFFSET @off
) c
LEFT JOIN LATERAL (
    SELECT m.direction, left(m.text, 1024) AS text FROM messages m
    WHERE m.org_id = c.org_id AND m.conversation_id = c.id
    ORDER BY m.seq
    LIMIT 1
) fm ON true
LEFT JOIN LATERAL (
    SELECT p.name FROM participants p
    WHERE p.org_id = c.org_id AND p.conversation_id = c.id AND p.type = 'user'
    ORDER BY p.created_at, p.id
    LIMIT 1
) vp ON true
ORDER BY c.created_at DESC, c.id DESC;

-- name: ConversationListReadable :many
-- One org's part of a connection's list_conversations (PROTOCOL §4.5): the granted
-- conversations plus those owned by one of the connection's identities or by its verified
-- email, only those with at least one message, most recent activity first.
SELECT c.id, c.title, c.message_count, c.last_message_at,
       coalesce((SELECT m.text FROM messages m
                 WHERE m.org_id = c.org_id AND m.conversation_id = c.id AND m.direction = 'inbound'
                 ORDER BY m.seq LIMIT 1), '')::text AS first_inbound
FROM conversations c
WHERE c.org_id = @org_id AND c.message_count > 0 AND c.last_message_at IS NOT NULL
  AND (sqlc.narg(agent_id)::uuid IS NULL OR c.agent_id = sqlc.narg(agent_id)::uuid)
  AND (c.id = ANY(@granted::uuid[])
       OR EXISTS (SELECT 1 FROM participants p
                  WHERE p.org_id = c.org_id AND p.conversation_id = c.id AND p.type = 'user'
                    AND (p.external_id = ANY(@identities::text[])
                         OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))))
ORDER BY c.last_message_at DESC, c.id DESC
LIMIT @lim;

-- name: ConversationRename :one
UPDATE conversations SET title = @title, updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: ConversationSetSupports :exec
UPDATE conversations SET client_supports = @client_supports::text[]
WHERE org_id = @org_id AND id = @id;

-- name: ConversationTouchActivity :exec
UPDATE conversations
SET message_count = message_count + 1, last_message_at = @at, updated_at = @at
WHERE org_id = @org_id AND id = @id;

-- name: ConversationVisibleTo :one
SELECT EXISTS (
    SELECT 1 FROM participants p
    WHERE p.org_id = @org_id AND p.conversation_id = @conversation_id AND p.type = 'user'
      AND (p.external_id = @identity::text
           OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))
)::bool AS visible;

-- name: ParticipantCreate :one
INSERT INTO participants (org_id, conversation_id, type, name, email, external_id, browser_fingerprint)
VALUES (@org_id, @conversation_id, @type, @name, sqlc.narg(email), sqlc.narg(external_id), sqlc.narg(browser_fingerprint))
RETURNING *;

-- name: ParticipantList :many
SELECT * FROM participants WHERE org_id = @org_id AND conversation_id = @conversation_id
ORDER BY created_at, id;

-- name: ParticipantListUserIdentities :many
-- What the /ws read rule compares: the owners of a conversation.
SELECT email, external_id FROM participants
WHERE org_id = @org_id AND conversation_id = @conversation_id AND type = 'user'
  AND (nullif(btrim(email), '') IS NOT NULL OR nullif(btrim(external_id), '') IS NOT NULL);
