-- Rich interactions (PROTOCOL-1.1 §7.8–§7.12, §8): the cards a turn parks on, the phone
-- part of a session's contact, and the two interaction tools in every org's defaultTools
-- (Appendix C.4), so that upgrading changes no org's behaviour relative to a fresh one.

-- +goose Up
ALTER TABLE sessions ADD COLUMN contact_phone text;

-- Keys for composite foreign keys from tables that reference a session or an agent within
-- its org, as conversations_org_id_id_key (00016) does for conversations.
ALTER TABLE sessions ADD CONSTRAINT sessions_org_id_id_key UNIQUE (org_id, id);
ALTER TABLE agents ADD CONSTRAINT agents_org_id_id_key UNIQUE (org_id, id);

-- Rows are never deleted by the server: every card stays with its final status.
CREATE TABLE pending_interactions (
    id               uuid NOT NULL,
    org_id           uuid NOT NULL,
    session_id       uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    agent_id         uuid NOT NULL,
    -- R, the requestId of the turn that raised it.
    request_id       text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('identity_intake', 'choices')),
    -- The canonical spec (§7.8) the submitted values are validated against.
    spec             jsonb NOT NULL,
    reason           text NOT NULL,
    instance_id      uuid NOT NULL REFERENCES instances (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'submitted', 'declined', 'expired', 'cancelled')),
    -- The canonical values (§7.11), once submitted.
    submitted_values jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    decided_at       timestamptz,
    PRIMARY KEY (org_id, id),
    CONSTRAINT pending_interactions_session_fkey FOREIGN KEY (org_id, session_id)
        REFERENCES sessions (org_id, id) ON DELETE CASCADE,
    CONSTRAINT pending_interactions_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    -- Agents are soft-deleted, so the reference stays valid.
    CONSTRAINT pending_interactions_agent_fkey FOREIGN KEY (org_id, agent_id)
        REFERENCES agents (org_id, id),
    CHECK ((status = 'submitted') = (submitted_values IS NOT NULL))
);
CREATE INDEX pending_interactions_org_session_idx ON pending_interactions (org_id, session_id, created_at);
CREATE INDEX pending_interactions_org_agent_pending_idx ON pending_interactions (org_id, agent_id) WHERE status = 'pending';
-- The expiry sweeper runs across orgs (an allow-listed exception to org-leading indexes).
CREATE INDEX pending_interactions_pending_expiry_idx ON pending_interactions (expires_at) WHERE status = 'pending';
CREATE INDEX pending_interactions_pending_instance_idx ON pending_interactions (instance_id) WHERE status = 'pending';

ALTER TABLE org_settings ALTER COLUMN default_tools
    SET DEFAULT '{knowledge_search,request_identity_intake,request_choices}';
UPDATE org_settings SET default_tools = default_tools || ARRAY['request_identity_intake']
WHERE NOT ('request_identity_intake' = ANY (default_tools));
UPDATE org_settings SET default_tools = default_tools || ARRAY['request_choices']
WHERE NOT ('request_choices' = ANY (default_tools));

-- +goose Down
UPDATE org_settings
SET default_tools = array_remove(array_remove(default_tools, 'request_identity_intake'), 'request_choices');
ALTER TABLE org_settings ALTER COLUMN default_tools SET DEFAULT '{knowledge_search}';
DROP TABLE pending_interactions;
ALTER TABLE agents DROP CONSTRAINT agents_org_id_id_key;
ALTER TABLE sessions DROP CONSTRAINT sessions_org_id_id_key;
ALTER TABLE sessions DROP COLUMN contact_phone;
