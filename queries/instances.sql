-- Instances are not tenant data: one row per `switchboard serve` process.

-- name: RegisterInstance :exec
INSERT INTO instances (id, hostname, version) VALUES (@id, @hostname, @version);

-- name: HeartbeatInstance :exec
UPDATE instances SET heartbeat_at = now() WHERE id = @id AND stopped_at IS NULL;

-- name: StopInstance :exec
UPDATE instances SET stopped_at = now() WHERE id = @id;

-- name: PruneInstances :exec
DELETE FROM instances i
WHERE i.heartbeat_at < now() - interval '7 days'
  AND NOT EXISTS (SELECT 1 FROM pending_approvals a WHERE a.instance_id = i.id);
