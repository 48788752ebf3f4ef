-- name: CreateConnector :one
INSERT INTO connectors (org_id, name, kind, config, auth_ref, document_set, enabled, schedule)
VALUES (@org_id, @name, @kind, @config, sqlc.narg(auth_ref), @document_set, @enabled, sqlc.narg(schedule))
RETURNING *;

-- name: GetConnector :one
SELECT * FROM connectors WHERE org_id = @org_id AND id = @id;

-- name: UpdateConnector :one
UPDATE connectors SET
    name = @name, config = @config, auth_ref = sqlc.narg(auth_ref), document_set = @document_set,
    enabled = @enabled, schedule = sqlc.narg(schedule), updated_at = now()
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: DeleteConnector :execrows
DELETE FROM connectors WHERE org_id = @org_id AND id = @id;

-- name: CreateIndexingRun :one
INSERT INTO indexing_runs (org_id, connector_id, document_set, documents_seen)
VALUES (@org_id, sqlc.narg(connector_id), @document_set, @documents_seen)
RETURNING *;

-- name: GetIndexingRun :one
SELECT * FROM indexing_runs WHERE org_id = @org_id AND id = @id;

-- name: ListIndexingRuns :many
SELECT * FROM indexing_runs
WHERE org_id = @org_id
  AND (sqlc.narg(connector_id)::uuid IS NULL OR connector_id = sqlc.narg(connector_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: CountQueuedRuns :one
SELECT count(*) FROM indexing_runs WHERE org_id = @org_id AND status = 'queued';

-- name: ActiveRunForConnector :one
SELECT * FROM indexing_runs
WHERE org_id = @org_id AND connector_id = @connector_id AND status IN ('queued', 'running')
ORDER BY created_at DESC
LIMIT 1;

-- name: CancelConnectorRuns :exec
UPDATE indexing_runs SET status = 'cancelled', finished_at = now()
WHERE org_id = @org_id AND connector_id = @connector_id AND status IN ('queued', 'running');

-- name: EnsureDocumentSet :one
INSERT INTO document_sets (org_id, name) VALUES (@org_id, @name)
ON CONFLICT (org_id, name) DO UPDATE SET name = EXCLUDED.name
RETURNING *;
