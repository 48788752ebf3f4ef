package ws

import (
	"context"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/otp"
	"github.com/switchboard-dev/switchboard/store"
)

// verify_otp and the verification events (PROTOCOL-1.1 §4.13, §5.14–§5.17). The code a
// visitor types is compared and forgotten: it reaches no log, event or row.

// otpInvalidMessages are the fixed texts of otp_invalid, by error (§4.13).
var otpInvalidMessages = map[store.AttemptOutcome]string{
	store.AttemptNotFound:    "No verification is in progress for this session.",
	store.AttemptMaxAttempts: "Too many incorrect codes. Verification failed.",
	store.AttemptExpired:     "This code has expired.",
	store.AttemptInvalid:     "That code is not correct. Try again.",
}

// otpInvalid is otp_invalid's data.data, keys in the order of §5.17.
type otpInvalid struct {
	Error             string `json:"error"`
	AttemptsRemaining int    `json:"attemptsRemaining"`
	Message           string `json:"message"`
}

// verifyOTP is verify_otp (PROTOCOL-1.1 §4.13). It is served while draining (§1.8).
func (c *conn) verifyOTP(ctx context.Context, f *frame) error {
	if f.requestID == "" {
		return unechoedError(codeValidation, "verify_otp requires a 'requestId'")
	}
	sid, ok := f.str("sessionId")
	if !ok {
		return newError(codeValidation, "verify_otp requires a 'sessionId'")
	}
	code, ok := f.str("code")
	if !ok || blank(code) {
		return newError(codeValidation, "verify_otp requires a 'code'")
	}
	if utf8.RuneCountInString(code) > otp.MaxCodeChars {
		return newError(codeValidation, "'code' must be at most 32 characters")
	}
	sess, err := c.turnSession(ctx, sid, sessionNotFound(sid))
	if err != nil {
		return err
	}
	if c.h.otpHasher == nil {
		// No encryption key: no challenge could have been written.
		c.send(otpInvalidEvent(f.requestID, store.AttemptNotFound, 0))
		return nil
	}
	self := uuid.Nil
	if c.h.d.Hub != nil && c.h.d.Instance != nil {
		self = c.h.d.Instance.ID
	}
	a, err := c.h.d.Store.AttemptChallenge(ctx, sess.org, sess.id, code, c.h.otpHasher.Matches, self)
	if err != nil {
		return storageFailure(err)
	}
	// The answer is queued before the outcome can reach the turn (O12); a turn parked on
	// another instance hears of it through the backplane once the attempt committed.
	if a.Outcome == store.AttemptVerified {
		c.send(wrappedEvent("otp_verified", f.requestID, 0, struct {
			Message string `json:"message"`
		}{"Identity verified successfully."}))
	} else {
		c.send(otpInvalidEvent(f.requestID, a.Outcome, a.AttemptsRemaining))
	}
	if a.Decided && (self == uuid.Nil || a.Challenge.InstanceID == self) {
		d := approval.Decision{ApprovalID: a.Challenge.ID, OrgID: sess.org, Outcome: approval.VerificationFailed}
		if a.Outcome == store.AttemptVerified {
			d.Outcome = approval.Verified
		}
		c.h.decisions.Deliver(ctx, d)
	}
	return nil
}

func otpInvalidEvent(requestID string, o store.AttemptOutcome, remaining int) []byte {
	if o != store.AttemptInvalid {
		remaining = 0
	}
	return wrappedEvent("otp_invalid", requestID, 0, otpInvalid{Error: string(o), AttemptsRemaining: remaining, Message: otpInvalidMessages[o]})
}

// otpRequired is otp_verification_required's data.data (§5.14).
type otpRequired struct {
	ToolID            string   `json:"toolId"`
	ActionDescription string   `json:"actionDescription"`
	AvailableChannels []string `json:"availableChannels"`
	AuthLevel         string   `json:"authLevel"`
}

func (s *turnSink) VerificationRequired(toolName string) {
	s.emit(wrappedEvent("otp_verification_required", s.run.requestID, 0, otpRequired{
		ToolID: toolName, ActionDescription: "Verify your identity to continue using '" + toolName + "'.",
		AvailableChannels: []string{"email"}, AuthLevel: "end_user",
	}))
}

func (s *turnSink) CodeSent(maskedDestination string) {
	s.emit(wrappedEvent("otp_sent", s.run.requestID, 0, struct {
		Channel           string `json:"channel"`
		MaskedDestination string `json:"maskedDestination"`
	}{"email", maskedDestination}))
}
