-- Queries of the turn engine (PROTOCOL §7) beyond the shared chat, billing and approval queries.

-- name: ListHistoryMessages :many
-- The newest messages stored before a turn's user message (PROTOCOL §7.1), newest first.
SELECT direction, text FROM messages
WHERE org_id = @org_id AND conversation_id = @conversation_id AND seq < @before_seq::bigint AND text <> ''
ORDER BY seq DESC
LIMIT @lim;

-- name: GetApprovalStatus :one
-- What became of a park whose expiry lost the race against a decision.
SELECT status, decided_via, reason FROM pending_approvals WHERE org_id = @org_id AND id = @id;
