package ws_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// panickingTransport is the gateway client's transport, and panics (on the turn's goroutine,
// where the HTTP client runs it) for a request whose body holds the marker.
type panickingTransport struct{ marker []byte }

func (p panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, p.marker) {
		panic("injected: the gateway client panicked")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return http.DefaultTransport.RoundTrip(r)
}

// panickingRetriever is knowledge retrieval that panics for one query, as knowledge_search
// (a tool executor) calls it.
type panickingRetriever struct{ query string }

func (p panickingRetriever) Retrieve(_ context.Context, q agent.RetrievalQuery) ([]agent.Passage, error) {
	if q.Text == p.query {
		panic("injected: a tool executor panicked")
	}
	return nil, nil
}

// metricValue returns the value of one sample line of GET /metrics ("" when absent).
func metricValue(t *testing.T, url, sample string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func TestPanicsInATurnAndAToolEndOnlyThatTurn(t *testing.T) {
	gw := llmtest.New(t)
	srv := servetest.Start(t, map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(),
		"SWITCHBOARD_GATEWAY_KEY": "sk-server-test-key",
	},
		serve.WithGatewayClient(&http.Client{Transport: panickingTransport{marker: []byte("PANIC-IN-TURN")}}),
		serve.WithRetriever(panickingRetriever{query: "PANIC-IN-TOOL"}),
	)
	e := &env{t: t, gw: gw, srv: srv, fx: fixture.New(t, srv.Pool)}
	e.org = e.fx.Org(fixture.Org{Name: "Acme"}).ID
	e.agent = e.fx.Agent(e.org, fixture.Agent{})
	for _, w := range []string{"turn", "tool", "dispatcher", "socket_writer"} {
		if v := metricValue(t, srv.URL, `switchboard_panics_total{where="`+w+`"}`); v != "0" {
			t.Fatalf("panics{where=%q} = %q before any panic", w, v)
		}
	}

	a, ackA := e.session()
	b, ackB := e.session()
	sidA, sidB := ackA.Str("sessionId"), ackB.Str("sessionId")

	// A panic on the turn's goroutine ends that turn, and only it.
	r := send(t, a, sidA, "PANIC-IN-TURN")
	evs := a.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "error" || last.Code() != "AGENT_ERROR" || last.Message() != "agent turn failed: internal error" {
		t.Fatalf("the panicking turn ended with %s", last.Raw)
	}
	gw.Push(textReply("Hello from B"))
	if evs := b.Terminal(send(t, b, sidB, "hello")); evs[len(evs)-1].Type() != "eventual_response" {
		t.Fatalf("another socket's turn: %s", evs[len(evs)-1].Raw)
	}

	// A panic in a tool executor (knowledge_search's retrieval) ends its turn the same way.
	// (A new conversation on the same socket: the marker in the first one's history would
	// reach the gateway client again.)
	ack := a.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-2", "agentId": e.agent.ID.String()})
	if ack.Status() != 200 {
		t.Fatalf("second session: %s", ack.Raw)
	}
	sidA = ack.Str("sessionId")
	gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "call_1", Name: "knowledge_search", Arguments: `{"query":"PANIC-IN-TOOL"}`}).WithUsage(10, 3))
	r = send(t, a, sidA, "search for it")
	evs = a.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "error" || last.Code() != "AGENT_ERROR" || last.Message() != "agent turn failed: internal error" {
		t.Fatalf("the turn whose tool panicked ended with %s (events %v)", last.Raw, types(evs))
	}

	// The same socket takes the next turn; the process serves on.
	gw.Push(textReply("All good"))
	if evs := a.Terminal(send(t, a, sidA, "again")); evs[len(evs)-1].Type() != "eventual_response" {
		t.Fatalf("the next turn on the same socket: %s", evs[len(evs)-1].Raw)
	}
	if v := metricValue(t, srv.URL, `switchboard_panics_total{where="turn"}`); v != "1" {
		t.Errorf(`panics{where="turn"} = %q, want 1`, v)
	}
	if v := metricValue(t, srv.URL, `switchboard_panics_total{where="tool"}`); v != "1" {
		t.Errorf(`panics{where="tool"} = %q, want 1`, v)
	}
	// The turn whose tool panicked had called the gateway: its usage is recorded.
	rows := usageRows(t, e)
	if len(rows) != 3 || rows[1].outcome != "error" || rows[1].requestID != r || rows[1].prompt != 10 {
		t.Errorf("usage rows %+v", rows)
	}
}
