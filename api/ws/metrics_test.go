package ws_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// scrape is one read of a server's GET /metrics.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func (e *env) metrics() scrape { e.t.Helper(); return scrapeMetrics(e.t, e.srv.URL+"/metrics") }

// value is the value of the series of name whose labels are exactly labels ("k=v" pairs):
// a counter's or gauge's value, a histogram's sample count. A missing series is 0.
func (s scrape) value(name string, labels ...string) float64 {
	want := strings.Join(labels, ",")
	for _, m := range s[name].GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(got)
		w := strings.Split(want, ",")
		if want == "" {
			w = nil
		}
		sort.Strings(w)
		if strings.Join(got, ",") != strings.Join(w, ",") {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// wantValues fails the test unless every series has the value given.
func wantValues(t *testing.T, s scrape, want map[string]float64) {
	t.Helper()
	for key, v := range want {
		name, labels, _ := strings.Cut(key, "{")
		labels = strings.TrimSuffix(labels, "}")
		var ls []string
		if labels != "" {
			ls = strings.Split(labels, ",")
		}
		if got := s.value(name, ls...); got != v {
			t.Errorf("%s = %v, want %v", key, got, v)
		}
	}
}

func TestMetricsCountACompletedTurn(t *testing.T) {
	e := newEnv(t, fixture.Agent{Model: "gpt-metrics"}, nil)
	e.gw.Push(llmtest.Text("Hello", " world").WithUsage(10, 2))
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("turn %v", types(evs))
	}
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_turns_total{outcome=completed,error=}":                     1,
		"switchboard_turns_total{outcome=cancelled,error=}":                     0,
		"switchboard_turn_duration_seconds{outcome=completed}":                  1,
		"switchboard_turn_time_to_first_token_seconds{model=gpt-metrics}":       1,
		"switchboard_model_calls_total{model=gpt-metrics}":                      1,
		"switchboard_model_tokens_total{model=gpt-metrics,direction=input}":     10,
		"switchboard_model_tokens_total{model=gpt-metrics,direction=output}":    2,
		"switchboard_model_call_errors_total{model=gpt-metrics,class=http_4xx}": 0,
		"switchboard_turns_active":                                              0,
	})
}

func TestMetricsCountFailingModelCalls(t *testing.T) {
	e := newEnv(t, fixture.Agent{Model: "gpt-metrics"}, nil)
	c, ack := e.session()
	sid := ack.Str("sessionId")
	// A 400 is never retried; a stream broken after its first token cannot be.
	e.gw.Push(llmtest.Error(400, `{"error":{"message":"bad request"}}`))
	evs := c.Terminal(send(t, c, sid, "one"))
	wstest.RequireError(t, evs[len(evs)-1], evs[len(evs)-1].RequestID(), "AGENT_ERROR", "agent turn failed: model gateway error (HTTP 400)")
	e.gw.Push(llmtest.Text("Here are your last", " three").BreakAfter(1))
	evs = c.Terminal(send(t, c, sid, "two"))
	wstest.RequireError(t, evs[len(evs)-1], evs[len(evs)-1].RequestID(), "AGENT_ERROR", "agent turn failed: model stream interrupted")
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_turns_total{outcome=error,error=model_gateway_error}":         1,
		"switchboard_turns_total{outcome=error,error=model_stream_interrupted}":    1,
		"switchboard_turns_total{outcome=completed,error=}":                        0,
		"switchboard_turn_duration_seconds{outcome=error}":                         2,
		"switchboard_model_calls_total{model=gpt-metrics}":                         2,
		"switchboard_model_call_errors_total{model=gpt-metrics,class=http_4xx}":    1,
		"switchboard_model_call_errors_total{model=gpt-metrics,class=interrupted}": 1,
		// Only the broken stream's first token reached the visitor.
		"switchboard_turn_time_to_first_token_seconds{model=gpt-metrics}": 1,
	})
}

func TestMetricsCountACancelledTurn(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("Here is the first part", " and more").StallAfter(1))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "tell me")
	c.WaitFor("stream_token")
	c.Send(map[string]any{"action": "cancel", "requestId": r})
	c.WaitFor("cancelled")
	testkit.Eventually(t, "the cancelled turn counted", func() bool {
		return e.metrics().value("switchboard_turns_total", "outcome=cancelled", "error=") == 1
	})
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_turn_duration_seconds{outcome=cancelled}": 1,
		"switchboard_turns_total{outcome=completed,error=}":    0,
	})
}

func TestMetricsCountToolCalls(t *testing.T) {
	e := newEnv(t, fixture.Agent{Model: "gpt-metrics"}, nil)
	ts := newToolServer(t, 200, `{"status":"shipped"}`)
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "get_order", URL: ts.URL, Parameters: orderSchema})
	e.gw.Push(
		llmtest.ToolCalls(
			llmtest.Call{ID: "c1", Name: "get_order", Arguments: `{"orderId":"A-1"}`},
			llmtest.Call{ID: "c2", Name: "get_order", Arguments: `{"orderId":7}`},
			llmtest.Call{ID: "c3", Name: "no_such_tool", Arguments: `{}`},
		),
		textReply("Shipped."),
	)
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "where is A-1?"))
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" || len(ts.Calls()) != 1 {
		t.Fatalf("turn %v, tool calls %d", types(evs), len(ts.Calls()))
	}
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_tool_calls_total{kind=http,outcome=ok}":                1,
		"switchboard_tool_calls_total{kind=http,outcome=invalid_arguments}": 1,
		"switchboard_tool_calls_total{kind=unknown,outcome=unknown_tool}":   1,
		"switchboard_tool_call_duration_seconds{kind=http}":                 1,
		"switchboard_turns_total{outcome=completed,error=}":                 1,
		"switchboard_model_calls_total{model=gpt-metrics}":                  2,
	})
}

func TestMetricsCountApprovals(t *testing.T) {
	p := newParked(t, nil, llmtest.Text("Done."))
	wantValues(t, p.metrics(), map[string]float64{
		"switchboard_approvals_pending":                       1,
		"switchboard_approvals_total{outcome=approved}":       0,
		"switchboard_approval_wait_seconds{outcome=approved}": 0,
	})
	if ack := p.confirm(true, nil); ack.Status() != 200 {
		t.Fatalf("confirm: %s", ack.Raw)
	}
	p.c.Terminal(p.r)
	wantValues(t, p.metrics(), map[string]float64{
		"switchboard_approvals_pending":                       0,
		"switchboard_approvals_total{outcome=approved}":       1,
		"switchboard_approvals_total{outcome=rejected}":       0,
		"switchboard_approval_wait_seconds{outcome=approved}": 1,
		"switchboard_tool_calls_total{kind=http,outcome=ok}":  1,
	})

	// A rejection on the same server.
	p.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c2", Name: "cancel_subscription", Arguments: `{"plan":"pro"}`}), llmtest.Text("Kept."))
	r := send(t, p.c, p.sid, "Cancel it after all.")
	p.c.WaitFor("write_confirmation_required")
	p.c.Next() // the held-back toolCall
	if ack := p.confirm(false, nil); ack.Status() != 200 {
		t.Fatalf("reject: %s", ack.Raw)
	}
	p.c.Terminal(r)
	wantValues(t, p.metrics(), map[string]float64{
		"switchboard_approvals_total{outcome=rejected}":            1,
		"switchboard_approval_wait_seconds{outcome=rejected}":      1,
		"switchboard_tool_calls_total{kind=http,outcome=rejected}": 1,
	})
}

func TestMetricsCountRateLimitRefusals(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, with(noExemption,
		"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE", "1", "SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE", "1"))
	if _, r := tryDial(t, e.srv.WSURL, nil); r != nil {
		t.Fatalf("first upgrade refused: %d", r.status)
	}
	if _, r := tryDial(t, e.srv.WSURL, nil); r == nil || r.status != 429 {
		t.Fatal("second upgrade not refused")
	}
	// /admin: one failed authentication blocks the address.
	for _, want := range []int{401, 429} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/admin/me", nil)
		req.Header.Set("Authorization", "Bearer wrong")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("GET /admin/me: %d, want %d", res.StatusCode, want)
		}
	}
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_ws_rate_limited_total{limit=L1}":               1,
		"switchboard_admin_rate_limited_total{limit=auth_failures}": 1,
		"switchboard_admin_rate_limited_total{limit=org_requests}":  0,
	})
}

func TestPreStreamGatewayFailuresAreRetriedAndCounted(t *testing.T) {
	e := newEnv(t, fixture.Agent{Model: "gpt-metrics"}, nil)
	e.gw.Push(llmtest.Error(429, ""), llmtest.Error(503, ""), llmtest.Text("Hello", " again").WithUsage(10, 2))
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" || tokens(evs) != "Hello again" {
		t.Fatalf("turn %v, tokens %q", types(evs), tokens(evs))
	}
	if e.gw.RequestCount() != 3 {
		t.Fatalf("gateway requests %d, want 3", e.gw.RequestCount())
	}
	wantValues(t, e.metrics(), map[string]float64{
		"switchboard_model_retries_total{reason=http_429}":   1,
		"switchboard_model_retries_total{reason=http_5xx}":   1,
		"switchboard_model_retries_total{reason=connection}": 0,
		"switchboard_model_calls_total{model=gpt-metrics}":   1,
		"switchboard_turns_total{outcome=completed,error=}":  1,
		// The turn's usage is the successful attempt's.
		"switchboard_model_tokens_total{model=gpt-metrics,direction=input}": 10,
	})
	if rows := usageRows(t, e); len(rows) != 1 || rows[0].prompt != 10 || rows[0].estimated {
		t.Fatalf("usage %+v", rows)
	}
}

func TestFailureAfterTheFirstTokenIsNotRetried(t *testing.T) {
	e := newEnv(t, fixture.Agent{Model: "gpt-metrics"}, nil)
	e.gw.Push(llmtest.Text("Here are your last", " three").BreakAfter(1), textReply("never streamed"))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "hi")
	evs := c.Terminal(r)
	wstest.RequireError(t, evs[len(evs)-1], r, "AGENT_ERROR", "agent turn failed: model stream interrupted")
	if got := tokens(evs); got != "Here are your last" {
		t.Fatalf("tokens %q: the visitor saw text twice or not at all", got)
	}
	if e.gw.RequestCount() != 1 || e.gw.Pending() != 1 {
		t.Fatalf("gateway requests %d: a started stream was repeated", e.gw.RequestCount())
	}
	m := e.metrics()
	for _, reason := range []string{"connection", "http_429", "http_5xx"} {
		if v := m.value("switchboard_model_retries_total", "reason="+reason); v != 0 {
			t.Fatalf("retries{%s} = %v", reason, v)
		}
	}
}
