// Package events names what happens in Switchboard that an org's own systems may want to
// hear about (ADMIN-API §12.1), as typed payloads, and the delivery job each one queues.
//
// An event is emitted inside the transaction that writes what it reports, so that the two
// commit together or not at all:
//
//	err := st.InTx(ctx, func(tx *store.Tx) error {
//		// … the writes the event reports …
//		return tx.Emit(ctx, orgID, events.InteractionSubmitted{ConversationID: c, …})
//	})
//
// store.Tx.Emit writes the event row and, in the same statement, one delivery row and one
// River job (DeliveryArgs) for each enabled webhook endpoint of the org subscribed to the
// event's type; package webhooks works those jobs. An event nobody subscribes to writes
// nothing. Store.Emit does the same in a transaction of its own, for an event that reports
// no write (budget.reached).
//
// This package holds values only: it never touches the database or the network.
package events

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Type is an event type, as tenants subscribe to it and as the payload's "type" says.
type Type string

// The event types.
const (
	ConversationCreatedType  Type = "conversation.created"
	MessageCreatedType       Type = "message.created"
	TurnFailedType           Type = "turn.failed"
	ApprovalRequestedType    Type = "approval.requested"
	ApprovalDecidedType      Type = "approval.decided"
	InteractionSubmittedType Type = "interaction.submitted"
	OTPVerifiedType          Type = "otp.verified"
	BudgetReachedType        Type = "budget.reached"
)

// Types lists every event type, in the order the API documents them. The migration's CHECK
// on webhook_endpoints.event_types lists the same.
var Types = []Type{
	ConversationCreatedType, MessageCreatedType, TurnFailedType, ApprovalRequestedType,
	ApprovalDecidedType, InteractionSubmittedType, OTPVerifiedType, BudgetReachedType,
}

// Known reports whether t is an event type.
func Known(t Type) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Data is an event's payload: the "data" member of what a webhook receives.
type Data interface {
	// EventType is the type the payload is delivered as.
	EventType() Type
	// Conversation is the conversation the event is about, uuid.Nil for none. Erasing a
	// conversation erases its events.
	Conversation() uuid.UUID
}

// Deduped is a Data that happens at most once per key and org: a second emission with the
// same key writes nothing.
type Deduped interface {
	Data
	DedupeKey() string
}

// ConversationCreated: a visitor's widget opened a new conversation
// (create_conversation_session without a conversation to resume).
type ConversationCreated struct {
	ConversationID uuid.UUID `json:"conversationId"`
	AgentID        uuid.UUID `json:"agentId"`
	SessionID      uuid.UUID `json:"sessionId"`
	// ExternalUserID is the verified end-user identity (jwt:<sub> or ctx:<userId>), if any.
	ExternalUserID *string         `json:"externalUserId"`
	Metadata       json.RawMessage `json:"metadata"`
}

// Message roles.
const (
	RoleVisitor   = "visitor"
	RoleAssistant = "assistant"
)

// MessageCreated: a message was stored: the visitor's (RoleVisitor) when a turn starts, the
// agent's reply (RoleAssistant) when a turn completes.
type MessageCreated struct {
	ConversationID uuid.UUID `json:"conversationId"`
	MessageID      uuid.UUID `json:"messageId"`
	Role           string    `json:"role"`
	Text           string    `json:"text"`
	RequestID      string    `json:"requestId"`
}

// TurnFailed: a turn ended with an error (the AGENT_ERROR the widget saw).
type TurnFailed struct {
	ConversationID uuid.UUID `json:"conversationId"`
	AgentID        uuid.UUID `json:"agentId"`
	SessionID      uuid.UUID `json:"sessionId"`
	RequestID      string    `json:"requestId"`
	Error          string    `json:"error"`
}

// ApprovalRequested: a turn parked on a tool call that needs a human's approval.
type ApprovalRequested struct {
	ApprovalID     uuid.UUID       `json:"approvalId"`
	ConversationID uuid.UUID       `json:"conversationId"`
	AgentID        uuid.UUID       `json:"agentId"`
	SessionID      uuid.UUID       `json:"sessionId"`
	RequestID      string          `json:"requestId"`
	ToolName       string          `json:"toolName"`
	Arguments      json.RawMessage `json:"arguments"`
	ExpiresAt      time.Time       `json:"expiresAt"`
}

// ApprovalDecided: a pending approval was approved or rejected, by the widget or an admin.
type ApprovalDecided struct {
	ApprovalID     uuid.UUID `json:"approvalId"`
	ConversationID uuid.UUID `json:"conversationId"`
	AgentID        uuid.UUID `json:"agentId"`
	ToolName       string    `json:"toolName"`
	Status         string    `json:"status"`     // approved | rejected
	DecidedVia     string    `json:"decidedVia"` // widget | admin
	DecidedBy      *string   `json:"decidedBy"`
	Reason         *string   `json:"reason"`
}

// InteractionSubmitted: a visitor submitted an interaction (a form the agent showed).
type InteractionSubmitted struct {
	InteractionID  uuid.UUID       `json:"interactionId"`
	ConversationID uuid.UUID       `json:"conversationId"`
	AgentID        uuid.UUID       `json:"agentId"`
	SessionID      uuid.UUID       `json:"sessionId"`
	Values         json.RawMessage `json:"values"`
}

// OTPVerified: a visitor proved an email address with a one-time code.
type OTPVerified struct {
	ConversationID uuid.UUID `json:"conversationId"`
	AgentID        uuid.UUID `json:"agentId"`
	SessionID      uuid.UUID `json:"sessionId"`
	Email          string    `json:"email"`
}

// BudgetReached: the org's monthly token budget refused a turn for the first time in Month
// (YYYY-MM, UTC).
type BudgetReached struct {
	Month      string `json:"month"`
	Budget     int64  `json:"budgetTokens"`
	UsedTokens int64  `json:"usedTokens"`
}

func (ConversationCreated) EventType() Type  { return ConversationCreatedType }
func (MessageCreated) EventType() Type       { return MessageCreatedType }
func (TurnFailed) EventType() Type           { return TurnFailedType }
func (ApprovalRequested) EventType() Type    { return ApprovalRequestedType }
func (ApprovalDecided) EventType() Type      { return ApprovalDecidedType }
func (InteractionSubmitted) EventType() Type { return InteractionSubmittedType }
func (OTPVerified) EventType() Type          { return OTPVerifiedType }
func (BudgetReached) EventType() Type        { return BudgetReachedType }

func (d ConversationCreated) Conversation() uuid.UUID  { return d.ConversationID }
func (d MessageCreated) Conversation() uuid.UUID       { return d.ConversationID }
func (d TurnFailed) Conversation() uuid.UUID           { return d.ConversationID }
func (d ApprovalRequested) Conversation() uuid.UUID    { return d.ConversationID }
func (d ApprovalDecided) Conversation() uuid.UUID      { return d.ConversationID }
func (d InteractionSubmitted) Conversation() uuid.UUID { return d.ConversationID }
func (d OTPVerified) Conversation() uuid.UUID          { return d.ConversationID }
func (BudgetReached) Conversation() uuid.UUID          { return uuid.Nil }

// DedupeKey: one budget.reached per org and month.
func (d BudgetReached) DedupeKey() string { return string(BudgetReachedType) + ":" + d.Month }

// Envelope is the body of a webhook request (the Standard Webhooks payload structure).
type Envelope struct {
	Type      Type            `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// The delivery job: one per event and subscribed endpoint, queued by the emitting statement
// (its kind, queue and attempts are written there as well) and worked by package webhooks.
const (
	DeliveryKind  = "webhook_delivery"
	DeliveryQueue = "webhooks"
	// DeliveryMaxAttempts with webhooks' backoff spreads the attempts over about a day.
	DeliveryMaxAttempts = 12
)

// DeliveryArgs are the delivery job's arguments.
type DeliveryArgs struct {
	OrgID      uuid.UUID `json:"org_id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Kind is River's job kind.
func (DeliveryArgs) Kind() string { return DeliveryKind }
