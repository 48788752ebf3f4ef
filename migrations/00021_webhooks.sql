-- Tenant webhooks (ADMIN-API §12): the endpoints an org registers, the events written in the
-- same transaction as what they report, and one delivery per event and subscribed endpoint,
-- worked by a River job (kind webhook_delivery) that the emitting statement queues in that
-- transaction too (queries/webhooks.sql, WebhookEventEmit).

-- +goose Up
CREATE TABLE webhook_endpoints (
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    url               text NOT NULL,
    description       text,
    event_types       text[] NOT NULL CHECK (cardinality(event_types) > 0 AND event_types <@ ARRAY[
        'conversation.created', 'message.created', 'turn.failed', 'approval.requested',
        'approval.decided', 'interaction.submitted', 'otp.verified', 'budget.reached']::text[]),
    enabled           boolean NOT NULL DEFAULT true,
    -- Why it is disabled: 'admin' (an update) or 'failing' (the delivery worker, after
    -- failing for 72 hours); NULL while enabled.
    disabled_reason   text CHECK (disabled_reason IN ('admin', 'failing')),
    -- The whsec_ signing secret, sealed (seal.AAD("webhook_endpoints", "secret", org, id)).
    secret_ciphertext bytea NOT NULL,
    -- The first failed attempt since the last success; NULL while deliveries succeed.
    failing_since     timestamptz,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    CHECK (enabled = (disabled_reason IS NULL))
);
CREATE INDEX webhook_endpoints_org_created_idx ON webhook_endpoints (org_id, created_at DESC, id DESC);

-- An event is written only when an enabled endpoint of the org subscribes to its type; its
-- id is the webhook-id of every delivery of it. conversation_id names the conversation it is
-- about: deleting the conversation (erasure, retention) deletes its events and their
-- deliveries, since data holds what was said.
CREATE TABLE webhook_events (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    type            text NOT NULL,
    conversation_id uuid,
    data            jsonb NOT NULL,
    -- Events that happen once per key (budget.reached: once per org and month).
    dedupe_key      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, dedupe_key),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_events_org_conversation_idx ON webhook_events (org_id, conversation_id)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX webhook_events_org_created_idx ON webhook_events (org_id, created_at);

CREATE TABLE webhook_deliveries (
    org_id           uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    endpoint_id      uuid NOT NULL,
    event_id         uuid NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    -- At most 1 KiB of the last response body.
    last_response    text CHECK (octet_length(last_response) <= 1024),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, event_id) REFERENCES webhook_events (org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_org_endpoint_created_idx
    ON webhook_deliveries (org_id, endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_org_event_idx ON webhook_deliveries (org_id, event_id);

-- +goose Down
DELETE FROM river_job WHERE kind = 'webhook_delivery';
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
