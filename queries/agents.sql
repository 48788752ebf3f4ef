-- name: CreateAgent :one
INSERT INTO agents (id, org_id, name, model, system_prompt, persona, confirm_tools, document_sets,
                    max_iterations, max_tokens, enabled, allowed_origins, require_auth_context,
                    widget_signing_secret, tool_signing_secret)
VALUES (@id, @org_id, @name, sqlc.narg(model), sqlc.narg(system_prompt), sqlc.narg(persona),
        @confirm_tools, @document_sets, sqlc.narg(max_iterations), sqlc.narg(max_tokens), @enabled,
        @allowed_origins, @require_auth_context, sqlc.narg(widget_signing_secret), sqlc.narg(tool_signing_secret))
RETURNING *;

-- name: GetAgent :one
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;

-- name: GetAgentForWS :one
-- Allow-listed: /ws learns the org from the agent; the caller checks the org right after.
SELECT * FROM agents WHERE id = @id AND deleted_at IS NULL;

-- name: UpdateAgent :one
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

-- name: SoftDeleteAgent :execrows
UPDATE agents SET deleted_at = now(), updated_at = now()
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;

-- name: CreateTool :one
INSERT INTO agent_tools (org_id, agent_id, name, description, parameters, url, requires_approval, timeout_ms)
VALUES (@org_id, @agent_id, @name, @description, @parameters, @url, @requires_approval, @timeout_ms)
RETURNING *;

-- name: GetTool :one
SELECT t.* FROM agent_tools t
JOIN agents a ON a.id = t.agent_id AND a.org_id = t.org_id AND a.deleted_at IS NULL
WHERE t.org_id = @org_id AND t.agent_id = @agent_id AND t.id = @id;

-- name: CountTools :one
SELECT count(*) FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id;

-- name: UpdateTool :one
UPDATE agent_tools SET
    name = @name, description = @description, parameters = @parameters, url = @url,
    requires_approval = @requires_approval, timeout_ms = @timeout_ms, updated_at = now()
WHERE org_id = @org_id AND agent_id = @agent_id AND id = @id
RETURNING *;

-- name: DeleteTool :execrows
DELETE FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id AND id = @id;

-- name: GetOrgSettings :one
SELECT * FROM org_settings WHERE org_id = @org_id;

-- name: UpsertOrgSettings :one
INSERT INTO org_settings (org_id, model, system_prompt, persona, default_tools, max_iterations, max_tokens,
                          monthly_token_budget, updated_at)
VALUES (@org_id, @model, @system_prompt, sqlc.narg(persona), @default_tools, sqlc.narg(max_iterations),
        sqlc.narg(max_tokens), sqlc.narg(monthly_token_budget), now())
ON CONFLICT (org_id) DO UPDATE SET
    model = EXCLUDED.model, system_prompt = EXCLUDED.system_prompt, persona = EXCLUDED.persona,
    default_tools = EXCLUDED.default_tools, max_iterations = EXCLUDED.max_iterations,
    max_tokens = EXCLUDED.max_tokens, monthly_token_budget = EXCLUDED.monthly_token_budget,
    updated_at = now()
RETURNING *;
