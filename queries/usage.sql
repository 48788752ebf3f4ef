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

-- name: UsageReport :many
-- GET /admin/usage (ADMIN-API §7.4): the whole UTC days of the window [@day_from, @day_to)
-- from the usage_days rollup, the partial days at its edges ([@from_at, @head_to) and
-- [@tail_from, @to_at), empty when the window starts or ends at midnight) from usage_events,
-- grouped by @group_by (day, model, agent or key). Costs are summed as numeric and cast
-- once, so the result equals the aggregate of the raw rows.
WITH parts AS (
    SELECT u.day, u.agent_id, u.model, nullif(u.gateway_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS gateway_key_id,
           u.turns, u.prompt_tokens, u.completion_tokens, u.cost_usd
    FROM usage_days u
    WHERE u.org_id = @org_id AND u.day >= @day_from::date AND u.day < @day_to::date
    UNION ALL
    SELECT (e.created_at AT TIME ZONE 'UTC')::date, e.agent_id, e.model, e.gateway_key_id,
           1, e.prompt_tokens, e.completion_tokens, e.cost_usd
    FROM usage_events e
    WHERE e.org_id = @org_id AND e.created_at >= @from_at AND e.created_at < @head_to
    UNION ALL
    SELECT (e.created_at AT TIME ZONE 'UTC')::date, e.agent_id, e.model, e.gateway_key_id,
           1, e.prompt_tokens, e.completion_tokens, e.cost_usd
    FROM usage_events e
    WHERE e.org_id = @org_id AND e.created_at >= @tail_from AND e.created_at < @to_at
)
SELECT (CASE @group_by::text
            WHEN 'day' THEN to_char(day, 'YYYY-MM-DD')
            WHEN 'model' THEN model
            WHEN 'agent' THEN agent_id::text
            ELSE coalesce(gateway_key_id::text, 'server')
        END)::text AS bucket,
       coalesce(sum(turns), 0)::bigint AS turns,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd
FROM parts
GROUP BY 1 ORDER BY 1;

-- name: UsageEventListByConversations :many
SELECT * FROM usage_events WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY created_at, id;

-- name: UsageEventScrubConversations :execrows
-- Erasure keeps a turn's numbers and clears what ties it to the erased conversation.
UPDATE usage_events SET conversation_id = NULL, session_id = NULL, request_id = NULL
WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[]);
