package admin

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/auth"
)

const (
	maxEventBytes     = 65536
	maxEventTypeChars = 64
	maxIdentityChars  = 256
)

// protocolEventTypes are the event types PROTOCOL.md uses or reserves (§2.3, §5.10,
// Appendix A); a tenant event may not impersonate one.
var protocolEventTypes = map[string]bool{
	"immediate_response": true, "pong": true, "cancelled": true, "error": true,
	"stream_token": true, "stream_reasoning": true, "stream_chunk": true,
	"eventual_response": true, "write_confirmation_required": true,
	"keepalive": true, "stream_preamble": true,
	"interaction_required": true, "interaction_invalid": true, "otp_verification_required": true,
	"otp_sent": true, "otp_verified": true, "otp_invalid": true,
}

var publishTargets = map[string]bool{"session": true, "conversation": true, "agent": true, "org": true, "user": true}

// userIdentity normalises a user target: jwt:<sub> or ctx:<userId>, a bare value meaning
// ctx:<value>, the part after the prefix 1..256 characters.
func userIdentity(s string) (string, bool) {
	if !strings.HasPrefix(s, "jwt:") && !strings.HasPrefix(s, "ctx:") {
		s = "ctx:" + s
	}
	n := utf8.RuneCountInString(s[4:])
	return s, n >= 1 && n <= maxIdentityChars
}

// publish is POST /admin/publish (ADMIN-API §9.15): validate, check the target belongs to
// the caller's org, then insert and NOTIFY in one transaction with the audit row. Delivery
// to sockets is the backplane's; the answer does not wait for it.
func (h *handlers) publish(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	r := reqjson.NewReader(v, "target", "event")
	var kind, targetID, rawID string
	if t, p := r.Object("target", reqjson.Required, "type", "id"); p == reqjson.Set {
		k, kp := t.String("type", reqjson.Required)
		if kp == reqjson.Set && !publishTargets[k] {
			t.Fail("target.type", "target.type must be one of session, conversation, agent, org, user")
		}
		id, ip := t.String("id", reqjson.Required)
		if kp == reqjson.Set && ip == reqjson.Set && t.Err() == nil {
			kind, rawID = k, id
			if k == "user" {
				var ok bool
				if targetID, ok = userIdentity(id); !ok {
					t.Fail("target.id", "target.id of a user target must be jwt:<sub>, ctx:<userId> or a bare user id of 1..256 characters")
				}
			} else if s, ok := auth.IsUUID(id); ok {
				targetID = s
			} else {
				t.Fail("target.id", "target.id must be a UUID for a "+k+" target")
			}
		}
	}
	var event []byte
	var eventType string
	if ev, p := r.Raw("event", reqjson.Required); p == reqjson.Set {
		event = ev.Compact()
		tv, has := ev.Fields["type"]
		switch {
		case len(event) > maxEventBytes:
			r.Fail("event", "event must be at most "+strconv.Itoa(maxEventBytes)+" bytes when serialised")
		case !has:
			r.Fail("event.type", "event.type is required")
		case tv.Kind != reqjson.String:
			r.Fail("event.type", "event.type must be a string")
		case utf8.RuneCountInString(tv.Text) < 1 || utf8.RuneCountInString(tv.Text) > maxEventTypeChars:
			r.Fail("event.type", "event.type must be 1..64 characters")
		case protocolEventTypes[tv.Text]:
			r.Fail("event.type", "event.type "+reqjson.Quote(tv.Text)+" is an event type of the protocol; choose another")
		default:
			eventType = tv.Text
		}
	}
	if r.Err() != nil {
		return validation(r.Err())
	}
	p := principalOf(c)
	ctx := c.UserContext()
	switch kind {
	case "org":
		if targetID != p.org.String() {
			return notFound("org", rawID)
		}
	case "session", "conversation", "agent":
		ok, err := h.st.PublishTargetExists(ctx, p.org, kind, uuid.MustParse(targetID))
		if err != nil {
			return err
		}
		if !ok {
			return notFound(kind, rawID)
		}
	}
	id, err := h.st.PublishTenantEvent(ctx, p.org, kind, targetID, event, eventType, h.meta(c, p))
	if err != nil {
		return err
	}
	return reply(c, fiber.StatusAccepted, fiber.Map{"eventId": strconv.FormatInt(id, 10)})
}
