package admin

import (
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

type approvalJSON struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	AgentID        string          `json:"agentId"`
	ConversationID string          `json:"conversationId"`
	SessionID      string          `json:"sessionId"`
	RequestID      string          `json:"requestId"`
	ToolName       string          `json:"toolName"`
	Arguments      json.RawMessage `json:"arguments"`
	CreatedAt      jsonTime        `json:"createdAt"`
	ExpiresAt      jsonTime        `json:"expiresAt"`
	DecidedAt      *jsonTime       `json:"decidedAt"`
	DecidedVia     *string         `json:"decidedVia"`
	DecidedBy      *string         `json:"decidedBy"`
	Reason         *string         `json:"reason"`
}

func approvalOut(a db.PendingApproval) approvalJSON {
	return approvalJSON{
		ID: a.ID.String(), Status: a.Status, AgentID: a.AgentID.String(), ConversationID: a.ConversationID.String(),
		SessionID: a.SessionID.String(), RequestID: a.RequestID, ToolName: a.ToolName, Arguments: a.Arguments,
		CreatedAt: ts(a.CreatedAt), ExpiresAt: ts(a.ExpiresAt), DecidedAt: tsPtr(a.DecidedAt),
		DecidedVia: a.DecidedVia, DecidedBy: a.DecidedBy, Reason: a.Reason,
	}
}

func (h *handlers) listApprovals(c *fiber.Ctx) error {
	q, err := query(c, "limit", "cursor")
	if err != nil {
		return err
	}
	pg, err := parsePage(q, "approvals", "t")
	if err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	rows, err := h.st.ListPendingApprovals(c.UserContext(), principalOf(c).org, pg.store())
	if err != nil {
		return err
	}
	rows, more := trim(rows, pg.limit)
	out := make([]approvalJSON, len(rows))
	for i, a := range rows {
		out[i] = approvalOut(a)
	}
	next := pg.next(more, func() cursor {
		last := rows[len(rows)-1]
		return timeCursor(last.CreatedAt, last.ID)
	})
	return reply(c, fiber.StatusOK, fiber.Map{"approvals": out, "nextCursor": next})
}

// decideApproval is POST /admin/approvals/{id} (ADMIN-API §9.8): the conditional update,
// the audit row and the decision's publication commit together; the answer does not wait
// for the turn.
func (h *handlers) decideApproval(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	r := reqjson.NewReader(v, "approved", "reason")
	approved, _ := r.Bool("approved", reqjson.Required)
	reason := textChars(r, "reason", reqjson.Optional, 1024)
	if r.Err() != nil {
		return validation(r.Err())
	}
	id, err := pathID(c, "id", "approval")
	if err != nil {
		return err
	}
	p := principalOf(c)
	row, err := h.st.DecideApprovalByAdmin(c.UserContext(), p.org, id,
		store.AdminDecision{Approved: approved, DecidedBy: p.UserID, Reason: reason}, h.meta(c, p))
	if errors.Is(err, store.ErrConflict) {
		return conflict("approval " + reqjson.Quote(c.Params("id")) + " is already decided")
	}
	if err != nil {
		return storeError(err, "approval", c.Params("id"))
	}
	return reply(c, fiber.StatusOK, fiber.Map{"approval": approvalOut(row)})
}
