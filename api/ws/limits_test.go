package ws_test

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// noExemption empties SWITCHBOARD_WS_RATE_LIMIT_EXEMPT, so that loopback clients are limited.
var noExemption = map[string]string{"SWITCHBOARD_WS_RATE_LIMIT_EXEMPT": ""}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// refusal is an HTTP answer on /ws that opened no WebSocket.
type refusal struct {
	status     int
	retryAfter string
	requestID  string // X-Request-Id
	body       admintest.Error
}

// tryDial upgrades, returning the refusal when the server answered without a WebSocket.
func tryDial(t *testing.T, url string, header http.Header) (*websocket.Conn, *refusal) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err == nil {
		t.Cleanup(func() { _ = conn.Close() })
		return conn, nil
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("refusal body: %v", err)
	}
	return nil, &refusal{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), requestID: resp.Header.Get("X-Request-Id"),
		body: testkit.DecodeJSON[admintest.Error](t, b)}
}

// want429 checks a 429 of PROTOCOL-1.1 §1.10: the whole envelope, with the same positive
// retryAfterMs at error and data.error, and Retry-After in whole seconds rounded up.
func want429(t *testing.T, r *refusal, message string) int64 {
	t.Helper()
	if r == nil {
		t.Fatal("the upgrade succeeded; want 429")
	}
	ms := r.body.Error.RetryAfterMs
	if r.status != 429 || ms < 1 {
		t.Fatalf("got %d %+v, want 429 with a positive retryAfterMs", r.status, r.body)
	}
	e := admintest.ErrorBody{Code: "RATE_LIMITED", Message: message, RetryAfterMs: ms}
	want := admintest.Error{Type: "error", RequestID: r.requestID, Error: e, Timestamp: r.body.Timestamp}
	want.Data.RequestID, want.Data.Error = r.requestID, e
	if diff := cmp.Diff(want, r.body); diff != "" || r.requestID == "" || r.body.Timestamp <= 0 {
		t.Fatalf("429 envelope (-want +got):\n%s\nX-Request-Id %q, timestamp %d", diff, r.requestID, r.body.Timestamp)
	}
	secs, err := strconv.ParseInt(r.retryAfter, 10, 64)
	if err != nil || secs < 1 || secs != (ms+999)/1000 {
		t.Fatalf("Retry-After %q for retryAfterMs %d", r.retryAfter, ms)
	}
	return ms
}

// pingPong proves the connection still serves, and that nothing else was queued before.
func pingPong(t *testing.T, c *wstest.Client) {
	t.Helper()
	if ev := c.Request(map[string]any{"action": "ping", "requestId": "alive"}); ev.Type() != "pong" || ev.RequestID() != "alive" {
		t.Fatalf("ping: got %s", ev.Raw)
	}
}

// Checklist 58, and L1 recovered.
func TestUpgradesBeyondL1Get429AndRecover(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, with(noExemption,
		"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE", "60", "SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP", "0"))
	for i := range 60 {
		if _, r := tryDial(t, e.srv.WSURL, nil); r != nil {
			t.Fatalf("upgrade %d refused inside the burst: %+v", i+1, r.body)
		}
	}
	_, r := tryDial(t, e.srv.WSURL, nil)
	wait := want429(t, r, "too many connection attempts from this address; retry later")
	if wait > 1000 {
		t.Fatalf("retryAfterMs %d at 60 per minute", wait)
	}
	time.Sleep(time.Duration(wait) * time.Millisecond)
	if _, r := tryDial(t, e.srv.WSURL, nil); r != nil {
		t.Fatalf("refused after retryAfterMs: %+v", r.body)
	}
}

func TestOpenSocketsBeyondL2Get429UntilOneCloses(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, with(noExemption, "SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP", "2"))
	first, _ := tryDial(t, e.srv.WSURL, nil)
	tryDial(t, e.srv.WSURL, nil)
	_, r := tryDial(t, e.srv.WSURL, nil)
	if ms := want429(t, r, "too many open connections from this address"); ms != 1000 {
		t.Fatalf("a cap's retryAfterMs is %d, want 1000", ms)
	}
	_ = first.Close()
	testkit.Eventually(t, "a slot to be free once a socket closed", func() bool {
		c, r := tryDial(t, e.srv.WSURL, nil)
		if r != nil {
			return false
		}
		_ = c.Close()
		return true
	})
}

func TestLoopbackIsExemptInDevelopment(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{
		"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE": "1", "SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP": "1",
		"SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR": "1", "SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE": "1",
	})
	for range 3 {
		c, _ := e.session()
		r := nextR()
		ev := c.Request(map[string]any{"action": "send_message", "requestId": r, "sessionId": "nope", "message": "hi"})
		wstest.RequireError(t, ev, r, "SESSION_NOT_FOUND", "session 'nope' not found") // not RATE_LIMITED
	}
}

// Checklist 62: L1 keys on the forwarded address only behind a trusted proxy; an IPv6
// client is keyed by its /64.
func TestL1KeysOnTheForwardedAddressOnlyBehindATrustedProxy(t *testing.T) {
	xff := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	trusted := newEnv(t, fixture.Agent{}, with(noExemption,
		"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE", "1", "SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8"))
	for _, step := range []struct {
		addr    string
		refused bool
	}{
		{"203.0.113.5", false}, {"203.0.113.5", true}, {"203.0.113.6", false},
		{"2001:db8:1:2::1", false}, {"2001:db8:1:2:ffff::9", true}, {"2001:db8:1:3::1", false},
		// The rightmost untrusted entry counts; what a client prepends does not.
		{"198.51.100.1, 203.0.113.5", true}, {"203.0.113.5, 198.51.100.1", false},
	} {
		_, r := tryDial(t, trusted.srv.WSURL, xff(step.addr))
		if (r != nil) != step.refused {
			t.Fatalf("X-Forwarded-For %s: refused=%v, want %v", step.addr, r != nil, step.refused)
		}
	}

	untrusted := newEnv(t, fixture.Agent{}, with(noExemption, "SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE", "1"))
	tryDial(t, untrusted.srv.WSURL, xff("203.0.113.5"))
	_, r := tryDial(t, untrusted.srv.WSURL, xff("203.0.113.6"))
	want429(t, r, "too many connection attempts from this address; retry later")
}

func TestUntrustedForwardedForIsWarnedAboutOnceAMinute(t *testing.T) {
	logs := &logBuffer{}
	e := newLoggedEnv(t, logs, nil)
	for range 3 {
		tryDial(t, e.srv.WSURL, http.Header{"X-Forwarded-For": {"203.0.113.5"}})
	}
	if n := logs.count("X-Forwarded-For ignored"); n != 1 {
		t.Fatalf("%d warnings for 3 requests, want 1", n)
	}
}

// Checklist 59: frames beyond L3's burst each get RATE_LIMITED with their requestId, and
// nothing else; the connection stays open.
func TestFramesBeyondL3AreRefusedOneByOne(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_FRAME_BURST": "3", "SWITCHBOARD_WS_FRAMES_PER_SECOND": "1"})
	c := e.dial(nil)
	// Sent together: at one token a second, the last three find the bucket empty.
	for i := range 3 {
		c.Send(map[string]any{"action": "ping", "requestId": "p-" + strconv.Itoa(i)})
	}
	c.Send(map[string]any{"action": "ping", "requestId": "over"})
	c.SendRaw(websocket.TextMessage, []byte(`{"action": "nope", "requestId": 12}`))
	c.SendRaw(websocket.TextMessage, []byte(`not json`))
	for i := range 3 {
		if ev := c.Next(); ev.Type() != "pong" || ev.RequestID() != "p-"+strconv.Itoa(i) {
			t.Fatalf("frame %d inside the burst: %s", i, ev.Raw)
		}
	}
	var wait time.Duration
	for _, want := range []string{"over", "", ""} {
		wait = max(wait, wstest.RequireRateLimited(t, c.Next(), want, "too many frames; slow down"))
	}
	time.Sleep(wait)
	pingPong(t, c)
}

func TestARefusedCancelCancelsNothing(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_FRAME_BURST": "3", "SWITCHBOARD_WS_FRAMES_PER_SECOND": "1"})
	e.gw.Push(textReply("slow", " answer").WithDelay(200 * time.Millisecond))
	c, ack := e.session() // frame 1
	r := send(t, c, ack.Str("sessionId"), "hello")
	c.Send(map[string]any{"action": "ping", "requestId": "p"})        // frame 3
	c.Send(map[string]any{"action": "cancel", "requestId": "cancel"}) // refused
	evs := c.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("the turn ended with %s", last.Raw)
	}
	refused := 0
	for _, ev := range evs {
		if ev.Type() == "error" && ev.RequestID() == "cancel" {
			wstest.RequireRateLimited(t, ev, "cancel", "too many frames; slow down")
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("events %v: want exactly one refusal of the cancel", types(evs))
	}
}

// Checklist 60 (second half) and L4: a refused create writes nothing; refused agents count.
func TestSessionsBeyondL4AreRefusedAndWriteNothing(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_SESSIONS_PER_CONNECTION_PER_HOUR": "3"})
	c := e.dial(nil)
	create := func(agentID string) wstest.Event {
		return c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c", "agentId": agentID})
	}
	// A frame that fails its field checks takes no token; one refused later does.
	wstest.RequireError(t, c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c"}), "c", "VALIDATION_ERROR", "missing 'agentId'")
	wstest.RequireError(t, create("unknown-agent"), "c", "AGENT_NOT_FOUND", "agent 'unknown-agent' not found")
	for range 2 {
		if ev := create(e.agent.ID.String()); ev.Status() != 200 {
			t.Fatalf("create: %s", ev.Raw)
		}
	}
	rows := func() int {
		return count(t, e, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM conversations) + (SELECT count(*) FROM participants)`)
	}
	before := rows()
	wstest.RequireRateLimited(t, create(e.agent.ID.String()), "c", "too many sessions created on this connection; retry later")
	if rows() != before {
		t.Fatal("a refused create wrote rows")
	}
	pingPong(t, c)
	if _, ack := e.session(); ack.Status() != 200 {
		t.Fatal("another connection is limited by this one's L4")
	}
}

func TestSessionsBeyondL5AreRefusedAcrossConnections(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, with(noExemption, "SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR", "2"))
	e.session()
	c, _ := e.session()
	ev := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c3", "agentId": e.agent.ID.String()})
	wstest.RequireRateLimited(t, ev, "c3", "too many sessions created from this address; retry later")
	pingPong(t, c)
}

func TestTurnsBeyondL6AreRefusedBeforeTheSessionLookup(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, with(noExemption, "SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE", "2"))
	c := e.dial(nil)
	msg := func(r string, extra ...string) wstest.Event {
		f := map[string]any{"action": "send_message", "requestId": r, "sessionId": "no-such-session", "message": "hi"}
		if len(extra) > 0 {
			delete(f, "message")
		}
		return c.Request(f)
	}
	wstest.RequireError(t, msg("v", "no message"), "v", "VALIDATION_ERROR", "missing or empty 'message'")
	for _, r := range []string{"a", "b"} {
		wstest.RequireError(t, msg(r), r, "SESSION_NOT_FOUND", "session 'no-such-session' not found")
	}
	wstest.RequireRateLimited(t, msg("c"), "c", "too many messages from this address; retry later")
	pingPong(t, c)
}

// Checklist 60 (first half), and L7 recovered.
func TestTurnsBeyondL7GetOnlyRateLimitedAndRecover(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{
		"SWITCHBOARD_WS_TURN_BURST_PER_SESSION": "1", "SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE": "60",
	})
	e.gw.Push(textReply("one"), textReply("two"))
	c, ack := e.session()
	sid := ack.Str("sessionId")
	c.Terminal(send(t, c, sid, "first"))
	messages := count(t, e, `SELECT count(*) FROM messages`)
	ev := c.Request(map[string]any{"action": "send_message", "requestId": "over", "sessionId": sid, "message": "second"})
	wait := wstest.RequireRateLimited(t, ev, "over", "too many messages in this session; retry later")
	pingPong(t, c)
	if count(t, e, `SELECT count(*) FROM messages`) != messages {
		t.Fatal("a refused send_message stored a message")
	}
	time.Sleep(wait)
	if evs := c.Terminal(send(t, c, sid, "again")); evs[len(evs)-1].Type() != "eventual_response" {
		t.Fatalf("after retryAfterMs: %v", types(evs))
	}
}

// L8: a turn counts from its 202 to its terminal event, parked ones included.
func TestRunningTurnsBeyondL8AreRefusedUntilOneEnds(t *testing.T) {
	p := newParked(t, map[string]string{"SWITCHBOARD_ORG_MAX_CONCURRENT_TURNS": "1"})
	e := p.env
	e.gw.Push(textReply("hello"))
	other, ack := e.session()
	sid := ack.Str("sessionId")
	ev := other.Request(map[string]any{"action": "send_message", "requestId": "l8", "sessionId": sid, "message": "hi"})
	if wait := wstest.RequireRateLimited(t, ev, "l8", "too many turns are running for this organization; retry shortly"); wait != time.Second {
		t.Fatalf("a cap's retryAfterMs is %v, want 1s", wait)
	}
	p.c.Send(map[string]any{"action": "cancel", "requestId": p.r})
	if evs := p.c.Terminal(p.r); evs[len(evs)-1].Type() != "cancelled" {
		t.Fatalf("cancel: %v", types(evs))
	}
	if evs := other.Terminal(send(t, other, sid, "hi again")); evs[len(evs)-1].Type() != "eventual_response" {
		t.Fatalf("after the running turn ended: %v", types(evs))
	}
}

// Checklist 61: L9 counts what the server's key paid for this month; an org with its own key
// is unaffected.
func TestServerKeyAllowanceL9(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG": "12"})
	e.gw.Push(textReply("paid by the server"), textReply("paid by the org"), textReply("org again"))
	c, ack := e.session()
	sid := ack.Str("sessionId")
	c.Terminal(send(t, c, sid, "first")) // 10 + 2 tokens: the allowance is reached
	ev := c.Request(map[string]any{"action": "send_message", "requestId": "q", "sessionId": sid, "message": "second"})
	// Whole: QUOTA_EXCEEDED carries no retryAfterMs.
	wstest.RequireError(t, ev, "q", "QUOTA_EXCEEDED", "the organization's monthly allowance on the server's gateway key is exhausted")
	pingPong(t, c)

	// Another org with its own key spends past the allowance: only the server key's tokens count.
	org := e.fx.Org(fixture.Org{Name: "Own key"}).ID
	e.fx.GatewayKey(org, fixture.GatewayKey{Secret: "sk-org-own", BaseURL: e.gw.BaseURL()})
	ag := e.fx.Agent(org, fixture.Agent{})
	oc := e.dial(nil)
	oack := oc.Request(map[string]any{"action": "create_conversation_session", "requestId": "c", "agentId": ag.ID.String()})
	for _, m := range []string{"one", "two"} {
		if evs := oc.Terminal(send(t, oc, oack.Str("sessionId"), m)); evs[len(evs)-1].Type() != "eventual_response" {
			t.Fatalf("org key turn: %v", types(evs))
		}
	}
}

// Checklist 65: an echoed client value is cut to 256 characters and "…".
func TestEchoedValuesAreCutTo256Characters(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	long := ""
	for len(long) < 300 {
		long += "s"
	}
	wstest.RequireError(t, c.Request(map[string]any{"action": "get_session", "requestId": "g", "sessionId": long}),
		"g", "SESSION_NOT_FOUND", "session '"+long[:256]+"…' not found")
	wstest.RequireError(t, c.Request(map[string]any{"action": long, "requestId": "u"}),
		"u", "UNSUPPORTED_ACTION", "action '"+long[:256]+"…' is not supported by this server")
	wstest.RequireError(t, c.Request(map[string]any{"action": "create_conversation_session", "requestId": "a", "agentId": long}),
		"a", "AGENT_NOT_FOUND", "agent '"+long[:256]+"…' not found")
	// 256 characters are echoed whole.
	short := long[:256]
	wstest.RequireError(t, c.Request(map[string]any{"action": "get_session", "requestId": "g", "sessionId": short}),
		"g", "SESSION_NOT_FOUND", "session '"+short+"' not found")
}

// Checklist 66.
func TestWidgetStrictRefusesAgentsWithoutAllowedOrigins(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WIDGET_STRICT": "1"})
	c := e.dial(http.Header{"Origin": {"https://shop.example.com"}})
	wstest.RequireError(t, c.Request(map[string]any{"action": "create_conversation_session", "requestId": "s", "agentId": e.agent.ID.String()}),
		"s", "AGENT_NOT_AUTHORIZED", "this agent is not registered for embedding")
	listed := e.fx.Agent(e.org, fixture.Agent{AllowedOrigins: []string{"https://shop.example.com"}})
	if ev := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "s", "agentId": listed.ID.String()}); ev.Status() != 200 {
		t.Fatalf("listed origin: %s", ev.Raw)
	}
	other := e.dial(http.Header{"Origin": {"https://evil.example.net"}})
	wstest.RequireError(t, other.Request(map[string]any{"action": "create_conversation_session", "requestId": "s", "agentId": listed.ID.String()}),
		"s", "ORIGIN_NOT_ALLOWED", "this origin is not allowed to embed this agent")
}
