-- Queries of the turn engine (PROTOCOL §7) beyond the shared chat, billing and approval queries.
--
-- The :batch queries travel together, several to a round trip (the pipeline of store/turn_store.go): the reads
-- that send_message checks and hands to its turn, and the writes of one turn's end.

-- name: TurnAgent :batchone
-- The session's agent unless it was deleted (PROTOCOL §4.7 check 8, §7.1 configuration).
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL;

-- name: TurnOrgSettings :batchone
SELECT * FROM org_settings WHERE org_id = @org_id;

-- name: TurnAgentTools :batchmany
SELECT * FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id ORDER BY lower(name), id;

-- name: TurnGatewayKey :batchone
-- The org key that pays for a new turn (ADMIN-API §7.1): its newest active one.
SELECT * FROM gateway_keys
WHERE org_id = @org_id AND revoked_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: TurnMonthTokens :batchone
-- The org's prompt plus completion tokens of the current UTC month (ADMIN-API §7.3).
SELECT coalesce((SELECT sum(tokens) FROM org_usage_months
                 WHERE org_id = @org_id AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0)::bigint;

-- name: TurnHasKnowledge :batchone
-- Whether the org has any indexed document: without one, retrieval cannot find anything
-- and the turn skips the pre-turn search.
SELECT EXISTS (SELECT 1 FROM documents WHERE org_id = @org_id AND state = 'indexed')::bool;

-- name: TurnHistory :batchmany
-- The conversation's newest non-empty messages, newest first (PROTOCOL §7.1). It is read
-- before the turn's user message is stored, so every message it returns was stored before it.
SELECT direction, text FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id AND text <> ''
ORDER BY seq DESC
LIMIT @lim;

-- name: SetLocalSynchronousCommit :batchexec
-- synchronous_commit for the rest of the transaction it runs in. With 'off', the transaction
-- commits without waiting for its WAL to reach disk: it is committed, and visible everywhere,
-- at once, and durable at the next synchronous commit (the turn's end) or WAL writer flush
-- (docs/decisions.md, "A turn is durable at its end").
SELECT set_config('synchronous_commit', @setting::text, true);

-- name: InsertTurnMessage :batchone
-- A turn's inbound message or its reply, and the conversation's last activity, in one
-- statement (PROTOCOL §8).
WITH m AS (
    INSERT INTO messages (org_id, conversation_id, participant_id, direction, text, request_id, usage, tool_calls)
    VALUES (@org_id, @conversation_id, sqlc.narg(participant_id), @direction, @text, @request_id,
            sqlc.narg(usage), sqlc.narg(tool_calls))
    RETURNING id, created_at
), activity AS (
    UPDATE conversations c
    SET message_count = c.message_count + 1, last_message_at = m.created_at, updated_at = m.created_at
    FROM m
    WHERE c.org_id = @org_id AND c.id = @conversation_id
)
SELECT id FROM m;

-- name: RecordTurnUsage :batchexec
-- A turn's usage row and the org's month counter, in one statement (PROTOCOL §8, ADMIN-API §7).
WITH usage AS (
    INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model,
                              prompt_tokens, completion_tokens, tokens_estimated, cost_usd, cost_estimated,
                              gateway_key_id, outcome)
    VALUES (@id, @org_id, @agent_id, @conversation_id, @session_id, @request_id, @model,
            @prompt_tokens, @completion_tokens, @tokens_estimated, round(CAST(sqlc.arg(cost_usd) AS float8)::numeric, 10),
            @cost_estimated, sqlc.narg(gateway_key_id), @outcome)
)
INSERT INTO org_usage_months (org_id, month, shard, tokens)
VALUES (@org_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date,
        get_byte(uuid_send(@id), 15) % 16, @tokens)
ON CONFLICT (org_id, month, shard) DO UPDATE SET tokens = org_usage_months.tokens + EXCLUDED.tokens;

-- name: TouchGatewayKey :batchexec
-- The paying org key's last use, kept to the minute (ADMIN-API §7.1).
UPDATE gateway_keys SET last_used_at = now()
WHERE org_id = @org_id AND id = @id
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: GetApprovalStatus :one
-- What became of a park whose expiry lost the race against a decision.
SELECT status, decided_via, reason FROM pending_approvals WHERE org_id = @org_id AND id = @id;
