-- name: IndexingRunLockOrgQueue :exec
-- Serialises run creation per org (the key names the org) so the queued-run limit holds
-- under concurrency.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: IndexingRunCreate :one
INSERT INTO indexing_runs (org_id, connector_id, document_set, documents_seen)
VALUES (@org_id, sqlc.narg(connector_id), @document_set, @documents_seen)
RETURNING *;

-- name: IndexingRunGet :one
-- With the current name of the run's connector (null for ingestion runs and once the
-- connector is deleted).
SELECT sqlc.embed(r), c.name AS connector_name
FROM indexing_runs r
LEFT JOIN connectors c ON c.org_id = @org_id AND c.id = r.connector_id
WHERE r.org_id = @org_id AND r.id = @id;

-- name: IndexingRunGetActiveForConnector :one
SELECT * FROM indexing_runs
WHERE org_id = @org_id AND connector_id = @connector_id AND status IN ('queued', 'running')
ORDER BY created_at DESC
LIMIT 1;

-- name: IndexingRunGetLastForConnector :one
SELECT * FROM indexing_runs
WHERE org_id = @org_id AND connector_id = @connector_id
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: IndexingRunList :many
-- Each run with the current name of its connector, as IndexingRunGet.
SELECT sqlc.embed(r), c.name AS connector_name
FROM indexing_runs r
LEFT JOIN connectors c ON c.org_id = @org_id AND c.id = r.connector_id
WHERE r.org_id = @org_id
  AND (sqlc.narg(connector_id)::uuid IS NULL OR r.connector_id = sqlc.narg(connector_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR r.status = sqlc.narg(status)::text)
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (r.created_at, r.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT @lim OFFSET @off;

-- name: IndexingRunCountQueued :one
SELECT count(*) FROM indexing_runs WHERE org_id = @org_id AND status = 'queued';

-- name: IndexingRunCancelForConnector :exec
UPDATE indexing_runs SET status = 'cancelled', finished_at = now()
WHERE org_id = @org_id AND connector_id = @connector_id AND status IN ('queued', 'running');

-- name: IndexingRunStartAttempt :one
-- A new attempt resets started_at and clears the previous attempt's error; a continued
-- slice of the same attempt keeps them.
UPDATE indexing_runs SET
    status = 'running',
    started_at = CASE WHEN attempt <> @attempt OR started_at IS NULL THEN now() ELSE started_at END,
    error = CASE WHEN attempt <> @attempt THEN NULL ELSE error END,
    attempt = @attempt
WHERE org_id = @org_id AND id = @id AND status IN ('queued', 'running') AND attempt <= @attempt
RETURNING *;

-- name: IndexingRunFence :one
-- Taken first in every step transaction: the run must still be running this attempt.
SELECT * FROM indexing_runs
WHERE org_id = @org_id AND id = @id AND status = 'running' AND attempt = @attempt
FOR NO KEY UPDATE;

-- name: IndexingRunAddCounts :exec
UPDATE indexing_runs SET
    documents_indexed = documents_indexed + @indexed,
    chunks_indexed = chunks_indexed + @chunks,
    documents_skipped = documents_skipped + @skipped
WHERE org_id = @org_id AND id = @id;

-- name: IndexingRunSetDocumentsSeen :exec
UPDATE indexing_runs SET documents_seen = @documents_seen WHERE org_id = @org_id AND id = @id;

-- name: IndexingRunRecordAttemptError :exec
UPDATE indexing_runs SET error = @error
WHERE org_id = @org_id AND id = @id AND status = 'running' AND attempt = @attempt;

-- name: IndexingRunFinishAttempt :one
UPDATE indexing_runs SET status = @status, error = sqlc.narg(error), finished_at = now()
WHERE org_id = @org_id AND id = @id AND status = 'running' AND attempt = @attempt
RETURNING *;

-- name: IndexingRunFailLost :one
-- The run's job ended without its worker finishing the run (rescued and discarded).
UPDATE indexing_runs SET status = 'failed', error = @error, finished_at = now()
WHERE org_id = @org_id AND id = @id AND status IN ('queued', 'running')
RETURNING *;

-- name: RiverJobListFinished :many
-- River's own table (not a tenant table): index jobs River gave up on or cancelled since
-- @since, and jobs completed since @completed_since (a run whose job completed while the
-- run is still active was abandoned by a worker that lost its job to a rescue). Their
-- runs are then checked one by one, org-scoped.
SELECT id, args FROM river_job
WHERE kind = @kind
  AND ((state IN ('discarded', 'cancelled') AND finalized_at > @since::timestamptz)
       OR (state = 'completed' AND finalized_at > @completed_since::timestamptz))
ORDER BY id;
