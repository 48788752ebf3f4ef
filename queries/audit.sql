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

-- name: AuditListAbout :many
-- The entries about erased things: a conversation, session or approval by id, or an end
-- user's identity (a publish to a `user` target).
SELECT * FROM audit_log
WHERE org_id = @org_id
  AND ((target_type = 'conversation' AND target_id = ANY(@conversation_ids::text[]))
       OR (target_type = 'session' AND target_id = ANY(@session_ids::text[]))
       OR (target_type = 'approval' AND target_id = ANY(@approval_ids::text[]))
       OR (target_type = 'user' AND target_id = ANY(@identities::text[])))
ORDER BY at, id;

-- name: AuditScrubAbout :execrows
-- Erasure keeps the entries (who did what, when) and drops what they said about the erased
-- things: the target's id and the details.
UPDATE audit_log SET target_id = 'erased', details = '{"erased": true}'::jsonb
WHERE org_id = @org_id
  AND ((target_type = 'conversation' AND target_id = ANY(@conversation_ids::text[]))
       OR (target_type = 'session' AND target_id = ANY(@session_ids::text[]))
       OR (target_type = 'approval' AND target_id = ANY(@approval_ids::text[]))
       OR (target_type = 'user' AND target_id = ANY(@identities::text[])));
