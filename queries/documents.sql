-- The :batch queries travel together, several to a round trip and one implicit transaction
-- (the pipeline of store/pipeline.go): a turn's reads (*ForTurn) and its writes.

-- name: DocumentSetEnsure :one
INSERT INTO document_sets (org_id, name) VALUES (@org_id, @name)
ON CONFLICT (org_id, name) DO UPDATE SET name = EXCLUDED.name
RETURNING *;

-- name: DocumentSetGetVisible :one
-- A set exists while it holds an indexed document or one of the org's connectors targets it.
SELECT s.* FROM document_sets s
WHERE s.org_id = @org_id AND s.name = @name
  AND (EXISTS (SELECT 1 FROM documents d
               WHERE d.org_id = @org_id AND d.document_set_id = s.id AND d.state = 'indexed')
       OR EXISTS (SELECT 1 FROM connectors c WHERE c.org_id = @org_id AND c.document_set = s.name));

-- name: DocumentSetListVisible :many
SELECT s.name,
       (SELECT count(*) FROM documents d
        WHERE d.org_id = @org_id AND d.document_set_id = s.id AND d.state = 'indexed')::bigint AS document_count,
       (SELECT max(d.updated_at) FROM documents d
        WHERE d.org_id = @org_id AND d.document_set_id = s.id AND d.state = 'indexed') AS updated_at
FROM document_sets s
WHERE s.org_id = @org_id
  AND (sqlc.narg(after_name)::text IS NULL OR s.name COLLATE "C" > sqlc.narg(after_name)::text COLLATE "C")
  AND (EXISTS (SELECT 1 FROM documents d
               WHERE d.org_id = @org_id AND d.document_set_id = s.id AND d.state = 'indexed')
       OR EXISTS (SELECT 1 FROM connectors c WHERE c.org_id = @org_id AND c.document_set = s.name))
ORDER BY s.name COLLATE "C"
LIMIT @lim OFFSET @off;

-- name: DocumentInsertPending :exec
-- Pending rows wait for their run; only rows in state 'indexed' are ever listed, counted or
-- retrieved.
INSERT INTO documents (org_id, doc_id, document_set_id, title, url, acl, connector_id,
                       content, content_hash, content_bytes, state, run_id)
VALUES (@org_id, @doc_id, @document_set_id, @title, sqlc.narg(url), sqlc.narg(acl),
        sqlc.narg(connector_id), sqlc.narg(content), @content_hash, @content_bytes, 'pending', @run_id)
ON CONFLICT (org_id, run_id, doc_id) WHERE state = 'pending' DO NOTHING;

-- name: DocumentGetNextPending :one
SELECT * FROM documents
WHERE org_id = @org_id AND run_id = @run_id AND state = 'pending'
ORDER BY created_at, id
LIMIT 1;

-- name: DocumentLockID :exec
-- Serialises every writer of one document id of one org (indexing, deletion) for the
-- rest of the transaction; the key names the org and the document id.
SELECT pg_advisory_xact_lock(hashtextextended(@lock_key::text, 0));

-- name: DocumentGetIndexed :one
SELECT d.id, d.doc_id, s.name AS document_set, d.title, d.url, d.acl, d.connector_id, d.content_bytes,
       d.chunk_count, d.created_at, d.updated_at
FROM documents d JOIN document_sets s ON s.id = d.document_set_id AND s.org_id = @org_id
WHERE d.org_id = @org_id AND d.doc_id = @doc_id AND d.state = 'indexed';

-- name: DocumentGetIndexedForUpdate :one
SELECT * FROM documents
WHERE org_id = @org_id AND doc_id = @doc_id AND state = 'indexed'
FOR UPDATE;

-- name: DocumentHasIndexedForTurn :batchone
-- Whether the org has any indexed document: without one, retrieval cannot find anything
-- and the turn skips the pre-turn search.
SELECT EXISTS (SELECT 1 FROM documents WHERE org_id = @org_id AND state = 'indexed')::bool;

-- name: DocumentListInSet :many
SELECT d.id, d.doc_id, d.title, d.url, d.acl, d.connector_id, d.content_bytes, d.chunk_count,
       d.created_at, d.updated_at
FROM documents d
WHERE d.org_id = @org_id AND d.document_set_id = @document_set_id AND d.state = 'indexed'
  AND (sqlc.narg(after_doc_id)::text IS NULL OR d.doc_id COLLATE "C" > sqlc.narg(after_doc_id)::text COLLATE "C")
ORDER BY d.doc_id COLLATE "C"
LIMIT @lim OFFSET @off;

-- name: DocumentTouchIndexed :exec
-- Unchanged content: metadata follows the newest submission; updated_at moves only when
-- something visible changed.
UPDATE documents SET
    updated_at = CASE WHEN (title, url, acl, document_set_id, connector_id)
                           IS DISTINCT FROM (@title::text, sqlc.narg(url)::text, sqlc.narg(acl)::jsonb,
                                             @document_set_id::uuid, sqlc.narg(connector_id)::uuid)
                      THEN now() ELSE updated_at END,
    title = @title, url = sqlc.narg(url), acl = sqlc.narg(acl), document_set_id = @document_set_id,
    connector_id = sqlc.narg(connector_id), run_id = @run_id
WHERE org_id = @org_id AND id = @id;

-- name: DocumentReplaceIndexed :exec
UPDATE documents SET
    title = @title, url = sqlc.narg(url), acl = sqlc.narg(acl), document_set_id = @document_set_id,
    connector_id = sqlc.narg(connector_id), run_id = @run_id, content = NULL,
    content_hash = @content_hash, content_bytes = @content_bytes, chunk_count = @chunk_count,
    updated_at = now()
WHERE org_id = @org_id AND id = @id;

-- name: DocumentPromotePending :exec
UPDATE documents SET
    state = 'indexed', title = @title, url = sqlc.narg(url), acl = sqlc.narg(acl),
    document_set_id = @document_set_id, connector_id = sqlc.narg(connector_id), content = NULL,
    content_hash = @content_hash, content_bytes = @content_bytes, chunk_count = @chunk_count,
    created_at = now(), updated_at = now()
WHERE org_id = @org_id AND id = @id AND state = 'pending';

-- name: DocumentMarkConnectorSeen :exec
-- A page the run could not fetch for a passing reason (timeout, 5xx) keeps its document.
UPDATE documents SET run_id = @run_id
WHERE org_id = @org_id AND doc_id = @doc_id AND connector_id = @connector_id AND state = 'indexed';

-- name: DocumentDeleteRow :exec
DELETE FROM documents WHERE org_id = @org_id AND id = @id;

-- name: DocumentDeleteIndexed :execrows
DELETE FROM documents WHERE org_id = @org_id AND doc_id = @doc_id AND state = 'indexed';

-- name: DocumentDeletePendingOfRun :execrows
DELETE FROM documents WHERE org_id = @org_id AND run_id = @run_id AND state = 'pending';

-- name: DocumentDeleteUnseenOfConnector :execrows
DELETE FROM documents
WHERE org_id = @org_id AND connector_id = @connector_id AND state = 'indexed'
  AND run_id IS DISTINCT FROM @run_id::uuid;

-- name: ChunkDeleteOfDocument :exec
DELETE FROM chunks WHERE org_id = @org_id AND document_id = @document_id;

-- name: ChunkInsert :exec
INSERT INTO chunks (org_id, document_id, ordinal, text)
SELECT @org_id, @document_id, unnest(@ordinals::int[]), unnest(@texts::text[]);

-- name: ChunkSearch :many
-- Ranked full-text retrieval, filtered in SQL by org, document sets (all when all_sets)
-- and the document ACL: no ACL, public, one of the viewer's identities in users, or one of
-- its token groups in groups. @words is plain words; Postgres stems them and drops stop
-- words. Matching follows the "common terms" rule: a chunk must contain one of the
-- question's discriminating lexemes (OR), while lexemes found in more than @common_freq
-- of all chunks (the planner's statistics) only add to the score; when every lexeme is
-- that common, a chunk must contain all of them. Ranking uses every lexeme.
WITH lex AS (
    SELECT DISTINCT t.lexeme FROM unnest(tsvector_to_array(to_tsvector('english', @words::text))) AS t(lexeme)
), stats AS MATERIALIZED (
    SELECT st.most_common_elems::text::text[] AS elems, st.most_common_elem_freqs::float4[] AS freqs
    FROM pg_catalog.pg_stats st
    WHERE st.schemaname = current_schema() AND st.tablename = 'chunks' AND st.attname = 'tsv'
), common AS (
    SELECT l.lexeme FROM lex l, stats
    WHERE stats.freqs[array_position(stats.elems, l.lexeme)] > @common_freq::float4
), q AS (
    SELECT (SELECT to_tsquery('simple', string_agg(lexeme, ' | ')) FROM lex) AS rank_q,
           coalesce((SELECT to_tsquery('simple', string_agg(lexeme, ' | ')) FROM lex
                     WHERE lexeme NOT IN (SELECT lexeme FROM common)),
                    (SELECT to_tsquery('simple', string_agg(lexeme, ' & ')) FROM lex)) AS match_q
)
SELECT d.doc_id, d.title, d.url, c.text,
       ts_rank_cd(c.tsv, q.rank_q, 1)::float8 AS score
FROM q, chunks c
-- Each matching chunk looks its document up by primary key. OFFSET 0 keeps the planner
-- from turning this into a hash join that reads every document of the org per query.
CROSS JOIN LATERAL (
    SELECT d.doc_id, d.title, d.url FROM documents d
    WHERE d.id = c.document_id AND d.org_id = @org_id AND d.state = 'indexed'
      AND (@all_sets::boolean
           OR d.document_set_id IN (SELECT s.id FROM document_sets s
                                    WHERE s.org_id = @org_id AND s.name = ANY(@sets::text[])))
      AND (d.acl IS NULL
           OR d.acl @> '{"public": true}'::jsonb
           OR (d.acl -> 'users') ?| @identities::text[]
           OR (d.acl -> 'groups') ?| @groups::text[])
    OFFSET 0
) d
WHERE c.org_id = @org_id AND c.tsv @@ q.match_q
ORDER BY score DESC, c.id
LIMIT @lim;

-- name: DocumentVersionsByDocIDs :many
-- The indexed and pending rows of some document ids, what they hold (the seeded demo's check).
SELECT doc_id, title, url, content_hash, state FROM documents
WHERE org_id = @org_id AND doc_id = ANY(@doc_ids::text[])
ORDER BY doc_id, state;
