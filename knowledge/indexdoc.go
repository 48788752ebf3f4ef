package knowledge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/knowledge/webconn"
	"github.com/switchboard-dev/switchboard/store"
)

// ConnectorDocumentID is the id of the document a connector produces for a source key
// (the requested URL for web): <connectorId>:<first 32 hex digits of SHA-256(key)>.
func ConnectorDocumentID(connectorID uuid.UUID, sourceKey string) string {
	sum := sha256.Sum256([]byte(sourceKey))
	return connectorID.String() + ":" + hex.EncodeToString(sum[:])[:32]
}

// content is what a pending document becomes once indexed.
type content struct {
	title string
	url   *string
	acl   json.RawMessage
	set   uuid.UUID
	conn  uuid.NullUUID
	text  string
	hash  []byte
}

// indexPending indexes a submitted (ingested) pending row.
func (s *Service) indexPending(ctx context.Context, a *attempt, p db.Document) error {
	c := content{title: p.Title, url: p.Url, acl: p.Acl, set: p.DocumentSetID, conn: p.ConnectorID, hash: p.ContentHash}
	if p.Content != nil {
		c.text = *p.Content
	}
	return s.indexContent(ctx, a, p, c)
}

// indexContent turns pending row p into an indexed document in one transaction. If the
// org already has an indexed document with that id, it is updated in place: unchanged
// content (same SHA-256) keeps its chunks and only takes the new title, url, ACL and
// set; changed content has its chunks replaced. Readers see the old chunks or the new
// ones, never a mix and never none.
func (s *Service) indexContent(ctx context.Context, a *attempt, p db.Document, c content) error {
	chunks := Chunk(c.text) // CPU only, outside the transaction
	runID := uuid.NullUUID{UUID: a.run.ID, Valid: true}
	return s.stepTx(ctx, a, func(tx *store.Tx) error {
		if err := tx.LockDocumentID(ctx, a.org, p.DocID); err != nil {
			return fmt.Errorf("lock document: %w", err)
		}
		old, err := tx.IndexedDocumentForUpdate(ctx, a.org, p.DocID)
		switch {
		case err == nil && bytes.Equal(old.ContentHash, c.hash):
			if err := tx.TouchIndexedDocument(ctx, a.org, db.DocumentTouchIndexedParams{
				ID: old.ID, Title: c.title, Url: c.url, Acl: c.acl, DocumentSetID: c.set,
				ConnectorID: c.conn, RunID: runID}); err != nil {
				return fmt.Errorf("touch document: %w", err)
			}
			if err := tx.DeleteDocumentRow(ctx, a.org, p.ID); err != nil {
				return fmt.Errorf("drop pending row: %w", err)
			}
			return tx.AddRunCounts(ctx, a.org, db.IndexingRunAddCountsParams{ID: a.run.ID, Skipped: 1})
		case err == nil:
			if err := tx.DeleteDocumentChunks(ctx, a.org, old.ID); err != nil {
				return fmt.Errorf("delete old chunks: %w", err)
			}
			if err := tx.InsertChunks(ctx, a.org, old.ID, chunks); err != nil {
				return fmt.Errorf("insert chunks: %w", err)
			}
			if err := tx.ReplaceIndexedDocument(ctx, a.org, db.DocumentReplaceIndexedParams{
				ID: old.ID, Title: c.title, Url: c.url, Acl: c.acl, DocumentSetID: c.set,
				ConnectorID: c.conn, RunID: runID, ContentHash: c.hash, ContentBytes: int32(len(c.text)),
				ChunkCount: int32(len(chunks))}); err != nil {
				return fmt.Errorf("replace document: %w", err)
			}
			if err := tx.DeleteDocumentRow(ctx, a.org, p.ID); err != nil {
				return fmt.Errorf("drop pending row: %w", err)
			}
		case isNotFound(err):
			if err := tx.InsertChunks(ctx, a.org, p.ID, chunks); err != nil {
				return fmt.Errorf("insert chunks: %w", err)
			}
			if err := tx.PromotePendingDocument(ctx, a.org, db.DocumentPromotePendingParams{
				ID: p.ID, Title: c.title, Url: c.url, Acl: c.acl, DocumentSetID: c.set,
				ConnectorID: c.conn, ContentHash: c.hash, ContentBytes: int32(len(c.text)),
				ChunkCount: int32(len(chunks))}); err != nil {
				return fmt.Errorf("promote document: %w", err)
			}
		default:
			return fmt.Errorf("load indexed document: %w", err)
		}
		return tx.AddRunCounts(ctx, a.org, db.IndexingRunAddCountsParams{ID: a.run.ID, Indexed: 1, Chunks: int32(len(chunks))})
	})
}

// discover lists a web connector's pages and stores one pending placeholder row per page
// (content not fetched yet), then records documentsSeen. The network part runs outside
// any transaction. Running it again (after a crash) is harmless: existing placeholders
// are kept and pages already indexed by this run are fetched again and skipped.
func (s *Service) discover(ctx context.Context, a *attempt, conn *db.Connector) error {
	// The stored config was validated when written; private-address checks happen when
	// pages are fetched, so a switch turned off later refuses the fetches.
	cfg, fe := parseWebConfig(conn.Config, true)
	if fe != nil {
		return &pageError{msg: "connector config is invalid: " + fe.Message}
	}
	urls := cfg.URLs
	if cfg.Sitemap != nil {
		max := DefaultWebMaxPages
		if cfg.MaxPages != nil {
			max = *cfg.MaxPages
		}
		var err error
		urls, err = s.web.Sitemap(ctx, *cfg.Sitemap, max)
		var we *webconn.Error
		if errors.As(err, &we) {
			return &pageError{msg: we.Reason}
		}
		if err != nil {
			return err
		}
	}
	var acl json.RawMessage
	if cfg.ACL != nil {
		b, err := json.Marshal(cfg.ACL)
		if err != nil {
			return fmt.Errorf("encode acl: %w", err)
		}
		acl = b
	}
	return s.stepTx(ctx, a, func(tx *store.Tx) error {
		set, err := tx.EnsureDocumentSet(ctx, a.org, a.run.DocumentSet)
		if err != nil {
			return fmt.Errorf("ensure set: %w", err)
		}
		for _, u := range urls {
			u := u
			if err := tx.InsertPendingDocument(ctx, a.org, db.DocumentInsertPendingParams{
				DocID: ConnectorDocumentID(conn.ID, u), DocumentSetID: set.ID, Title: truncate(u, MaxTitleChars),
				Url: &u, Acl: acl, ConnectorID: uuid.NullUUID{UUID: conn.ID, Valid: true}, ContentHash: []byte{},
				RunID: uuid.NullUUID{UUID: a.run.ID, Valid: true},
			}); err != nil {
				return fmt.Errorf("store page placeholder: %w", err)
			}
		}
		if err := tx.SetRunDocumentsSeen(ctx, a.org, a.run.ID, int32(len(urls))); err != nil {
			return err
		}
		a.run.DocumentsSeen = int32(len(urls))
		a.log.Info("connector pages discovered", "pages", len(urls))
		return nil
	})
}

// fetchAndIndex fetches the page of a placeholder row and indexes it. A page that is
// gone or unusable (4xx, refused address, unsupported type, too large, no text) drops
// the placeholder, so its document is deleted if the run succeeds; a page that failed
// for a passing reason (timeout, 5xx) keeps its existing document.
func (s *Service) fetchAndIndex(ctx context.Context, a *attempt, p db.Document) error {
	url := ""
	if p.Url != nil {
		url = *p.Url
	}
	page, err := s.web.Page(ctx, url)
	var we *webconn.Error
	if err != nil && !errors.As(err, &we) {
		return err // the context ended: the run is stopping
	}
	if err != nil {
		a.log.Info("connector page not indexed", "url", webconn.Echo(url), "reason", we.Reason, "transient", we.Transient)
		return s.stepTx(ctx, a, func(tx *store.Tx) error {
			if err := tx.DeleteDocumentRow(ctx, a.org, p.ID); err != nil {
				return fmt.Errorf("drop placeholder: %w", err)
			}
			if !we.Transient {
				return nil
			}
			return tx.MarkConnectorDocumentSeen(ctx, a.org, db.DocumentMarkConnectorSeenParams{
				DocID: p.DocID, ConnectorID: p.ConnectorID, RunID: uuid.NullUUID{UUID: a.run.ID, Valid: true}})
		})
	}
	title := page.Title
	if title == "" {
		title = url
	}
	sum := sha256.Sum256([]byte(page.Text))
	return s.indexContent(ctx, a, p, content{
		title: truncate(title, MaxTitleChars), url: p.Url, acl: p.Acl, set: p.DocumentSetID,
		conn: p.ConnectorID, text: page.Text, hash: sum[:],
	})
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}
