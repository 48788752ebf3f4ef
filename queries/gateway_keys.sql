-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: GatewayKeyCreate :one
INSERT INTO gateway_keys (id, org_id, label, key_ciphertext, last4, base_url, created_by)
VALUES (@id, @org_id, @label, @key_ciphertext, @last4, sqlc.narg(base_url), @created_by)
RETURNING *;

-- name: GatewayKeyGet :one
SELECT * FROM gateway_keys WHERE org_id = @org_id AND id = @id;

-- name: GatewayKeyList :many
SELECT * FROM gateway_keys
WHERE org_id = @org_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: GatewayKeyNewestActive :one
-- GatewayKeyNewestActiveForTurn outside a turn's batch.
SELECT * FROM gateway_keys
WHERE org_id = @org_id AND revoked_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: GatewayKeyNewestActiveForTurn :batchone
-- The org key that pays for a new turn (ADMIN-API §7.1): its newest active one.
SELECT * FROM gateway_keys
WHERE org_id = @org_id AND revoked_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: GatewayKeyRevoke :one
-- Erases the ciphertext; the metadata row stays for usage history.
UPDATE gateway_keys SET revoked_at = now(), key_ciphertext = NULL
WHERE org_id = @org_id AND id = @id AND revoked_at IS NULL
RETURNING *;

-- name: GatewayKeyTouch :batchexec
-- The paying org key's last use, kept to the minute (ADMIN-API §7.1).
UPDATE gateway_keys SET last_used_at = now()
WHERE org_id = @org_id AND id = @id
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
