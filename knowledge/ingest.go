package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// Ingest queues documents for indexing into the set setName as one run (ADMIN-API
// §9.10). In one transaction it creates the run (queued, documentsSeen = len(docs)),
// stores each document as a pending row of the run, enqueues the run's job and writes
// the documents.ingest audit row. It returns the run and the document ids in input
// order (generated UUIDs where an id was omitted).
//
// Errors: *FieldError for invalid input (paths "name", "documents[i].…"), ErrQueueFull
// when the org has MaxQueuedRuns queued runs already.
func (s *Service) Ingest(ctx context.Context, orgID uuid.UUID, setName string, docs []DocumentInput, m store.Meta) (Run, []string, error) {
	if fe := validateDocuments(setName, docs); fe != nil {
		return Run{}, nil, fe
	}
	ids := make([]string, len(docs))
	acls := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
		if ids[i] == "" {
			ids[i] = uuid.NewString()
		}
		if a := normalizeACL(d.ACL); a != nil {
			b, err := json.Marshal(a)
			if err != nil {
				return Run{}, nil, fmt.Errorf("ingest: encode acl: %w", err)
			}
			acls[i] = b
		}
	}
	var run db.IndexingRun
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = s.createRun(ctx, tx, orgID, nil, setName, len(docs))
		if err != nil {
			return err
		}
		set, err := tx.EnsureDocumentSet(ctx, orgID, setName)
		if err != nil {
			return fmt.Errorf("ensure set: %w", err)
		}
		for i, d := range docs {
			content := d.Content
			sum := sha256.Sum256([]byte(content))
			if err := tx.InsertPendingDocument(ctx, orgID, db.DocumentInsertPendingParams{
				DocID: ids[i], DocumentSetID: set.ID, Title: d.Title, Url: d.URL,
				Acl: acls[i], Content: &content, ContentHash: sum[:], ContentBytes: int32(len(content)),
				RunID: uuid.NullUUID{UUID: run.ID, Valid: true},
			}); err != nil {
				return fmt.Errorf("store pending document %d: %w", i, err)
			}
		}
		return tx.Audit(ctx, orgID, m, "documents.ingest", "documentSet", setName,
			map[string]any{"documentCount": len(docs), "runId": run.ID.String()})
	})
	if err != nil {
		return Run{}, nil, fmt.Errorf("ingest into %s: %w", setName, err)
	}
	s.log.Info("documents queued for indexing", "org_id", orgID, "run_id", run.ID, "document_set", setName,
		"documents", len(docs), "request_id", m.RequestID)
	return runFromDB(run), ids, nil
}
