package wstest

// OTPRequired is otp_verification_required's inner data (PROTOCOL-1.1 §5.14).
type OTPRequired struct {
	ToolID            string   `json:"toolId"`
	ActionDescription string   `json:"actionDescription"`
	AvailableChannels []string `json:"availableChannels"`
	AuthLevel         string   `json:"authLevel"`
}

// OTPSent is otp_sent's inner data (PROTOCOL-1.1 §5.15).
type OTPSent struct {
	Channel           string `json:"channel"`
	MaskedDestination string `json:"maskedDestination"`
}

// OTPVerified is otp_verified's inner data (PROTOCOL-1.1 §5.16).
type OTPVerified struct {
	Message string `json:"message"`
}

// OTPInvalid is otp_invalid's inner data (PROTOCOL-1.1 §5.17).
type OTPInvalid struct {
	Error             string `json:"error"`
	AttemptsRemaining int    `json:"attemptsRemaining"`
	Message           string `json:"message"`
}

// WrappedEvent is a whole wrapped event of PROTOCOL-1.1 §2.3 (no status).
func WrappedEvent[D any](typ, requestID string, inner D) Envelope[Wrapped[D]] {
	return Envelope[Wrapped[D]]{Type: typ, RequestID: requestID, Data: Wrapped[D]{RequestID: requestID, Data: inner}}
}
