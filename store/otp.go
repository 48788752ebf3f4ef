package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/db"
)

// One-time-code challenges (PROTOCOL-1.1 §7.13, §7.14, §4.13). The store never sees a code:
// it stores the hash it is given and asks its caller whether a typed code matches one.

// Challenge statuses.
const (
	ChallengePending   = "pending"
	ChallengeVerified  = "verified"
	ChallengeFailed    = "failed"
	ChallengeExpired   = "expired"
	ChallengeCancelled = "cancelled"
	ChallengeUnsent    = "unsent"
)

// VerificationState is what the verification gate reads of a session (PROTOCOL-1.1 §3.6).
type VerificationState struct {
	Supports      []string
	ContactEmail  string // "" when none
	VerifiedEmail string // "" when none
	VerifiedAt    *time.Time
	ExternalID    string // the user participant's, "" when none
}

// SessionVerification reads a session's verification state as stored now.
func (s *Store) SessionVerification(ctx context.Context, orgID, sessionID uuid.UUID) (VerificationState, error) {
	r, err := queries.SessionVerificationState(ctx, s.pool, db.SessionVerificationStateParams{OrgID: orgID, ID: sessionID})
	if err != nil {
		return VerificationState{}, fmt.Errorf("load session verification %s: %w", sessionID, Classify(err))
	}
	return VerificationState{
		Supports: r.Supports, ContactEmail: deref(r.ContactEmail), VerifiedEmail: deref(r.VerifiedEmail),
		VerifiedAt: r.VerifiedAt, ExternalID: deref(r.ExternalID),
	}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// SessionContact is the contact of a session as the admin API shows it on its user
// participant (PROTOCOL-1.1 Appendix C.5).
type SessionContact struct {
	ContactEmail *string
	// EmailVerifiedAt is when the current contact email was verified by code; nil when it was
	// not, or when the verified address differs.
	EmailVerifiedAt *time.Time
}

// ConversationContacts returns the contact of each session of a conversation, keyed by the
// session's user participant.
func (s *Store) ConversationContacts(ctx context.Context, orgID, conversationID uuid.UUID) (map[uuid.UUID]SessionContact, error) {
	rows, err := queries.SessionContactsForConversation(ctx, s.pool, db.SessionContactsForConversationParams{OrgID: orgID, ConversationID: conversationID})
	if err != nil {
		return nil, fmt.Errorf("list session contacts: %w", err)
	}
	out := make(map[uuid.UUID]SessionContact, len(rows))
	for _, r := range rows {
		c := SessionContact{ContactEmail: r.ContactEmail}
		if r.ContactEmail != nil && r.VerifiedEmail != nil && strings.EqualFold(*r.ContactEmail, *r.VerifiedEmail) {
			c.EmailVerifiedAt = r.VerifiedAt
		}
		out[r.UserParticipantID] = c
	}
	return out, nil
}

// NewChallenge is a challenge about to be written, with the send limits it must respect.
type NewChallenge struct {
	ID, OrgID, SessionID, ConversationID, AgentID, InstanceID uuid.UUID
	RequestID, ToolName, Destination                          string
	CodeHash                                                  []byte
	MaxAttempts                                               int
	TTL                                                       time.Duration
	// Sends per hour (0: no limit), counted over every challenge of the last 60 minutes.
	SendsPerSession, SendsPerAddress int
}

var (
	// ErrChallengePending: the session already has a pending challenge (§7.13 step 5).
	ErrChallengePending = errors.New("a challenge is already pending in the session")
	// ErrSendLimit: a send limit of §7.14 is reached (§7.13 step 6).
	ErrSendLimit = errors.New("a one-time-code send limit is reached")
)

// CreateChallenge applies the gate's steps 5 and 6 and commits a pending challenge, in one
// transaction holding an advisory lock on the lower-cased address, so that concurrent turns
// on any instance cannot pass a limit together. A pending challenge of the session whose
// time or owner is gone is recorded expired first.
func (s *Store) CreateChallenge(ctx context.Context, c NewChallenge) (db.OtpChallenge, error) {
	var row db.OtpChallenge
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := queries.OTPChallengeLockAddress(ctx, tx.pg, c.Destination); err != nil {
			return err
		}
		if err := queries.OTPChallengeExpireStaleForSession(ctx, tx.pg, db.OTPChallengeExpireStaleForSessionParams{
			OrgID: c.OrgID, SessionID: c.SessionID,
		}); err != nil {
			return err
		}
		counts, err := queries.OTPChallengeSessionCounts(ctx, tx.pg, db.OTPChallengeSessionCountsParams{OrgID: c.OrgID, SessionID: c.SessionID})
		if err != nil {
			return err
		}
		if counts.Pending {
			return ErrChallengePending
		}
		if c.SendsPerSession > 0 && counts.SessionSends >= int64(c.SendsPerSession) {
			return ErrSendLimit
		}
		if c.SendsPerAddress > 0 {
			n, err := queries.OTPChallengeAddressSends(ctx, tx.pg, c.Destination)
			if err != nil {
				return err
			}
			if n >= int64(c.SendsPerAddress) {
				return ErrSendLimit
			}
		}
		row, err = queries.OTPChallengeCreate(ctx, tx.pg, db.OTPChallengeCreateParams{
			ID: c.ID, OrgID: c.OrgID, SessionID: c.SessionID, ConversationID: c.ConversationID, AgentID: c.AgentID,
			RequestID: c.RequestID, ToolName: c.ToolName, Destination: c.Destination, CodeHash: c.CodeHash,
			MaxAttempts: int32(c.MaxAttempts), InstanceID: c.InstanceID, TtlSeconds: c.TTL.Seconds(),
		})
		if err != nil {
			if errors.Is(Classify(err), ErrConflict) { // the one-pending index: a concurrent park won
				return ErrChallengePending
			}
			return err
		}
		return nil
	})
	if err != nil {
		return db.OtpChallenge{}, fmt.Errorf("create challenge: %w", err)
	}
	return row, nil
}

// FinishChallenge moves a still pending challenge to status (expired, cancelled or unsent);
// false when it was no longer pending.
func (s *Store) FinishChallenge(ctx context.Context, orgID, id uuid.UUID, status string) (bool, error) {
	_, err := queries.OTPChallengeFinish(ctx, s.pool, db.OTPChallengeFinishParams{Status: status, OrgID: orgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish challenge %s: %w", id, err)
	}
	return true, nil
}

// ChallengeStatus reads a challenge's status.
func (s *Store) ChallengeStatus(ctx context.Context, orgID, id uuid.UUID) (string, error) {
	st, err := queries.OTPChallengeGetStatus(ctx, s.pool, db.OTPChallengeGetStatusParams{OrgID: orgID, ID: id})
	if err != nil {
		return "", fmt.Errorf("load challenge %s: %w", id, Classify(err))
	}
	return st, nil
}

// AttemptOutcome is what one verify_otp attempt found or did (PROTOCOL-1.1 §4.13 steps 5–6).
type AttemptOutcome string

const (
	AttemptNotFound    AttemptOutcome = "NOT_FOUND"
	AttemptExpired     AttemptOutcome = "EXPIRED"
	AttemptMaxAttempts AttemptOutcome = "MAX_ATTEMPTS" // failed before, or by this attempt
	AttemptInvalid     AttemptOutcome = "INVALID_CODE"
	AttemptVerified    AttemptOutcome = "VERIFIED"
)

// Attempt is the result of AttemptChallenge.
type Attempt struct {
	Outcome           AttemptOutcome
	AttemptsRemaining int
	// Challenge is the challenge the attempt concerned (zero with AttemptNotFound).
	Challenge db.OtpChallenge
	// Decided: this attempt ended the park (verified, or failed at its last attempt); the
	// turn must hear of it.
	Decided bool
}

// Matcher reports whether typed is the code whose hash is stored for a challenge; it must
// compare in constant time (otp.Hasher.Matches).
type Matcher func(challengeID uuid.UUID, typed string, stored []byte) bool

// AttemptChallenge is one verify_otp attempt on the session's most recently created
// challenge, in one transaction with the row locked. A correct code makes the challenge
// verified and the challenge's destination the session's verified address; a wrong one
// counts, and the last allowed one fails the challenge. A challenge whose owning instance
// is not live is recorded expired instead. When the attempt ends the park and the turn is
// parked on an instance other than self (uuid.Nil: not known), the outcome is published to
// the owning instance in the same transaction, so it leaves only if the attempt commits.
func (s *Store) AttemptChallenge(ctx context.Context, orgID, sessionID uuid.UUID, typed string, match Matcher, self uuid.UUID) (Attempt, error) {
	var out Attempt
	err := s.InTx(ctx, func(tx *Tx) error {
		out = Attempt{}
		c, err := queries.OTPChallengeLatestForSession(ctx, tx.pg, db.OTPChallengeLatestForSessionParams{OrgID: orgID, SessionID: sessionID})
		if errors.Is(err, pgx.ErrNoRows) {
			out.Outcome = AttemptNotFound
			return nil
		}
		if err != nil {
			return err
		}
		out.Challenge = c
		switch {
		case c.Status == ChallengeFailed:
			out.Outcome = AttemptMaxAttempts
			return nil
		case c.Status == ChallengeExpired || (c.Status == ChallengePending && !c.ExpiresAt.After(time.Now())):
			out.Outcome = AttemptExpired
			return nil
		case c.Status != ChallengePending:
			out.Outcome = AttemptNotFound
			return nil
		}
		live, err := queries.OTPChallengeOwnerLive(ctx, tx.pg, c.InstanceID)
		if err != nil {
			return err
		}
		if !live {
			if _, err := queries.OTPChallengeFinish(ctx, tx.pg, db.OTPChallengeFinishParams{Status: ChallengeExpired, OrgID: orgID, ID: c.ID}); err != nil {
				return err
			}
			out.Outcome = AttemptExpired
			return nil
		}
		status := ChallengePending
		correct := match(c.ID, typed, c.CodeHash)
		switch {
		case correct:
			status = ChallengeVerified
		case int(c.Attempts)+1 >= int(c.MaxAttempts):
			status = ChallengeFailed
		}
		c, err = queries.OTPChallengeRecordAttempt(ctx, tx.pg, db.OTPChallengeRecordAttemptParams{Status: status, OrgID: orgID, ID: c.ID})
		if err != nil {
			return err
		}
		out.Challenge = c
		var d approval.Decision
		switch status {
		case ChallengePending:
			out.Outcome, out.AttemptsRemaining = AttemptInvalid, int(c.MaxAttempts-c.Attempts)
			return nil
		case ChallengeVerified:
			out.Outcome = AttemptVerified
			if err := queries.SessionSetVerified(ctx, tx.pg, db.SessionSetVerifiedParams{
				VerifiedEmail: &c.Destination, OrgID: orgID, ID: sessionID,
			}); err != nil {
				return err
			}
			d = approval.Decision{ApprovalID: c.ID, OrgID: orgID, Outcome: approval.Verified}
		default:
			out.Outcome = AttemptMaxAttempts
			d = approval.Decision{ApprovalID: c.ID, OrgID: orgID, Outcome: approval.VerificationFailed}
		}
		out.Decided = true
		if c.InstanceID != self {
			return s.publish(ctx, tx, c.InstanceID, d)
		}
		return nil
	})
	if err != nil {
		return Attempt{}, fmt.Errorf("verify code: %w", err)
	}
	return out, nil
}

// cancelAgentChallenges records the pending challenges of a deleted agent cancelled and, in
// the same transaction, tells each owning instance (approval.AgentDeleted).
func (s *Store) cancelAgentChallenges(ctx context.Context, tx *Tx, orgID, agentID uuid.UUID) error {
	cancelled, err := queries.OTPChallengeCancelForAgent(ctx, tx.pg, db.OTPChallengeCancelForAgentParams{OrgID: orgID, AgentID: agentID})
	if err != nil {
		return err
	}
	for _, c := range cancelled {
		if err := s.publish(ctx, tx, c.InstanceID, approval.Decision{ApprovalID: c.ID, OrgID: orgID, Outcome: approval.AgentDeleted}); err != nil {
			return err
		}
	}
	return nil
}

// StaleChallenge is a pending challenge the sweeper recorded expired.
type StaleChallenge struct {
	ID, OrgID, SessionID uuid.UUID
}

// ExpireStaleChallenges records as expired, across every org, each pending challenge whose
// expiry has passed or whose owning instance is no longer live. It is idempotent.
func (s *Store) ExpireStaleChallenges(ctx context.Context) ([]StaleChallenge, error) {
	rows, err := queries.OTPChallengeExpireStale(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("expire stale challenges: %w", err)
	}
	out := make([]StaleChallenge, len(rows))
	for i, r := range rows {
		out[i] = StaleChallenge{ID: r.ID, OrgID: r.OrgID, SessionID: r.SessionID}
	}
	return out, nil
}
