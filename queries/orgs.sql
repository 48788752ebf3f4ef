-- Orgs are the tenant root and carry no org_id column of their own; org_settings rows
-- are the org's, keyed by org_id.
-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: OrgCreate :one
INSERT INTO orgs (name, external_id) VALUES (@name, sqlc.narg(external_id))
RETURNING *;

-- name: OrgGet :one
SELECT * FROM orgs WHERE id = @id;

-- name: OrgGetByExternalID :one
SELECT * FROM orgs WHERE external_id = @external_id;

-- name: OrgProvisionByID :one
-- First use of an org claim in UUID form: race-free create, then the caller re-reads.
INSERT INTO orgs (id, name) VALUES (@id, @name)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: OrgProvisionByExternalID :one
INSERT INTO orgs (name, external_id) VALUES (@name, @external_id)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: OrgListIDs :many
SELECT id FROM orgs WHERE (sqlc.narg(after_id)::uuid IS NULL OR id > sqlc.narg(after_id)::uuid)
ORDER BY id
LIMIT @lim;

-- name: OrgList :many
-- Every org, oldest first (the operator's `switchboard orgs list`).
SELECT * FROM orgs
WHERE (sqlc.narg(after_id)::uuid IS NULL
       OR (created_at, id) > ((SELECT p.created_at FROM orgs p WHERE p.id = sqlc.narg(after_id)::uuid), sqlc.narg(after_id)::uuid))
ORDER BY created_at, id
LIMIT @lim;

-- name: OrgFindByName :many
-- Orgs named name, case-insensitively (names are not unique), oldest first.
SELECT * FROM orgs WHERE lower(name) = lower(@name) ORDER BY created_at, id LIMIT 2;

-- name: OrgSettingsGet :one
SELECT * FROM org_settings WHERE org_id = @org_id;

-- name: OrgSettingsGetForTurn :batchone
SELECT * FROM org_settings WHERE org_id = @org_id;

-- name: OrgSettingsLockWrites :exec
-- Serialises settings writes of one org (the key names the org), so that a partial write
-- reads the settings it changes and no concurrent write slips in between.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: OrgSettingsUpsert :one
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
