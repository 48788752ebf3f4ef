-- Knowledge search led by the org (issue 15). chunks_tsv_idx indexed every org's lexemes in
-- one GIN index, so a small org's question walked the postings of its words across every
-- other org's corpus (8,300–13,200 entries at the scale benchmark's L size for 5–8 matches of
-- its own). A two-column GIN index on (org_id, tsv) (btree_gin supplies the uuid operator
-- class) answers `org_id = $1 AND tsv @@ $2` as one scan that intersects the org's posting
-- list with each lexeme's, skipping through the lexeme's posting tree to the org's own rows.
--
-- fastupdate is off: with it on, new chunks wait in a pending list that every search reads
-- whole, whatever its org, until VACUUM merges it; knowledge is written in batches by indexing
-- runs, so paying the merge at insert time keeps a search's cost the org's own.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX chunks_org_tsv_idx ON chunks USING gin (org_id, tsv) WITH (fastupdate = off);
DROP INDEX chunks_tsv_idx;

-- +goose Down
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);
DROP INDEX chunks_org_tsv_idx;
DROP EXTENSION IF EXISTS btree_gin;
