package ws

import (
	"context"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/db"
)

// subscribe registers the socket with the backplane (PROTOCOL §5.11): bound from the start to
// its connection id, its instance (Register does that) and, with a verified token, to the
// principal's org and its identity jwt:<sub> within that org. Sessions add the rest.
func (c *conn) subscribe() {
	hub := c.h.d.Hub
	if hub == nil {
		return
	}
	b := hub.Register(c)
	b.Bind(backplane.Connection, c.id.String())
	if p := c.principal; p != nil {
		b.Bind(backplane.Org, p.orgID.String())
		b.BindUser(p.orgID, "jwt:"+p.sub)
	}
	c.binding = b
}

// bindSession binds a session created or resumed on this socket, its conversation and agent,
// the agent's org and, when the frame verified one, the identity ctx:<userId> in that org.
func (c *conn) bindSession(org, session, conversation, agentID uuid.UUID, ctxIdentity string) {
	b := c.binding
	if b == nil {
		return
	}
	b.Bind(backplane.Session, session.String())
	b.Bind(backplane.Conversation, conversation.String())
	b.Bind(backplane.Agent, agentID.String())
	b.Bind(backplane.Org, org.String())
	if ctxIdentity != "" {
		b.BindUser(org, ctxIdentity)
	}
}

// unsubscribe unbinds everything; no published event reaches the socket after it returns.
func (c *conn) unsubscribe() {
	if c.binding != nil {
		c.binding.Close()
	}
}

// Deliver queues a published event for the socket's writer, as the tenant wrote it with a
// timestamp added when absent (backplane.Event.Frame). It never blocks: the outbox closes a
// socket that lets more than 8 MiB pile up (PROTOCOL §1.7).
func (c *conn) Deliver(ev backplane.Event) {
	c.out.push(ev.Frame)
}

// decide is step 2 of confirm_tool_action (PROTOCOL §4.9): the conditional update. When the
// turn is parked on another instance, the store publishes the decision to that instance's
// target in the same transaction, so it leaves only if the decision commits and the two
// instances never talk to each other directly. local reports that the turn is (or was)
// parked here, where the caller hands the decision to the engine once it has queued the ack.
func (c *conn) decide(ctx context.Context, ap db.PendingApproval, d approval.Decision) (local bool, err error) {
	local = c.h.d.Hub == nil || c.h.d.Instance == nil || ap.InstanceID == c.h.d.Instance.ID
	err = c.h.d.Store.DecideApprovalByWidget(ctx, d.OrgID, ap.ID, d.Outcome, !local)
	return local, err
}

// Connections counts the sockets this instance holds.
func (h *Handler) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}
