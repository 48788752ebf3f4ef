package knowledge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// ListDocumentSets lists the org's document sets by name in byte order, after the name
// after ("" for the first page), skipping offset rows. A set is listed while it holds an indexed document or
// one of the org's connectors targets it; DocumentCount counts indexed documents only.
func (s *Service) ListDocumentSets(ctx context.Context, orgID uuid.UUID, after string, limit, offset int) (sets []DocumentSet, more bool, err error) {
	limit = clampLimit(limit)
	p := db.DocumentSetListVisibleParams{Lim: int32(limit + 1), Off: clampOffset(offset)}
	if after != "" {
		p.AfterName = &after
	}
	rows, err := s.st.ListVisibleDocumentSets(ctx, orgID, p)
	if err != nil {
		return nil, false, fmt.Errorf("list document sets: %w", err)
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	sets = make([]DocumentSet, len(rows))
	for i, r := range rows {
		sets[i] = DocumentSet{Name: r.Name, DocumentCount: r.DocumentCount, UpdatedAt: asTime(r.UpdatedAt)}
	}
	return sets, more, nil
}

// ListDocuments lists the indexed documents of a set by id in byte order, after the id
// after ("" for the first page), skipping offset rows. An unknown set, a malformed name or a set of another org
// is ErrNotFound.
func (s *Service) ListDocuments(ctx context.Context, orgID uuid.UUID, setName, after string, limit, offset int) (docs []Document, more bool, err error) {
	if !ValidSetName(setName) {
		return nil, false, fmt.Errorf("document set: %w", ErrNotFound)
	}
	set, err := s.st.GetVisibleDocumentSet(ctx, orgID, setName)
	if err != nil {
		return nil, false, fmt.Errorf("document set %s: %w", setName, err)
	}
	limit = clampLimit(limit)
	p := db.DocumentListInSetParams{DocumentSetID: set.ID, Lim: int32(limit + 1), Off: clampOffset(offset)}
	if after != "" {
		p.AfterDocID = &after
	}
	rows, err := s.st.ListSetDocuments(ctx, orgID, p)
	if err != nil {
		return nil, false, fmt.Errorf("list documents of %s: %w", setName, err)
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	docs = make([]Document, len(rows))
	for i, r := range rows {
		docs[i] = Document{
			ID: r.DocID, DocumentSet: setName, Title: r.Title, URL: r.Url, ACL: decodeACL(r.Acl),
			ConnectorID: nullableUUID(r.ConnectorID), ContentBytes: int(r.ContentBytes),
			ChunkCount: int(r.ChunkCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		}
	}
	return docs, more, nil
}

// GetDocument returns one indexed document of the org by its id.
func (s *Service) GetDocument(ctx context.Context, orgID uuid.UUID, docID string) (Document, error) {
	if !ValidDocumentID(docID) {
		return Document{}, fmt.Errorf("document: %w", ErrNotFound)
	}
	r, err := s.st.GetIndexedDocument(ctx, orgID, docID)
	if err != nil {
		return Document{}, fmt.Errorf("get document: %w", err)
	}
	return Document{
		ID: r.DocID, DocumentSet: r.DocumentSet, Title: r.Title, URL: r.Url, ACL: decodeACL(r.Acl),
		ConnectorID: nullableUUID(r.ConnectorID), ContentBytes: int(r.ContentBytes),
		ChunkCount: int(r.ChunkCount), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}, nil
}

// DeleteDocument deletes an indexed document and its chunks in one transaction, with the
// document.delete audit row; retrieval stops returning it when this returns. A pending
// submission of the same id is left to its run. Unknown, malformed or foreign ids are
// ErrNotFound.
func (s *Service) DeleteDocument(ctx context.Context, orgID uuid.UUID, docID string, m store.Meta) error {
	if !ValidDocumentID(docID) {
		return fmt.Errorf("delete document: %w", ErrNotFound)
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockDocumentID(ctx, orgID, docID); err != nil {
			return fmt.Errorf("lock document: %w", err)
		}
		n, err := tx.DeleteIndexedDocument(ctx, orgID, docID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "document.delete", "document", docID, nil)
	})
	if err != nil {
		return fmt.Errorf("delete document: %w", err)
	}
	return nil
}

func decodeACL(raw json.RawMessage) *ACL {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var a ACL
	if json.Unmarshal(raw, &a) != nil {
		// Stored ACLs are written by this package; an unreadable one locks the document.
		return &ACL{Users: []string{}, Groups: []string{}}
	}
	if a.Users == nil {
		a.Users = []string{}
	}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	return &a
}
