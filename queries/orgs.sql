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
                          monthly_token_budget, conversation_retention_days, updated_at)
VALUES (@org_id, @model, @system_prompt, sqlc.narg(persona), @default_tools, sqlc.narg(max_iterations),
        sqlc.narg(max_tokens), sqlc.narg(monthly_token_budget), sqlc.narg(conversation_retention_days), now())
ON CONFLICT (org_id) DO UPDATE SET
    model = EXCLUDED.model, system_prompt = EXCLUDED.system_prompt, persona = EXCLUDED.persona,
    default_tools = EXCLUDED.default_tools, max_iterations = EXCLUDED.max_iterations,
    max_tokens = EXCLUDED.max_tokens, monthly_token_budget = EXCLUDED.monthly_token_budget,
    conversation_retention_days = EXCLUDED.conversation_retention_days, updated_at = now()
RETURNING *;

-- name: OrgSettingsListRetention :many
-- Allow-listed: the retention job visits every org with a retention period.
SELECT org_id, conversation_retention_days::integer AS days FROM org_settings
WHERE conversation_retention_days IS NOT NULL
ORDER BY org_id;

-- name: OrgRowCounts :one
-- What deleting the org takes (the dry run of `switchboard orgs delete`): its rows in every
-- table with an org_id column (store/erasure.go lists them; a test holds the two together).
SELECT (SELECT count(*) FROM agents t WHERE t.org_id = @org_id)::bigint AS agents,
       (SELECT count(*) FROM agent_tools t WHERE t.org_id = @org_id)::bigint AS agent_tools,
       (SELECT count(*) FROM api_keys t WHERE t.org_id = @org_id)::bigint AS api_keys,
       (SELECT count(*) FROM audit_log t WHERE t.org_id = @org_id)::bigint AS audit_log,
       (SELECT count(*) FROM backplane_events t WHERE t.org_id = @org_id)::bigint AS backplane_events,
       (SELECT count(*) FROM chunks t WHERE t.org_id = @org_id)::bigint AS chunks,
       (SELECT count(*) FROM connectors t WHERE t.org_id = @org_id)::bigint AS connectors,
       (SELECT count(*) FROM conversations t WHERE t.org_id = @org_id)::bigint AS conversations,
       (SELECT count(*) FROM document_sets t WHERE t.org_id = @org_id)::bigint AS document_sets,
       (SELECT count(*) FROM documents t WHERE t.org_id = @org_id)::bigint AS documents,
       (SELECT count(*) FROM gateway_keys t WHERE t.org_id = @org_id)::bigint AS gateway_keys,
       (SELECT count(*) FROM indexing_runs t WHERE t.org_id = @org_id)::bigint AS indexing_runs,
       (SELECT count(*) FROM messages t WHERE t.org_id = @org_id)::bigint AS messages,
       (SELECT count(*) FROM org_settings t WHERE t.org_id = @org_id)::bigint AS org_settings,
       (SELECT count(*) FROM org_usage_months t WHERE t.org_id = @org_id)::bigint AS org_usage_months,
       (SELECT count(*) FROM participants t WHERE t.org_id = @org_id)::bigint AS participants,
       (SELECT count(*) FROM pending_approvals t WHERE t.org_id = @org_id)::bigint AS pending_approvals,
       (SELECT count(*) FROM pending_interactions t WHERE t.org_id = @org_id)::bigint AS pending_interactions,
       (SELECT count(*) FROM sessions t WHERE t.org_id = @org_id)::bigint AS sessions,
       (SELECT count(*) FROM usage_days t WHERE t.org_id = @org_id)::bigint AS usage_days,
       (SELECT count(*) FROM usage_events t WHERE t.org_id = @org_id)::bigint AS usage_events,
       (SELECT count(*) FROM webhook_deliveries t WHERE t.org_id = @org_id)::bigint AS webhook_deliveries,
       (SELECT count(*) FROM webhook_endpoints t WHERE t.org_id = @org_id)::bigint AS webhook_endpoints,
       (SELECT count(*) FROM webhook_events t WHERE t.org_id = @org_id)::bigint AS webhook_events,
       (SELECT count(*) FROM otp_challenges t WHERE t.org_id = @org_id)::bigint AS otp_challenges;

-- name: OrgDelete :execrows
-- Every row of the org in every table goes with it: each tenant table's org_id references
-- orgs ON DELETE CASCADE, or (messages) the org's conversations (store/erasure.go).
DELETE FROM orgs WHERE id = @id;
