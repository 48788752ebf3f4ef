-- One-time codes (PROTOCOL-1.1 §3.6, §7.13, §7.14, §8): the per-tool verification setting,
-- a session's verified address, and one row per code sent (a challenge). A code is never
-- stored: only its keyed hash. Rows are never deleted by the server; every challenge keeps
-- its final status, and the send limits count them.

-- +goose Up
ALTER TABLE agent_tools ADD COLUMN requires_verification boolean NOT NULL DEFAULT false;

-- The address a code verified, and when (§3.6: it counts while it equals contact_email).
ALTER TABLE sessions
    ADD COLUMN verified_email text CONSTRAINT sessions_verified_email_length CHECK (char_length(verified_email) <= 320),
    ADD COLUMN verified_at    timestamptz;

-- Keys for the composite foreign keys below (IF NOT EXISTS: another 1.1 table's migration may
-- have made the same keys; the conversations' key exists since 00016).
CREATE UNIQUE INDEX IF NOT EXISTS sessions_org_id_id_key ON sessions (org_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS agents_org_id_id_key ON agents (org_id, id);

CREATE TABLE otp_challenges (
    id              uuid NOT NULL,
    org_id          uuid NOT NULL,
    session_id      uuid NOT NULL,
    conversation_id uuid NOT NULL,
    -- Agents are soft-deleted, so the reference stays valid.
    agent_id        uuid NOT NULL,
    request_id      text NOT NULL CHECK (char_length(request_id) <= 256),
    tool_name       text NOT NULL CHECK (char_length(tool_name) <= 64),
    channel         text NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    destination     text NOT NULL CHECK (char_length(destination) BETWEEN 3 AND 320),
    -- HMAC-SHA256 of "<id>:<code>" under a key derived from SWITCHBOARD_ENCRYPTION_KEY (§7.14).
    code_hash       bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL CHECK (max_attempts >= 1),
    instance_id     uuid NOT NULL REFERENCES instances (id),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'verified', 'failed', 'expired', 'cancelled', 'unsent')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    decided_at      timestamptz,
    PRIMARY KEY (org_id, id),
    -- The session's key checks the org too (a challenge's org is its session's org); deleting
    -- an org deletes its challenges through its sessions.
    CONSTRAINT otp_challenges_session_fkey FOREIGN KEY (org_id, session_id)
        REFERENCES sessions (org_id, id) ON DELETE CASCADE,
    CONSTRAINT otp_challenges_conversation_fkey FOREIGN KEY (org_id, conversation_id)
        REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    CONSTRAINT otp_challenges_agent_fkey FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id)
);
-- At most one pending challenge per session (§7.13 step 5).
CREATE UNIQUE INDEX otp_challenges_org_session_pending_key ON otp_challenges (org_id, session_id) WHERE status = 'pending';
-- verify_otp reads a session's latest challenge; the per-session send limit counts them.
CREATE INDEX otp_challenges_org_session_created_idx ON otp_challenges (org_id, session_id, created_at DESC, id DESC);
-- The per-address send limit counts across orgs on purpose (§7.14), an allow-listed exception.
CREATE INDEX otp_challenges_destination_created_idx ON otp_challenges (lower(destination), created_at);
-- The expiry sweeper runs across orgs, like the approvals'.
CREATE INDEX otp_challenges_pending_expiry_idx ON otp_challenges (expires_at) WHERE status = 'pending';
-- Instance pruning keeps every instance a challenge names.
CREATE INDEX otp_challenges_instance_idx ON otp_challenges (instance_id);
CREATE INDEX otp_challenges_org_agent_pending_idx ON otp_challenges (org_id, agent_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE otp_challenges;
-- The keys stay while another table's foreign key still uses them.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conindid = 'sessions_org_id_id_key'::regclass) THEN
        DROP INDEX sessions_org_id_id_key;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conindid = 'agents_org_id_id_key'::regclass) THEN
        DROP INDEX agents_org_id_id_key;
    END IF;
END
$$;
-- +goose StatementEnd
ALTER TABLE sessions DROP COLUMN verified_at, DROP COLUMN verified_email;
ALTER TABLE agent_tools DROP COLUMN requires_verification;
