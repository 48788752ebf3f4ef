package cluster_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// TestApprovalsDecidedOnAnotherInstanceResumeTheTurn pins PROTOCOL §11 item 20 and ADMIN-API
// §9.8 across instances: a turn parked on A is decided from B, by the visitor's other
// connection or through the admin API (or cancelled by deleting the agent there), and
// completes on A's socket; a second decision is refused.
func TestApprovalsDecidedOnAnotherInstanceResumeTheTurn(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a, b := c.start(nil), c.start(nil)
	admin := adminToken(t, acme)
	dana := visitorToken(t, "dana")

	t.Run("a confirm on B resumes the turn parked on A", func(t *testing.T) {
		p := c.park(a, dana, c.agent.ID, llmtest.Text("Your subscription is cancelled."))
		other := openWidget(t, b, dana, c.agent.ID, nil) // a second tab of the same visitor
		ack := wstest.Decode[wstest.ConfirmAck](t, other.confirm(true, p.session))
		wantAck := wstest.Envelope[wstest.ConfirmAck]{Type: "immediate_response", RequestID: "cf", Status: 200, Message: "Tool action approved",
			Data: wstest.ConfirmAck{SessionID: p.session, Approved: true, ApprovalID: p.approvalID}}
		if diff := cmp.Diff(wantAck, ack); diff != "" {
			t.Fatalf("ack on B (-want +got):\n%s", diff)
		}
		evs := p.Terminal(p.r)
		want := wstest.ToolResult{Name: "cancel_subscription", Result: "cancelled; access until 2026-01-31"}
		if diff := cmp.Diff(want, toolResult(t, evs)); diff != "" {
			t.Fatalf("toolResult on A (-want +got):\n%s", diff)
		}
		if last := evs[len(evs)-1]; last.Type() != "eventual_response" || last.RequestID() != p.r {
			t.Fatalf("terminal on A: %s", last.Raw)
		}
		if c.tool.Calls() != 1 || c.approvalStatus(p.approvalID) != "approved" {
			t.Fatalf("tool calls %d, status %s", c.tool.Calls(), c.approvalStatus(p.approvalID))
		}
		// A second decision, from either side, finds nothing to decide.
		if ev := other.confirm(false, p.session); ev.Code() != "NO_PENDING_CONFIRMATION" {
			t.Fatalf("second confirm: %s", ev.Raw)
		}
		if r := call(t, b, "POST", "/admin/approvals/"+p.approvalID, admin, map[string]any{"approved": false}); r.status != 409 {
			t.Fatalf("admin after the widget: %d %s", r.status, r.raw)
		}
	})

	t.Run("an admin decision on B resumes the turn parked on A", func(t *testing.T) {
		p := c.park(a, dana, c.agent.ID, llmtest.Text("Left as is."))
		r := call(t, b, "POST", "/admin/approvals/"+p.approvalID, admin, map[string]any{"approved": false, "reason": "not today"})
		if r.status != 200 {
			t.Fatalf("admin decision on B: %d %s", r.status, r.raw)
		}
		if got := testkit.DecodeJSON[admintest.ApprovalAnswer](t, r.raw).Approval; got.Status != "rejected" {
			t.Fatalf("approval after the admin's decision on B: %+v", got)
		}
		evs := p.Terminal(p.r)
		if tr := toolResult(t, evs); !tr.IsError || !strings.Contains(tr.Result, "not today") {
			t.Fatalf("toolResult on A: %+v", tr)
		}
		if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
			t.Fatalf("terminal on A: %s", last.Raw)
		}
		if r := call(t, b, "POST", "/admin/approvals/"+p.approvalID, admin, map[string]any{"approved": true}); r.status != 409 {
			t.Fatalf("second admin decision: %d %s", r.status, r.raw)
		}
		if ev := p.confirm(true, p.session); ev.Code() != "NO_PENDING_CONFIRMATION" {
			t.Fatalf("widget after the admin: %s", ev.Raw)
		}
		if c.tool.Calls() != 1 {
			t.Fatal("a rejected tool ran")
		}
	})

	t.Run("deleting the agent on B cancels the approval parked on A", func(t *testing.T) {
		doomed := c.fx.Agent(c.org, fixture.Agent{ConfirmTools: []string{"cancel_*"}})
		c.addTool(doomed.ID)
		p := c.park(a, "", doomed.ID, llmtest.Text("I could not do that."))
		if r := call(t, b, "DELETE", "/admin/agents/"+doomed.ID.String(), admin, nil); r.status != 204 {
			t.Fatalf("delete on B: %d %s", r.status, r.raw)
		}
		evs := p.Terminal(p.r)
		want := wstest.ToolResult{Name: "cancel_subscription", IsError: true, Result: "Denied: the agent was deleted."}
		if diff := cmp.Diff(want, toolResult(t, evs)); diff != "" {
			t.Fatalf("toolResult on A (-want +got):\n%s", diff)
		}
		if last := evs[len(evs)-1]; last.Type() != "eventual_response" || c.approvalStatus(p.approvalID) != "cancelled" {
			t.Fatalf("terminal %s, status %s", last.Raw, c.approvalStatus(p.approvalID))
		}
	})
}

// TestADecisionForAKilledInstanceExpiresTheApproval: A stops heartbeating without draining
// (as if killed); once its heartbeat is 15 s old, a decision on B finds the turn gone: the
// visitor gets NO_PENDING_CONFIRMATION, the admin 404, and the approvals are expired; one
// nobody decides is recorded expired by the instances' sweepers.
func TestADecisionForAKilledInstanceExpiresTheApproval(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	// A's parked turns outlive the test's decisions; a short drain ends them at cleanup.
	a := c.start(map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "1s"})
	b := c.start(nil)
	dana := visitorToken(t, "dana")
	byWidget := c.park(a, dana, c.agent.ID)
	byAdmin := c.park(a, dana, c.agent.ID)
	bySweeper := c.park(a, dana, c.agent.ID)

	a.StopHeartbeat()
	// Rather than waiting 15 s: A's last heartbeat is made 16 s old.
	if _, err := c.pool.Exec(ctx(), `UPDATE instances SET heartbeat_at = now() - interval '16 seconds' WHERE id = $1`, a.InstanceID()); err != nil {
		t.Fatal(err)
	}
	other := openWidget(t, b, dana, c.agent.ID, nil)
	// The confirm fails whether the decision or B's sweeper records the expiry first.
	if ev := other.confirm(true, byWidget.session); ev.Code() != "NO_PENDING_CONFIRMATION" || ev.RequestID() != "cf" {
		t.Fatalf("confirm for a dead instance: %s", ev.Raw)
	}
	r := call(t, b, "POST", "/admin/approvals/"+byAdmin.approvalID, adminToken(t, acme), map[string]any{"approved": true})
	if r.status != 404 {
		t.Fatalf("admin decision for a dead instance: %d %s", r.status, r.raw)
	}
	if e := testkit.DecodeJSON[admintest.Error](t, r.raw); e.Error.Code != "NOT_FOUND" {
		t.Fatalf("admin decision for a dead instance: %+v", e)
	}
	for _, id := range []string{byWidget.approvalID, byAdmin.approvalID} {
		if s := c.approvalStatus(id); s != "expired" {
			t.Fatalf("approval %s is %s, want expired", id, s)
		}
	}
	testkit.Eventually(t, "a sweeper expires the undecided approval", func() bool { return c.approvalStatus(bySweeper.approvalID) == "expired" })
	if n := metric(t, a, "switchboard_approvals_expired_total") + metric(t, b, "switchboard_approvals_expired_total"); n < 1 {
		t.Fatalf("approvals expired by the sweepers: %v", n)
	}
	if c.tool.Calls() != 0 {
		t.Fatal("the tool ran")
	}
}
