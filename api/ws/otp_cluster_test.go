package ws_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/otp/otptest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// otpCluster is two servers on one database and one mail sink, an agent with the gated
// tool, and a visitor parked on a code on A.
type otpCluster struct {
	a, b       *servetest.Server
	gw         *llmtest.Gateway
	sink       *otptest.Sink
	tool       *toolServer
	onA        *wstest.Client
	ack        wstest.Event
	sid, r     string
	code       string
	challenges func(status string) int
}

func newOTPCluster(t *testing.T) *otpCluster {
	t.Helper()
	gw := llmtest.New(t)
	sink := otptest.Start(t, otptest.Options{})
	url := dbtest.NewURL(t)
	vars := map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-test",
		"SWITCHBOARD_SMTP_URL": sink.URL(), "SWITCHBOARD_SMTP_FROM": "no-reply@acme.example",
	}
	cl := &otpCluster{a: servetest.StartOn(t, url, vars), b: servetest.StartOn(t, url, vars), gw: gw, sink: sink}
	fx := fixture.New(t, cl.a.Pool)
	org := fx.Org(fixture.Org{Name: "Acme"}).ID
	ag := fx.Agent(org, fixture.Agent{})
	cl.tool = newToolServer(t, 200, gatedResult)
	fx.Tool(org, ag.ID, fixture.Tool{Name: gatedTool, URL: cl.tool.URL, RequiresVerification: true})

	cl.onA = wstest.Dial(t, cl.a.WSURL, nil)
	cl.ack = cl.onA.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": ag.ID.String(),
		"supports": []string{"otp_form"}, "userEmail": visitorEmail})
	cl.sid = cl.ack.Str("sessionId")
	gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g1", Name: gatedTool, Arguments: `{}`}))
	cl.r = send(t, cl.onA, cl.sid, "Where are my orders?")
	if _, before := cl.onA.WaitFor("stream_chunk"); len(before) != 2 {
		t.Fatalf("park announced with %d events", len(before))
	}
	cl.code = sink.WaitCount(t, 1)[0].Code(t)
	cl.challenges = func(status string) int {
		var n int
		if err := cl.a.Pool.QueryRow(ctx(), `SELECT count(*) FROM otp_challenges WHERE session_id = $1 AND status = $2`, cl.sid, status).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return cl
}

// resumeOnB is the same visitor on B: a resume grants the conversation, so the first
// session is readable there.
func (cl *otpCluster) resumeOnB(t *testing.T) (*wstest.Client, string) {
	t.Helper()
	onB := wstest.Dial(t, cl.b.WSURL, nil)
	res := onB.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-2", "agentId": cl.ack.Str("agentId"),
		"conversationId": cl.ack.Str("conversationId"), "resumeToken": cl.ack.Str("resumeToken"), "userEmail": visitorEmail})
	if res.Status() != 200 {
		t.Fatalf("resume on B: %s", res.Raw)
	}
	return onB, res.Str("sessionId")
}

func TestChecklist56_VerifyOnAnotherInstanceResumesTheTurnParkedOnACode(t *testing.T) {
	cl := newOTPCluster(t)
	onB, _ := cl.resumeOnB(t)
	// A wrong code on B changes nothing on A.
	requireOTPInvalid(t, verify(onB, cl.sid, "v-1", wrong(cl.code)), "v-1", "INVALID_CODE", 4, "That code is not correct. Try again.")
	if len(cl.tool.Calls()) != 0 || cl.challenges("pending") != 1 {
		t.Fatal("a wrong code on B moved the park")
	}
	// The answer goes to the verifying connection only; the stream to the turn's.
	cl.gw.Push(textReply("Here are your orders."))
	requireVerified(t, verify(onB, cl.sid, "v-2", cl.code), "v-2")
	evs := cl.onA.Terminal(cl.r)
	if got, want := types(evs), []string{"stream_chunk", "stream_token", "eventual_response"}; !cmp.Equal(got, want) {
		t.Fatalf("resumed on A %v, want %v", got, want)
	}
	if diff := cmp.Diff(wstest.ToolResult{Name: gatedTool, Result: gatedResult}, toolResult(t, chunks(t, evs)[0])); diff != "" {
		t.Fatalf("tool result (-want +got):\n%s", diff)
	}
	if len(cl.tool.Calls()) != 1 || cl.challenges("verified") != 1 {
		t.Fatal("the verified call did not run exactly once")
	}
	if ev, err := onB.TryNext(200 * 1e6); err == nil {
		t.Fatalf("B got a turn event: %s", ev.Raw)
	}
}

func TestAGatedToolNeverRunsBeforeVerificationAfterAReconnectOrOnAnotherInstance(t *testing.T) {
	cl := newOTPCluster(t)
	// The visitor reconnects on B: its new session is not verified, and its gated call parks
	// on a code of its own while A's turn still waits.
	onB, sidB := cl.resumeOnB(t)
	cl.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "g2", Name: gatedTool, Arguments: `{}`}))
	cl.gw.Push(textReply("Verify first."))
	rB := send(t, onB, sidB, "Orders, please")
	if ev, _ := onB.WaitFor("otp_verification_required"); ev.RequestID() != rB {
		t.Fatalf("B's turn: %s", ev.Raw)
	}
	onB.WaitFor("stream_chunk")
	codeB := cl.sink.WaitCount(t, 2)[1].Code(t)
	// A's code does not verify B's session, nor B's code A's.
	if cl.code != codeB {
		requireOTPInvalid(t, verify(onB, sidB, "v-1", cl.code), "v-1", "INVALID_CODE", 4, "That code is not correct. Try again.")
		requireOTPInvalid(t, verify(onB, cl.sid, "v-2", codeB), "v-2", "INVALID_CODE", 4, "That code is not correct. Try again.")
	}
	if n := len(cl.tool.Calls()); n != 0 {
		t.Fatalf("the gated tool ran %d times before any verification", n)
	}
	// A drops its socket: its park is cancelled, and its code is worthless afterwards.
	_ = cl.onA.Conn.Close()
	testkit.Eventually(t, "A's challenge cancelled", func() bool { return cl.challenges("cancelled") == 1 })
	requireOTPInvalid(t, verify(onB, cl.sid, "v-3", cl.code), "v-3", "NOT_FOUND", 0, "No verification is in progress for this session.")
	if n := len(cl.tool.Calls()); n != 0 {
		t.Fatalf("the gated tool ran %d times", n)
	}
	// Verifying B's own code runs B's call, once.
	requireVerified(t, verify(onB, sidB, "v-4", codeB), "v-4")
	onB.Terminal(rB)
	if n := len(cl.tool.Calls()); n != 1 {
		t.Fatalf("the gated tool ran %d times", n)
	}
}

func TestAChallengeOfAnInstanceThatDiedIsExpiredByAnyInstance(t *testing.T) {
	cl := newOTPCluster(t)
	onB, _ := cl.resumeOnB(t)
	// A is killed without draining: its instance row is no longer live.
	if _, err := cl.a.Pool.Exec(ctx(), `UPDATE instances SET stopped_at = now() WHERE id = $1`, cl.a.InstanceID()); err != nil {
		t.Fatal(err)
	}
	requireOTPInvalid(t, verify(onB, cl.sid, "v-1", cl.code), "v-1", "EXPIRED", 0, "This code has expired.")
	if cl.challenges("expired") != 1 || len(cl.tool.Calls()) != 0 {
		t.Fatal("the orphaned challenge was not expired, or the tool ran")
	}
}
