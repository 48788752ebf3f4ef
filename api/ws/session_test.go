package ws_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func count(t *testing.T, e *env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.srv.Pool.QueryRow(ctx(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// withoutTimestamp strips the timestamp so two events can be compared byte for byte.
var tsField = regexp.MustCompile(`"timestamp":\d+`)

func withoutTimestamp(b []byte) string { return tsField.ReplaceAllString(string(b), "") }

func TestCreateSessionAnswersEveryField(t *testing.T) {
	e := newEnv(t, fixture.Agent{Name: "Support"}, nil)
	c := e.dial(nil)
	ev := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "r-c", "agentId": e.agent.ID.String(), "userName": "Dana", "supports": []string{}})
	checkEnvelope(t, ev)
	ack := wstest.Decode[wstest.SessionAck](t, ev)
	a := ack.Data
	for k, id := range map[string]string{"sessionId": a.SessionID, "conversationId": a.ConversationID, "userParticipantId": a.UserParticipantID, "agentParticipantId": a.AgentParticipantID} {
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("%s: %q", k, id)
		}
	}
	if !regexp.MustCompile(`^srt_[A-Za-z0-9_-]{43}$`).MatchString(a.ResumeToken) {
		t.Errorf("resumeToken %q", a.ResumeToken)
	}
	want := wstest.Envelope[wstest.SessionAck]{Type: "immediate_response", RequestID: "r-c", Status: 200, Message: "Session created", Data: wstest.SessionAck{
		SessionID: a.SessionID, ConversationID: a.ConversationID, AgentID: e.agent.ID.String(), AgentName: "Support",
		UserParticipantID: a.UserParticipantID, AgentParticipantID: a.AgentParticipantID, ResumeToken: a.ResumeToken,
	}}
	if diff := cmp.Diff(want, ack); diff != "" {
		t.Fatalf("ack (-want +got):\n%s", diff)
	}
	// get_session answers the same session, without its resume token.
	g := c.Request(map[string]any{"action": "get_session", "requestId": "r-g", "sessionId": a.SessionID})
	wantInfo := wstest.Envelope[wstest.SessionInfo]{Type: "immediate_response", RequestID: "r-g", Status: 200, Message: "Session", Data: wstest.SessionInfo{
		SessionID: a.SessionID, ConversationID: a.ConversationID, AgentID: a.AgentID, AgentName: "Support",
		UserParticipantID: a.UserParticipantID, AgentParticipantID: a.AgentParticipantID, ThreadID: a.ConversationID, Status: "active",
	}}
	if diff := cmp.Diff(wantInfo, wstest.Decode[wstest.SessionInfo](t, g)); diff != "" {
		t.Fatalf("get_session (-want +got):\n%s", diff)
	}
	if n := count(t, e, `SELECT count(*) FROM participants WHERE conversation_id = $1 AND name = 'Dana' AND type = 'user'`, a.ConversationID); n != 1 {
		t.Fatalf("user participants named Dana: %d", n)
	}
}

func TestUnusableAgentsGetIdenticalAgentNotFound(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	disabled := e.fx.Agent(e.org, fixture.Agent{Disabled: true})
	otherOrg := e.fx.Org(fixture.Org{Name: "Other", ExternalID: "other"}).ID
	foreignToken := jwtToken(t, map[string]any{"sub": "u9", "org": otherOrg.String()})
	cases := []struct {
		name, token, agentID string
	}{
		{"unknown", "", uuid.NewString()},
		{"not a uuid", "", "nope"},
		{"disabled", "", disabled.ID.String()},
		{"principal of another org", foreignToken, e.agent.ID.String()},
	}
	var want string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := e.srv.WSURL
			if tc.token != "" {
				u += "?token=" + tc.token
			}
			c := wstest.Dial(t, u, nil)
			ev := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "r", "agentId": tc.agentID})
			wstest.RequireError(t, ev, "r", "AGENT_NOT_FOUND", "agent '"+tc.agentID+"' not found")
			shape := strings.ReplaceAll(withoutTimestamp(ev.Raw), tc.agentID, "ID")
			if want == "" {
				want = shape
			} else if shape != want {
				t.Fatalf("not identical:\n%s\n%s", shape, want)
			}
		})
	}
	if n := count(t, e, `SELECT count(*) FROM sessions`); n != 0 {
		t.Fatalf("%d sessions written", n)
	}
}

func TestCreateSessionValidation(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	big := map[string]any{"pad": strings.Repeat("x", 16400)}
	for _, tc := range []struct {
		frame map[string]any
		msg   string
	}{
		{map[string]any{"action": "create_conversation_session"}, "missing 'agentId'"},
		{map[string]any{"action": "create_conversation_session", "agentId": "  "}, "missing 'agentId'"},
		{map[string]any{"action": "create_conversation_session", "agentId": 5}, "missing 'agentId'"},
		{map[string]any{"action": "create_conversation_session", "agentId": uuid.NewString(), "metadata": big}, "'metadata' must be at most 16384 bytes"},
	} {
		wstest.RequireError(t, c.Request(tc.frame), "", "VALIDATION_ERROR", tc.msg)
	}
}

func TestOriginPolicy(t *testing.T) {
	e := newEnv(t, fixture.Agent{AllowedOrigins: []string{"https://www.acme.com", "https://*.shop.com"}}, nil)
	cases := []struct {
		origin string
		ok     bool
	}{
		{"https://www.acme.com", true},
		{"https://WWW.ACME.COM:443", true},
		{"https://eu.shop.com", true},
		{"https://a.b.shop.com", true},
		{"https://shop.com", false},
		{"http://eu.shop.com", false},
		{"https://evil.com", false},
		{"", false},
		{"null", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c := e.dial(h)
			ev := c.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String()})
			if tc.ok != (ev.Status() == 200) || !tc.ok && (ev.Code() != "ORIGIN_NOT_ALLOWED" || ev.Message() != "this origin is not allowed to embed this agent") {
				t.Fatalf("got %s", ev.Raw)
			}
		})
	}
	star := e.fx.Agent(e.org, fixture.Agent{AllowedOrigins: []string{"*"}})
	if ev := e.dial(nil).Request(map[string]any{"action": "create_conversation_session", "agentId": star.ID.String()}); ev.Code() != "ORIGIN_NOT_ALLOWED" {
		t.Fatalf("no origin matched *: %s", ev.Raw)
	}
}

func sign(secret, userID string, ts int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID + ":" + strconv.FormatInt(ts, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

func TestAuthContext(t *testing.T) {
	const secret = "widget-secret-0123456789"
	e := newEnv(t, fixture.Agent{RequireAuthContext: true, WidgetSecret: secret}, nil)
	now := time.Now().Unix()
	cases := []struct {
		name string
		ac   any
		msg  string
	}{
		{"absent", nil, "authContext is required to embed this agent"},
		{"not an object", "x", "authContext is required to embed this agent"},
		{"bad signature", map[string]any{"userId": "u1", "signature": sign("wrong-secret-0123456", "u1", now), "timestamp": now}, "authContext signature failed verification"},
		{"stale", map[string]any{"userId": "u1", "signature": sign(secret, "u1", now-61), "timestamp": now - 61}, "authContext signature failed verification"},
		{"timestamp not integer", map[string]any{"userId": "u1", "signature": sign(secret, "u1", now), "timestamp": "x"}, "authContext signature failed verification"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String()}
			if tc.ac != nil {
				f["authContext"] = tc.ac
			}
			wstest.RequireError(t, e.dial(nil).Request(f), "", "AUTH_CONTEXT_INVALID", tc.msg)
		})
	}
	ack := e.dial(nil).Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String(),
		"authContext": map[string]any{"userId": "user_77", "signature": strings.ToUpper(sign(secret, "user_77", now)), "timestamp": now}})
	if ack.Status() != 200 {
		t.Fatalf("valid authContext: %s", ack.Raw)
	}
	if n := count(t, e, `SELECT count(*) FROM participants WHERE id = $1 AND external_id = 'ctx:user_77'`, ack.Str("userParticipantId")); n != 1 {
		t.Fatal("externalId ctx:user_77 not stored")
	}
}

func TestOwnerlessSessionIsPrivateAndResumableOnlyWithToken(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(textReply("Hi"))
	a, ack := e.session()
	sid, conv := ack.Str("sessionId"), ack.Str("conversationId")
	r := send(t, a, sid, "hello")
	a.Terminal(r)

	b := e.dial(nil)
	unknownID := uuid.NewString()
	unknown := b.Request(map[string]any{"action": "get_session", "requestId": "g", "sessionId": unknownID})
	foreign := b.Request(map[string]any{"action": "get_session", "requestId": "g", "sessionId": sid})
	if foreign.Code() != "SESSION_NOT_FOUND" || withoutTimestamp(foreign.Raw) != strings.ReplaceAll(withoutTimestamp(unknown.Raw), unknownID, sid) {
		t.Fatalf("foreign session not identical to unknown:\n%s\n%s", foreign.Raw, unknown.Raw)
	}
	if ev := b.Request(map[string]any{"action": "send_message", "requestId": "s", "sessionId": sid, "message": "hi"}); ev.Code() != "SESSION_NOT_FOUND" {
		t.Fatalf("send on foreign session: %s", ev.Raw)
	}
	ev := b.Request(map[string]any{"action": "rename_conversation", "requestId": "n", "conversationId": conv, "title": "x"})
	wstest.RequireError(t, ev, "n", "CONVERSATION_NOT_FOUND", "conversation '"+conv+"' not found")
	// Without the token a resume yields a fresh conversation; with it, the same one.
	fresh := b.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String(), "conversationId": conv})
	if fresh.Str("conversationId") == conv {
		t.Fatal("resumed an ownerless conversation without its token")
	}
	resumed := b.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String(), "conversationId": conv, "resumeToken": ack.Str("resumeToken")})
	if resumed.Str("conversationId") != conv || resumed.Str("sessionId") == sid {
		t.Fatalf("resume with token: %s", resumed.Raw)
	}
	msgs := messagesPage(t, b.Request(map[string]any{"action": "get_conversation_messages", "sessionId": resumed.Str("sessionId")}))
	if got := len(msgs.Messages); got != 2 {
		t.Fatalf("resumed conversation shows %d messages", got)
	}
}
