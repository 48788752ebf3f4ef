-- One-time-code challenges (PROTOCOL-1.1 §7.13, §7.14, §4.13). A code is never stored in
-- clear: code_hash is its keyed hash. Rows are never deleted by the server.

-- name: OTPChallengeLockAddress :exec
-- The count of the send limits and the insert run under this transaction-level lock on the
-- lower-cased address, so concurrent turns on any instance cannot pass a limit together.
SELECT pg_advisory_xact_lock(hashtextextended('switchboard otp ' || lower(@destination::text), 0));

-- name: OTPChallengeExpireStaleForSession :exec
-- Before the gate looks for a pending challenge: one whose time or owner is gone is expired.
UPDATE otp_challenges c SET status = 'expired', decided_at = now()
WHERE c.org_id = @org_id AND c.session_id = @session_id AND c.status = 'pending'
  AND (c.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.id = c.instance_id AND i.stopped_at IS NULL
                        AND i.heartbeat_at > now() - interval '15 seconds'));

-- name: OTPChallengeSessionCounts :one
-- What the gate checks before a park (§7.13 steps 5 and 6): a pending challenge of the
-- session, and the challenges of the session in the last hour, whatever their status.
SELECT
    EXISTS (SELECT 1 FROM otp_challenges p
            WHERE p.org_id = @org_id AND p.session_id = @session_id AND p.status = 'pending')::bool AS pending,
    (SELECT count(*) FROM otp_challenges s
     WHERE s.org_id = @org_id AND s.session_id = @session_id
       AND s.created_at > now() - interval '1 hour')::bigint AS session_sends;

-- name: OTPChallengeAddressSends :one
-- Allow-listed: the challenges of the last hour to one address, whatever their status, across
-- every org on purpose: the limit protects the inbox of the owner of the address (§7.14).
SELECT count(*) FROM otp_challenges
WHERE lower(destination) = lower(@destination::text) AND created_at > now() - interval '1 hour';

-- name: OTPChallengeCreate :one
INSERT INTO otp_challenges (id, org_id, session_id, conversation_id, agent_id, request_id, tool_name,
                            destination, code_hash, max_attempts, instance_id, expires_at)
VALUES (@id, @org_id, @session_id, @conversation_id, @agent_id, @request_id, @tool_name,
        @destination, @code_hash, @max_attempts, @instance_id, now() + make_interval(secs => @ttl_seconds::float8))
RETURNING *;

-- name: OTPChallengeLatestForSession :one
-- The challenge of verify_otp: the most recently created of the session, locked for the attempt.
SELECT * FROM otp_challenges
WHERE org_id = @org_id AND session_id = @session_id
ORDER BY created_at DESC, id DESC
LIMIT 1
FOR UPDATE;

-- name: OTPChallengeOwnerLive :one
SELECT EXISTS (SELECT 1 FROM instances i
               WHERE i.id = @instance_id AND i.stopped_at IS NULL
                 AND i.heartbeat_at > now() - interval '15 seconds')::bool AS live;

-- name: OTPChallengeRecordAttempt :one
-- One verify_otp attempt on a locked pending challenge: status pending (wrong, attempts
-- left), verified or failed.
UPDATE otp_challenges SET
    attempts = attempts + 1, status = @status,
    decided_at = CASE WHEN @status::text = 'pending' THEN NULL ELSE now() END
WHERE org_id = @org_id AND id = @id AND status = 'pending'
RETURNING *;

-- name: OTPChallengeFinish :one
-- The owning turn, or verify_otp, ends a pending challenge without a verification: expired,
-- cancelled or unsent.
UPDATE otp_challenges SET status = @status, decided_at = now()
WHERE org_id = @org_id AND id = @id AND status = 'pending'
RETURNING *;

-- name: OTPChallengeGetStatus :one
SELECT status FROM otp_challenges WHERE org_id = @org_id AND id = @id;

-- name: OTPChallengeCancelForAgent :many
UPDATE otp_challenges SET status = 'cancelled', decided_at = now()
WHERE org_id = @org_id AND agent_id = @agent_id AND status = 'pending'
RETURNING id, instance_id;

-- name: OTPChallengeExpireStale :many
-- Allow-listed: the expiry sweeper runs across orgs.
UPDATE otp_challenges c SET status = 'expired', decided_at = now()
WHERE c.status = 'pending'
  AND (c.expires_at <= now()
       OR NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.id = c.instance_id AND i.stopped_at IS NULL
                        AND i.heartbeat_at > now() - interval '15 seconds'))
RETURNING id, org_id, session_id;
