-- name: ConnectorCreate :one
INSERT INTO connectors (org_id, name, kind, config, auth_ref, document_set, enabled, schedule)
VALUES (@org_id, @name, @kind, @config, sqlc.narg(auth_ref), @document_set, @enabled, sqlc.narg(schedule))
RETURNING *;

-- name: ConnectorGet :one
SELECT * FROM connectors WHERE org_id = @org_id AND id = @id;

-- name: ConnectorGetForUpdate :one
SELECT * FROM connectors WHERE org_id = @org_id AND id = @id FOR UPDATE;

-- name: ConnectorList :many
-- Keyset paging by lower(name), id; the cursor carries the name as stored, lowered here
-- so that the comparison uses Postgres's lower() on both sides.
SELECT * FROM connectors
WHERE org_id = @org_id
  AND (sqlc.narg(after_name)::text IS NULL
       OR (lower(name), id) > (lower(sqlc.narg(after_name)::text), sqlc.narg(after_id)::uuid))
ORDER BY lower(name), id
LIMIT @lim OFFSET @off;

-- name: ConnectorListScheduled :many
SELECT c.id, c.schedule, c.updated_at,
       (SELECT max(r.created_at) FROM indexing_runs r
        WHERE r.org_id = @org_id AND r.connector_id = c.id) AS last_run_at
FROM connectors c
WHERE c.org_id = @org_id AND c.enabled AND c.schedule IS NOT NULL AND c.kind = 'web'
ORDER BY c.id;

-- name: ConnectorUpdate :one
UPDATE connectors SET
    name = @name, config = @config, auth_ref = sqlc.narg(auth_ref), document_set = @document_set,
    enabled = @enabled, schedule = sqlc.narg(schedule), updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: ConnectorDelete :execrows
DELETE FROM connectors WHERE org_id = @org_id AND id = @id;
