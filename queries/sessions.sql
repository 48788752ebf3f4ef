-- name: SessionCreate :one
INSERT INTO sessions (id, org_id, conversation_id, agent_id, user_participant_id, agent_participant_id,
                      contact_email, user_name, supports, resume_token_hash, resume_token_expires_at)
VALUES (@id, @org_id, @conversation_id, @agent_id, @user_participant_id, @agent_participant_id,
        sqlc.narg(contact_email), @user_name,
        -- The capabilities (PROTOCOL-1.1 §4.2.8): the frame's list, else, on a resume, the
        -- conversation's clientSupports at this moment, else none.
        coalesce(sqlc.narg(supports)::text[],
                 (SELECT c.client_supports FROM conversations c WHERE c.org_id = @org_id AND c.id = @conversation_id),
                 '{}'::text[]),
        @resume_token_hash, @resume_token_expires_at)
RETURNING *;

-- name: SessionGet :one
SELECT * FROM sessions WHERE org_id = @org_id AND id = @id;

-- name: SessionVerificationState :one
-- What the verification gate reads of a session when a gated call comes up (PROTOCOL-1.1
-- §3.6, §7.13): its capabilities, contact email, verified address and the user's identity.
-- A session written before 1.1 without stored capabilities uses its conversation's.
SELECT coalesce(s.supports, c.client_supports, '{}'::text[])::text[] AS supports,
       s.contact_email, s.verified_email, s.verified_at, p.external_id
FROM sessions s
JOIN conversations c ON c.org_id = s.org_id AND c.id = s.conversation_id
JOIN participants p ON p.org_id = s.org_id AND p.id = s.user_participant_id
WHERE s.org_id = @org_id AND s.id = @id;

-- name: SessionContactsForConversation :many
-- The contact of each session of a conversation, by its user participant (ADMIN-API §9.7,
-- PROTOCOL-1.1 Appendix C.5).
SELECT user_participant_id, contact_email, verified_email, verified_at
FROM sessions WHERE org_id = @org_id AND conversation_id = @conversation_id;

-- name: SessionSetVerified :exec
-- A verified code (PROTOCOL-1.1 §4.13 step 6): the session's verified address and its time.
UPDATE sessions SET verified_email = @verified_email, verified_at = now()
WHERE org_id = @org_id AND id = @id;

-- name: SessionGetForWS :one
-- Allow-listed: /ws resolves a session by id, then checks org and grants at once.
SELECT * FROM sessions WHERE id = @id;

-- name: SessionResumeTokenValid :one
SELECT EXISTS (
    SELECT 1 FROM sessions
    WHERE org_id = @org_id AND conversation_id = @conversation_id
      AND resume_token_hash = @resume_token_hash AND resume_token_expires_at > now()
)::bool AS valid;

-- name: SessionListByConversations :many
SELECT * FROM sessions WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: SessionSetContact :one
-- An identity intake's host effect (PROTOCOL-1.1 §7.12): each given value replaces the
-- session's; an absent one leaves it.
UPDATE sessions SET
    user_name = coalesce(sqlc.narg(user_name), user_name),
    contact_email = coalesce(sqlc.narg(contact_email), contact_email),
    contact_phone = coalesce(sqlc.narg(contact_phone), contact_phone)
WHERE org_id = @org_id AND id = @id
RETURNING user_participant_id;

-- name: SessionCapabilitiesForTurn :batchone
-- The session's capabilities (PROTOCOL-1.1 §4.2.8), read at the turn's start; a session
-- written before 1.1 without stored capabilities uses its conversation's clientSupports.
SELECT coalesce(s.supports, c.client_supports, '{}'::text[])::text[] AS supports
FROM sessions s JOIN conversations c ON c.org_id = s.org_id AND c.id = s.conversation_id
WHERE s.org_id = @org_id AND s.id = @id;
