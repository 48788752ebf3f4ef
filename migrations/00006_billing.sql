-- Per-org LLM gateway keys and the usage they pay for.

-- +goose Up
CREATE TABLE gateway_keys (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id         uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    label          text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 128),
    -- Sealed key (0x01 || nonce || ciphertext || tag); set to NULL when revoked.
    key_ciphertext bytea,
    last4          text NOT NULL,
    base_url       text,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    last_used_at   timestamptz,
    CHECK (revoked_at IS NOT NULL OR key_ciphertext IS NOT NULL)
);
CREATE INDEX gateway_keys_org_created_idx ON gateway_keys (org_id, created_at DESC, id DESC);

-- One row per turn that called the gateway, keyed by the server-generated turn id.
CREATE TABLE usage_events (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id          uuid NOT NULL,
    conversation_id   uuid NOT NULL,
    session_id        uuid NOT NULL,
    request_id        text NOT NULL,
    model             text NOT NULL,
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    tokens_estimated  boolean NOT NULL DEFAULT false,
    cost_usd          numeric(20, 10) NOT NULL DEFAULT 0,
    cost_estimated    boolean NOT NULL DEFAULT false,
    gateway_key_id    uuid REFERENCES gateway_keys (id),
    outcome           text NOT NULL CHECK (outcome IN ('completed', 'cancelled', 'error')),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_org_created_idx ON usage_events (org_id, created_at);

-- Month-to-date tokens per org, updated in the same transaction as each usage_events insert,
-- so the budget check before a turn reads a handful of rows. Each org's month is spread over
-- 16 shards (picked from the turn id) so that concurrent turns of one org do not queue
-- behind one row lock at commit; readers sum the shards.
CREATE TABLE org_usage_months (
    org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    month      date NOT NULL,
    shard      smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 15),
    tokens     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, month, shard)
);

-- +goose Down
DROP TABLE org_usage_months;
DROP TABLE usage_events;
DROP TABLE gateway_keys;
