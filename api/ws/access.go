package ws

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// access applies the read rule of PROTOCOL §3.3 to a conversation. extra is an identity
// verified by the frame being processed, already part of W for this decision. ownerless is
// meaningful only when readable is false.
func (c *conn) access(ctx context.Context, orgID, convID uuid.UUID, extra string) (readable, ownerless bool, err error) {
	if c.principal != nil && c.principal.orgID != orgID {
		return false, false, nil
	}
	if c.granted(convID) {
		return true, false, nil
	}
	owners, err := c.h.d.Store.ConversationOwners(ctx, orgID, convID)
	if err != nil {
		return false, false, err
	}
	for _, o := range owners {
		if c.matches(orgID, o, extra) {
			return true, false, nil
		}
	}
	return false, len(owners) == 0, nil
}

func (c *conn) matches(orgID uuid.UUID, o store.Owner, extra string) bool {
	if p := c.principal; p != nil {
		if p.email != "" && !blank(o.Email) && strings.EqualFold(strings.TrimSpace(o.Email), strings.TrimSpace(p.email)) {
			return true
		}
		if o.ExternalID == "jwt:"+p.sub {
			return true
		}
	}
	if o.ExternalID == "" {
		return false
	}
	return o.ExternalID == extra || slices.Contains(c.widgetW, widgetIdentity{org: orgID, identity: o.ExternalID})
}

// granted reports whether a session of the conversation was created or resumed on this
// connection.
func (c *conn) granted(conv uuid.UUID) bool {
	for i := range c.sessions {
		if c.sessions[i].conversation == conv {
			return true
		}
	}
	return false
}

// adopted returns the keys of a session created or resumed on this connection.
func (c *conn) adopted(id uuid.UUID) (sessionKeys, bool) {
	for _, k := range c.sessions {
		if k.id == id {
			return k, true
		}
	}
	return sessionKeys{}, false
}

// sessionKeys are a session's ids: all that an action takes from it.
type sessionKeys struct {
	id, org, agent, conversation, userParticipant, agentParticipant uuid.UUID
}

// session is the preamble of every action that names a session (PROTOCOL §3.3–3.4): it loads
// the session sid names from PostgreSQL and applies the read rule. An unknown, malformed or
// unreadable id is notFound; a database failure is a storage failure.
func (c *conn) session(ctx context.Context, sid string, notFound *protocolError) (sessionKeys, error) {
	id, ok := parseID(sid)
	if !ok {
		return sessionKeys{}, notFound
	}
	s, err := c.h.d.Store.SessionForWS(ctx, id)
	if err := c.mayRead(ctx, err, s.OrgID, s.ConversationID, notFound); err != nil {
		return sessionKeys{}, err
	}
	return sessionKeys{
		id: s.ID, org: s.OrgID, agent: s.AgentID, conversation: s.ConversationID,
		userParticipant: s.UserParticipantID, agentParticipant: s.AgentParticipantID,
	}, nil
}

// turnSession is session for the actions that act on a turn: a session created or resumed on
// this connection needs no lookup, since its conversation is granted and its ids never change.
func (c *conn) turnSession(ctx context.Context, sid string, notFound *protocolError) (sessionKeys, error) {
	if id, ok := parseID(sid); ok {
		if k, ok := c.adopted(id); ok {
			return k, nil
		}
	}
	return c.session(ctx, sid, notFound)
}

// conversation is session's twin for the action that names a conversation.
func (c *conn) conversation(ctx context.Context, cid string, notFound *protocolError) (db.Conversation, error) {
	id, ok := parseID(cid)
	if !ok {
		return db.Conversation{}, notFound
	}
	conv, err := c.h.d.Store.ConversationForWS(ctx, id)
	if err := c.mayRead(ctx, err, conv.OrgID, conv.ID, notFound); err != nil {
		return db.Conversation{}, err
	}
	return conv, nil
}

// mayRead finishes a lookup by id: loadErr is the lookup's error, org and conv say whose the
// row is. It answers unknown and unreadable alike (PROTOCOL §3.4), and never either of them
// when the check itself failed.
func (c *conn) mayRead(ctx context.Context, loadErr error, org, conv uuid.UUID, notFound *protocolError) error {
	if errors.Is(loadErr, store.ErrNotFound) {
		return notFound
	}
	if loadErr != nil {
		return storageFailure(loadErr)
	}
	readable, _, err := c.access(ctx, org, conv, "")
	if err != nil {
		return storageFailure(err)
	}
	if !readable {
		return notFound
	}
	return nil
}

// parseID accepts only the canonical 36-character UUID form.
func parseID(raw string) (uuid.UUID, bool) {
	if len(raw) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(raw)
	return id, err == nil
}

// identities returns the connection's identities within org, for ownership listings and
// retrieval: jwt:<sub> (principal in that org) and every ctx:<userId> of W in that org.
func (c *conn) identities(org uuid.UUID) []string {
	var out []string
	if c.principal != nil && c.principal.orgID == org {
		out = append(out, "jwt:"+c.principal.sub)
	}
	for _, w := range c.widgetW {
		if w.org == org {
			out = append(out, w.identity)
		}
	}
	return out
}

// origin is a parsed web origin: lowercase scheme and host, default port removed.
type origin struct{ scheme, host, port string }

func parseOrigin(s string) (origin, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return origin{}, false
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if (o.scheme == "http" && o.port == "80") || (o.scheme == "https" && o.port == "443") {
		o.port = ""
	}
	return o, o.host != ""
}

// originAllowed applies the widget policy of PROTOCOL §4.2.3.
func originAllowed(connOrigin string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	if connOrigin == "" {
		return false
	}
	co, ok := parseOrigin(connOrigin)
	if !ok {
		return false
	}
	for _, a := range allowed {
		if a == "*" {
			return true
		}
		ao, ok := parseOrigin(a)
		if !ok || ao.scheme != co.scheme || ao.port != co.port {
			continue
		}
		if suffix, wild := strings.CutPrefix(ao.host, "*."); wild {
			if strings.HasSuffix(co.host, "."+suffix) && len(co.host) > len(suffix)+1 {
				return true
			}
			continue
		}
		if ao.host == co.host {
			return true
		}
	}
	return false
}
