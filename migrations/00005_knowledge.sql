-- Knowledge: document sets, connectors, indexing runs, documents and their chunks.

-- +goose Up
-- Names are case-sensitive: 'faq' and 'FAQ' are two sets.
CREATE TABLE document_sets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

CREATE TABLE connectors (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128),
    kind         text NOT NULL CHECK (kind IN ('web', 'github')),
    config       jsonb NOT NULL,
    -- The name of an operator-held secret, never a secret value.
    auth_ref     text CHECK (auth_ref IS NULL OR auth_ref ~ '^[A-Za-z0-9_-]{1,128}$'),
    document_set text NOT NULL CHECK (document_set ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    enabled      boolean NOT NULL DEFAULT true,
    schedule     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connectors_org_name_key ON connectors (org_id, lower(name));
CREATE INDEX connectors_org_document_set_idx ON connectors (org_id, document_set);

-- One row per run; the run executes as a River job and this row is its one record.
-- connector_id has no foreign key: run rows outlive their connector.
CREATE TABLE indexing_runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    connector_id      uuid,
    document_set      text NOT NULL,
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempt           integer NOT NULL DEFAULT 0,
    documents_seen    integer NOT NULL DEFAULT 0,
    documents_indexed integer NOT NULL DEFAULT 0,
    chunks_indexed    integer NOT NULL DEFAULT 0,
    documents_skipped integer NOT NULL DEFAULT 0,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);
CREATE INDEX indexing_runs_org_created_idx ON indexing_runs (org_id, created_at DESC, id DESC);
CREATE INDEX indexing_runs_org_connector_idx ON indexing_runs (org_id, connector_id, created_at DESC);
CREATE INDEX indexing_runs_org_active_idx ON indexing_runs (org_id, status) WHERE status IN ('queued', 'running');

CREATE TABLE documents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The tenant-chosen (or generated) document id; case-sensitive.
    doc_id          text NOT NULL CHECK (doc_id ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$'),
    document_set_id uuid NOT NULL REFERENCES document_sets (id) ON DELETE CASCADE,
    title           text NOT NULL,
    url             text,
    -- {"public": bool, "users": [...], "groups": [...]}; NULL means visible to the whole org.
    acl             jsonb,
    connector_id    uuid REFERENCES connectors (id) ON DELETE CASCADE,
    -- Kept while pending so the run can index it; cleared once indexed.
    content         text,
    content_hash    bytea NOT NULL,
    content_bytes   integer NOT NULL,
    chunk_count     integer NOT NULL DEFAULT 0,
    state           text NOT NULL CHECK (state IN ('pending', 'indexed')),
    run_id          uuid REFERENCES indexing_runs (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Document ids are unique per org across sets among indexed documents; a pending row waits
-- beside the indexed one it will replace.
CREATE UNIQUE INDEX documents_org_doc_indexed_key ON documents (org_id, doc_id) WHERE state = 'indexed';
CREATE UNIQUE INDEX documents_org_run_doc_pending_key ON documents (org_id, run_id, doc_id) WHERE state = 'pending';
CREATE INDEX documents_org_set_idx ON documents (org_id, document_set_id, doc_id);
CREATE INDEX documents_org_connector_idx ON documents (org_id, connector_id) WHERE connector_id IS NOT NULL;

CREATE TABLE chunks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal     integer NOT NULL,
    text        text NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chunks_org_document_idx ON chunks (org_id, document_id, ordinal);
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);

-- +goose Down
DROP TABLE chunks;
DROP TABLE documents;
DROP TABLE indexing_runs;
DROP TABLE connectors;
DROP TABLE document_sets;
