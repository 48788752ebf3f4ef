-- server_meta is not tenant data: one key/value table of the server.

-- name: ServerMetaGet :one
SELECT value FROM server_meta WHERE key = @key;

-- name: ServerMetaPutIfAbsent :exec
INSERT INTO server_meta (key, value) VALUES (@key, @value)
ON CONFLICT (key) DO NOTHING;
