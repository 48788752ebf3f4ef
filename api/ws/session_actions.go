package ws

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

const (
	maxMetadataBytes   = 16384
	maxUserNameChars   = 200
	maxFingerprint     = 256
	maxCapabilities    = 32
	maxCapabilityChars = 64
)

type sessionCreated struct {
	SessionID          string `json:"sessionId"`
	ConversationID     string `json:"conversationId"`
	AgentID            string `json:"agentId"`
	AgentName          string `json:"agentName"`
	UserParticipantID  string `json:"userParticipantId"`
	AgentParticipantID string `json:"agentParticipantId"`
	ResumeToken        string `json:"resumeToken"`
}

// createSession is create_conversation_session (PROTOCOL §4.2, PROTOCOL-1.1 §4.2.7), checks
// in the spec's order.
func (c *conn) createSession(ctx context.Context, f *frame) error {
	if c.h.Draining() {
		return errShuttingDown
	}
	agentRaw, ok := f.str("agentId")
	if !ok || blank(agentRaw) {
		return newError(codeValidation, "missing 'agentId'")
	}
	metadata, err := sessionMetadata(f)
	if err != nil {
		return err
	}
	supports, err := capabilities(f)
	if err != nil {
		return err
	}
	if err := c.limitSessions(); err != nil {
		return err
	}
	agent, err := c.loadAgent(ctx, agentRaw)
	if err != nil {
		return err
	}
	if c.h.d.Config.WidgetStrict && len(agent.AllowedOrigins) == 0 {
		return newError(codeAgentNotAuthorized, "this agent is not registered for embedding")
	}
	if !originAllowed(c.origin, agent.AllowedOrigins) {
		return newError(codeOrigin, "this origin is not allowed to embed this agent")
	}
	ctxIdentity, err := c.verifyAuthContext(f, agent)
	if err != nil {
		return err
	}
	resumeID, err := c.resolveResume(ctx, f, agent, ctxIdentity)
	if err != nil {
		return storageFailure(err)
	}
	token, err := auth.NewResumeToken()
	if err != nil {
		return err
	}
	p := c.newWidgetSession(f, agent, resumeID, ctxIdentity, token)
	p.Supports = supports
	if resumeID == uuid.Nil {
		p.Metadata = metadata
	}
	ws, err := c.h.d.Store.CreateWidgetSession(ctx, p)
	if err != nil {
		return storageFailure(err)
	}
	c.adopt(agent, ws, ctxIdentity)
	c.send(immediateEvent(f.requestID, 200, "Session created", sessionCreated{
		SessionID: ws.SessionID.String(), ConversationID: ws.ConversationID.String(), AgentID: agentRaw,
		AgentName: agent.Name, UserParticipantID: ws.UserParticipantID.String(),
		AgentParticipantID: ws.AgentParticipantID.String(), ResumeToken: token,
	}))
	return nil
}

// sessionMetadata is the frame's metadata, at most 16,384 bytes of compact JSON (PROTOCOL
// §4.2.1) and within what its column stores (exponents printed out in full count).
func sessionMetadata(f *frame) (json.RawMessage, error) {
	metadata, ok := f.object("metadata")
	if !ok {
		return nil, nil
	}
	if len(metadata) > maxMetadataBytes || store.JSONBSize(metadata) > store.MaxMetadataStoredBytes {
		return nil, newError(codeValidation, "'metadata' must be at most 16384 bytes")
	}
	return metadata, nil
}

// capabilities applies the supports rules of PROTOCOL-1.1 §4.2.8: nil when absent (any value
// but an array of strings counts as absent), else at most 32 strings of 1 to 64 characters,
// duplicates dropped keeping the first.
func capabilities(f *frame) ([]string, error) {
	list, ok := f.stringList("supports")
	if !ok {
		return nil, nil
	}
	if len(list) > maxCapabilities {
		return nil, errCapabilities
	}
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if n := utf8.RuneCountInString(s); n < 1 || n > maxCapabilityChars {
			return nil, errCapabilities
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

var errCapabilities = newError(codeValidation, "'supports' must hold at most 32 strings of 1 to 64 characters")

// limitSessions applies L4, then L5 (PROTOCOL-1.1 §1.10): after the field checks and before
// the agent lookup, so that refused frames cannot probe for agents for free.
func (c *conn) limitSessions() error {
	lim := c.h.limits
	if err := lim.takeConn("L4", c.lim.sessions); err != nil {
		return err
	}
	if c.client.exempt {
		return nil
	}
	if err := take(lim, "L5", lim.sessionsIP, c.client.key); err != nil {
		return err
	}
	return nil
}

// newWidgetSession is what create_conversation_session writes (PROTOCOL §4.2.6, §3.2): only
// verified sources make the conversation owned.
func (c *conn) newWidgetSession(f *frame, agent db.Agent, resumeID uuid.UUID, ctxIdentity, token string) store.NewWidgetSession {
	p := store.NewWidgetSession{
		OrgID: agent.OrgID, AgentID: agent.ID, AgentName: agent.Name, ResumeConversationID: resumeID,
		UserName: c.userName(f), ResumeTokenHash: auth.HashResumeToken(token),
		ResumeTokenExpiresAt: time.Now().Add(c.h.d.Config.ResumeTokenTTL),
	}
	if c.principal != nil && !blank(c.principal.email) {
		email := c.principal.email
		p.UserEmail, p.ContactEmail = &email, &email
	} else if raw, ok := f.str("userEmail"); ok {
		// Unverified: a malformed or over-long address is ignored, not refused
		// (PROTOCOL-1.1 §4.2.8).
		if e, ok := contact.Email(raw); ok {
			p.ContactEmail = &e
		}
	}
	switch {
	case ctxIdentity != "":
		p.ExternalID = &ctxIdentity
	case c.principal != nil:
		id := "jwt:" + c.principal.sub
		p.ExternalID = &id
	}
	if fp, ok := f.str("browserFingerprint"); ok && fp != "" {
		fp = cutRunes(fp, maxFingerprint)
		p.Fingerprint = &fp
	}
	return p
}

// adopt records a session created or resumed on this connection: its conversation is granted,
// its verified identity joins W, and the backplane binds them.
func (c *conn) adopt(agent db.Agent, ws store.WidgetSession, ctxIdentity string) {
	if _, ok := c.adopted(ws.SessionID); !ok {
		c.sessions = append(c.sessions, sessionKeys{
			id: ws.SessionID, org: agent.OrgID, agent: agent.ID, conversation: ws.ConversationID,
			userParticipant: ws.UserParticipantID, agentParticipant: ws.AgentParticipantID,
		})
	}
	if w := (widgetIdentity{org: agent.OrgID, identity: ctxIdentity}); ctxIdentity != "" && !slices.Contains(c.widgetW, w) {
		c.widgetW = append(c.widgetW, w)
	}
	c.bindSession(agent.OrgID, ws.SessionID, ws.ConversationID, agent.ID, ctxIdentity)
}

// loadAgent finds an existing, enabled agent this connection may embed: AGENT_NOT_FOUND for
// every other case (PROTOCOL §4.2.2 step 2).
func (c *conn) loadAgent(ctx context.Context, raw string) (db.Agent, error) {
	notFound := newError(codeAgentNotFound, "agent '"+echo(raw)+"' not found")
	id, ok := parseID(raw)
	if !ok {
		return db.Agent{}, notFound
	}
	a, err := c.h.d.Store.AgentForWS(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return db.Agent{}, notFound
	}
	if err != nil {
		return db.Agent{}, storageFailure(err)
	}
	if !a.Enabled || (c.principal != nil && c.principal.orgID != a.OrgID) {
		return db.Agent{}, notFound
	}
	return a, nil
}

// verifyAuthContext checks the frame's authContext (PROTOCOL §4.2.4); it returns the verified
// identity ctx:<userId> ("" when none was sent), or AUTH_CONTEXT_INVALID.
func (c *conn) verifyAuthContext(f *frame, agent db.Agent) (string, error) {
	failed := newError(codeAuthContext, "authContext signature failed verification")
	raw, present := f.object("authContext")
	if !present {
		if agent.RequireAuthContext {
			return "", newError(codeAuthContext, "authContext is required to embed this agent")
		}
		return "", nil
	}
	ac := &frame{}
	if json.Unmarshal(raw, &ac.fields) != nil {
		return "", failed
	}
	userID, ok1 := ac.str("userId")
	sig, ok2 := ac.str("signature")
	ts, ok3 := ac.integer("timestamp")
	if !ok1 || !ok2 || !ok3 || userID == "" || utf8.RuneCountInString(userID) > 256 || len(agent.WidgetSigningSecret) == 0 {
		return "", failed
	}
	secret, err := c.h.d.Box.Open(agent.WidgetSigningSecret, seal.AAD("agents", "widget_signing_secret", agent.OrgID, agent.ID))
	if err != nil {
		c.logger().Error("ws: open widget signing secret", "agent_id", agent.ID, "err", err)
		return "", failed
	}
	if !auth.VerifyAuthContext(secret, userID, ts, sig, time.Now()) {
		return "", failed
	}
	return "ctx:" + userID, nil
}

// resolveResume decides whether the frame resumes its conversationId (PROTOCOL §4.2.5); it
// returns uuid.Nil for a fresh conversation and never refuses.
func (c *conn) resolveResume(ctx context.Context, f *frame, agent db.Agent, ctxIdentity string) (uuid.UUID, error) {
	raw, ok := f.str("conversationId")
	if !ok {
		return uuid.Nil, nil
	}
	id, ok := parseID(raw)
	if !ok {
		return uuid.Nil, nil
	}
	conv, err := c.h.d.Store.ConversationForWS(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, err
	}
	if conv.OrgID != agent.OrgID || conv.AgentID != agent.ID {
		return uuid.Nil, nil
	}
	readable, ownerless, err := c.access(ctx, conv.OrgID, conv.ID, ctxIdentity)
	if err != nil {
		return uuid.Nil, err
	}
	if readable {
		return conv.ID, nil
	}
	tok, ok := f.str("resumeToken")
	if !ownerless || !ok || !auth.ValidResumeTokenFormat(tok) {
		return uuid.Nil, nil
	}
	valid, err := c.h.d.Store.ResumeTokenValid(ctx, conv.OrgID, conv.ID, auth.HashResumeToken(tok))
	if err != nil || !valid {
		return uuid.Nil, err
	}
	return conv.ID, nil
}

func (c *conn) userName(f *frame) string {
	if n, ok := f.str("userName"); ok && !blank(n) {
		return cutRunes(strings.TrimSpace(n), maxUserNameChars)
	}
	if c.principal != nil && !blank(c.principal.name) {
		return cutRunes(strings.TrimSpace(c.principal.name), maxUserNameChars)
	}
	return "Visitor"
}

type sessionInfo struct {
	SessionID          string `json:"sessionId"`
	ConversationID     string `json:"conversationId"`
	AgentID            string `json:"agentId"`
	AgentName          string `json:"agentName"`
	UserParticipantID  string `json:"userParticipantId"`
	AgentParticipantID string `json:"agentParticipantId"`
	ThreadID           string `json:"threadId"`
	Status             string `json:"status"`
}

// getSession is get_session (PROTOCOL §4.3).
func (c *conn) getSession(ctx context.Context, f *frame) error {
	sid, ok := f.str("sessionId")
	if !ok {
		return newError(codeValidation, "missing 'sessionId'")
	}
	sess, err := c.session(ctx, sid, sessionNotFound(sid))
	if err != nil {
		return err
	}
	name, err := c.h.d.Store.AgentNameAnyState(ctx, sess.org, sess.agent)
	if err != nil {
		return storageFailure(err)
	}
	conv := sess.conversation.String()
	c.send(immediateEvent(f.requestID, 200, "Session", sessionInfo{
		SessionID: sess.id.String(), ConversationID: conv, AgentID: sess.agent.String(), AgentName: name,
		UserParticipantID: sess.userParticipant.String(), AgentParticipantID: sess.agentParticipant.String(),
		ThreadID: conv, Status: "active",
	}))
	return nil
}
