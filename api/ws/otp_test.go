package ws_test

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/otp/otptest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// One-time-code verification (PROTOCOL-1.1 §3.6, §4.13, §7.13, §7.14): the tests named
// TestChecklistNN pin line NN of PROTOCOL-1.1 §11, against a real SMTP server in the test
// process (otptest) from which codes are read as a visitor reads them.

const (
	gatedTool    = "get_orders"
	gatedResult  = `[{"id":"A-1001","status":"shipped"}]`
	visitorEmail = "Dana@Example.COM" // stored as Dana@example.com
	storedEmail  = "Dana@example.com"
	maskedEmail  = "D***@example.com"
)

// otpEnv is a server with mail settings (unless noMail), an agent whose get_orders tool
// requires verification, and a sink that receives the codes.
type otpEnv struct {
	*env
	sink *otptest.Sink
	tool *toolServer
	logs *logBuffer
	// calls is how many times the tool had run when the turn under test started.
	calls int
}

func newOTPEnv(t *testing.T, noMail bool, extra map[string]string) *otpEnv {
	t.Helper()
	sink := otptest.Start(t, otptest.Options{})
	vars := map[string]string{"AUTH_JWT_SECRET": testJWTSecret}
	if !noMail {
		vars["SWITCHBOARD_SMTP_URL"] = sink.URL()
		vars["SWITCHBOARD_SMTP_FROM"] = "Acme Support <no-reply@acme.example>"
	}
	for k, v := range extra {
		vars[k] = v
	}
	logs := &logBuffer{}
	e := newEnvLogged(t, fixture.Agent{}, vars, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ts := newToolServer(t, 200, gatedResult)
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: gatedTool, URL: ts.URL, RequiresVerification: true})
	return &otpEnv{env: e, sink: sink, tool: ts, logs: logs}
}

// visitor dials anonymously and creates a session with the given create fields.
func (o *otpEnv) visitor(fields map[string]any) (*wstest.Client, wstest.Event) {
	o.t.Helper()
	c := o.dial(nil)
	f := map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": o.agent.ID.String()}
	for k, v := range fields {
		f[k] = v
	}
	ack := c.Request(f)
	if ack.Type() != "immediate_response" || ack.Status() != 200 {
		o.t.Fatalf("create session: %s", ack.Raw)
	}
	return c, ack
}

// verifiable is the fields of a session that can be verified by code.
func verifiable() map[string]any {
	return map[string]any{"supports": []string{"otp_form"}, "userEmail": visitorEmail}
}

// callGated scripts the model to call the gated tool, then answer text.
func (o *otpEnv) callGated(text string) {
	o.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g1", Name: gatedTool, Arguments: `{}`}))
	o.gw.Push(textReply(text))
}

// park sends a message whose turn parks on a code, checks the three announcing events (O11)
// and returns R and the code read from the delivered email. The model's next answer is the
// caller's to script (resume), or not (cancel).
func (o *otpEnv) park(c *wstest.Client, sid string, sentBefore int) (string, string) {
	t := o.t
	t.Helper()
	o.calls = len(o.tool.Calls())
	o.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g1", Name: gatedTool, Arguments: `{}`}))
	r := send(t, c, sid, "Where are my orders?")
	wantReq := wstest.WrappedEvent("otp_verification_required", r, wstest.OTPRequired{
		ToolID: gatedTool, ActionDescription: "Verify your identity to continue using 'get_orders'.",
		AvailableChannels: []string{"email"}, AuthLevel: "end_user",
	})
	if diff := cmp.Diff(wantReq, wstest.Decode[wstest.Wrapped[wstest.OTPRequired]](t, c.Next())); diff != "" {
		t.Fatalf("otp_verification_required (-want +got):\n%s", diff)
	}
	wantSent := wstest.WrappedEvent("otp_sent", r, wstest.OTPSent{Channel: "email", MaskedDestination: maskedEmail})
	if diff := cmp.Diff(wantSent, wstest.Decode[wstest.Wrapped[wstest.OTPSent]](t, c.Next())); diff != "" {
		t.Fatalf("otp_sent (-want +got):\n%s", diff)
	}
	wantCall := wstest.CallChunk(r, wstest.ToolCall{Name: gatedTool, Arguments: map[string]any{}})
	if diff := cmp.Diff(wantCall, wstest.Decode[wstest.Chunk](t, c.Next())); diff != "" {
		t.Fatalf("held-back toolCall (-want +got):\n%s", diff)
	}
	msgs := o.sink.WaitCount(t, sentBefore+1)
	if len(msgs) != sentBefore+1 {
		t.Fatalf("%d messages delivered, want %d", len(msgs), sentBefore+1)
	}
	m := msgs[sentBefore]
	if len(m.To) != 1 || m.To[0] != storedEmail {
		t.Fatalf("code sent to %v", m.To)
	}
	return r, m.Code(t)
}

func verify(c *wstest.Client, sid, requestID, code string) wstest.Event {
	return c.Request(map[string]any{"action": "verify_otp", "requestId": requestID, "sessionId": sid, "code": code})
}

func requireOTPInvalid(t *testing.T, ev wstest.Event, requestID, code string, remaining int, message string) {
	t.Helper()
	want := wstest.WrappedEvent("otp_invalid", requestID, wstest.OTPInvalid{Error: code, AttemptsRemaining: remaining, Message: message})
	if diff := cmp.Diff(want, wstest.Decode[wstest.Wrapped[wstest.OTPInvalid]](t, ev)); diff != "" {
		t.Fatalf("otp_invalid (-want +got):\n%s", diff)
	}
}

func requireVerified(t *testing.T, ev wstest.Event, requestID string) {
	t.Helper()
	want := wstest.WrappedEvent("otp_verified", requestID, wstest.OTPVerified{Message: "Identity verified successfully."})
	if diff := cmp.Diff(want, wstest.Decode[wstest.Wrapped[wstest.OTPVerified]](t, ev)); diff != "" {
		t.Fatalf("otp_verified (-want +got):\n%s", diff)
	}
}

// requireDenied reads the rest of a turn and requires its one tool result to be text, the
// tool never called, and the turn completed.
func (o *otpEnv) requireDenied(c *wstest.Client, r, text string) []wstest.Event {
	t := o.t
	t.Helper()
	evs := c.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("turn ended with %s", last.Raw)
	}
	res := chunks(t, evs)
	if len(res) == 0 {
		t.Fatalf("no tool result in %v", types(evs))
	}
	if diff := cmp.Diff(wstest.ToolResult{Name: gatedTool, IsError: true, Result: text}, toolResult(t, res[len(res)-1])); diff != "" {
		t.Fatalf("tool result (-want +got):\n%s", diff)
	}
	if n := len(o.tool.Calls()) - o.calls; n != 0 {
		t.Fatalf("the gated tool ran %d times", n)
	}
	return evs
}

// requireDeniedAtOnce runs a turn whose gated call is refused before parking: toolCall,
// then toolResult, then the reply (O4), and no verification event.
func (o *otpEnv) requireDeniedAtOnce(c *wstest.Client, sid, text string) {
	t := o.t
	t.Helper()
	o.calls = len(o.tool.Calls())
	o.callGated("I cannot look that up.")
	r := send(t, c, sid, "Where are my orders?")
	evs := o.requireDenied(c, r, text)
	if got, want := types(evs), []string{"stream_chunk", "stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if diff := cmp.Diff(wstest.CallChunk(r, wstest.ToolCall{Name: gatedTool, Arguments: map[string]any{}}), wstest.Decode[wstest.Chunk](t, evs[0])); diff != "" {
		t.Fatalf("toolCall (-want +got):\n%s", diff)
	}
}

// challengeStatus is the status of the session's latest challenge.
func (o *otpEnv) challengeStatus(sid string) string {
	var s string
	if err := o.srv.Pool.QueryRow(ctx(), `SELECT status FROM otp_challenges WHERE session_id = $1 ORDER BY created_at DESC LIMIT 1`, sid).Scan(&s); err != nil {
		o.t.Fatal(err)
	}
	return s
}

// toolBody decodes the request the tool received.
func toolBody(t *testing.T, call toolCall) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(call.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestChecklist47_AVerifiedIdentityRunsTheGatedToolAtOnce(t *testing.T) {
	o := newOTPEnv(t, true, nil) // no mail settings: the identity suffices
	c := wstest.Dial(t, o.srv.WSURL+"?token="+jwtToken(t, map[string]any{"sub": "dana", "org": o.org.String()}), nil)
	ack := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": o.agent.ID.String()})
	o.callGated("Here are your orders.")
	r := send(t, c, ack.Str("sessionId"), "Where are my orders?")
	evs := c.Terminal(r)
	if got, want := types(evs), []string{"stream_chunk", "stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if diff := cmp.Diff(wstest.ToolResult{Name: gatedTool, Result: gatedResult}, toolResult(t, chunks(t, evs)[1])); diff != "" {
		t.Fatalf("tool result (-want +got):\n%s", diff)
	}
	calls := o.tool.Calls()
	if len(calls) != 1 {
		t.Fatalf("tool called %d times", len(calls))
	}
	want := map[string]any{"method": "identity", "identity": "jwt:dana"}
	if diff := cmp.Diff(want, toolBody(t, calls[0])["verification"]); diff != "" {
		t.Fatalf("verification (-want +got):\n%s", diff)
	}
	if n := len(o.sink.Messages()); n != 0 {
		t.Fatalf("%d emails sent", n)
	}
}

func TestChecklist48_TheGateFailsClosedWithoutMailSettingsCapabilityOrEmail(t *testing.T) {
	noMail := newOTPEnv(t, true, nil)
	c, ack := noMail.visitor(verifiable())
	noMail.requireDeniedAtOnce(c, ack.Str("sessionId"), "Denied: identity verification is not available on this server.")

	o := newOTPEnv(t, false, nil)
	c, ack = o.visitor(map[string]any{"userEmail": visitorEmail}) // no otp_form
	o.requireDeniedAtOnce(c, ack.Str("sessionId"), "Denied: this action needs a verified visitor, and this chat cannot verify one.")
	c, ack = o.visitor(map[string]any{"supports": []string{"otp_form"}}) // no contact email
	o.requireDeniedAtOnce(c, ack.Str("sessionId"), "Denied: this action needs a verified visitor, and no email address is known for them. Ask for it with request_identity_intake, then try again.")
	if n := len(o.sink.Messages()); n != 0 {
		t.Fatalf("%d emails sent", n)
	}
	if n := count(t, o.env, `SELECT count(*) FROM otp_challenges`); n != 0 {
		t.Fatalf("%d challenges written", n)
	}
}

func TestChecklist49_AParkAnnouncesTheCodeThenTheToolCallAndSendsOneEmail(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	_, code := o.park(c, sid, 0) // the three events, in order, under R; one message
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	if n := count(t, o.env, `SELECT count(*) FROM otp_challenges WHERE session_id = $1 AND status = 'pending' AND destination = $2`, sid, storedEmail); n != 1 {
		t.Fatalf("%d pending challenges", n)
	}
	// Nothing else arrives while the turn waits.
	if ev, err := c.TryNext(200 * 1e6); err == nil {
		t.Fatalf("unexpected event while parked: %s", ev.Raw)
	}
}

func TestChecklist50_TheChallengeRowHoldsAHashAndNeverTheCode(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	_, code := o.park(c, sid, 0)
	var hash []byte
	var row string
	if err := o.srv.Pool.QueryRow(ctx(), `SELECT code_hash, row_to_json(c)::text FROM otp_challenges c WHERE session_id = $1`, sid).Scan(&hash, &row); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 {
		t.Fatalf("hash of %d bytes", len(hash))
	}
	if strings.Contains(row, code) {
		t.Fatalf("the challenge row contains the code: %s", row)
	}
}

func TestChecklist51_AWrongCodeCountsDownAndTheRightOneRunsTheToolOnce(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("Here are your orders."))
	requireOTPInvalid(t, verify(c, sid, "v-1", wrong(code)), "v-1", "INVALID_CODE", 4, "That code is not correct. Try again.")
	if o.challengeStatus(sid) != "pending" || len(o.tool.Calls()) != 0 {
		t.Fatal("a wrong code changed the park")
	}
	requireVerified(t, verify(c, sid, "v-2", code[:3]+" "+code[3:]), "v-2")
	evs := c.Terminal(r)
	if got, want := types(evs), []string{"stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("resumed %v, want %v", got, want)
	}
	if diff := cmp.Diff(wstest.ResultChunk(r, wstest.ToolResult{Name: gatedTool, Result: gatedResult}), wstest.Decode[wstest.Chunk](t, evs[0])); diff != "" {
		t.Fatalf("tool result (-want +got):\n%s", diff)
	}
	calls := o.tool.Calls()
	if len(calls) != 1 {
		t.Fatalf("tool called %d times", len(calls))
	}
	if diff := cmp.Diff(map[string]any{"method": "otp", "email": storedEmail}, toolBody(t, calls[0])["verification"]); diff != "" {
		t.Fatalf("verification (-want +got):\n%s", diff)
	}
	if o.challengeStatus(sid) != "verified" {
		t.Fatalf("status %s", o.challengeStatus(sid))
	}
	if n := count(t, o.env, `SELECT count(*) FROM sessions WHERE id = $1 AND verified_email = $2 AND verified_at IS NOT NULL`, sid, storedEmail); n != 1 {
		t.Fatal("session not verified")
	}
}

// wrong is a code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestChecklist52_FiveWrongCodesFailTheCallAndTheToolNeverRuns(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("I could not verify you."))
	for left := 4; left >= 1; left-- {
		requireOTPInvalid(t, verify(c, sid, "v", wrong(code)), "v", "INVALID_CODE", left, "That code is not correct. Try again.")
	}
	requireOTPInvalid(t, verify(c, sid, "v-5", wrong(code)), "v-5", "MAX_ATTEMPTS", 0, "Too many incorrect codes. Verification failed.")
	o.requireDenied(c, r, "Denied: identity verification failed.")
	// Even the right code is refused now.
	requireOTPInvalid(t, verify(c, sid, "v-6", code), "v-6", "MAX_ATTEMPTS", 0, "Too many incorrect codes. Verification failed.")
	if o.challengeStatus(sid) != "failed" || len(o.tool.Calls()) != 0 {
		t.Fatal("the failed challenge changed")
	}
}

func TestChecklist53_VerifyWithoutAChallengeOrAReadableSessionOrACode(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	requireOTPInvalid(t, verify(c, sid, "v-1", "123456"), "v-1", "NOT_FOUND", 0, "No verification is in progress for this session.")
	unknown := "8d1f0e52-5c1b-4bb5-9d4c-7a3c5e0f2a11"
	wstest.RequireError(t, verify(c, unknown, "v-2", "123456"), "v-2", "SESSION_NOT_FOUND", "session '"+unknown+"' not found")
	other := o.dial(nil) // another visitor: the session is unreadable, and looks unknown
	wstest.RequireError(t, verify(other, sid, "v-3", "123456"), "v-3", "SESSION_NOT_FOUND", "session '"+sid+"' not found")
	wstest.RequireError(t, c.Request(map[string]any{"action": "verify_otp", "requestId": "v-4", "sessionId": sid}), "v-4", "VALIDATION_ERROR", "verify_otp requires a 'code'")
	wstest.RequireError(t, verify(c, sid, "v-5", "  "), "v-5", "VALIDATION_ERROR", "verify_otp requires a 'code'")
	wstest.RequireError(t, c.Request(map[string]any{"action": "verify_otp", "requestId": "v-6", "sessionId": sid, "code": 123456}), "v-6", "VALIDATION_ERROR", "verify_otp requires a 'code'")
	wstest.RequireError(t, verify(c, sid, "v-7", strings.Repeat("1", 33)), "v-7", "VALIDATION_ERROR", "'code' must be at most 32 characters")
	wstest.RequireError(t, c.Request(map[string]any{"action": "verify_otp", "requestId": "v-8", "code": "1"}), "v-8", "VALIDATION_ERROR", "verify_otp requires a 'sessionId'")
	wstest.RequireError(t, c.Request(map[string]any{"action": "verify_otp", "sessionId": sid, "code": "1"}), "", "VALIDATION_ERROR", "verify_otp requires a 'requestId'")
}

func TestChecklist54_AVerificationLastsForItsSessionAndEmailOnly(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("Here are your orders."))
	requireVerified(t, verify(c, sid, "v-1", code), "v-1")
	c.Terminal(r)

	// The next turn passes the gate without a code.
	o.callGated("Here they are again.")
	r = send(t, c, sid, "And now?")
	if got, want := types(c.Terminal(r)), []string{"stream_chunk", "stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("verified turn %v, want %v", got, want)
	}
	if len(o.tool.Calls()) != 2 || len(o.sink.Messages()) != 1 {
		t.Fatal("the verified session was asked again")
	}

	// A changed contact email (what an identity intake writes, §7.12) lapses it.
	if _, err := o.srv.Pool.Exec(ctx(), `UPDATE sessions SET contact_email = 'dana.new@example.com' WHERE id = $1`, sid); err != nil {
		t.Fatal(err)
	}
	o.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g1", Name: gatedTool, Arguments: `{}`}))
	r = send(t, c, sid, "And now?")
	if ev, _ := c.WaitFor("otp_sent"); wstest.Decode[wstest.Wrapped[wstest.OTPSent]](t, ev).Data.Data.MaskedDestination != "d***@example.com" {
		t.Fatalf("otp_sent %s", ev.Raw)
	}
	c.Send(map[string]any{"action": "cancel", "requestId": r})
	c.Terminal(r)

	// A resumed conversation's new session starts unverified, even for the old address.
	b, res := o.visitor(map[string]any{"conversationId": ack.Str("conversationId"), "resumeToken": ack.Str("resumeToken")})
	if n := count(t, o.env, `SELECT count(*) FROM sessions WHERE id = $1 AND verified_email IS NULL AND contact_email IS NULL`, res.Str("sessionId")); n != 1 {
		t.Fatal("the resumed session inherited the verification or the contact")
	}
	o.requireDeniedAtOnce(b, res.Str("sessionId"), "Denied: this action needs a verified visitor, and no email address is known for them. Ask for it with request_identity_intake, then try again.")
	if len(o.tool.Calls()) != 2 {
		t.Fatal("the gated tool ran for an unverified session")
	}
}

func TestChecklist55_SendLimitsHoldPerSessionAndPerAddress(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	const limitText = "Denied: too many verification codes were requested; try again later."
	sent := 0
	parkAndCancel := func(c *wstest.Client, sid string) {
		r, _ := o.park(c, sid, sent)
		sent++
		c.Send(map[string]any{"action": "cancel", "requestId": r})
		if ev := c.Next(); ev.Type() != "cancelled" {
			t.Fatalf("cancel: %s", ev.Raw)
		}
	}
	c, ack := o.visitor(verifiable())
	for range 3 {
		parkAndCancel(c, ack.Str("sessionId"))
	}
	o.requireDeniedAtOnce(c, ack.Str("sessionId"), limitText) // the fourth in the session
	// Two more codes to the same address from another session reach five...
	c2, ack2 := o.visitor(verifiable())
	parkAndCancel(c2, ack2.Str("sessionId"))
	parkAndCancel(c2, ack2.Str("sessionId"))
	// ...and a sixth, from a third session, is refused.
	c3, ack3 := o.visitor(verifiable())
	o.requireDeniedAtOnce(c3, ack3.Str("sessionId"), limitText)
	if n := len(o.sink.Messages()); n != 5 {
		t.Fatalf("%d emails sent, want 5", n)
	}
}

func TestChecklist57_CancelWhileParkedOnACodeCancelsTheChallenge(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	c.Send(map[string]any{"action": "cancel", "requestId": r})
	ev := c.Next()
	if diff := cmp.Diff(wstest.Envelope[wstest.Cancelled]{Type: "cancelled", RequestID: r, Status: 499, Data: wstest.Cancelled{RequestID: r, Status: 499}}, wstest.Decode[wstest.Cancelled](t, ev)); diff != "" {
		t.Fatalf("cancelled (-want +got):\n%s", diff)
	}
	if o.challengeStatus(sid) != "cancelled" {
		t.Fatalf("status %s", o.challengeStatus(sid))
	}
	requireOTPInvalid(t, verify(c, sid, "v-1", code), "v-1", "NOT_FOUND", 0, "No verification is in progress for this session.")
	if len(o.tool.Calls()) != 0 {
		t.Fatal("tool called")
	}
}

func TestChecklist63_AnInvalidUserEmailLeavesTheGateWithoutAnEmail(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(map[string]any{"supports": []string{"otp_form"}, "userEmail": "not-an-email"})
	o.requireDeniedAtOnce(c, ack.Str("sessionId"), "Denied: this action needs a verified visitor, and no email address is known for them. Ask for it with request_identity_intake, then try again.")
}

func TestAnExpiredCodeDeniesTheCallAndVerifyAnswersExpired(t *testing.T) {
	o := newOTPEnv(t, false, map[string]string{"SWITCHBOARD_OTP_TTL": "1s"})
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("The code expired."))
	o.requireDenied(c, r, "Denied: identity verification was not completed within 1 seconds.")
	if o.challengeStatus(sid) != "expired" {
		t.Fatalf("status %s", o.challengeStatus(sid))
	}
	requireOTPInvalid(t, verify(c, sid, "v-1", code), "v-1", "EXPIRED", 0, "This code has expired.")
}

func TestAMailServerThatRefusesTheCodeDeniesTheCallWithoutVerificationEvents(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	o.sink.Reject(true)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	o.requireDeniedAtOnce(c, sid, "Denied: the verification code could not be sent.")
	if o.challengeStatus(sid) != "unsent" {
		t.Fatalf("status %s", o.challengeStatus(sid))
	}
	requireOTPInvalid(t, verify(c, sid, "v-1", "123456"), "v-1", "NOT_FOUND", 0, "No verification is in progress for this session.")
	if o.logs.count(`"destination":"D***@example.com"`) == 0 || o.logs.count("Dana@example.com") != 0 {
		t.Fatal("the failure is not logged with the masked address only")
	}
}

func TestAVerifiedCallThatNeedsApprovalIsAnnouncedOnce(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	o.fx.Tool(o.org, o.agent.ID, fixture.Tool{Name: "refund_order", URL: o.tool.URL, RequiresVerification: true, RequiresApproval: true})
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	o.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g1", Name: "refund_order", Arguments: `{}`}))
	o.gw.Push(textReply("Refunded."))
	r := send(t, c, sid, "Refund it")
	c.WaitFor("otp_sent")
	if ev := c.Next(); ev.Type() != "stream_chunk" {
		t.Fatalf("toolCall: %s", ev.Raw)
	}
	code := o.sink.WaitCount(t, 1)[0].Code(t)
	requireVerified(t, verify(c, sid, "v-1", code), "v-1")
	if ev := c.Next(); ev.Type() != "write_confirmation_required" {
		t.Fatalf("after verification: %s", ev.Raw)
	}
	c.Request(map[string]any{"action": "confirm_tool_action", "requestId": "cf", "sessionId": sid, "approved": true})
	evs := c.Terminal(r)
	if got, want := types(evs), []string{"stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("resumed %v, want %v (the toolCall must not repeat)", got, want)
	}
	if toolResult(t, chunks(t, evs)[0]).IsError || len(o.tool.Calls()) != 1 {
		t.Fatal("the approved call did not run once")
	}
}

func TestAnotherPendingChallengeInTheSessionDeniesTheCall(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	o.park(c, sid, 0)
	// The visitor resumes on a second connection, which may then send on the first session.
	b, _ := o.visitor(map[string]any{"conversationId": ack.Str("conversationId"), "resumeToken": ack.Str("resumeToken")})
	o.requireDeniedAtOnce(b, sid, "Denied: another identity verification is already in progress in this session.")
	if n := len(o.sink.Messages()); n != 1 {
		t.Fatalf("%d emails sent", n)
	}
}

func TestNoCodeOrHashReachesALogAResponseOrAnAuditRow(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	var seen []wstest.Event
	o.callGated("Here are your orders.")
	r := send(t, c, sid, "Where are my orders?")
	ev, before := c.WaitFor("stream_chunk")
	seen = append(append(seen, before...), ev)
	code := o.sink.WaitCount(t, 1)[0].Code(t)
	seen = append(seen, verify(c, sid, "v-1", wrong(code)), verify(c, sid, "v-2", code))
	seen = append(seen, c.Terminal(r)...)
	var hash []byte
	if err := o.srv.Pool.QueryRow(ctx(), `SELECT code_hash FROM otp_challenges WHERE session_id = $1`, sid).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	secrets := []string{code, hex.EncodeToString(hash), string(hash)}
	for _, ev := range seen {
		for _, s := range secrets {
			if strings.Contains(string(ev.Raw), s) {
				t.Fatalf("event carries the code or its hash: %s", ev.Raw)
			}
		}
	}
	o.logs.mu.Lock()
	logText := o.logs.buf.String()
	o.logs.mu.Unlock()
	if logText == "" {
		t.Fatal("no logs captured")
	}
	for _, s := range secrets {
		if strings.Contains(logText, s) {
			t.Fatal("the log carries the code or its hash")
		}
	}
	for _, q := range []string{`SELECT coalesce(string_agg(row_to_json(a)::text, ''), '') FROM audit_log a`,
		`SELECT coalesce(string_agg(row_to_json(b)::text, ''), '') FROM backplane_events b`,
		`SELECT coalesce(string_agg(row_to_json(m)::text, ''), '') FROM messages m`} {
		var dump string
		if err := o.srv.Pool.QueryRow(ctx(), q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Fatalf("%s holds the code or its hash", q)
			}
		}
	}
	testkit.Eventually(t, "the turn's records", func() bool { return len(o.tool.Calls()) == 1 })
}

func TestDisconnectWhileParkedOnACodeCancelsTheChallenge(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	o.park(c, sid, 0)
	_ = c.Conn.Close()
	testkit.Eventually(t, "challenge cancelled", func() bool { return o.challengeStatus(sid) == "cancelled" })
	if len(o.tool.Calls()) != 0 {
		t.Fatal("tool called")
	}
}

func TestDeletingTheAgentWhileParkedOnACodeDeniesTheCall(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid := ack.Str("sessionId")
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("I could not do that."))
	if status, raw := o.admin(o.org, "DELETE", "/admin/agents/"+o.agent.ID.String(), nil); status != 204 {
		t.Fatalf("delete agent: %d %s", status, raw)
	}
	o.requireDenied(c, r, "Denied: the agent was deleted.")
	if o.challengeStatus(sid) != "cancelled" {
		t.Fatalf("status %s", o.challengeStatus(sid))
	}
	requireOTPInvalid(t, verify(c, sid, "v-1", code), "v-1", "NOT_FOUND", 0, "No verification is in progress for this session.")
}

func TestTheToolSettingRoundTripsThroughTheAdminAPIAndIsAudited(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	path := "/admin/agents/" + o.agent.ID.String() + "/tools"
	status, raw := o.admin(o.org, "POST", path, map[string]any{"name": "lookup", "description": "Look up.", "url": "https://tools.example.com/x", "requiresVerification": true})
	if status != 201 {
		t.Fatalf("create: %d %s", status, raw)
	}
	created := testkit.DecodeJSON[struct {
		Tool admintest.Tool `json:"tool"`
	}](t, raw).Tool
	if !created.RequiresVerification {
		t.Fatalf("created %s", raw)
	}
	status, raw = o.admin(o.org, "PUT", path+"/"+created.ID, map[string]any{"name": "lookup", "description": "Look up.", "url": "https://tools.example.com/x"})
	if status != 200 || strings.Contains(string(raw), `"requiresVerification":true`) {
		t.Fatalf("update: %d %s", status, raw)
	}
	var fields string
	if err := o.srv.Pool.QueryRow(ctx(), `SELECT details->>'fields' FROM audit_log WHERE action = 'tool.update' ORDER BY at DESC LIMIT 1`).Scan(&fields); err != nil {
		t.Fatal(err)
	}
	if fields != `["requiresVerification"]` {
		t.Fatalf("audit fields %s", fields)
	}
	status, raw = o.admin(o.org, "POST", path, map[string]any{"name": "other", "description": "x", "url": "https://tools.example.com/x", "requiresVerification": "yes"})
	if status != 400 || !strings.Contains(string(raw), `"field":"requiresVerification"`) {
		t.Fatalf("wrong type: %d %s", status, raw)
	}
}

func TestTheConversationShowsTheContactAndWhenItWasVerified(t *testing.T) {
	o := newOTPEnv(t, false, nil)
	c, ack := o.visitor(verifiable())
	sid, conv := ack.Str("sessionId"), ack.Str("conversationId")
	participants := func() []admintest.Participant {
		status, raw := o.admin(o.org, "GET", "/admin/conversations/"+conv, nil)
		if status != 200 {
			t.Fatalf("get conversation: %d %s", status, raw)
		}
		return testkit.DecodeJSON[struct {
			Conversation admintest.Conversation `json:"conversation"`
		}](t, raw).Conversation.Participants
	}
	user := func(ps []admintest.Participant) admintest.Participant {
		for _, p := range ps {
			if p.Type == "user" {
				return p
			}
			if p.ContactEmail != nil || p.ContactEmailVerifiedAt != nil {
				t.Fatalf("agent participant with a contact: %+v", p)
			}
		}
		t.Fatal("no user participant")
		return admintest.Participant{}
	}
	if u := user(participants()); u.ContactEmail == nil || *u.ContactEmail != storedEmail || u.ContactEmailVerifiedAt != nil {
		t.Fatalf("before verification: %+v", u)
	}
	r, code := o.park(c, sid, 0)
	o.gw.Push(textReply("Here are your orders."))
	requireVerified(t, verify(c, sid, "v-1", code), "v-1")
	c.Terminal(r)
	if u := user(participants()); u.ContactEmailVerifiedAt == nil {
		t.Fatalf("after verification: %+v", u)
	}
	// A changed contact email is no longer the verified one.
	if _, err := o.srv.Pool.Exec(ctx(), `UPDATE sessions SET contact_email = 'other@example.com' WHERE id = $1`, sid); err != nil {
		t.Fatal(err)
	}
	if u := user(participants()); u.ContactEmailVerifiedAt != nil || *u.ContactEmail != "other@example.com" {
		t.Fatalf("after the email changed: %+v", u)
	}
}
