-- Agents (what a widget embeds), their HTTP tools, and org settings.

-- +goose Up
CREATE TABLE agents (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    model                 text,
    system_prompt         text,
    persona               text,
    confirm_tools         text[] NOT NULL DEFAULT '{}',
    -- Empty means every document set of the org.
    document_sets         text[] NOT NULL DEFAULT '{}',
    max_iterations        integer CHECK (max_iterations BETWEEN 1 AND 64),
    max_tokens            integer CHECK (max_tokens BETWEEN 1 AND 128000),
    enabled               boolean NOT NULL DEFAULT true,
    -- Widget policy. Empty allowed_origins places no origin restriction.
    allowed_origins       text[] NOT NULL DEFAULT '{}',
    require_auth_context  boolean NOT NULL DEFAULT false,
    -- Sealed with SWITCHBOARD_ENCRYPTION_KEY (0x01 || nonce || ciphertext || tag), write-only.
    widget_signing_secret bytea,
    tool_signing_secret   bytea,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz
);
-- Names are unique among live agents only: a deleted agent's name is free at once.
CREATE UNIQUE INDEX agents_org_name_live_key ON agents (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX agents_org_id_idx ON agents (org_id, id);

CREATE TABLE agent_tools (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id          uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (name ~ '^[a-zA-Z0-9_-]{1,64}$'),
    description       text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 1024),
    parameters        jsonb NOT NULL DEFAULT '{"type":"object","properties":{}}',
    url               text NOT NULL,
    requires_approval boolean NOT NULL DEFAULT false,
    timeout_ms        integer NOT NULL DEFAULT 10000 CHECK (timeout_ms BETWEEN 100 AND 60000),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agent_tools_org_agent_name_key ON agent_tools (org_id, agent_id, lower(name));

-- A row exists only once an admin wrote the settings; until then defaults are computed on read.
CREATE TABLE org_settings (
    org_id               uuid PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    model                text NOT NULL,
    system_prompt        text NOT NULL,
    persona              text,
    default_tools        text[] NOT NULL DEFAULT '{knowledge_search}',
    max_iterations       integer CHECK (max_iterations BETWEEN 1 AND 64),
    max_tokens           integer CHECK (max_tokens BETWEEN 1 AND 128000),
    monthly_token_budget bigint CHECK (monthly_token_budget BETWEEN 0 AND 1000000000000),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE org_settings;
DROP TABLE agent_tools;
DROP TABLE agents;
