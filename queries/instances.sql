-- Instances are not tenant data: one row per `switchboard serve` process.

-- name: InstanceRegister :exec
INSERT INTO instances (id, hostname, version) VALUES (@id, @hostname, @version);

-- name: InstanceHeartbeat :exec
UPDATE instances SET heartbeat_at = now() WHERE id = @id AND stopped_at IS NULL;

-- name: InstanceStop :exec
UPDATE instances SET stopped_at = now() WHERE id = @id;

-- name: InstancePrune :exec
-- The rows of instances whose last heartbeat is before @silent_since (a week ago).
DELETE FROM instances i
WHERE i.heartbeat_at < @silent_since
  AND NOT EXISTS (SELECT 1 FROM pending_approvals a WHERE a.instance_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM pending_interactions n WHERE n.instance_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM otp_challenges c WHERE c.instance_id = i.id);
