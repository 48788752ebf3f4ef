-- Orgs are the tenant root; they carry no org_id column of their own.

-- name: CreateOrg :one
INSERT INTO orgs (name, external_id) VALUES (@name, sqlc.narg(external_id))
RETURNING *;

-- name: GetOrg :one
SELECT * FROM orgs WHERE id = @id;

-- name: GetOrgByExternalID :one
SELECT * FROM orgs WHERE external_id = @external_id;

-- name: ProvisionOrgByID :one
-- First use of an org claim in UUID form: race-free create, then the caller re-reads.
INSERT INTO orgs (id, name) VALUES (@id, @name)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: ProvisionOrgByExternalID :one
INSERT INTO orgs (name, external_id) VALUES (@name, @external_id)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetServerMeta :one
SELECT value FROM server_meta WHERE key = @key;

-- name: PutServerMetaIfAbsent :exec
INSERT INTO server_meta (key, value) VALUES (@key, @value)
ON CONFLICT (key) DO NOTHING;
