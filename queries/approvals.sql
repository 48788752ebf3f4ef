-- name: ApprovalCreate :one
INSERT INTO pending_approvals (id, org_id, session_id, conversation_id, agent_id, request_id, tool_name,
                               arguments, instance_id, expires_at)
VALUES (@id, @org_id, @session_id, @conversation_id, @agent_id, @request_id, @tool_name,
        @arguments, @instance_id, @expires_at)
RETURNING *;

-- name: ApprovalGet :one
SELECT * FROM pending_approvals WHERE org_id = @org_id AND id = @id;

-- name: ApprovalGetStatus :one
-- What became of a park whose expiry lost the race against a decision.
SELECT status, decided_via, reason FROM pending_approvals WHERE org_id = @org_id AND id = @id;

-- name: ApprovalListPending :many
SELECT * FROM pending_approvals
WHERE org_id = @org_id AND status = 'pending' AND expires_at > now()
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) > (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at, id
LIMIT @lim OFFSET @off;

-- name: ApprovalFindPendingForSession :one
-- The approval a confirm decides: the named one, else the session's earliest-parked.
SELECT * FROM pending_approvals
WHERE org_id = @org_id AND session_id = @session_id AND status = 'pending'
  AND (sqlc.narg(id)::uuid IS NULL OR id = sqlc.narg(id)::uuid)
ORDER BY created_at, id
LIMIT 1;

-- name: ApprovalDecide :one
-- The one conditional update that decides a park: only while pending, unexpired, and owned
-- by a live instance (heartbeat under 15 s old).
UPDATE pending_approvals a SET
    status = @status, decided_via = @decided_via, decided_by = sqlc.narg(decided_by),
    reason = sqlc.narg(reason), decided_at = now()
WHERE a.org_id = @org_id AND a.id = @id AND a.status = 'pending' AND a.expires_at > now()
  AND EXISTS (SELECT 1 FROM instances i
              WHERE i.id = a.instance_id AND i.stopped_at IS NULL
                AND i.heartbeat_at > now() - interval '15 seconds')
RETURNING *;

-- name: ApprovalExpireIfOrphaned :one
-- After a failed decision: records a pending approval whose time or owner is gone as expired.
UPDATE pending_approvals a SET status = 'expired', decided_at = now()
WHERE a.org_id = @org_id AND a.id = @id AND a.status = 'pending'
  AND (a.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.id = a.instance_id AND i.stopped_at IS NULL
                        AND i.heartbeat_at > now() - interval '15 seconds'))
RETURNING *;

-- name: ApprovalFinish :one
-- The owning turn ends a park without a decision (timeout, cancel, disconnect, drain, agent deleted).
UPDATE pending_approvals SET status = @status, decided_at = now()
WHERE org_id = @org_id AND id = @id AND status = 'pending'
RETURNING *;

-- name: ApprovalCancelForAgent :many
UPDATE pending_approvals SET status = 'cancelled', decided_at = now()
WHERE org_id = @org_id AND agent_id = @agent_id AND status = 'pending'
RETURNING *;

-- name: ApprovalExpireStale :many
-- Allow-listed: the expiry sweeper runs across orgs.
UPDATE pending_approvals a SET status = 'expired', decided_at = now()
WHERE a.status = 'pending'
  AND (a.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.id = a.instance_id AND i.stopped_at IS NULL
                        AND i.heartbeat_at > now() - interval '15 seconds'))
RETURNING id, org_id, session_id;

-- name: ApprovalListByConversations :many
SELECT * FROM pending_approvals WHERE org_id = @org_id AND conversation_id = ANY(@ids::uuid[])
ORDER BY created_at, id;
