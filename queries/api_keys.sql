-- name: APIKeyCreate :one
INSERT INTO api_keys (org_id, name, role, key_hash, prefix, last4, created_by)
VALUES (@org_id, @name, @role, @key_hash, @prefix, @last4, @created_by)
RETURNING *;

-- name: APIKeyGetByHash :one
-- Allow-listed: authentication looks the key up by its hash before any org is known.
SELECT * FROM api_keys WHERE key_hash = @key_hash;

-- name: APIKeyList :many
SELECT * FROM api_keys
WHERE org_id = @org_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: APIKeyDelete :execrows
DELETE FROM api_keys WHERE org_id = @org_id AND id = @id;

-- name: APIKeyTouch :exec
-- At most once a minute per key, so authentication never waits on a hot row.
UPDATE api_keys SET last_used_at = now()
WHERE org_id = @org_id AND id = @id
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
