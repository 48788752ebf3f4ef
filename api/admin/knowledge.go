package admin

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/knowledge"
)

// Knowledge endpoints of ADMIN-API §9.9 and §9.10: document sets, ingestion, documents.
// Validation and the audit rows (documents.ingest, document.delete) belong to package
// knowledge; handlers read the request strictly and map its errors onto the envelope.

// queueRetryAfter is the Retry-After of a 429 for the queued-run limit (§1.8): a run
// usually leaves the queue within seconds.
const queueRetryAfter = 10

// knowledgeError maps package knowledge's errors for one resource: a *FieldError is a
// VALIDATION_ERROR at its field, ErrQueueFull a 429 with Retry-After, ErrNotFound a 404
// echoing raw; anything else is a 500.
func knowledgeError(c *fiber.Ctx, err error, what, raw string) error {
	var fe *knowledge.FieldError
	switch {
	case errors.As(err, &fe):
		return api.Validation(fe.Field, fe.Message)
	case errors.Is(err, knowledge.ErrQueueFull):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(queueRetryAfter))
		return &api.Error{Status: 429, Code: "RATE_LIMITED",
			Message: "too many queued indexing runs in this organization: retry after " + strconv.Itoa(queueRetryAfter) + " s"}
	case errors.Is(err, knowledge.ErrNotFound):
		return notFound(what, raw)
	}
	return err
}

// pathText reads a path parameter that is a tenant-chosen string (a document id, a set
// name), percent-decoded. ok is false when it does not decode.
func pathText(c *fiber.Ctx, param string) (string, bool) {
	raw := c.Params(param)
	s, err := url.PathUnescape(raw)
	if err != nil {
		return raw, false
	}
	return s, true
}

type documentSetJSON struct {
	Name          string    `json:"name"`
	DocumentCount int64     `json:"documentCount"`
	UpdatedAt     *jsonTime `json:"updatedAt"`
}

type documentJSON struct {
	ID           string         `json:"id"`
	DocumentSet  string         `json:"documentSet"`
	Title        string         `json:"title"`
	URL          *string        `json:"url"`
	ACL          *knowledge.ACL `json:"acl"`
	ConnectorID  *string        `json:"connectorId"`
	ContentBytes int            `json:"contentBytes"`
	ChunkCount   int            `json:"chunkCount"`
	CreatedAt    jsonTime       `json:"createdAt"`
	UpdatedAt    jsonTime       `json:"updatedAt"`
}

func documentOut(d knowledge.Document) documentJSON {
	out := documentJSON{
		ID: d.ID, DocumentSet: d.DocumentSet, Title: d.Title, URL: d.URL, ACL: d.ACL,
		ContentBytes: d.ContentBytes, ChunkCount: d.ChunkCount, CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt),
	}
	if d.ConnectorID != nil {
		s := d.ConnectorID.String()
		out.ConnectorID = &s
	}
	return out
}

// keyPage reads limit and cursor for a list ordered by a string key alone (set names,
// document ids) and returns the key to continue after ("" for the first page or an offset).
func keyPage(q map[string]string, endpoint string, filters ...string) (page, string, error) {
	p, err := parsePage(q, endpoint, "k", filters...)
	if err != nil || p.name == nil {
		return p, "", err
	}
	return p, *p.name, nil
}

// listDocumentSets is GET /admin/document-sets (§9.9): name in byte order.
func (h *handlers) listDocumentSets(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, after, err := keyPage(q, "document-sets")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	sets, more, err := h.kn.ListDocumentSets(c.UserContext(), principalOf(c).org, after, pg.limit, pg.offset)
	if err != nil {
		return err
	}
	out := make([]documentSetJSON, len(sets))
	for i, s := range sets {
		out[i] = documentSetJSON{Name: s.Name, DocumentCount: s.DocumentCount, UpdatedAt: tsPtr(s.UpdatedAt)}
	}
	next := pg.next(more, func() cursor { return cursor{N: &sets[len(sets)-1].Name} })
	return reply(c, fiber.StatusOK, fiber.Map{"documentSets": out, "nextCursor": next})
}

// listDocuments is GET /admin/document-sets/{name}/documents (§9.10): indexed documents
// by id in byte order; an unknown, foreign or malformed set is 404.
func (h *handlers) listDocuments(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	set, ok := pathText(c, "name")
	pg, after, err := keyPage(q, "documents", set)
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	if !ok || !knowledge.ValidSetName(set) {
		return notFound("document set", set)
	}
	docs, more, err := h.kn.ListDocuments(c.UserContext(), principalOf(c).org, set, after, pg.limit, pg.offset)
	if err != nil {
		return knowledgeError(c, err, "document set", set)
	}
	out := make([]documentJSON, len(docs))
	for i, d := range docs {
		out[i] = documentOut(d)
	}
	next := pg.next(more, func() cursor { return cursor{N: &docs[len(docs)-1].ID} })
	return reply(c, fiber.StatusOK, fiber.Map{"documents": out, "nextCursor": next})
}

// documentKeys are the keys of one submitted document.
var documentKeys = []string{"id", "title", "url", "content", "acl"}

// decodeDocuments reads the ingestion body's types; package knowledge checks the values.
func decodeDocuments(v *reqjson.Value) ([]knowledge.DocumentInput, *reqjson.Error) {
	r := reqjson.NewReader(v, "documents")
	if d := v.Fields["documents"]; d != nil && d.Kind == reqjson.Array &&
		(len(d.Items) < 1 || len(d.Items) > knowledge.MaxDocumentsPerRequest) {
		r.Fail("documents", "documents must hold 1.."+strconv.Itoa(knowledge.MaxDocumentsPerRequest)+" items")
	}
	var docs []knowledge.DocumentInput
	r.Each("documents", reqjson.Required, documentKeys, func(_ int, item *reqjson.Reader) {
		var d knowledge.DocumentInput
		if id, p := item.String("id", reqjson.Optional); p == reqjson.Set {
			if id == "" { // package knowledge reads "" as "generate one"
				item.Fail(item.Path("id"), item.Path("id")+" must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$ (got '')")
			}
			d.ID = id
		}
		d.Title, _ = item.String("title", reqjson.Required)
		if u, p := item.String("url", reqjson.Optional); p == reqjson.Set {
			d.URL = &u
		}
		d.Content, _ = item.String("content", reqjson.Required)
		if ar, p := item.Object("acl", reqjson.Optional, "public", "users", "groups"); p == reqjson.Set {
			a := &knowledge.ACL{}
			a.Public, _ = ar.Bool("public", reqjson.Optional)
			a.Users, _ = ar.Strings("users", reqjson.Optional)
			a.Groups, _ = ar.Strings("groups", reqjson.Optional)
			d.ACL = a
		}
		docs = append(docs, d)
	})
	return docs, r.Err()
}

// ingestDocuments is POST /admin/document-sets/{name}/documents (§9.10): 202 with the
// queued run and the document ids in request order.
func (h *handlers) ingestDocuments(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	// The set name is input here: a malformed one is a 400, not a 404.
	set, ok := pathText(c, "name")
	if !ok || !knowledge.ValidSetName(set) {
		return api.Validation("name", "name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ (got "+reqjson.Quote(set)+")")
	}
	docs, verr := decodeDocuments(v)
	if verr != nil {
		return validation(verr)
	}
	p := principalOf(c)
	run, ids, err := h.kn.Ingest(c.UserContext(), p.org, set, docs, h.meta(c, p))
	if err != nil {
		return knowledgeError(c, err, "document set", set)
	}
	return reply(c, fiber.StatusAccepted, fiber.Map{"run": runOut(run), "documentIds": ids})
}

// deleteDocument is DELETE /admin/documents/{id} (§9.10); {id} is percent-encoded.
func (h *handlers) deleteDocument(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, ok := pathText(c, "id")
	if !ok || !knowledge.ValidDocumentID(id) {
		return notFound("document", id)
	}
	p := principalOf(c)
	if err := h.kn.DeleteDocument(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return knowledgeError(c, err, "document", id)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
