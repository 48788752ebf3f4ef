package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/otp"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
)

// The verification gate (PROTOCOL-1.1 §3.6, §7.13): a call of an HTTP tool with
// requiresVerification runs only for a verified visitor. When the visitor is not verified
// and the session can be, the turn parks on a one-time code sent by email (§7.14), like an
// approval park: a durable row, decided from any instance, delivered through the backplane,
// resumed only for its own id.

// CapabilityOTP is the capability a client declares when it can enter a code (§4.2.8).
const CapabilityOTP = "otp_form"

// gateResult is how the gate let a call through, or why it did not.
type gateResult struct {
	// verification names the verified visitor, for the tool's request body (Appendix C.2).
	verification *tools.Verification
	// announced: the call's toolCall chunk was already sent (it parked on a code, O11).
	announced bool
	// denied, when set, is the call's result: the tool never runs.
	denied *tools.Result
}

func deny(r tools.Result) gateResult { return gateResult{denied: &r} }

// gate applies the checks of §7.13 to a call of te, against the session as stored now.
func (t *Turn) gate(ctx context.Context, toolName string, args json.RawMessage) (gateResult, error) {
	e := t.e
	st, err := e.store.SessionVerification(ctx, t.spec.OrgID, t.spec.SessionID)
	if err != nil {
		if ctx.Err() != nil {
			return gateResult{}, context.Cause(ctx)
		}
		return gateResult{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	// 1. Verified by identity, or by a code for the current contact email.
	if st.ExternalID != "" && slices.Contains(t.spec.Viewer.Identities, st.ExternalID) {
		return gateResult{verification: &tools.Verification{Method: "identity", Identity: st.ExternalID}}, nil
	}
	if st.VerifiedEmail != "" && strings.EqualFold(st.VerifiedEmail, st.ContactEmail) &&
		st.VerifiedAt != nil && time.Since(*st.VerifiedAt) < e.cfg.OTP.VerifiedTTL {
		return gateResult{verification: &tools.Verification{Method: "otp", Email: st.VerifiedEmail}}, nil
	}
	switch {
	case e.otpSender == nil || e.otpHasher == nil: // 2. fails closed
		return deny(tools.VerificationDenied(tools.TextVerificationUnavailable)), nil
	case !slices.Contains(st.Supports, CapabilityOTP): // 3.
		return deny(tools.VerificationDenied(tools.TextVerificationNoCapability)), nil
	case st.ContactEmail == "": // 4.
		return deny(tools.VerificationDenied(tools.TextVerificationNoEmail)), nil
	}
	return t.parkOnCode(ctx, toolName, args, st.ContactEmail) // 5–7.
}

// parkOnCode writes the challenge (steps 5–7), sends the code, announces the park and waits
// for an outcome carrying its own id, the code's expiry, or the turn's end.
func (t *Turn) parkOnCode(ctx context.Context, toolName string, args json.RawMessage, dest string) (gateResult, error) {
	e := t.e
	ttl := e.cfg.OTP.TTL
	code, err := otp.Generate()
	if err != nil {
		return gateResult{}, err
	}
	id := uuid.Must(uuid.NewV7()) // time-ordered, like the approvals' ids
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return gateResult{}, context.Cause(ctx)
	}
	// Registered before the row exists, so an outcome that commits at once is not lost.
	e.registerPark(id, t)
	_, err = e.store.CreateChallenge(ctx, store.NewChallenge{
		ID: id, OrgID: t.spec.OrgID, SessionID: t.spec.SessionID, ConversationID: t.spec.ConversationID,
		AgentID: t.spec.AgentID, InstanceID: e.instanceID, RequestID: t.spec.RequestID, ToolName: toolName,
		Destination: dest, CodeHash: e.otpHasher.Hash(id, code), MaxAttempts: e.cfg.OTP.MaxAttempts, TTL: ttl,
		SendsPerSession: e.cfg.OTP.SendsPerSession, SendsPerAddress: e.cfg.OTP.SendsPerAddress,
	})
	if err != nil {
		t.mu.Unlock()
		e.unregisterPark(id)
		switch {
		case errors.Is(err, store.ErrChallengePending):
			return deny(tools.VerificationDenied(tools.TextVerificationInProgress)), nil
		case errors.Is(err, store.ErrSendLimit):
			return deny(tools.VerificationDenied(tools.TextVerificationSendLimit)), nil
		case ctx.Err() != nil:
			return gateResult{}, context.Cause(ctx)
		}
		return gateResult{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	t.parked, t.parkedOnCode = id, true
	t.mu.Unlock()
	deadline := time.NewTimer(ttl)
	defer deadline.Stop()
	// The code's lifetime bounds the wait; the turn's clock does not run meanwhile.
	t.clock.pause()
	waited := false
	defer func() {
		t.mu.Lock()
		t.parked, t.parkedOnCode = uuid.Nil, false
		t.mu.Unlock()
		e.unregisterPark(id)
		t.clock.resume()
		if !waited {
			// A panic unwinds through the park: the row must not stay pending.
			t.abandonChallenge(id)
		}
	}()
	masked := otp.Mask(dest)
	if err := e.otpSender.Send(ctx, dest, code); err != nil {
		waited = true
		if ctx.Err() != nil {
			return gateResult{}, context.Cause(ctx)
		}
		t.log.Warn("verification code not sent", "tool", toolName, "challenge_id", id, "destination", masked, "err", err)
		if _, ferr := e.store.FinishChallenge(ctx, t.spec.OrgID, id, store.ChallengeUnsent); ferr != nil {
			t.log.Error("record unsent challenge", "challenge_id", id, "err", ferr)
		}
		return deny(tools.VerificationDenied(tools.TextVerificationNotSent)), nil
	}
	t.sink.VerificationRequired(toolName)
	t.sink.CodeSent(masked)
	t.sink.ToolCall(toolName, args)
	out, err := t.waitCode(ctx, id, deadline.C)
	waited = true
	if err != nil {
		return gateResult{}, err
	}
	out.announced = true
	if out.denied == nil {
		out.verification = &tools.Verification{Method: "otp", Email: dest}
	}
	return out, nil
}

// waitCode waits for an outcome carrying the challenge's own id, the expiry, or the turn's
// cancellation.
func (t *Turn) waitCode(ctx context.Context, id uuid.UUID, expired <-chan time.Time) (gateResult, error) {
	for {
		select {
		case <-ctx.Done():
			return gateResult{}, context.Cause(ctx)
		case d := <-t.decisions:
			if d.ApprovalID != id {
				continue // an outcome for an earlier park of this turn
			}
			return codeOutcome(d.Outcome), nil
		case <-expired:
			return t.expireCode(ctx, id)
		}
	}
}

func codeOutcome(o approval.Outcome) gateResult {
	switch o {
	case approval.Verified:
		return gateResult{}
	case approval.AgentDeleted:
		return deny(tools.AgentDeleted())
	default:
		return deny(tools.VerificationDenied(tools.TextVerificationFailed))
	}
}

// expireCode records the challenge expired; when an outcome won that race, it stands.
func (t *Turn) expireCode(ctx context.Context, id uuid.UUID) (gateResult, error) {
	timedOut := deny(tools.VerificationTimedOut(int(math.Ceil(t.e.cfg.OTP.TTL.Seconds()))))
	expired, err := t.e.store.FinishChallenge(ctx, t.spec.OrgID, id, store.ChallengeExpired)
	if err == nil && !expired {
		var status string
		status, err = t.e.store.ChallengeStatus(ctx, t.spec.OrgID, id)
		switch {
		case err != nil:
		case status == store.ChallengeVerified:
			return codeOutcome(approval.Verified), nil
		case status == store.ChallengeFailed:
			return codeOutcome(approval.VerificationFailed), nil
		case status == store.ChallengeCancelled:
			if ctx.Err() != nil {
				return gateResult{}, context.Cause(ctx)
			}
			// Only an agent deletion cancels a park the turn did not cancel itself.
			return codeOutcome(approval.AgentDeleted), nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return gateResult{}, context.Cause(ctx)
		}
		return gateResult{}, fmt.Errorf("%w: %w", errStorage, err)
	}
	return timedOut, nil
}

// abandonChallenge records a park on a code the turn leaves without an outcome cancelled.
func (t *Turn) abandonChallenge(id uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), backgroundTimeout)
	defer cancel()
	if _, err := t.e.store.FinishChallenge(ctx, t.spec.OrgID, id, store.ChallengeCancelled); err != nil {
		t.log.Error("record abandoned challenge cancelled", "challenge_id", id, "err", err)
	}
}
