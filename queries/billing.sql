-- name: CreateGatewayKey :one
INSERT INTO gateway_keys (id, org_id, label, key_ciphertext, last4, base_url, created_by)
VALUES (@id, @org_id, @label, @key_ciphertext, @last4, sqlc.narg(base_url), @created_by)
RETURNING *;

-- name: GetGatewayKey :one
SELECT * FROM gateway_keys WHERE org_id = @org_id AND id = @id;

-- name: ListGatewayKeys :many
SELECT * FROM gateway_keys
WHERE org_id = @org_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: RevokeGatewayKey :one
-- Erases the ciphertext; the metadata row stays for usage history.
UPDATE gateway_keys SET revoked_at = now(), key_ciphertext = NULL
WHERE org_id = @org_id AND id = @id AND revoked_at IS NULL
RETURNING *;

-- name: NewestActiveGatewayKey :one
SELECT * FROM gateway_keys
WHERE org_id = @org_id AND revoked_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: InsertUsageEvent :exec
INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model,
                          prompt_tokens, completion_tokens, tokens_estimated, cost_usd, cost_estimated,
                          gateway_key_id, outcome)
VALUES (@id, @org_id, @agent_id, @conversation_id, @session_id, @request_id, @model,
        @prompt_tokens, @completion_tokens, @tokens_estimated, round(CAST(sqlc.arg(cost_usd) AS float8)::numeric, 10),
        @cost_estimated, sqlc.narg(gateway_key_id), @outcome);

-- name: UsageByDay :many
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')::text AS bucket, count(*)::bigint AS turns,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd
FROM usage_events
WHERE org_id = @org_id AND created_at >= @from_at AND created_at < @to_at
GROUP BY 1 ORDER BY 1;

-- name: UsageByModel :many
SELECT model::text AS bucket, count(*)::bigint AS turns,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd
FROM usage_events
WHERE org_id = @org_id AND created_at >= @from_at AND created_at < @to_at
GROUP BY 1 ORDER BY 1;

-- name: UsageByAgent :many
SELECT agent_id::text AS bucket, count(*)::bigint AS turns,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd
FROM usage_events
WHERE org_id = @org_id AND created_at >= @from_at AND created_at < @to_at
GROUP BY 1 ORDER BY 1;

-- name: UsageByKey :many
SELECT coalesce(gateway_key_id::text, 'server')::text AS bucket, count(*)::bigint AS turns,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd
FROM usage_events
WHERE org_id = @org_id AND created_at >= @from_at AND created_at < @to_at
GROUP BY 1 ORDER BY 1;
