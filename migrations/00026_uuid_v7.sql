-- Time-ordered ids for the rows that keep arriving (issue 15). A random (version 4) id puts
-- each new row's primary-key entry on a random leaf of an index that, after a year of
-- traffic, no longer fits in shared buffers: every insert then reads a leaf from disk and,
-- after each checkpoint, writes the whole page to the WAL before its commit can return. That
-- is why a session resume and a turn slowed as other tenants' history grew. A version 7 id
-- (RFC 9562: 48 bits of Unix milliseconds, then random bits) makes consecutive inserts land
-- on the same few rightmost leaves. The server sets the ids it chooses itself
-- (uuid.NewV7); these defaults cover the ids PostgreSQL chooses. PostgreSQL 18 has uuidv7();
-- this function is the same layout for older servers.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION switchboard_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- The 6 bytes of milliseconds over the first 6 random bytes, then the version nibble
    -- 0100 (4) becomes 0111 (7); the variant bits of gen_random_uuid() are already 10.
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                  PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                  FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;
-- +goose StatementEnd

ALTER TABLE conversations ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE participants ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE sessions ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE messages ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE pending_approvals ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE indexing_runs ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE documents ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();
ALTER TABLE chunks ALTER COLUMN id SET DEFAULT switchboard_uuid_v7();

-- +goose Down
ALTER TABLE chunks ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE documents ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE indexing_runs ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE pending_approvals ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE messages ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE sessions ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE participants ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE conversations ALTER COLUMN id SET DEFAULT gen_random_uuid();
DROP FUNCTION switchboard_uuid_v7();
