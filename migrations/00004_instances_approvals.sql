-- Running server instances, parked tool calls, and the backplane outbox.

-- +goose Up
-- Not tenant data: one row per `switchboard serve` process.
CREATE TABLE instances (
    id           uuid PRIMARY KEY,
    hostname     text NOT NULL DEFAULT '',
    version      text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);

-- Rows are never deleted: every park stays with its final status.
CREATE TABLE pending_approvals (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id        uuid NOT NULL REFERENCES agents (id),
    request_id      text NOT NULL,
    tool_name       text NOT NULL,
    arguments       jsonb NOT NULL,
    instance_id     uuid NOT NULL REFERENCES instances (id),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')),
    decided_via     text CHECK (decided_via IN ('widget', 'admin')),
    decided_by      text,
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    decided_at      timestamptz
);
CREATE INDEX pending_approvals_org_status_created_idx ON pending_approvals (org_id, status, created_at, id);
CREATE INDEX pending_approvals_org_session_idx ON pending_approvals (org_id, session_id, created_at);
-- The expiry sweeper runs across orgs (an allow-listed exception to org-leading indexes).
CREATE INDEX pending_approvals_pending_expiry_idx ON pending_approvals (expires_at) WHERE status = 'pending';
CREATE INDEX pending_approvals_pending_instance_idx ON pending_approvals (instance_id) WHERE status = 'pending';

-- The backplane outbox: a publish inserts a row and NOTIFYs its id in the same transaction.
CREATE TABLE backplane_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    target_type text NOT NULL
                CHECK (target_type IN ('connection', 'session', 'conversation', 'agent', 'user', 'org', 'instance')),
    target_id   text NOT NULL,
    event       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Pruning runs across orgs by age.
CREATE INDEX backplane_events_created_idx ON backplane_events (created_at);

-- +goose Down
DROP TABLE backplane_events;
DROP TABLE pending_approvals;
DROP TABLE instances;
