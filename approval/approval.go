// Package approval carries the outcome of a parked tool call from whoever decided it (a
// widget's confirm_tool_action, an admin's POST /admin/approvals/{id}, an agent deletion)
// to the turn waiting for it. The decision itself is always the conditional update of the
// pending_approvals row; this package only moves the news of it, and never decides.
package approval

import (
	"context"

	"github.com/google/uuid"
)

// Outcome is how a park ended, as the waiting turn must act on it.
type Outcome string

const (
	Approved     Outcome = "approved"
	Rejected     Outcome = "rejected"
	AgentDeleted Outcome = "agentDeleted"
	// Verified and VerificationFailed end a park on a one-time code (PROTOCOL-1.1 §7.13):
	// the code was verified, or its last attempt was wrong. AgentDeleted ends one too.
	Verified           Outcome = "verified"
	VerificationFailed Outcome = "verificationFailed"
)

// Decision is the committed outcome of one park: an approval, or a one-time-code challenge,
// whose id is then ApprovalID (ids are UUIDs, so the two never collide).
type Decision struct {
	ApprovalID uuid.UUID
	OrgID      uuid.UUID
	Outcome    Outcome
	Via        string // "widget" or "admin"; "" for AgentDeleted
	Reason     string // admin rejections may carry one
	// Traceparent is the span that decided (W3C Trace Context), so that the parked turn's
	// trace links to it, across instances too; "" when unknown.
	Traceparent string
}

// Deliverer hands a committed decision to the turn parked on it, wherever it runs. A
// decision for a park that no longer waits (or waits on another approval id) is dropped.
type Deliverer interface {
	Deliver(ctx context.Context, d Decision)
}
