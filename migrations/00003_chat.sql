-- Conversations, their participants and messages, and the sessions that bind clients to them.

-- +goose Up
CREATE TABLE conversations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- Agents are soft-deleted, so the reference stays valid and conversations stay readable.
    agent_id        uuid NOT NULL REFERENCES agents (id),
    title           text,
    platform        text NOT NULL DEFAULT 'web' CHECK (platform IN ('web')),
    metadata        jsonb,
    client_supports text[],
    message_count   integer NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_org_created_idx ON conversations (org_id, created_at DESC, id DESC);
CREATE INDEX conversations_org_agent_created_idx ON conversations (org_id, agent_id, created_at DESC, id DESC);

CREATE TABLE participants (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id              uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    conversation_id     uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    type                text NOT NULL CHECK (type IN ('user', 'ai-agent', 'human-agent')),
    name                text NOT NULL,
    -- Only from verified sources (a token's email); never the widget's unverified userEmail.
    email               text,
    -- A namespaced identity: jwt:<sub> or ctx:<userId>.
    external_id         text CHECK (external_id IS NULL OR external_id ~ '^(jwt|ctx):.+'),
    browser_fingerprint text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participants_org_conversation_idx ON participants (org_id, conversation_id);
CREATE INDEX participants_org_external_id_idx ON participants (org_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX participants_org_email_idx ON participants (org_id, lower(btrim(email))) WHERE email IS NOT NULL;

CREATE TABLE messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The per-table sequence that orders and pages messages.
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    participant_id  uuid REFERENCES participants (id) ON DELETE SET NULL,
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    text            text NOT NULL,
    request_id      text,
    -- Outbound only: the turn's usage and a summary of its tool calls.
    usage           jsonb,
    tool_calls      jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_org_conversation_seq_idx ON messages (org_id, conversation_id, seq);

CREATE TABLE sessions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                  uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    conversation_id         uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id                uuid NOT NULL REFERENCES agents (id),
    user_participant_id     uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    agent_participant_id    uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'idle', 'ended')),
    contact_email           text,
    user_name               text NOT NULL,
    supports                text[],
    -- SHA-256 of the resume token; the token itself is never stored.
    resume_token_hash       bytea NOT NULL UNIQUE,
    resume_token_expires_at timestamptz NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_org_conversation_idx ON sessions (org_id, conversation_id);

-- +goose Down
DROP TABLE sessions;
DROP TABLE messages;
DROP TABLE participants;
DROP TABLE conversations;
