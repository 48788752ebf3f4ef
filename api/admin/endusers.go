package admin

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
)

// errBadRef is the answer to a reference outside the grammar of ADMIN-API §9.17.
var errBadRef = api.Validation("ref", "ref must be jwt:<sub>, ctx:<userId> or email:<address> (percent-encoded in the path)")

// endUserRef parses the {ref} of /admin/end-users/{ref} (ADMIN-API §9.17): jwt:<sub> or
// ctx:<userId>, matched exactly against participants' external ids, or email:<address>,
// matched trimmed and case-insensitively against their verified emails.
func endUserRef(c *fiber.Ctx) (store.EndUser, error) {
	ref, err := url.PathUnescape(c.Params("ref"))
	if err != nil || !utf8.ValidString(ref) || hasControl(ref) {
		return store.EndUser{}, errBadRef
	}
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return store.EndUser{}, errBadRef
	}
	switch kind {
	case "jwt", "ctx":
		if n := utf8.RuneCountInString(rest); n < 1 || n > 256 {
			return store.EndUser{}, errBadRef
		}
		return store.EndUser{Identity: ref}, nil
	case "email":
		addr := strings.TrimSpace(rest)
		if n := utf8.RuneCountInString(addr); n < 3 || n > 320 || !strings.Contains(addr, "@") {
			return store.EndUser{}, errBadRef
		}
		return store.EndUser{Email: addr}, nil
	}
	return store.EndUser{}, errBadRef
}

type erasureJSON struct {
	Conversations        int64 `json:"conversations"`
	Messages             int64 `json:"messages"`
	Sessions             int64 `json:"sessions"`
	Approvals            int64 `json:"approvals"`
	UsageEventsKept      int64 `json:"usageEventsKept"`
	AuditEntriesScrubbed int64 `json:"auditEntriesScrubbed"`
}

func (h *handlers) eraseEndUser(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	u, err := endUserRef(c)
	if err != nil {
		return err
	}
	p := principalOf(c)
	e, err := h.st.EraseEndUser(c.UserContext(), p.org, u, h.meta(c, p))
	if err != nil {
		return err
	}
	return reply(c, fiber.StatusOK, fiber.Map{"erasure": erasureJSON{
		Conversations: e.Conversations, Messages: e.Messages, Sessions: e.Sessions, Approvals: e.Approvals,
		UsageEventsKept: e.UsageEvents, AuditEntriesScrubbed: e.AuditEntries,
	}})
}

func (h *handlers) deleteConversation(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", "conversation")
	if err != nil {
		return err
	}
	p := principalOf(c)
	if _, err := h.st.DeleteConversation(c.UserContext(), p.org, id, h.meta(c, p)); err != nil {
		return storeError(err, "conversation", c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// exportSessionJSON is a session as the export shows it: never its resume token's hash.
type exportSessionJSON struct {
	ID           string   `json:"id"`
	AgentID      string   `json:"agentId"`
	Status       string   `json:"status"`
	UserName     string   `json:"userName"`
	ContactEmail *string  `json:"contactEmail"`
	Supports     []string `json:"supports"`
	CreatedAt    jsonTime `json:"createdAt"`
}

type exportConversationJSON struct {
	conversationJSON
	Metadata     any                 `json:"metadata"`
	Participants []participantJSON   `json:"participants"`
	Sessions     []exportSessionJSON `json:"sessions"`
	Messages     []messageJSON       `json:"messages"`
	Approvals    []approvalJSON      `json:"approvals"`
}

type exportUsageJSON struct {
	ID               string   `json:"id"`
	AgentID          string   `json:"agentId"`
	ConversationID   *string  `json:"conversationId"`
	SessionID        *string  `json:"sessionId"`
	RequestID        *string  `json:"requestId"`
	Model            string   `json:"model"`
	PromptTokens     int64    `json:"promptTokens"`
	CompletionTokens int64    `json:"completionTokens"`
	CostUsd          float64  `json:"costUsd"`
	Outcome          string   `json:"outcome"`
	CreatedAt        jsonTime `json:"createdAt"`
}

type exportJSON struct {
	OrgID         string                   `json:"orgId"`
	EndUser       string                   `json:"endUser"`
	ExportedAt    jsonTime                 `json:"exportedAt"`
	Conversations []exportConversationJSON `json:"conversations"`
	Usage         []exportUsageJSON        `json:"usage"`
	Audit         []auditJSON              `json:"audit"`
}

func (h *handlers) exportEndUser(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	if err := noBody(c); err != nil {
		return err
	}
	u, err := endUserRef(c)
	if err != nil {
		return err
	}
	p := principalOf(c)
	data, err := h.st.ExportEndUser(c.UserContext(), p.org, u, h.meta(c, p))
	if err != nil {
		return err
	}
	ref := u.Identity
	if ref == "" {
		ref = "email:" + u.Email
	}
	return reply(c, fiber.StatusOK, fiber.Map{"export": exportOut(p.org, ref, data)})
}

func exportOut(org uuid.UUID, ref string, d store.EndUserData) exportJSON {
	out := exportJSON{
		OrgID: org.String(), EndUser: ref, ExportedAt: ts(time.Now()),
		Conversations: make([]exportConversationJSON, 0, len(d.Conversations)),
		Usage:         make([]exportUsageJSON, 0, len(d.Usage)),
		Audit:         make([]auditJSON, 0, len(d.Audit)),
	}
	index := map[uuid.UUID]int{}
	for i, c := range d.Conversations {
		index[c.ID] = i
		var meta any
		if len(c.Metadata) > 0 {
			meta = c.Metadata
		}
		out.Conversations = append(out.Conversations, exportConversationJSON{
			conversationJSON: conversationOut(c, ""), Metadata: meta, Participants: []participantJSON{},
			Sessions: []exportSessionJSON{}, Messages: []messageJSON{}, Approvals: []approvalJSON{},
		})
	}
	parts := map[uuid.UUID]db.Participant{}
	for _, pt := range d.Participants {
		parts[pt.ID] = pt
		if i, ok := index[pt.ConversationID]; ok {
			out.Conversations[i].Participants = append(out.Conversations[i].Participants, participantJSON{
				ID: pt.ID.String(), Type: pt.Type, Name: pt.Name, Email: pt.Email, ExternalID: pt.ExternalID, CreatedAt: ts(pt.CreatedAt),
			})
		}
	}
	for _, s := range d.Sessions {
		if i, ok := index[s.ConversationID]; ok {
			out.Conversations[i].Sessions = append(out.Conversations[i].Sessions, exportSessionJSON{
				ID: s.ID.String(), AgentID: s.AgentID.String(), Status: s.Status, UserName: s.UserName,
				ContactEmail: s.ContactEmail, Supports: nonNil(s.Supports), CreatedAt: ts(s.CreatedAt),
			})
		}
	}
	firstInbound := map[int]string{}
	for _, m := range d.Messages {
		i, ok := index[m.ConversationID]
		if !ok {
			continue
		}
		msg := messageJSON{
			ID: m.ID.String(), ConversationID: m.ConversationID.String(), Direction: m.Direction,
			Content:   messageContent{Items: []messageItem{{Type: "text", Text: m.Text}}, Text: m.Text},
			CreatedAt: ts(m.CreatedAt),
		}
		if pt, ok := parts[m.ParticipantID.UUID]; ok && m.ParticipantID.Valid {
			msg.From = &messageFrom{ID: pt.ID.String(), Type: pt.Type, Name: pt.Name}
		}
		if len(out.Conversations[i].Messages) == 0 && m.Direction == "inbound" {
			firstInbound[i] = m.Text
		}
		out.Conversations[i].Messages = append(out.Conversations[i].Messages, msg)
	}
	for i := range out.Conversations {
		visitor := ""
		for _, pt := range out.Conversations[i].Participants {
			if pt.Type == "user" {
				visitor = pt.Name
				break
			}
		}
		out.Conversations[i].Name = conversationName(out.Conversations[i].Title, firstInbound[i], visitor)
	}
	for _, a := range d.Approvals {
		if i, ok := index[a.ConversationID]; ok {
			out.Conversations[i].Approvals = append(out.Conversations[i].Approvals, approvalOut(a))
		}
	}
	for _, u := range d.Usage {
		out.Usage = append(out.Usage, exportUsageJSON{
			ID: u.ID.String(), AgentID: u.AgentID.String(), ConversationID: nullID(u.ConversationID),
			SessionID: nullID(u.SessionID), RequestID: u.RequestID, Model: u.Model, PromptTokens: u.PromptTokens,
			CompletionTokens: u.CompletionTokens, CostUsd: usageCost(u.CostUsd), Outcome: u.Outcome, CreatedAt: ts(u.CreatedAt),
		})
	}
	for _, a := range d.Audit {
		out.Audit = append(out.Audit, auditOut(a))
	}
	return out
}

func nullID(id uuid.NullUUID) *string {
	if !id.Valid {
		return nil
	}
	s := id.UUID.String()
	return &s
}

// usageCost is a stored cost in dollars, rounded as the API shows money (§1.4).
func usageCost(n pgtype.Numeric) float64 {
	f, err := n.Float64Value()
	if err != nil || !f.Valid {
		return 0
	}
	return llm.RoundUSD(f.Float64, costDecimals)
}
