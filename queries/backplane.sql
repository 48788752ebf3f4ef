-- name: InsertBackplaneEvent :one
INSERT INTO backplane_events (org_id, target_type, target_id, event)
VALUES (@org_id, @target_type, @target_id, @event)
RETURNING id;

-- name: NotifyBackplane :exec
SELECT pg_notify('switchboard', @payload::text);

-- name: ListBackplaneEventsAfter :many
-- Allow-listed: the backplane catch-up reads every org's events in id order.
SELECT * FROM backplane_events WHERE id > @after_id ORDER BY id LIMIT @lim;

-- name: MaxBackplaneEventID :one
-- Allow-listed with the catch-up: where a fresh listener starts.
SELECT coalesce(max(id), 0)::bigint FROM backplane_events;

-- name: PruneBackplaneEvents :execrows
-- Allow-listed with the catch-up: pruning by age across orgs.
DELETE FROM backplane_events WHERE created_at < @before;
