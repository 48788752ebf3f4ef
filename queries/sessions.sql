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
