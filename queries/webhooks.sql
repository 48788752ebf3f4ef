-- Webhook endpoints, events and deliveries (ADMIN-API §12). A delivery's River job is
-- inserted by the same statement that writes the delivery, with a NOTIFY on River's insert
-- channel so that a worker picks it up at once (River's own inserts send the same).

-- name: WebhookEventEmit :batchexec
-- One event and, for each enabled endpoint of the org subscribed to its type, a delivery and
-- its job; nothing at all when no endpoint subscribes, or when an event with the same
-- dedupe key exists. One statement, so it joins a pipeline (store/pipeline.go) or a
-- transaction alike.
WITH ep AS (
    SELECT e.id FROM webhook_endpoints e
    WHERE e.org_id = @org_id AND e.enabled AND @type::text = ANY (e.event_types)
), ev AS (
    INSERT INTO webhook_events (org_id, id, type, conversation_id, data, dedupe_key)
    SELECT @org_id, @id, @type::text, sqlc.narg(conversation_id), @data, sqlc.narg(dedupe_key)
    WHERE EXISTS (SELECT 1 FROM ep)
    ON CONFLICT (org_id, dedupe_key) DO NOTHING
    RETURNING org_id, id
), dl AS (
    INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id)
    SELECT ev.org_id, ep.id, ev.id FROM ev CROSS JOIN ep
    RETURNING org_id, id
), job AS (
    INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, metadata, tags)
    SELECT jsonb_build_object('org_id', dl.org_id, 'delivery_id', dl.id), @kind::text, @max_attempts::smallint,
        @queue::text, 1, 'available'::river_job_state, '{}'::jsonb, '{}'::varchar(255)[]
    FROM dl
    RETURNING id
)
SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', @queue::text)::text)
FROM (SELECT 1 FROM job LIMIT 1) AS j;

-- name: WebhookEventEmitTest :one
-- A webhook.test event delivered to one endpoint only (POST /admin/webhooks/{id}/test),
-- whether or not it is enabled, with its job.
WITH ev AS (
    INSERT INTO webhook_events (org_id, id, type, data)
    SELECT e.org_id, @id, 'webhook.test', @data FROM webhook_endpoints e
    WHERE e.org_id = @org_id AND e.id = @endpoint_id
    RETURNING org_id, id
), dl AS (
    INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id)
    SELECT ev.org_id, @endpoint_id, ev.id FROM ev
    RETURNING *
), job AS (
    INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, metadata, tags)
    SELECT jsonb_build_object('org_id', dl.org_id, 'delivery_id', dl.id), @kind::text, @max_attempts::smallint,
        @queue::text, 1, 'available'::river_job_state, '{}'::jsonb, '{}'::varchar(255)[]
    FROM dl
    RETURNING id
), notified AS (
    SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', @queue::text)::text)
    FROM (SELECT 1 FROM job LIMIT 1) AS j
)
SELECT dl.id, dl.created_at, (SELECT count(*) FROM notified)::bigint AS notified FROM dl;

-- name: WebhookDeliveryRequeue :one
-- A finished delivery goes back to pending with a new job (an admin's retry).
WITH dl AS (
    UPDATE webhook_deliveries d SET status = 'pending', updated_at = now()
    WHERE d.org_id = @org_id AND d.endpoint_id = @endpoint_id AND d.id = @id AND d.status <> 'pending'
    RETURNING d.org_id, d.id
), job AS (
    INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, metadata, tags)
    SELECT jsonb_build_object('org_id', dl.org_id, 'delivery_id', dl.id), @kind::text, @max_attempts::smallint,
        @queue::text, 1, 'available'::river_job_state, '{}'::jsonb, '{}'::varchar(255)[]
    FROM dl
    RETURNING id
), notified AS (
    SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', @queue::text)::text)
    FROM (SELECT 1 FROM job LIMIT 1) AS j
)
SELECT dl.id, (SELECT count(*) FROM notified)::bigint AS notified FROM dl;

-- name: WebhookEndpointCreate :one
INSERT INTO webhook_endpoints (org_id, id, url, description, event_types, secret_ciphertext, created_by)
VALUES (@org_id, @id, @url, sqlc.narg(description), @event_types, @secret_ciphertext, @created_by)
RETURNING *;

-- name: WebhookEndpointGet :one
SELECT * FROM webhook_endpoints WHERE org_id = @org_id AND id = @id;

-- name: WebhookEndpointList :many
SELECT * FROM webhook_endpoints
WHERE org_id = @org_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: WebhookEndpointUpdate :one
-- Re-enabling clears the failure clock, so that an endpoint an admin fixed gets 72 hours again.
UPDATE webhook_endpoints
SET url = @url, description = sqlc.narg(description), event_types = @event_types, enabled = @enabled,
    disabled_reason = CASE WHEN @enabled::boolean THEN NULL
                           WHEN enabled THEN 'admin' ELSE disabled_reason END,
    failing_since = CASE WHEN @enabled::boolean AND NOT enabled THEN NULL ELSE failing_since END,
    updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: WebhookEndpointDelete :execrows
DELETE FROM webhook_endpoints WHERE org_id = @org_id AND id = @id;

-- name: WebhookEndpointRecordSuccess :exec
UPDATE webhook_endpoints SET failing_since = NULL
WHERE org_id = @org_id AND id = @id AND failing_since IS NOT NULL;

-- name: WebhookEndpointRecordFailure :one
-- Starts the failure clock at the first failure since the last success; an enabled endpoint
-- whose clock started before @disable_before is disabled ('failing'). disabled is true only
-- for the failure that disabled it.
UPDATE webhook_endpoints e
SET failing_since = coalesce(e.failing_since, now()),
    enabled = e.enabled AND NOT coalesce(e.failing_since < @disable_before::timestamptz, false),
    disabled_reason = CASE WHEN e.enabled AND coalesce(e.failing_since < @disable_before::timestamptz, false)
                           THEN 'failing' ELSE e.disabled_reason END,
    updated_at = CASE WHEN e.enabled AND coalesce(e.failing_since < @disable_before::timestamptz, false)
                      THEN now() ELSE e.updated_at END
FROM (SELECT o.enabled FROM webhook_endpoints o WHERE o.org_id = @org_id AND o.id = @id FOR NO KEY UPDATE) AS old
WHERE e.org_id = @org_id AND e.id = @id
RETURNING e.failing_since, (old.enabled AND NOT e.enabled)::boolean AS disabled;

-- name: WebhookDeliveryForWork :one
-- What one attempt needs: the delivery, its endpoint (with the sealed secret) and its event.
SELECT d.status, d.attempts, e.id AS endpoint_id, e.url, e.enabled, e.secret_ciphertext,
    ev.id AS event_id, ev.type, ev.data, ev.created_at AS event_created_at
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.org_id = d.org_id AND e.id = d.endpoint_id
JOIN webhook_events ev ON ev.org_id = d.org_id AND ev.id = d.event_id
WHERE d.org_id = @org_id AND d.id = @id;

-- name: WebhookDeliveryRecordAttempt :exec
UPDATE webhook_deliveries
SET status = @status, attempts = attempts + CASE WHEN @attempted::boolean THEN 1 ELSE 0 END,
    last_attempt_at = CASE WHEN @attempted::boolean THEN now() ELSE last_attempt_at END,
    last_status_code = sqlc.narg(last_status_code), last_error = sqlc.narg(last_error),
    last_response = sqlc.narg(last_response), updated_at = now()
WHERE org_id = @org_id AND id = @id;

-- name: WebhookDeliveryList :many
SELECT d.*, ev.type AS event_type FROM webhook_deliveries d
JOIN webhook_events ev ON ev.org_id = d.org_id AND ev.id = d.event_id
WHERE d.org_id = @org_id AND d.endpoint_id = @endpoint_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (d.created_at, d.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY d.created_at DESC, d.id DESC
LIMIT @lim OFFSET @off;

-- name: WebhookDeliveryGet :one
SELECT d.*, ev.type AS event_type FROM webhook_deliveries d
JOIN webhook_events ev ON ev.org_id = d.org_id AND ev.id = d.event_id
WHERE d.org_id = @org_id AND d.endpoint_id = @endpoint_id AND d.id = @id;
