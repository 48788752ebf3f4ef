-- The tenant root, org API keys, the audit log and the server's own key/value table.

-- +goose Up
CREATE TABLE orgs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    external_id text UNIQUE CHECK (external_id IS NULL OR char_length(external_id) BETWEEN 1 AND 128),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    role         text NOT NULL CHECK (role IN ('admin', 'curator', 'basic')),
    key_hash     bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    last4        text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE UNIQUE INDEX api_keys_org_name_key ON api_keys (org_id, lower(name));
CREATE INDEX api_keys_org_created_idx ON api_keys (org_id, created_at DESC, id DESC);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'apiKey', 'dev', 'system')),
    actor_id    text NOT NULL,
    actor_name  text,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    request_id  text,
    ip          text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org_at_idx ON audit_log (org_id, at DESC, id DESC);

-- Not tenant data: server-wide facts such as the encryption-key check value.
CREATE TABLE server_meta (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE server_meta;
DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE orgs;
