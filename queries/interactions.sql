-- name: InteractionCreate :exec
INSERT INTO pending_interactions (id, org_id, session_id, conversation_id, agent_id, request_id, kind, spec,
                                  reason, instance_id, expires_at)
VALUES (@id, @org_id, @session_id, @conversation_id, @agent_id, @request_id, @kind, @spec,
        @reason, @instance_id, @expires_at);

-- name: InteractionGet :one
SELECT * FROM pending_interactions WHERE org_id = @org_id AND id = @id;

-- name: InteractionListPendingForSession :many
-- The cards a submit_interaction may answer (PROTOCOL-1.1 §4.12 step 5): pending and unexpired.
SELECT * FROM pending_interactions
WHERE org_id = @org_id AND session_id = @session_id AND status = 'pending' AND expires_at > now()
ORDER BY created_at, id;

-- name: InteractionDecide :one
-- The one conditional update that answers a card: only while pending, unexpired, and owned
-- by a live instance (heartbeat under 15 s old).
UPDATE pending_interactions i SET
    status = @status, submitted_values = sqlc.narg(submitted_values), decided_at = now()
WHERE i.org_id = @org_id AND i.id = @id AND i.status = 'pending' AND i.expires_at > now()
  AND EXISTS (SELECT 1 FROM instances n
              WHERE n.id = i.instance_id AND n.stopped_at IS NULL
                AND n.heartbeat_at > now() - interval '15 seconds')
RETURNING *;

-- name: InteractionExpireIfOrphaned :one
-- After a failed decision: records a pending card whose time or owner is gone as expired.
UPDATE pending_interactions i SET status = 'expired', decided_at = now()
WHERE i.org_id = @org_id AND i.id = @id AND i.status = 'pending'
  AND (i.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances n
                      WHERE n.id = i.instance_id AND n.stopped_at IS NULL
                        AND n.heartbeat_at > now() - interval '15 seconds'))
RETURNING id;

-- name: InteractionFinish :one
-- The owning turn ends a park without an answer (deadline, cancel, disconnect, drain).
UPDATE pending_interactions SET status = @status, decided_at = now()
WHERE org_id = @org_id AND id = @id AND status = 'pending'
RETURNING id;

-- name: InteractionCancelForAgent :many
UPDATE pending_interactions SET status = 'cancelled', decided_at = now()
WHERE org_id = @org_id AND agent_id = @agent_id AND status = 'pending'
RETURNING id, instance_id;

-- name: InteractionExpireStale :many
-- Allow-listed: the expiry sweeper runs across orgs.
UPDATE pending_interactions i SET status = 'expired', decided_at = now()
WHERE i.status = 'pending'
  AND (i.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances n
                      WHERE n.id = i.instance_id AND n.stopped_at IS NULL
                        AND n.heartbeat_at > now() - interval '15 seconds'))
RETURNING id, org_id, session_id;
