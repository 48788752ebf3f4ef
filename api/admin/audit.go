package admin

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/db"
)

type auditJSON struct {
	ID         string          `json:"id"`
	At         jsonTime        `json:"at"`
	Actor      auditActor      `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"targetType"`
	TargetID   string          `json:"targetId"`
	RequestID  *string         `json:"requestId"`
	IP         *string         `json:"ip"`
	Details    json.RawMessage `json:"details"`
}

type auditActor struct {
	Type string  `json:"type"`
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

func auditOut(a db.AuditLog) auditJSON {
	details := a.Details
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	return auditJSON{
		ID: a.ID.String(), At: ts(a.At), Actor: auditActor{Type: a.ActorType, ID: a.ActorID, Name: a.ActorName},
		Action: a.Action, TargetType: a.TargetType, TargetID: a.TargetID, RequestID: a.RequestID, IP: a.Ip,
		Details: details,
	}
}

func (h *handlers) listAudit(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "audit", "t")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	rows, err := h.st.ListAudit(c.UserContext(), principalOf(c).org, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]auditJSON, len(rows))
	for i, a := range rows {
		out[i] = auditOut(a)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return timeCursor(last.At, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"entries": out, "nextCursor": next})
}
