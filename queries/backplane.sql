-- name: BackplaneEventPublish :one
-- One statement inserts the event and NOTIFYs its id, so the two share a transaction even
-- on a pool (autocommit); inside a caller's transaction the NOTIFY is sent at its commit.
-- created_at is the statement's clock, not the transaction start, so delivery lag is
-- measured from the publish itself.
WITH ev AS (
    INSERT INTO backplane_events (org_id, target_type, target_id, event, created_at)
    VALUES (@org_id, @target_type, @target_id, @event, clock_timestamp())
    RETURNING id
)
SELECT ev.id FROM ev CROSS JOIN LATERAL pg_notify('switchboard', ev.id::text) AS n;

-- name: BackplaneEventListAfter :many
-- Allow-listed: the backplane catch-up reads every org's events: the next @lim above the
-- high-water mark, and the ids below it that were missing when it last read (a publish
-- that had taken its id but not yet committed). Each half is a primary-key range or
-- lookup, and the plan does not depend on the values, so the listener prepares it once;
-- the caller orders the rows by id. read_at is the server's clock at the read, for a
-- delivery lag measured on one clock.
SELECT b.id, b.org_id, b.target_type, b.target_id, b.event, b.created_at,
    clock_timestamp()::timestamptz AS read_at
FROM (
    (SELECT * FROM backplane_events WHERE backplane_events.id > @after_id
     ORDER BY backplane_events.id LIMIT @lim)
    UNION ALL
    (SELECT * FROM backplane_events
     WHERE backplane_events.id = ANY(@gap_ids::bigint[]) AND backplane_events.id <= @after_id)
) AS b;

-- name: BackplaneEventMaxID :one
-- Allow-listed with the catch-up: where a fresh listener starts.
SELECT coalesce(max(id), 0)::bigint FROM backplane_events;

-- name: BackplaneEventPrune :execrows
-- Allow-listed with the catch-up: pruning by age across orgs.
DELETE FROM backplane_events WHERE created_at < @before;

-- name: BackplaneEventDeleteMentions :execrows
-- Erasure: the org's outbox events addressed to, or naming, an erased conversation,
-- session, approval or identity (an approval decision names its approval and session), as
-- a whole JSON string anywhere in the event.
DELETE FROM backplane_events
WHERE org_id = @org_id
  AND (target_id = ANY(@mentions::text[])
       OR EXISTS (SELECT 1 FROM unnest(@mentions::text[]) AS m(v) WHERE strpos(event::text, to_jsonb(m.v)::text) > 0));
