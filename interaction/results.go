package interaction

import (
	"encoding/json"
	"strings"
)

// The model-facing results of raises and of the submit_interaction tool (PROTOCOL-1.1
// §7.4.1). All are isError false except ValidationFailed.

const (
	msgRaiseDeclined  = "The visitor declined. Continue helping them without this and do not ask again this conversation."
	msgNoResponse     = "The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant."
	msgSubmitDeclined = "Noted. Continue helping the visitor without this and do not ask again this conversation."
)

type statusResult struct {
	Status  string          `json:"status"`
	Values  json.RawMessage `json:"values,omitempty"`
	Message string          `json:"message,omitempty"`
}

// SubmittedResult is a submitted card's result, for a raise and for the submit tool alike.
func SubmittedResult(values json.RawMessage) string {
	return string(Marshal(statusResult{Status: "submitted", Values: values}))
}

// DeclinedResult is a raise whose card the visitor declined.
func DeclinedResult() string {
	return string(Marshal(statusResult{Status: "declined", Message: msgRaiseDeclined}))
}

// NoResponseResult is a raise whose card got no answer before its deadline, or whose agent
// was deleted while it waited.
func NoResponseResult() string {
	return string(Marshal(statusResult{Status: "no_response", Message: msgNoResponse}))
}

// SubmitDeclinedResult is the submit tool called with declined: true.
func SubmitDeclinedResult() string {
	return string(Marshal(statusResult{Status: "declined", Message: msgSubmitDeclined}))
}

// ValidationFailed is the submit tool's error result for invalid values.
func ValidationFailed(errs []FieldError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Field + ": " + e.Message
	}
	return "Error: validation failed — " + strings.Join(parts, "; ") +
		". Re-ask the visitor for the corrected value(s) and submit again."
}

type conversationalResult struct {
	Mode         string          `json:"mode"`
	Kind         Kind            `json:"kind"`
	Spec         json.RawMessage `json:"spec"`
	Reason       string          `json:"reason"`
	Instructions string          `json:"instructions"`
}

// ConversationalResult is a raise on the conversational path (§7.10).
func ConversationalResult(r Raise) string {
	return string(Marshal(conversationalResult{
		Mode: "conversational", Kind: r.Kind, Spec: r.Spec, Reason: r.Reason, Instructions: instructions(r.Kind),
	}))
}

func instructions(k Kind) string {
	if k == Choices {
		return "This chat cannot show the choices as buttons. Read out each question and its options in your reply, " +
			"mentioning the reason, and let the visitor answer in their own words. Then call submit_interaction with " +
			"kind 'choices' and values {\"answers\":[{\"header\":<the question's header>,\"options\":[<the chosen labels>]}]} " +
			"(or \"other\" for an answer that is not an option), or with declined: true if the visitor does not want to answer."
	}
	return "This chat cannot show a form. Ask the visitor for the fields in the spec one at a time in conversation, " +
		"mentioning the reason. Then call submit_interaction with kind 'identity_intake' and values holding what they " +
		"gave (name, email, phone), or with declined: true if they refuse."
}
