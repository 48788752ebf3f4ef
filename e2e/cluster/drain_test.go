package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// gatedGateway is an OpenAI-compatible gateway whose one reply streams its first token, then
// waits for release before streaming the rest: a turn that is streaming for as long as the
// test needs.
type gatedGateway struct {
	*httptest.Server
	release chan struct{}
}

func newGatedGateway(t *testing.T) *gatedGateway {
	g := &gatedGateway{release: make(chan struct{})}
	chunk := func(delta, finish string) string {
		fin := "null"
		if finish != "" {
			fin = `"` + finish + `"`
		}
		return fmt.Sprintf(`data: {"id":"g1","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[{"index":0,"delta":{"content":%q},"finish_reason":%s}]}`+"\n\n", delta, fin)
	}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		_, _ = io.WriteString(w, chunk("Hel", ""))
		_ = rc.Flush()
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, chunk("lo!", "stop"))
		_, _ = io.WriteString(w, `data: {"id":"g1","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`+"\n\n")
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(g.Close)
	return g
}

// drain starts a's Shutdown and returns once a reports draining; the channel gets its result.
func drain(t *testing.T, srv *servetest.Server) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	testkit.Eventually(t, "readiness turns 503 while draining", func() bool {
		code, r := readyz(t, srv)
		return code == 503 && r.Draining && r.Status == "unavailable"
	})
	return done
}

func TestDrainLetsAStreamingTurnFinishThenClosesWith1001(t *testing.T) {
	t.Parallel()
	gw := newGatedGateway(t)
	c := newCluster(t, map[string]string{"SWITCHBOARD_GATEWAY_URL": gw.URL + "/v1", "SWITCHBOARD_SHUTDOWN_TIMEOUT": "60s"})
	a, b := c.start(nil), c.start(nil)
	w := openWidget(t, a, "", c.agent.ID, nil)
	r := w.send(t, "Hello?")
	if ev := w.Next(); ev.Type() != "stream_token" || ev.Token() != "Hel" {
		t.Fatalf("first token: %s", ev.Raw)
	}
	done := drain(t, a)

	// While draining, A keeps serving HTTP: upgrades get 503, the admin API answers, and
	// the open socket is served but refuses new sessions.
	if _, res, err := websocket.DefaultDialer.Dial(a.WSURL, nil); err == nil || res == nil || res.StatusCode != 503 {
		t.Fatalf("upgrade while draining: %v %v", err, res)
	}
	if r := call(t, a, "GET", "/admin/me", adminToken(t, acme), nil); r.status != 200 {
		t.Fatalf("admin API while draining: %d %s", r.status, r.raw)
	}
	if ev := w.Request(map[string]any{"action": "create_conversation_session", "requestId": "d1", "agentId": c.agent.ID.String()}); ev.Code() != "SERVER_SHUTTING_DOWN" {
		t.Fatalf("create while draining: %s", ev.Raw)
	}
	// B is not draining.
	if code, _ := readyz(t, b); code != 200 {
		t.Fatalf("B's readiness: %d", code)
	}

	close(gw.release)
	evs := w.Terminal(r)
	last := evs[len(evs)-1]
	if last.Type() != "eventual_response" {
		t.Fatalf("terminal: %s", last.Raw)
	}
	if parts := wstest.Decode[wstest.Wrapped[wstest.Reply]](t, last).Data.Data.Response.ResponseParts; !slices.Equal(parts, []string{"Hello!"}) {
		t.Fatalf("reply parts %q, want [Hello!]", parts)
	}
	expectClose(t, w.Client, websocket.CloseGoingAway)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// Then everything else stopped: A's listener is gone, its instance is marked stopped.
	// (A backend leaves pg_stat_activity a moment after its client has gone.)
	testkit.Eventually(t, "only B's LISTEN connection is left", func() bool {
		var listeners int
		err := c.pool.QueryRow(ctx(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, backplane.ApplicationName).Scan(&listeners)
		return err == nil && listeners == 1
	})
	var live int
	if err := c.pool.QueryRow(ctx(), `SELECT count(*) FROM instances WHERE id = $1 AND stopped_at IS NULL`, a.InstanceID()).Scan(&live); err != nil || live != 0 {
		t.Fatalf("A not marked stopped: %d %v", live, err)
	}
}

// TestAParkedTurnStaysDecidableWhileDraining: a decision made before the drain deadline, on
// the draining instance or another, by the visitor or an admin, resumes the turn, which
// finishes before its socket closes with 1001.
func TestAParkedTurnStaysDecidableWhileDraining(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	b := c.start(nil)
	admin := adminToken(t, acme)
	dana := visitorToken(t, "dana")
	for _, tc := range []struct {
		name   string
		decide func(t *testing.T, a *servetest.Server, p *parked)
	}{
		{"by the visitor on the draining instance", func(t *testing.T, _ *servetest.Server, p *parked) {
			if ack := p.confirm(true, p.session); ack.Message() != "Tool action approved" {
				t.Fatalf("ack: %s", ack.Raw)
			}
		}},
		{"by an admin on the draining instance", func(t *testing.T, a *servetest.Server, p *parked) {
			if r := call(t, a, "POST", "/admin/approvals/"+p.approvalID, admin, map[string]any{"approved": true}); r.status != 200 {
				t.Fatalf("admin on A: %d %s", r.status, r.raw)
			}
		}},
		{"by the visitor on another instance", func(t *testing.T, _ *servetest.Server, p *parked) {
			if ack := openWidget(t, b, dana, c.agent.ID, nil).confirm(true, p.session); ack.Message() != "Tool action approved" {
				t.Fatalf("ack on B: %s", ack.Raw)
			}
		}},
		{"by an admin on another instance", func(t *testing.T, _ *servetest.Server, p *parked) {
			if r := call(t, b, "POST", "/admin/approvals/"+p.approvalID, admin, map[string]any{"approved": true}); r.status != 200 {
				t.Fatalf("admin on B: %d %s", r.status, r.raw)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.start(map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "60s"})
			p := c.park(a, dana, c.agent.ID, llmtest.Text("Done."))
			done := drain(t, a)
			tc.decide(t, a, p)
			evs := p.Terminal(p.r)
			if tr := toolResult(t, evs); tr.IsError {
				t.Fatalf("toolResult: %+v", tr)
			}
			if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
				t.Fatalf("terminal: %s", last.Raw)
			}
			expectClose(t, p.Client, websocket.CloseGoingAway)
			if err := <-done; err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if s := c.approvalStatus(p.approvalID); s != "approved" {
				t.Fatalf("status %s", s)
			}
		})
	}
}

func TestAParkedTurnUndecidedAtTheDrainDeadlineEndsWithAgentErrorAndItsApprovalCancelled(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a := c.start(map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "1s"})
	b := c.start(nil)
	dana := visitorToken(t, "dana")
	p := c.park(a, dana, c.agent.ID)
	done := drain(t, a)

	evs := p.Terminal(p.r)
	if last := evs[len(evs)-1]; last.Code() != "AGENT_ERROR" || last.Message() != "agent turn failed: server is shutting down" || last.RequestID() != p.r {
		t.Fatalf("terminal: %s", last.Raw)
	}
	expectClose(t, p.Client, websocket.CloseGoingAway)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "drain deadline passed") {
		t.Fatalf("shutdown past its deadline: %v", err)
	}
	if s := c.approvalStatus(p.approvalID); s != "cancelled" {
		t.Fatalf("status %s, want cancelled", s)
	}
	// Too late to decide, anywhere.
	if ev := openWidget(t, b, dana, c.agent.ID, nil).confirm(true, p.session); ev.Code() != "NO_PENDING_CONFIRMATION" {
		t.Fatalf("confirm after the deadline: %s", ev.Raw)
	}
	if r := call(t, b, "POST", "/admin/approvals/"+p.approvalID, adminToken(t, acme), map[string]any{"approved": true}); r.status != 404 {
		t.Fatalf("admin after the deadline: %d %s", r.status, r.raw)
	}
	if c.tool.Calls() != 0 {
		t.Fatal("the tool ran")
	}
}
