-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: AgentCreate :one
INSERT INTO agents (id, org_id, name, model, system_prompt, persona, confirm_tools, document_sets,
                    max_iterations, max_tokens, enabled, allowed_origins, require_auth_context,
                    widget_signing_secret, tool_signing_secret)
VALUES (@id, @org_id, @name, sqlc.narg(model), sqlc.narg(system_prompt), sqlc.narg(persona),
        @confirm_tools, @document_sets, sqlc.narg(max_iterations), sqlc.narg(max_tokens), @enabled,
        @allowed_origins, @require_auth_context, sqlc.narg(widget_signing_secret), sqlc.narg(tool_signing_secret))
RETURNING *;

-- name: AgentGet :one
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;

-- name: AgentGetForUpdate :one
-- Locks a live agent for the length of a write (PUT, tool create/update), so the
-- signing-secret rule, the changed-fields audit and the 64-tool cap see one version.
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL FOR UPDATE;

-- name: AgentGetForWS :one
-- Allow-listed: /ws learns the org from the agent; the caller checks the org right after.
SELECT * FROM agents WHERE id = @id AND deleted_at IS NULL;

-- name: AgentGetNameAnyState :one
-- get_session names the session's agent even after it was disabled or deleted.
SELECT name FROM agents WHERE org_id = @org_id AND id = @id;

-- name: AgentGetForTurn :batchone
-- The session's agent unless it was deleted (PROTOCOL §4.7 check 8, §7.1 configuration).
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;

-- name: AgentList :many
-- Keyset page in lower(name), id order. The cursor carries the name as stored; when it was
-- too long for a cursor, only the id, and the position is read back from that row.
SELECT a.* FROM agents a
WHERE a.org_id = @org_id AND a.deleted_at IS NULL
  AND (sqlc.narg(after_id)::uuid IS NULL
       OR (lower(a.name), a.id) > (lower(coalesce(sqlc.narg(after_name)::text,
                                                  (SELECT p.name FROM agents p
                                                   WHERE p.org_id = @org_id AND p.id = sqlc.narg(after_id)::uuid))),
                                   sqlc.narg(after_id)::uuid))
ORDER BY lower(a.name), a.id
LIMIT @lim OFFSET @off;

-- name: AgentUpdate :one
-- Replaces the whole agent. Secrets change only when their set_* flag is true (null deletes).
UPDATE agents SET
    name = @name,
    model = sqlc.narg(model),
    system_prompt = sqlc.narg(system_prompt),
    persona = sqlc.narg(persona),
    confirm_tools = @confirm_tools,
    document_sets = @document_sets,
    max_iterations = sqlc.narg(max_iterations),
    max_tokens = sqlc.narg(max_tokens),
    enabled = @enabled,
    allowed_origins = @allowed_origins,
    require_auth_context = @require_auth_context,
    widget_signing_secret = CASE WHEN @set_widget_secret::bool THEN sqlc.narg(widget_signing_secret) ELSE widget_signing_secret END,
    tool_signing_secret = CASE WHEN @set_tool_secret::bool THEN sqlc.narg(tool_signing_secret) ELSE tool_signing_secret END,
    updated_at = now()
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL
RETURNING *;

-- name: AgentSoftDelete :execrows
UPDATE agents SET deleted_at = now(), updated_at = now()
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;
