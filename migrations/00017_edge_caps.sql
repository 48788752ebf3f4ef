-- The public edge (PROTOCOL-1.1 §1.10–1.11, §4.2.8; ADMIN-API §9.8). Caps on every field a
-- visitor supplies, backing the handlers' own checks, so that a bug elsewhere still cannot
-- store megabytes; and the month counter of the tokens the server's gateway key paid for,
-- which L9 reads.
--
-- The constraints are NOT VALID: they hold for every row written from now on, without
-- failing the migration on rows stored before them. JSON columns are measured as PostgreSQL
-- prints them (`::text`, a space after every `:` and `,`), hence the margins over the
-- protocol's caps on compact JSON.

-- +goose Up
-- +goose StatementBegin
-- A session's capabilities and a conversation's clientSupports: at most 32 strings of 1 to 64
-- characters (PROTOCOL-1.1 §4.2.8).
CREATE FUNCTION switchboard_capabilities_ok(v text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v IS NULL OR (cardinality(v) <= 32 AND NOT EXISTS (
        SELECT 1 FROM unnest(v) AS e WHERE e IS NULL OR char_length(e) NOT BETWEEN 1 AND 64))
$$;
-- +goose StatementEnd

ALTER TABLE conversations
    ADD CONSTRAINT conversations_metadata_size CHECK (octet_length(metadata::text) <= 32768) NOT VALID,
    ADD CONSTRAINT conversations_client_supports_caps CHECK (switchboard_capabilities_ok(client_supports)) NOT VALID,
    ADD CONSTRAINT conversations_title_length CHECK (char_length(title) <= 60) NOT VALID;

ALTER TABLE participants
    ADD CONSTRAINT participants_name_length CHECK (char_length(name) <= 200) NOT VALID,
    ADD CONSTRAINT participants_email_length CHECK (char_length(email) <= 320) NOT VALID,
    ADD CONSTRAINT participants_external_id_length CHECK (char_length(external_id) <= 260) NOT VALID,
    ADD CONSTRAINT participants_browser_fingerprint_length CHECK (char_length(browser_fingerprint) <= 256) NOT VALID;

ALTER TABLE sessions
    ADD CONSTRAINT sessions_user_name_length CHECK (char_length(user_name) <= 200) NOT VALID,
    ADD CONSTRAINT sessions_contact_email_length CHECK (char_length(contact_email) <= 320) NOT VALID,
    ADD CONSTRAINT sessions_supports_caps CHECK (switchboard_capabilities_ok(supports)) NOT VALID;

ALTER TABLE messages
    ADD CONSTRAINT messages_inbound_text_length CHECK (direction <> 'inbound' OR char_length(text) <= 10000) NOT VALID,
    ADD CONSTRAINT messages_request_id_length CHECK (char_length(request_id) <= 256) NOT VALID;

ALTER TABLE usage_events
    ADD CONSTRAINT usage_events_request_id_length CHECK (char_length(request_id) <= 256) NOT VALID;

ALTER TABLE pending_approvals
    ADD CONSTRAINT pending_approvals_request_id_length CHECK (char_length(request_id) <= 256) NOT VALID,
    ADD CONSTRAINT pending_approvals_arguments_size CHECK (octet_length(arguments::text) <= 65536) NOT VALID;

-- Tokens paid by the server's key (usage rows with gateway_key_id null), next to every
-- token of the month, in the same shards and the same statement (queries/usage.sql).
ALTER TABLE org_usage_months ADD COLUMN server_key_tokens bigint NOT NULL DEFAULT 0;
UPDATE org_usage_months m SET server_key_tokens = s.tokens
FROM (SELECT org_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month,
             get_byte(uuid_send(id), 15) % 16 AS shard, sum(prompt_tokens + completion_tokens) AS tokens
      FROM usage_events WHERE gateway_key_id IS NULL GROUP BY 1, 2, 3) s
WHERE m.org_id = s.org_id AND m.month = s.month AND m.shard = s.shard;

-- +goose Down
ALTER TABLE org_usage_months DROP COLUMN server_key_tokens;
ALTER TABLE pending_approvals
    DROP CONSTRAINT pending_approvals_arguments_size,
    DROP CONSTRAINT pending_approvals_request_id_length;
ALTER TABLE usage_events DROP CONSTRAINT usage_events_request_id_length;
ALTER TABLE messages
    DROP CONSTRAINT messages_request_id_length,
    DROP CONSTRAINT messages_inbound_text_length;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_supports_caps,
    DROP CONSTRAINT sessions_contact_email_length,
    DROP CONSTRAINT sessions_user_name_length;
ALTER TABLE participants
    DROP CONSTRAINT participants_browser_fingerprint_length,
    DROP CONSTRAINT participants_external_id_length,
    DROP CONSTRAINT participants_email_length,
    DROP CONSTRAINT participants_name_length;
ALTER TABLE conversations
    DROP CONSTRAINT conversations_title_length,
    DROP CONSTRAINT conversations_client_supports_caps,
    DROP CONSTRAINT conversations_metadata_size;
DROP FUNCTION switchboard_capabilities_ok(text[]);
