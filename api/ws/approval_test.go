package ws_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// parkedEnv is a session whose turn parks on cancel_subscription.
type parkedEnv struct {
	*env
	c          *wstest.Client
	sid, r     string
	approvalID string
	tool       *toolServer
}

func newParked(t *testing.T, extra map[string]string, after ...llmtest.Response) *parkedEnv {
	t.Helper()
	e := newEnv(t, fixture.Agent{ConfirmTools: []string{"cancel_*"}}, extra)
	ts := newToolServer(t, 200, "cancelled; access until 2026-01-31")
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "cancel_subscription", URL: ts.URL,
		Parameters: `{"type":"object","properties":{"plan":{"type":"string"}}}`})
	e.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "cancel_subscription", Arguments: `{"plan":"pro"}`}))
	e.gw.Push(after...)
	c, ack := e.session()
	p := &parkedEnv{env: e, c: c, sid: ack.Str("sessionId"), tool: ts}
	p.r = send(t, c, p.sid, "Please cancel my subscription.")
	w := c.Next()
	if w.Type() != "write_confirmation_required" {
		t.Fatalf("expected the park first: %s", w.Raw)
	}
	park := wstest.Decode[wstest.Wrapped[wstest.Confirmation]](t, w)
	p.approvalID = park.Data.Data.ApprovalID
	want := wstest.Envelope[wstest.Wrapped[wstest.Confirmation]]{Type: "write_confirmation_required", RequestID: p.r,
		Data: wstest.Wrapped[wstest.Confirmation]{RequestID: p.r, Data: wstest.Confirmation{
			ToolID: "cancel_subscription", ActionDescription: "The agent wants to run 'cancel_subscription'. Allow?",
			ApprovalID: p.approvalID, Arguments: map[string]any{"plan": "pro"},
		}}}
	if diff := cmp.Diff(want, park); diff != "" {
		t.Fatalf("write_confirmation_required (-want +got):\n%s", diff)
	}
	if n := count(t, e, `SELECT count(*) FROM pending_approvals WHERE id = $1 AND status = 'pending' AND instance_id IS NOT NULL`, p.approvalID); n != 1 {
		t.Fatal("approval row missing")
	}
	call := c.Next()
	if call.Type() != "stream_chunk" {
		t.Fatalf("held-back toolCall: %s", call.Raw)
	}
	wantCall := wstest.CallChunk(p.r, wstest.ToolCall{Name: "cancel_subscription", Arguments: map[string]any{"plan": "pro"}})
	if diff := cmp.Diff(wantCall, wstest.Decode[wstest.Chunk](t, call)); diff != "" {
		t.Fatalf("held-back toolCall (-want +got):\n%s", diff)
	}
	return p
}

func (p *parkedEnv) status(t *testing.T) string {
	var s string
	if err := p.srv.Pool.QueryRow(ctx(), `SELECT status FROM pending_approvals WHERE id = $1`, p.approvalID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *parkedEnv) confirm(approved bool, extra map[string]any) wstest.Event {
	f := map[string]any{"action": "confirm_tool_action", "requestId": "cf", "sessionId": p.sid, "approved": approved}
	for k, v := range extra {
		f[k] = v
	}
	return p.c.Request(f)
}

func TestApproveRunsTheTool(t *testing.T) {
	p := newParked(t, nil, llmtest.Text("Done."))
	// Other actions are served while parked.
	if pong := p.c.Request(map[string]any{"action": "ping", "requestId": "pp"}); pong.Type() != "pong" {
		t.Fatalf("ping while parked: %s", pong.Raw)
	}
	wantAck := wstest.Envelope[wstest.ConfirmAck]{Type: "immediate_response", RequestID: "cf", Status: 200, Message: "Tool action approved",
		Data: wstest.ConfirmAck{SessionID: p.sid, Approved: true, ApprovalID: p.approvalID}}
	if diff := cmp.Diff(wantAck, wstest.Decode[wstest.ConfirmAck](t, p.confirm(true, nil))); diff != "" {
		t.Fatalf("ack (-want +got):\n%s", diff)
	}
	evs := p.c.Terminal(p.r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("resumed %v", types(evs))
	}
	want := wstest.ToolResult{Name: "cancel_subscription", Result: "cancelled; access until 2026-01-31"}
	if diff := cmp.Diff(want, toolResult(t, chunks(t, evs)[0])); diff != "" {
		t.Fatalf("resumed tool result (-want +got):\n%s", diff)
	}
	if len(p.tool.Calls()) != 1 || p.status(t) != "approved" {
		t.Fatal("tool not called once, or approval not recorded")
	}
	wstest.RequireError(t, p.confirm(true, nil), "cf", "NO_PENDING_CONFIRMATION", "no tool action is awaiting confirmation for session '"+p.sid+"'")
}

func TestRejectNeverCallsTheTool(t *testing.T) {
	p := newParked(t, nil, llmtest.Text("Left as is."))
	wantAck := wstest.Envelope[wstest.ConfirmAck]{Type: "immediate_response", RequestID: "cf", Status: 200, Message: "Tool action rejected",
		Data: wstest.ConfirmAck{SessionID: p.sid, Approved: false, ApprovalID: p.approvalID}}
	if diff := cmp.Diff(wantAck, wstest.Decode[wstest.ConfirmAck](t, p.confirm(false, map[string]any{"approvalId": p.approvalID}))); diff != "" {
		t.Fatalf("ack (-want +got):\n%s", diff)
	}
	evs := p.c.Terminal(p.r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("resumed %v", types(evs))
	}
	want := wstest.ToolResult{Name: "cancel_subscription", IsError: true, Result: "Denied: the user rejected this action."}
	if diff := cmp.Diff(want, toolResult(t, chunks(t, evs)[0])); diff != "" {
		t.Fatalf("resumed tool result (-want +got):\n%s", diff)
	}
	if len(p.tool.Calls()) != 0 || p.status(t) != "rejected" {
		t.Fatal("tool called or approval not rejected")
	}
	if msgs := p.gw.Request(1).Chat.Messages; msgs[len(msgs)-1].Content != "Denied: the user rejected this action." {
		t.Fatal("the model did not see the rejection")
	}
}

func TestConfirmValidationAndForeignSessions(t *testing.T) {
	p := newParked(t, nil, llmtest.Text("ok"))
	for _, tc := range []struct {
		frame map[string]any
		code  string
	}{
		{map[string]any{"approved": true}, "VALIDATION_ERROR"},
		{map[string]any{"sessionId": p.sid, "approved": "yes"}, "VALIDATION_ERROR"},
		{map[string]any{"sessionId": p.sid, "approved": true, "approvalId": "nope"}, "NO_PENDING_CONFIRMATION"},
	} {
		tc.frame["action"] = "confirm_tool_action"
		if ev := p.c.Request(tc.frame); ev.Code() != tc.code {
			t.Fatalf("%v: %s", tc.frame, ev.Raw)
		}
	}
	// Another visitor cannot decide it.
	if ev := p.dial(nil).Request(map[string]any{"action": "confirm_tool_action", "sessionId": p.sid, "approved": true}); ev.Code() != "NO_PENDING_CONFIRMATION" {
		t.Fatalf("foreign confirm: %s", ev.Raw)
	}
	if p.status(t) != "pending" {
		t.Fatal("a refused confirm changed the approval")
	}
	p.confirm(true, nil)
	p.c.Terminal(p.r)
}

func TestApprovalTimeoutContinuesAsRejectedAndLateConfirmsNeverApplyToTheNextPark(t *testing.T) {
	p := newParked(t, map[string]string{"SWITCHBOARD_APPROVAL_TIMEOUT": "1s"},
		// After the timeout the model tries the same tool again: a new park.
		llmtest.ToolCalls(llmtest.Call{ID: "c2", Name: "cancel_subscription", Arguments: `{"plan":"pro"}`}),
		llmtest.Text("Nothing was changed."),
	)
	timedOut := wstest.ToolResult{Name: "cancel_subscription", IsError: true, Result: "Denied: no decision was made within 1 seconds."}
	res, _ := p.c.WaitFor("stream_chunk")
	if diff := cmp.Diff(timedOut, toolResult(t, chunks(t, []wstest.Event{res})[0])); diff != "" {
		t.Fatalf("timeout result (-want +got):\n%s", diff)
	}
	if p.status(t) != "expired" {
		t.Fatalf("status %s", p.status(t))
	}
	second, _ := p.c.WaitFor("write_confirmation_required")
	if wstest.Decode[wstest.Wrapped[wstest.Confirmation]](t, second).Data.Data.ApprovalID == p.approvalID {
		t.Fatal("the second park reused the approval id")
	}
	p.c.WaitFor("stream_chunk") // its held-back toolCall
	// A late confirm for the first park does not approve the second.
	if ev := p.confirm(true, map[string]any{"approvalId": p.approvalID}); ev.Code() != "NO_PENDING_CONFIRMATION" {
		t.Fatalf("late confirm: %s", ev.Raw)
	}
	evs := p.c.Terminal(p.r)
	if diff := cmp.Diff(timedOut, toolResult(t, chunks(t, evs)[0])); diff != "" {
		t.Fatalf("second park resolved (-want +got):\n%s", diff)
	}
	if len(p.tool.Calls()) != 0 {
		t.Fatal("tool called")
	}
}

func TestCancelWhileParkedRecordsTheApprovalCancelled(t *testing.T) {
	p := newParked(t, nil)
	if ev := p.c.Request(map[string]any{"action": "send_message", "requestId": "r-8", "sessionId": p.sid, "message": "Hello?"}); ev.Code() != "TURN_IN_PROGRESS" {
		t.Fatalf("send while parked: %s", ev.Raw)
	}
	p.c.Send(map[string]any{"action": "cancel", "requestId": p.r})
	if ev := p.c.Next(); ev.Type() != "cancelled" || ev.RequestID() != p.r {
		t.Fatalf("got %s", ev.Raw)
	}
	if p.status(t) != "cancelled" {
		t.Fatalf("status %s", p.status(t))
	}
	if ev := p.confirm(true, nil); ev.Code() != "NO_PENDING_CONFIRMATION" {
		t.Fatalf("confirm after cancel: %s", ev.Raw)
	}
	p.c.Send(map[string]any{"action": "cancel", "requestId": "r-10"})
	p.gw.Push(textReply("Never mind."))
	r := send(t, p.c, p.sid, "Never mind.")
	p.c.Terminal(r)
	if len(p.tool.Calls()) != 0 {
		t.Fatal("tool called")
	}
}

func TestDisconnectWhileParkedRecordsTheApprovalCancelled(t *testing.T) {
	p := newParked(t, nil)
	_ = p.c.Conn.Close()
	testkit.Eventually(t, "approval cancelled", func() bool { return p.status(t) == "cancelled" })
}
