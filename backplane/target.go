package backplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kind is what an event is addressed to; the values are backplane_events.target_type.
type Kind string

// The backplane's targets are exactly these seven (ADMIN-API §9.15). Connection and
// Instance are internal: POST /admin/publish accepts only the other five.
const (
	Connection   Kind = "connection"
	Session      Kind = "session"
	Conversation Kind = "conversation"
	Agent        Kind = "agent"
	User         Kind = "user"
	Org          Kind = "org"
	Instance     Kind = "instance"
)

// Valid reports whether k is one of the seven targets.
func (k Kind) Valid() bool {
	switch k {
	case Connection, Session, Conversation, Agent, User, Org, Instance:
		return true
	}
	return false
}

// uuidKind reports whether ids of k are UUIDs, compared in their canonical lower-case form.
func (k Kind) uuidKind() bool {
	switch k {
	case Session, Conversation, Agent, Org, Instance:
		return true
	}
	return false
}

// Target names the sockets (or, for Instance, the process) an event is for. For User the
// id is an identity such as "jwt:<sub>" or "ctx:<userId>", qualified by the event's org.
type Target struct {
	Type Kind
	ID   string
}

// ErrInvalidTarget is returned by Publish for a target it cannot address; ErrInvalidEvent
// for an event that is not a JSON object.
var (
	ErrInvalidTarget = errors.New("invalid backplane target")
	ErrInvalidEvent  = errors.New("invalid backplane event")
)

// canonical checks t for an event of orgID and returns it with UUID ids in canonical form,
// so that a publisher's "7E1B…" reaches a socket bound to "7e1b…".
func (t Target) canonical(orgID uuid.UUID) (Target, error) {
	if !t.Type.Valid() {
		return t, fmt.Errorf("%w: unknown type %q", ErrInvalidTarget, t.Type)
	}
	if t.ID == "" {
		return t, fmt.Errorf("%w: empty %s id", ErrInvalidTarget, t.Type)
	}
	if t.Type.uuidKind() {
		id, err := uuid.Parse(t.ID)
		if err != nil {
			return t, fmt.Errorf("%w: %s id is not a UUID", ErrInvalidTarget, t.Type)
		}
		t.ID = id.String()
	}
	if t.Type == Org && t.ID != orgID.String() {
		// An org event addressed to another org would reach that org's sockets.
		return t, fmt.Errorf("%w: org target is not the event's org", ErrInvalidTarget)
	}
	return t, nil
}

// canonicalID is the form Bind stores, matching what Publish writes.
func canonicalID(k Kind, id string) string {
	if k.uuidKind() {
		if u, err := uuid.Parse(id); err == nil {
			return u.String()
		}
	}
	return id
}

// Event is one backplane event as a subscriber receives it. Payload and Frame are shared
// by every subscriber of the event and must not be modified.
type Event struct {
	// ID is the backplane_events id (sent to clients as a decimal string, e.g. eventId).
	ID        int64
	OrgID     uuid.UUID
	Target    Target
	Payload   json.RawMessage // as published (normalised by jsonb)
	CreatedAt time.Time
	// Frame is Payload with a `timestamp` (CreatedAt in Unix milliseconds) added when the
	// payload has none: the frame PROTOCOL §5.11 puts on the wire. Set on events delivered
	// to subscribers, not on those consumed by an internal handler.
	Frame json.RawMessage
}

// frame builds Event.Frame.
func frame(payload json.RawMessage, created time.Time) json.RawMessage {
	p := []byte(strings.TrimSpace(string(payload)))
	if len(p) < 2 || p[0] != '{' {
		return payload
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(p, &top); err != nil {
		return payload
	}
	if _, ok := top["timestamp"]; ok {
		return payload
	}
	ts := fmt.Sprintf(`{"timestamp":%d`, created.UnixMilli())
	if len(top) == 0 {
		return json.RawMessage(ts + "}")
	}
	return json.RawMessage(ts + "," + string(p[1:]))
}
