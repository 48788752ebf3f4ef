-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: UsageEventInsert :exec
-- A usage row alone, without the month counter (test fixtures); turns use UsageRecord.
INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model,
                          prompt_tokens, completion_tokens, tokens_estimated, cost_usd, cost_estimated,
                          gateway_key_id, outcome)
VALUES (@id, @org_id, @agent_id, sqlc.arg(conversation_id)::uuid, sqlc.arg(session_id)::uuid, sqlc.arg(request_id)::text, @model,
        @prompt_tokens, @completion_tokens, @tokens_estimated, round(CAST(sqlc.arg(cost_usd) AS float8)::numeric, 10),
        @cost_estimated, sqlc.narg(gateway_key_id), @outcome);

-- name: UsageRecord :batchexec
-- A turn's usage row and the org's month counter, in one statement (PROTOCOL §8, ADMIN-API §7).
-- server_key_paid: the server's key paid (gateway_key_id is null, and the model was not the
-- offline switchboard-demo, which nobody pays for).
WITH usage AS (
    INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model,
                              prompt_tokens, completion_tokens, tokens_estimated, cost_usd, cost_estimated,
                              gateway_key_id, outcome)
    VALUES (@id, @org_id, @agent_id, sqlc.arg(conversation_id)::uuid, sqlc.arg(session_id)::uuid, sqlc.arg(request_id)::text, @model,
            @prompt_tokens, @completion_tokens, @tokens_estimated, round(CAST(sqlc.arg(cost_usd) AS float8)::numeric, 10),
            @cost_estimated, sqlc.narg(gateway_key_id), @outcome)
)
INSERT INTO org_usage_months (org_id, month, shard, tokens, server_key_tokens)
VALUES (@org_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date,
        get_byte(uuid_send(@id), 15) % 16, sqlc.arg(tokens)::bigint,
        CASE WHEN sqlc.arg(server_key_paid)::boolean THEN sqlc.arg(tokens)::bigint ELSE 0 END)
ON CONFLICT (org_id, month, shard) DO UPDATE
SET tokens = org_usage_months.tokens + EXCLUDED.tokens,
    server_key_tokens = org_usage_months.server_key_tokens + EXCLUDED.server_key_tokens;

-- name: UsageMonthTokensForTurn :batchone
-- The org's prompt plus completion tokens of the current UTC month (ADMIN-API §7.3), and
-- those of them the server's key paid for (PROTOCOL-1.1 §4.7.1, L9).
SELECT coalesce(sum(tokens), 0)::bigint AS tokens, coalesce(sum(server_key_tokens), 0)::bigint AS server_key_tokens
FROM org_usage_months
WHERE org_id = @org_id AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date;

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

-- name: UsageEventListByConversations :many
SELECT * FROM usage_events WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: UsageEventScrubConversations :execrows
-- Erasure keeps a turn's numbers and clears what ties it to the erased conversation.
UPDATE usage_events SET conversation_id = NULL, session_id = NULL, request_id = NULL
WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[]);
