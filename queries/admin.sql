-- name: AdminGetAgentForUpdate :one
-- Locks a live agent for the length of a write (PUT, tool create/update), so the
-- signing-secret rule, the changed-fields audit and the 64-tool cap see one version.
SELECT * FROM agents WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL FOR UPDATE;

-- name: AdminListAgents :many
-- Keyset page in lower(name), id order. The cursor carries the name as stored; when it was
-- too long for a cursor, only the id, and the position is read back from that row.
SELECT a.* FROM agents a
WHERE a.org_id = @org_id AND a.deleted_at IS NULL
  AND (sqlc.narg(after_id)::uuid IS NULL
       OR (lower(a.name), a.id) > (lower(coalesce(sqlc.narg(after_name)::text,
                                                  (SELECT p.name FROM agents p
                                                   WHERE p.org_id = @org_id AND p.id = sqlc.narg(after_id)::uuid))),
                                   sqlc.narg(after_id)::uuid))
ORDER BY lower(a.name), a.id
LIMIT @lim;

-- name: AdminListTools :many
SELECT t.* FROM agent_tools t
WHERE t.org_id = @org_id AND t.agent_id = @agent_id
  AND (sqlc.narg(after_id)::uuid IS NULL
       OR (lower(t.name), t.id) > (lower(coalesce(sqlc.narg(after_name)::text,
                                                  (SELECT p.name FROM agent_tools p
                                                   WHERE p.org_id = @org_id AND p.id = sqlc.narg(after_id)::uuid))),
                                   sqlc.narg(after_id)::uuid))
ORDER BY lower(t.name), t.id
LIMIT @lim;
