-- name: ListConnectorsPage :many
-- Keyset paging by lower(name), id; the cursor carries the name as stored, lowered here
-- so that the comparison uses Postgres's lower() on both sides.
SELECT * FROM connectors
WHERE org_id = @org_id
  AND (sqlc.narg(after_name)::text IS NULL
       OR (lower(name), id) > (lower(sqlc.narg(after_name)::text), sqlc.narg(after_id)::uuid))
ORDER BY lower(name), id
LIMIT @lim;
