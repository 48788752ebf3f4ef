-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: ToolCreate :one
INSERT INTO agent_tools (org_id, agent_id, name, description, parameters, url, requires_approval,
                         requires_verification, timeout_ms)
VALUES (@org_id, @agent_id, @name, @description, @parameters, @url, @requires_approval,
        @requires_verification, @timeout_ms)
RETURNING *;

-- name: ToolCreateBuiltin :one
-- A tool the server serves itself (kind builtin): no URL, handled in-process by name.
INSERT INTO agent_tools (org_id, agent_id, name, description, parameters, url, requires_approval, timeout_ms, kind)
VALUES (@org_id, @agent_id, @name, @description, @parameters, '', @requires_approval, @timeout_ms, 'builtin')
RETURNING *;

-- name: ToolGetByName :one
SELECT * FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id AND lower(name) = lower(@name);

-- name: ToolGet :one
SELECT t.* FROM agent_tools t
JOIN agents a ON a.id = t.agent_id AND a.org_id = t.org_id AND a.deleted_at IS NULL
WHERE t.org_id = @org_id AND t.agent_id = @agent_id AND t.id = @id;

-- name: ToolCount :one
SELECT count(*) FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id;

-- name: ToolList :many
SELECT t.* FROM agent_tools t
WHERE t.org_id = @org_id AND t.agent_id = @agent_id
  AND (sqlc.narg(after_id)::uuid IS NULL
       OR (lower(t.name), t.id) > (lower(coalesce(sqlc.narg(after_name)::text,
                                                  (SELECT p.name FROM agent_tools p
                                                   WHERE p.org_id = @org_id AND p.id = sqlc.narg(after_id)::uuid))),
                                   sqlc.narg(after_id)::uuid))
ORDER BY lower(t.name), t.id
LIMIT @lim OFFSET @off;

-- name: ToolListForTurn :batchmany
SELECT * FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id ORDER BY lower(name), id;

-- name: ToolUpdate :one
UPDATE agent_tools SET
    name = @name, description = @description, parameters = @parameters, url = @url,
    requires_approval = @requires_approval, requires_verification = @requires_verification,
    timeout_ms = @timeout_ms, kind = 'http', updated_at = now()
WHERE org_id = @org_id AND agent_id = @agent_id AND id = @id
RETURNING *;

-- name: ToolDelete :execrows
DELETE FROM agent_tools WHERE org_id = @org_id AND agent_id = @agent_id AND id = @id;

-- name: ToolListReservedNamed :many
-- Allow-listed: at start the server warns, across orgs, about the live agents' HTTP tools
-- stored under a name reserved since PROTOCOL-1.1 (Appendix C.3); they are never offered.
SELECT t.org_id, t.agent_id, t.id, t.name FROM agent_tools t
JOIN agents a ON a.org_id = t.org_id AND a.id = t.agent_id
WHERE a.deleted_at IS NULL AND lower(t.name) = ANY (@names::text[])
ORDER BY t.org_id, t.agent_id, t.id;
