package backplane

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/tracing"
)

// handler is one in-process consumer of internal events.
type handler struct {
	fn func(ctx context.Context, ev Event)
}

// Handle makes eventType an internal event type on this instance: an Instance-targeted
// event addressed to this hub's instance whose JSON "type" is eventType goes to fn and to
// no socket. Events of other types addressed to the instance still reach its sockets (they
// are all bound to it). fn runs on the dispatch goroutine in event order and must not block.
// remove unregisters it.
func (h *Hub) Handle(eventType string, fn func(ctx context.Context, ev Event)) (remove func()) {
	e := &handler{fn: fn}
	h.mu.Lock()
	if h.handlers[eventType] == nil {
		h.handlers[eventType] = map[*handler]struct{}{}
	}
	h.handlers[eventType][e] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.handlers[eventType], e)
		if len(h.handlers[eventType]) == 0 {
			delete(h.handlers, eventType)
		}
		h.mu.Unlock()
	}
}

// handleInternal runs the handlers of ev's type, if any, and reports whether there were.
func (h *Hub) handleInternal(ctx context.Context, ev Event) bool {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(ev.Payload, &head) != nil || head.Type == "" {
		return false
	}
	h.mu.RLock()
	fns := make([]func(context.Context, Event), 0, len(h.handlers[head.Type]))
	for e := range h.handlers[head.Type] {
		fns = append(fns, e.fn)
	}
	h.mu.RUnlock()
	for _, fn := range fns {
		h.contained(ev, func() bool { fn(ctx, ev); return true })
	}
	return len(fns) > 0
}

// DecisionEventType is the internal event that carries a committed approval decision to
// the instance whose turn is parked on it. Tenants cannot publish it: /admin/publish never
// addresses an instance.
const DecisionEventType = "switchboard.approvalDecision"

type decisionEvent struct {
	Type       string           `json:"type"`
	ApprovalID uuid.UUID        `json:"approvalId"`
	Outcome    approval.Outcome `json:"outcome"`
	Via        string           `json:"via,omitempty"`
	Reason     string           `json:"reason,omitempty"`
	// Traceparent is the deciding span (W3C Trace Context), so that the parked turn's
	// trace on the owning instance links to it.
	Traceparent string `json:"traceparent,omitempty"`
}

// PublishDecision publishes d to the instance owning the parked turn. Call it in the
// transaction of the conditional update that decided the approval, so the decision leaves
// only if it commits.
func (h *Hub) PublishDecision(ctx context.Context, tx db.DBTX, owner uuid.UUID, d approval.Decision) (int64, error) {
	payload, err := json.Marshal(decisionEvent{
		Type: DecisionEventType, ApprovalID: d.ApprovalID, Outcome: d.Outcome, Via: d.Via, Reason: d.Reason,
		Traceparent: tracing.Traceparent(ctx),
	})
	if err != nil {
		return 0, fmt.Errorf("encode approval decision: %w", err)
	}
	return h.Publish(ctx, tx, d.OrgID, Target{Type: Instance, ID: owner.String()}, payload)
}

// DeliverDecisions hands every decision addressed to this instance to to, on the dispatch
// goroutine (to.Deliver must not block). remove unregisters it.
func (h *Hub) DeliverDecisions(to approval.Deliverer) (remove func()) {
	return h.Handle(DecisionEventType, func(ctx context.Context, ev Event) {
		var de decisionEvent
		if err := json.Unmarshal(ev.Payload, &de); err != nil {
			h.log.Error("backplane: undecodable approval decision", "event_id", ev.ID, "org_id", ev.OrgID, "err", err)
			return
		}
		to.Deliver(ctx, approval.Decision{
			ApprovalID: de.ApprovalID, OrgID: ev.OrgID, Outcome: de.Outcome, Via: de.Via, Reason: de.Reason,
			Traceparent: de.Traceparent,
		})
	})
}
