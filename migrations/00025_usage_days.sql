-- Usage rolled up by UTC day (issue 15): GET /admin/usage sums whole days from usage_days
-- and only the partial first and last days of its window from usage_events, so a month's
-- report reads a few rows per day instead of every turn of the month.
--
-- The rollup is kept by statement triggers on usage_events, in the transaction of the
-- statement that changes usage_events (a turn's UsageRecord, a fixture's insert, a test
-- moving a row in time, an erasure), so it is exact against the raw rows at every commit.
-- A day's row per org, agent, model and paying key is spread over 4 shards (picked from the
-- turn id, like org_usage_months's 16) so that concurrent turns of one agent do not queue on
-- one row lock until commit; readers sum the shards. gateway_key_id is the nil UUID when the
-- server's key paid (a primary key column cannot be null).

-- +goose Up
CREATE TABLE usage_days (
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day               date NOT NULL,
    agent_id          uuid NOT NULL,
    model             text NOT NULL,
    gateway_key_id    uuid NOT NULL,
    shard             smallint NOT NULL CHECK (shard BETWEEN 0 AND 3),
    turns             bigint NOT NULL,
    prompt_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    cost_usd          numeric NOT NULL,
    PRIMARY KEY (org_id, day, agent_id, model, gateway_key_id, shard)
);

-- +goose StatementBegin
-- Adds the rows of `added` and subtracts those of `removed` (transition tables, either may
-- be empty). Subtraction only updates rows that exist: when an org is deleted, its
-- usage_days rows are gone before the cascade's delete of its usage_events reaches here.
CREATE FUNCTION usage_days_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE usage_days u
        SET turns = u.turns - o.turns, prompt_tokens = u.prompt_tokens - o.prompt_tokens,
            completion_tokens = u.completion_tokens - o.completion_tokens, cost_usd = u.cost_usd - o.cost_usd
        FROM (SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, agent_id, model,
                     coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000') AS gateway_key_id,
                     (get_byte(uuid_send(id), 15) % 4)::smallint AS shard, count(*) AS turns,
                     sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
                     sum(cost_usd) AS cost_usd
              FROM removed GROUP BY 1, 2, 3, 4, 5, 6) o
        WHERE u.org_id = o.org_id AND u.day = o.day AND u.agent_id = o.agent_id AND u.model = o.model
          AND u.gateway_key_id = o.gateway_key_id AND u.shard = o.shard;
        DELETE FROM usage_days u
        USING (SELECT DISTINCT org_id, (created_at AT TIME ZONE 'UTC')::date AS day FROM removed) o
        WHERE u.org_id = o.org_id AND u.day = o.day AND u.turns = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO usage_days AS u (org_id, day, agent_id, model, gateway_key_id, shard, turns,
                                     prompt_tokens, completion_tokens, cost_usd)
        SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, agent_id, model,
               coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000'),
               get_byte(uuid_send(id), 15) % 4, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
        FROM added GROUP BY 1, 2, 3, 4, 5, 6
        -- A stable order, so that concurrent statements lock shared rows in the same order.
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (org_id, day, agent_id, model, gateway_key_id, shard) DO UPDATE
        SET turns = u.turns + EXCLUDED.turns, prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
            completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,
            cost_usd = u.cost_usd + EXCLUDED.cost_usd;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A trigger with transition tables serves one event, hence three.
CREATE TRIGGER usage_days_insert AFTER INSERT ON usage_events
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_days_apply();
CREATE TRIGGER usage_days_update AFTER UPDATE ON usage_events
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_days_apply();
CREATE TRIGGER usage_days_delete AFTER DELETE ON usage_events
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION usage_days_apply();

-- The rows stored before this migration.
INSERT INTO usage_days (org_id, day, agent_id, model, gateway_key_id, shard, turns, prompt_tokens, completion_tokens, cost_usd)
SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, agent_id, model,
       coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000'),
       get_byte(uuid_send(id), 15) % 4, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TRIGGER usage_days_delete ON usage_events;
DROP TRIGGER usage_days_update ON usage_events;
DROP TRIGGER usage_days_insert ON usage_events;
DROP FUNCTION usage_days_apply();
DROP TABLE usage_days;
