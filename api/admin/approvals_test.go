package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/instance"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// recorder is a store.DecisionPublisher that remembers calls.
type recorder struct {
	mu        sync.Mutex
	published []approval.Decision
	owners    []uuid.UUID
}

func (r *recorder) PublishDecision(_ context.Context, tx db.DBTX, owner uuid.UUID, d approval.Decision) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.published = append(r.published, d)
	r.owners = append(r.owners, owner)
	return 0, nil
}

func (r *recorder) calls() []approval.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]approval.Decision(nil), r.published...)
}

// startWithDecisions serves the admin API alone (api.New plus admin.Mount, as serve wires
// it) on a real listener and database, with a store built with publish, so the decision
// hand-off can be observed.
func startWithDecisions(t *testing.T, publish store.DecisionPublisher) *server {
	t.Helper()
	url := dbtest.NewURL(t)
	cfg := servetest.Config(t, url, map[string]string{"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE": "0", "SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "0"})
	pool := dbtest.Pool(t, url)
	st := store.New(pool, publish)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	in, err := instance.Register(ctx, st, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); in.Run(ctx) }()
	app := api.New(api.Deps{Pool: pool, Logger: log}, admin.Mount(admin.Deps{
		Config: cfg, Store: st, Box: sealBox(t, nil), AuthMode: auth.ModeAPIKey, Log: log, InstanceID: in.ID,
	})).App()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = app.Listener(ln) }()
	t.Cleanup(func() {
		_ = app.Shutdown()
		<-served
		cancel()
		<-done
	})
	return &server{Server: &servetest.Server{Config: cfg, URL: "http://" + ln.Addr().String(), Pool: pool, Store: st}, logs: &logBuffer{}, fx: fixture.New(t, pool)}
}

func TestAdminDecisionsAreConditionalAndPublished(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := startWithDecisions(t, rec)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 0)
	curator := s.apiKey(t, a, "curator")
	curatorID := s.do(t, "GET", "/admin/me", curator, nil).want(t, 200).str(t, "userId")

	approve := s.seedApproval(t, a, agent, c, "refund", time.Minute)
	reject := s.seedApproval(t, a, agent, c, "refund", time.Minute)
	if l := decode[admintest.ApprovalList](t, s.do(t, "GET", "/admin/approvals", curator, nil).want(t, 200)).Approvals; len(l) != 2 || l[0].ID != approve.String() {
		t.Fatalf("pending list %+v", l)
	}

	// decided is the approval as seeded, with the decision's fields.
	decided := func(got admintest.Approval, id uuid.UUID, status, reason string) admintest.Approval {
		via := "admin"
		want := admintest.Approval{ID: id.String(), Status: status, AgentID: agent.String(), ConversationID: c.conv.String(),
			SessionID: c.session.String(), RequestID: "r-1", ToolName: "refund", Arguments: json.RawMessage(`{"order":"1042"}`),
			CreatedAt: got.CreatedAt, ExpiresAt: got.ExpiresAt, DecidedAt: got.DecidedAt, DecidedVia: &via, DecidedBy: &curatorID}
		if reason != "" {
			want.Reason = &reason
		}
		return want
	}
	got := decode[admintest.ApprovalAnswer](t, s.do(t, "POST", "/admin/approvals/"+approve.String(), curator, map[string]any{"approved": true}).want(t, 200)).Approval
	if got.DecidedAt == nil {
		t.Fatalf("approved without decidedAt: %+v", got)
	}
	if diff := cmp.Diff(decided(got, approve, "approved", ""), got, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("approve (-want +got):\n%s", diff)
	}
	got = decode[admintest.ApprovalAnswer](t, s.do(t, "POST", "/admin/approvals/"+reject.String(), curator, map[string]any{"approved": false, "reason": "Amount above the limit"}).want(t, 200)).Approval
	if diff := cmp.Diff(decided(got, reject, "rejected", "Amount above the limit"), got, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("reject (-want +got):\n%s", diff)
	}
	published := rec.calls()
	if len(published) != 2 || published[0] != (approval.Decision{ApprovalID: approve, OrgID: a.id, Outcome: approval.Approved, Via: "admin"}) ||
		published[1] != (approval.Decision{ApprovalID: reject, OrgID: a.id, Outcome: approval.Rejected, Via: "admin", Reason: "Amount above the limit"}) {
		t.Fatalf("published %+v", published)
	}
	// Already decided: 409, whoever decided; nothing published.
	s.do(t, "POST", "/admin/approvals/"+approve.String(), curator, map[string]any{"approved": false}).wantError(t, 409, "CONFLICT", "-")
	widget := s.seedApproval(t, a, agent, c, "refund", time.Minute)
	via := "widget"
	if _, err := db.New().ApprovalDecide(context.Background(), s.Pool, db.ApprovalDecideParams{Status: "approved", DecidedVia: &via, OrgID: a.id, ID: widget}); err != nil {
		t.Fatal(err)
	}
	s.do(t, "POST", "/admin/approvals/"+widget.String(), curator, map[string]any{"approved": true}).wantError(t, 409, "CONFLICT", "-")

	// Past expiresAt, or owned by a dead instance: 404, and recorded expired.
	expired := s.seedApproval(t, a, agent, c, "refund", -time.Second)
	orphan := s.seedApproval(t, a, agent, c, "refund", time.Minute)
	dead := uuid.New()
	ctx := context.Background()
	if _, err := s.Pool.Exec(ctx, `INSERT INTO instances (id, heartbeat_at) VALUES ($1, now() - interval '1 minute')`, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE pending_approvals SET instance_id = $1 WHERE id = $2`, dead, orphan); err != nil {
		t.Fatal(err)
	}
	cancelled := s.seedApproval(t, a, agent, c, "refund", time.Minute)
	if _, err := db.New().ApprovalFinish(ctx, s.Pool, db.ApprovalFinishParams{Status: "cancelled", OrgID: a.id, ID: cancelled}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uuid.UUID{expired, orphan, cancelled} {
		s.do(t, "POST", "/admin/approvals/"+id.String(), curator, map[string]any{"approved": true}).wantError(t, 404, "NOT_FOUND", "-")
	}
	for id, want := range map[uuid.UUID]string{expired: "expired", orphan: "expired", cancelled: "cancelled"} {
		var st string
		if err := s.Pool.QueryRow(ctx, `SELECT status FROM pending_approvals WHERE id = $1`, id).Scan(&st); err != nil || st != want {
			t.Fatalf("approval %s is %q, want %q (%v)", id, st, want, err)
		}
	}
	if d := rec.calls(); len(d) != 2 {
		t.Fatalf("refused decisions were published: %+v", d)
	}
	if l := s.do(t, "GET", "/admin/approvals", curator, nil).want(t, 200).list(t, "approvals"); len(l) != 0 {
		t.Fatalf("decided or expired approvals are listed: %v", l)
	}
	decides := 0
	for _, row := range s.auditRows(t, a) {
		if row.Action == "approval.decide" {
			decides++
		}
	}
	if decides != 2 {
		t.Fatalf("%d approval.decide rows, want 2", decides)
	}
}

func TestDeletingAnAgentCancelsItsApprovals(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := startWithDecisions(t, rec)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	s.do(t, "POST", "/admin/agents/"+agent.String()+"/tools", a.key, map[string]any{"name": "t", "description": "d", "url": "https://a.example.com"}).want(t, 201)
	c := s.seedChat(t, a, agent, "jwt:u", "", 2)
	p1, p2 := s.seedApproval(t, a, agent, c, "x", time.Minute), s.seedApproval(t, a, agent, c, "y", time.Minute)

	s.do(t, "DELETE", "/admin/agents/"+agent.String(), a.key, nil).want(t, 204)
	published := rec.calls()
	if len(published) != 2 || published[0].Outcome != approval.AgentDeleted || published[1].Outcome != approval.AgentDeleted ||
		(published[0].ApprovalID != p1 && published[0].ApprovalID != p2) {
		t.Fatalf("published %+v", published)
	}
	for _, p := range []string{"/admin/agents/" + agent.String(), "/admin/agents/" + agent.String() + "/tools"} {
		s.do(t, "GET", p, a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	}
	s.do(t, "DELETE", "/admin/agents/"+agent.String(), a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	if l := s.do(t, "GET", "/admin/agents", a.key, nil).want(t, 200).list(t, "agents"); len(l) != 0 {
		t.Fatalf("deleted agent listed: %v", l)
	}
	// Its name is free again; its conversations stay readable.
	s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "SUPPORT"}).want(t, 201)
	s.do(t, "GET", "/admin/conversations/"+c.conv.String()+"/messages", a.key, nil).want(t, 200)
	if l := s.do(t, "GET", "/admin/conversations?agentId="+agent.String(), a.key, nil).want(t, 200).list(t, "conversations"); len(l) != 1 {
		t.Fatalf("conversations of the deleted agent: %v", l)
	}
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pending_approvals WHERE agent_id = $1 AND status = 'cancelled'`, agent).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d cancelled approvals (%v)", n, err)
	}
}

func TestDecisionsArePublishedToTheOwningInstance(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := startWithDecisions(t, rec)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 0)
	p := s.seedApproval(t, a, agent, c, "x", time.Minute)
	q := s.seedApproval(t, a, agent, c, "y", time.Minute)
	s.do(t, "POST", "/admin/approvals/"+p.String(), a.key, map[string]any{"approved": true}).want(t, 200)
	s.do(t, "DELETE", "/admin/agents/"+agent.String(), a.key, nil).want(t, 204)
	published := rec.calls()
	if len(published) != 2 || published[0].ApprovalID != p || published[1].ApprovalID != q ||
		published[1].Outcome != approval.AgentDeleted || rec.owners[0] != s.instanceID(t) {
		t.Fatalf("published %+v", published)
	}
}
