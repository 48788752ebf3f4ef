package admin

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/knowledge"
)

// Indexing run endpoints of ADMIN-API §9.12. A run is read here only; it is created by
// ingestion (knowledge.go) or by POST /admin/connectors/{id}/index (connectors.go).

type runJSON struct {
	ID               string    `json:"id"`
	ConnectorID      *string   `json:"connectorId"`
	ConnectorName    *string   `json:"connectorName"`
	DocumentSet      string    `json:"documentSet"`
	Status           string    `json:"status"`
	CreatedAt        jsonTime  `json:"createdAt"`
	StartedAt        *jsonTime `json:"startedAt"`
	FinishedAt       *jsonTime `json:"finishedAt"`
	DocumentsSeen    int       `json:"documentsSeen"`
	DocumentsIndexed int       `json:"documentsIndexed"`
	ChunksIndexed    int       `json:"chunksIndexed"`
	DocumentsSkipped int       `json:"documentsSkipped"`
	Error            *string   `json:"error"`
}

func runOut(r knowledge.Run) runJSON {
	out := runJSON{
		ID: r.ID.String(), DocumentSet: r.DocumentSet, Status: r.Status, CreatedAt: ts(r.CreatedAt),
		StartedAt: tsPtr(r.StartedAt), FinishedAt: tsPtr(r.FinishedAt), DocumentsSeen: r.DocumentsSeen,
		DocumentsIndexed: r.DocumentsIndexed, ChunksIndexed: r.ChunksIndexed, DocumentsSkipped: r.DocumentsSkipped,
		Error: r.Error, ConnectorName: r.ConnectorName,
	}
	if r.ConnectorID != nil {
		s := r.ConnectorID.String()
		out.ConnectorID = &s
	}
	return out
}

// runFilter reads the connectorId and status filters. A malformed connectorId is a 400; an
// unknown or foreign one simply matches nothing.
func runFilter(q map[string]string) (knowledge.RunFilter, error) {
	var f knowledge.RunFilter
	if raw, ok := q["connectorId"]; ok {
		s, ok := auth.IsUUID(raw)
		if !ok {
			return f, api.Validation("connectorId", "connectorId must be a UUID")
		}
		id := uuid.MustParse(s)
		f.ConnectorID = &id
	}
	if st, ok := q["status"]; ok {
		if !slices.Contains(knowledge.Statuses, st) {
			return f, api.Validation("status", "status must be one of "+strings.Join(knowledge.Statuses, ", "))
		}
		f.Status = st
	}
	return f, nil
}

// listRuns is GET /admin/indexing/runs: createdAt descending, then id.
func (h *handlers) listRuns(c *fiber.Ctx) error {
	q, err := query(c, "connectorId", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	f, err := runFilter(q)
	if err != nil {
		return err
	}
	connector := ""
	if f.ConnectorID != nil {
		connector = f.ConnectorID.String()
	}
	pg, err := parsePage(q, "runs", "t", connector, f.Status)
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	var after *knowledge.RunKey
	if pg.at != nil {
		after = &knowledge.RunKey{CreatedAt: *pg.at, ID: pg.id.UUID}
	}
	runs, more, err := h.kn.ListRuns(c.UserContext(), principalOf(c).org, f, after, pg.limit, pg.offset)
	if err != nil {
		return err
	}
	out := make([]runJSON, len(runs))
	for i, r := range runs {
		out[i] = runOut(r)
	}
	next := pg.next(more, func() cursor {
		last := runs[len(runs)-1]
		return timeCursor(last.CreatedAt, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"runs": out, "nextCursor": next})
}

func (h *handlers) getRun(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "indexing run")
	if err != nil {
		return err
	}
	r, err := h.kn.GetRun(c.UserContext(), principalOf(c).org, id)
	if err != nil {
		return knowledgeError(c, err, "indexing run", c.Params("id"))
	}
	return reply(c, fiber.StatusOK, fiber.Map{"run": runOut(r)})
}
