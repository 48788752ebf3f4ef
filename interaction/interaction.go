// Package interaction is the server side of rich interactions (PROTOCOL-1.1 §7.8–§7.11): the
// two kinds of card a model may raise, their tools' schemas, the canonical specs built from a
// raise's arguments, the validation and normalisation of the values a visitor submits, and
// every text a raise or the submit_interaction tool produces (§7.4.1). It also carries the
// news of an answered card from whoever committed it (a submit_interaction on any instance,
// an agent deletion) to the turn parked on it, as package approval does for approvals.
//
// It never decides a card: the decision is the conditional update of the
// pending_interactions row (package store). It never logs a value: submitted values are
// contact data (PROTOCOL-1.1 §3.7).
package interaction

import (
	"context"

	"github.com/google/uuid"
)

// Kind is one kind of card.
type Kind string

const (
	IdentityIntake Kind = "identity_intake"
	Choices        Kind = "choices"
)

// Kinds lists the kinds in the order the submit_interaction tool's enum names them.
var Kinds = []Kind{IdentityIntake, Choices}

// Tool names (PROTOCOL-1.1 §7.8, §7.10); reserved for the server (Appendix C.3).
const (
	RaiseIdentityTool = "request_identity_intake"
	RaiseChoicesTool  = "request_choices"
	SubmitTool        = "submit_interaction"
)

// RaiseTool is the tool the model calls to raise a card of kind k.
func (k Kind) RaiseTool() string {
	if k == Choices {
		return RaiseChoicesTool
	}
	return RaiseIdentityTool
}

// Capability is the supports value that puts kind k on the rich path (§7.8).
func (k Kind) Capability() string {
	if k == Choices {
		return "choice_chips"
	}
	return "identity_form"
}

// KindOfRaise returns the kind whose raise tool is name.
func KindOfRaise(name string) (Kind, bool) {
	switch name {
	case RaiseIdentityTool:
		return IdentityIntake, true
	case RaiseChoicesTool:
		return Choices, true
	}
	return "", false
}

// ParseKind accepts the two kind names.
func ParseKind(s string) (Kind, bool) {
	switch Kind(s) {
	case IdentityIntake, Choices:
		return Kind(s), true
	}
	return "", false
}

// Outcome is how a parked card ended, as the committer saw it. The waiting turn reads the
// row itself; the outcome only wakes it.
type Outcome string

const (
	Submitted    Outcome = "submitted"
	Declined     Outcome = "declined"
	AgentDeleted Outcome = "agentDeleted"
)

// Answer is the committed end of one parked card, addressed to the turn waiting on it.
type Answer struct {
	InteractionID uuid.UUID
	OrgID         uuid.UUID
	Outcome       Outcome
}

// Deliverer hands a committed answer to the turn parked on it, wherever it runs. An answer
// for a park that no longer waits (or waits on another card) is dropped.
type Deliverer interface {
	DeliverInteraction(ctx context.Context, a Answer)
}
