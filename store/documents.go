package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// Document sets, documents and their chunks (ADMIN-API §9.10): package knowledge ingests,
// indexes and retrieves them; this file holds their statements. A document waits as a
// pending row of its run until the run indexes it; only indexed rows are ever listed,
// counted or retrieved.

// ListVisibleDocumentSets pages the org's document sets that hold an indexed document or
// that a connector targets, by name in byte order.
func (s *Store) ListVisibleDocumentSets(ctx context.Context, orgID uuid.UUID, p db.DocumentSetListVisibleParams) ([]db.DocumentSetListVisibleRow, error) {
	p.OrgID = orgID
	return queries.DocumentSetListVisible(ctx, s.pool, p)
}

// GetVisibleDocumentSet loads a set of the org as ListVisibleDocumentSets would list it.
// ErrNotFound otherwise.
func (s *Store) GetVisibleDocumentSet(ctx context.Context, orgID uuid.UUID, name string) (db.DocumentSet, error) {
	set, err := queries.DocumentSetGetVisible(ctx, s.pool, db.DocumentSetGetVisibleParams{OrgID: orgID, Name: name})
	return set, Classify(err)
}

// ListSetDocuments pages the indexed documents of a set by document id in byte order.
func (s *Store) ListSetDocuments(ctx context.Context, orgID uuid.UUID, p db.DocumentListInSetParams) ([]db.DocumentListInSetRow, error) {
	p.OrgID = orgID
	return queries.DocumentListInSet(ctx, s.pool, p)
}

// GetIndexedDocument loads an indexed document of the org by its document id. ErrNotFound
// otherwise.
func (s *Store) GetIndexedDocument(ctx context.Context, orgID uuid.UUID, docID string) (db.DocumentGetIndexedRow, error) {
	d, err := queries.DocumentGetIndexed(ctx, s.pool, db.DocumentGetIndexedParams{OrgID: orgID, DocID: docID})
	return d, Classify(err)
}

// NextPendingDocument returns the run's oldest pending row. ErrNotFound when none is left.
func (s *Store) NextPendingDocument(ctx context.Context, orgID, runID uuid.UUID) (db.Document, error) {
	d, err := queries.DocumentGetNextPending(ctx, s.pool, db.DocumentGetNextPendingParams{
		OrgID: orgID, RunID: uuid.NullUUID{UUID: runID, Valid: true}})
	return d, Classify(err)
}

// SearchChunks runs ranked retrieval (the ChunkSearch query), planned for its parameters.
func (s *Store) SearchChunks(ctx context.Context, orgID uuid.UUID, p db.ChunkSearchParams) ([]db.ChunkSearchRow, error) {
	p.OrgID = orgID
	return queries.ChunkSearch(ctx, planned{s.pool}, p)
}

// planned runs queries as unnamed statements, so Postgres plans each one with its actual
// parameters. Retrieval's best plan depends on the org's size and on the words asked,
// which a cached generic plan cannot know: one was seen to intersect the word index with
// the whole org's chunk index on every query.
type planned struct{ db.DBTX }

func (p planned) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.DBTX.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
}

// EnsureDocumentSet returns the org's set named name, created if needed.
func (t *Tx) EnsureDocumentSet(ctx context.Context, orgID uuid.UUID, name string) (db.DocumentSet, error) {
	return queries.DocumentSetEnsure(ctx, t.pg, db.DocumentSetEnsureParams{OrgID: orgID, Name: name})
}

// InsertPendingDocument stores a pending row of a run; a row of the same run and document
// id already there is kept.
func (t *Tx) InsertPendingDocument(ctx context.Context, orgID uuid.UUID, p db.DocumentInsertPendingParams) error {
	p.OrgID = orgID
	return queries.DocumentInsertPending(ctx, t.pg, p)
}

// DeletePendingDocumentsOfRun deletes the run's pending rows.
func (t *Tx) DeletePendingDocumentsOfRun(ctx context.Context, orgID, runID uuid.UUID) (int64, error) {
	return queries.DocumentDeletePendingOfRun(ctx, t.pg, db.DocumentDeletePendingOfRunParams{
		OrgID: orgID, RunID: uuid.NullUUID{UUID: runID, Valid: true}})
}

// LockDocumentID serialises every writer of one document id of the org (indexing,
// deletion) until the transaction ends.
func (t *Tx) LockDocumentID(ctx context.Context, orgID uuid.UUID, docID string) error {
	return queries.DocumentLockID(ctx, t.pg, "switchboard.document:"+orgID.String()+"/"+docID)
}

// IndexedDocumentForUpdate loads and locks the org's indexed document docID. ErrNotFound
// when there is none.
func (t *Tx) IndexedDocumentForUpdate(ctx context.Context, orgID uuid.UUID, docID string) (db.Document, error) {
	d, err := queries.DocumentGetIndexedForUpdate(ctx, t.pg, db.DocumentGetIndexedForUpdateParams{OrgID: orgID, DocID: docID})
	return d, Classify(err)
}

// TouchIndexedDocument gives an indexed document whose content did not change the newest
// submission's metadata.
func (t *Tx) TouchIndexedDocument(ctx context.Context, orgID uuid.UUID, p db.DocumentTouchIndexedParams) error {
	p.OrgID = orgID
	return queries.DocumentTouchIndexed(ctx, t.pg, p)
}

// ReplaceIndexedDocument gives an indexed document new content and metadata.
func (t *Tx) ReplaceIndexedDocument(ctx context.Context, orgID uuid.UUID, p db.DocumentReplaceIndexedParams) error {
	p.OrgID = orgID
	return queries.DocumentReplaceIndexed(ctx, t.pg, p)
}

// PromotePendingDocument turns a pending row into an indexed document.
func (t *Tx) PromotePendingDocument(ctx context.Context, orgID uuid.UUID, p db.DocumentPromotePendingParams) error {
	p.OrgID = orgID
	return queries.DocumentPromotePending(ctx, t.pg, p)
}

// DeleteDocumentRow deletes one documents row by its row id.
func (t *Tx) DeleteDocumentRow(ctx context.Context, orgID, id uuid.UUID) error {
	return queries.DocumentDeleteRow(ctx, t.pg, db.DocumentDeleteRowParams{OrgID: orgID, ID: id})
}

// MarkConnectorDocumentSeen keeps a connector's indexed document through the run's full
// sync although its page could not be fetched this time.
func (t *Tx) MarkConnectorDocumentSeen(ctx context.Context, orgID uuid.UUID, p db.DocumentMarkConnectorSeenParams) error {
	p.OrgID = orgID
	return queries.DocumentMarkConnectorSeen(ctx, t.pg, p)
}

// DeleteUnseenConnectorDocuments deletes the connector's indexed documents the run did not
// see, and reports how many.
func (t *Tx) DeleteUnseenConnectorDocuments(ctx context.Context, orgID uuid.UUID, connectorID uuid.NullUUID, runID uuid.UUID) (int64, error) {
	return queries.DocumentDeleteUnseenOfConnector(ctx, t.pg, db.DocumentDeleteUnseenOfConnectorParams{
		OrgID: orgID, ConnectorID: connectorID, RunID: runID})
}

// DeleteIndexedDocument deletes the org's indexed document docID with its chunks and
// reports how many rows went (0 or 1).
func (t *Tx) DeleteIndexedDocument(ctx context.Context, orgID uuid.UUID, docID string) (int64, error) {
	return queries.DocumentDeleteIndexed(ctx, t.pg, db.DocumentDeleteIndexedParams{OrgID: orgID, DocID: docID})
}

// DeleteDocumentChunks deletes a document's chunks.
func (t *Tx) DeleteDocumentChunks(ctx context.Context, orgID, documentID uuid.UUID) error {
	return queries.ChunkDeleteOfDocument(ctx, t.pg, db.ChunkDeleteOfDocumentParams{OrgID: orgID, DocumentID: documentID})
}

// InsertChunks stores a document's chunks, texts[i] at ordinal i.
func (t *Tx) InsertChunks(ctx context.Context, orgID, documentID uuid.UUID, texts []string) error {
	ordinals := make([]int32, len(texts))
	for i := range texts {
		ordinals[i] = int32(i)
	}
	return queries.ChunkInsert(ctx, t.pg, db.ChunkInsertParams{OrgID: orgID, DocumentID: documentID, Ordinals: ordinals, Texts: texts})
}

// DocumentVersion is what one stored row of a document holds, indexed or pending.
type DocumentVersion struct {
	DocID, Title, URL string
	ContentHash       []byte
	Pending           bool
}

// DocumentVersions returns the indexed and pending rows of the org's documents docIDs.
func (s *Store) DocumentVersions(ctx context.Context, orgID uuid.UUID, docIDs []string) ([]DocumentVersion, error) {
	rows, err := queries.DocumentVersionsByDocIDs(ctx, s.pool, db.DocumentVersionsByDocIDsParams{OrgID: orgID, DocIds: docIDs})
	if err != nil {
		return nil, fmt.Errorf("read document versions: %w", err)
	}
	out := make([]DocumentVersion, len(rows))
	for i, r := range rows {
		out[i] = DocumentVersion{DocID: r.DocID, Title: r.Title, ContentHash: r.ContentHash, Pending: r.State == "pending"}
		if r.Url != nil {
			out[i].URL = *r.Url
		}
	}
	return out, nil
}
