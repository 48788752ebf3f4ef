package tools

import "fmt"

// Verification is the "verification" key of a gated tool's request body (PROTOCOL-1.1
// Appendix C.2): who was verified, by identity or by code.
type Verification struct {
	Method   string `json:"method"`             // "identity" or "otp"
	Identity string `json:"identity,omitempty"` // jwt:<sub> or ctx:<userId>, with method identity
	Email    string `json:"email,omitempty"`    // the verified address, with method otp
}

// The denials of the verification gate (PROTOCOL-1.1 §7.4.1).
const (
	TextVerificationUnavailable  = "Denied: identity verification is not available on this server."
	TextVerificationNoCapability = "Denied: this action needs a verified visitor, and this chat cannot verify one."
	TextVerificationNoEmail      = "Denied: this action needs a verified visitor, and no email address is known for them. Ask for it with request_identity_intake, then try again."
	TextVerificationInProgress   = "Denied: another identity verification is already in progress in this session."
	TextVerificationSendLimit    = "Denied: too many verification codes were requested; try again later."
	TextVerificationNotSent      = "Denied: the verification code could not be sent."
	TextVerificationFailed       = "Denied: identity verification failed."
)

// VerificationDenied is a gated call the gate refused, with one of the texts above.
func VerificationDenied(text string) Result { return errorResult(text) }

// VerificationTimedOut is a gated call whose code expired before it was verified
// (SWITCHBOARD_OTP_TTL, in seconds).
func VerificationTimedOut(seconds int) Result {
	return errorResult(fmt.Sprintf("Denied: identity verification was not completed within %d seconds.", seconds))
}
