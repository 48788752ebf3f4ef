package wstest

// Rich interactions (PROTOCOL-1.1 §4.12, §5.12, §5.13).

// InteractionRequired is interaction_required's inner data.
type InteractionRequired struct {
	InteractionID string         `json:"interactionId"`
	Kind          string         `json:"kind"`
	Spec          map[string]any `json:"spec"`
	Reason        string         `json:"reason"`
}

// FieldError is one error of interaction_invalid.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InteractionInvalid is interaction_invalid's inner data.
type InteractionInvalid struct {
	InteractionID string       `json:"interactionId"`
	Kind          string       `json:"kind"`
	Errors        []FieldError `json:"errors"`
	Message       string       `json:"message"`
}

// InteractionAck is submit_interaction's immediate_response data: Values for a submitted
// card, Declined for a declined one.
type InteractionAck struct {
	SessionID     string         `json:"sessionId"`
	InteractionID string         `json:"interactionId"`
	Kind          string         `json:"kind"`
	Values        map[string]any `json:"values,omitempty"`
	Declined      bool           `json:"declined,omitempty"`
}
