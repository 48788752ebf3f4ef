-- name: AuditInsert :exec
INSERT INTO audit_log (org_id, actor_type, actor_id, actor_name, action, target_type, target_id, request_id, ip, details)
VALUES (@org_id, @actor_type, @actor_id, sqlc.narg(actor_name), @action, @target_type, @target_id,
        sqlc.narg(request_id), sqlc.narg(ip), @details);

-- name: AuditList :many
SELECT * FROM audit_log
WHERE org_id = @org_id
  AND (sqlc.narg(after_at)::timestamptz IS NULL
       OR (at, id) < (sqlc.narg(after_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY at DESC, id DESC
LIMIT @lim OFFSET @off;
