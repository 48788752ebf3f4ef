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
-- With each user participant, the contact of its session (PROTOCOL-1.1 Appendix C.5).
SELECT sqlc.embed(p), s.contact_email, s.contact_phone
FROM participants p
LEFT JOIN sessions s ON s.org_id = p.org_id AND s.conversation_id = p.conversation_id AND s.user_participant_id = p.id
WHERE p.org_id = @org_id AND p.conversation_id = @conversation_id
ORDER BY p.created_at, p.id;

-- name: ParticipantListUserIdentities :many
-- What the /ws read rule compares: the owners of a conversation.
SELECT email, external_id FROM participants
WHERE org_id = @org_id AND conversation_id = @conversation_id AND type = 'user'
  AND (nullif(btrim(email), '') IS NOT NULL OR nullif(btrim(external_id), '') IS NOT NULL);

-- name: ConversationIDsOfEndUser :many
-- Erasure and export (ADMIN-API §9.17): the conversations with a user participant carrying
-- the identity, or the verified email (trimmed, case-insensitive), oldest first.
SELECT c.id FROM conversations c
WHERE c.org_id = @org_id
  AND c.id IN (SELECT p.conversation_id FROM participants p
               WHERE p.org_id = @org_id AND p.type = 'user'
                 AND ((@identity::text <> '' AND p.external_id = @identity::text)
                      OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text)))))
ORDER BY c.created_at, c.id;

-- name: ConversationListByIDs :many
SELECT * FROM conversations WHERE org_id = @org_id AND id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: ConversationErasureCounts :one
-- What deleting the conversations takes with it (their rows cascade).
SELECT (SELECT count(*) FROM participants p WHERE p.org_id = @org_id AND p.conversation_id = ANY(@ids::uuid[]))::bigint AS participants,
       (SELECT count(*) FROM messages m WHERE m.org_id = @org_id AND m.conversation_id = ANY(@ids::uuid[]))::bigint AS messages,
       (SELECT count(*) FROM sessions s WHERE s.org_id = @org_id AND s.conversation_id = ANY(@ids::uuid[]))::bigint AS sessions,
       (SELECT count(*) FROM pending_approvals a WHERE a.org_id = @org_id AND a.conversation_id = ANY(@ids::uuid[]))::bigint AS approvals;

-- name: ConversationDeleteByIDs :execrows
-- Their participants, messages, sessions and approvals go with them (ON DELETE CASCADE).
DELETE FROM conversations WHERE org_id = @org_id AND id = ANY(@ids::uuid[]);

-- name: ConversationDeleteExpired :many
-- Retention (ADMIN-API §9.6): up to @lim conversations of the org last active before
-- @before. Rows another transaction holds are skipped, not waited for, so a batch never
-- queues behind a turn; they are taken by a later batch. A conversation last active before
-- @before was created before it, so the scan is a range of conversations_org_created_idx.
DELETE FROM conversations c
WHERE c.org_id = @org_id
  AND c.id IN (SELECT x.id FROM conversations x
               WHERE x.org_id = @org_id AND x.created_at < @before AND x.updated_at < @before
               ORDER BY x.created_at, x.id
               LIMIT @lim
               FOR UPDATE SKIP LOCKED)
RETURNING c.id;

-- name: ParticipantListByConversations :many
SELECT * FROM participants WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: ParticipantIdentitiesOfEndUser :many
-- The identities an end user went by: the reference itself, or those of the participants
-- with the verified email (what a publish to a `user` target names).
SELECT DISTINCT p.external_id::text FROM participants p
WHERE p.org_id = @org_id AND p.type = 'user' AND p.external_id IS NOT NULL
  AND ((@identity::text <> '' AND p.external_id = @identity::text)
       OR (@email::text <> '' AND lower(btrim(p.email)) = lower(btrim(@email::text))))
ORDER BY 1;

-- name: ParticipantSetName :exec
UPDATE participants SET name = @name WHERE org_id = @org_id AND id = @id;
