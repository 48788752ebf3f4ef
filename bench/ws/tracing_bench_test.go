package wsbench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// otlpSink is a local OTLP/HTTP receiver: it decodes each export, counts its spans and
// answers an empty success, as a collector would.
type otlpSink struct {
	*httptest.Server
	spans, exports atomic.Int64
}

func newOTLPSink(b *testing.B) *otlpSink {
	s := &otlpSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err != nil || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				s.spans.Add(int64(len(ss.Spans)))
			}
		}
		s.exports.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(s.Close)
	return s
}

// BenchmarkTracing compares Switchboard with tracing on (the always_on sampler, every span
// exported over OTLP/HTTP to a sink in this process) and off (no OTEL_* variable set), at one
// concurrency (BENCH_CLIENTS, default 16), in one run: each of BENCH_ROUNDS rounds (default
// 9) drives one server and then the other, alternating which goes first, so that both see
// the same machine. The traced server is configured only through the process environment,
// as an operator would: the variables are set while it starts and removed before the other
// starts. Run it with BENCH=BenchmarkTracing bench/ws/run.sh.
func BenchmarkTracing(b *testing.B) {
	clients := envInts("BENCH_CLIENTS", []int{16})[0]
	turns, k, rounds := envInt("BENCH_TURNS", 20), envInt("BENCH_TOKENS", 50), envInt("BENCH_ROUNDS", 9)
	parts := make([]string, k)
	for i := range parts {
		parts[i] = fmt.Sprintf("tok%d ", i)
	}
	gw := llmtest.New(b, llmtest.WithDefault(llmtest.Text(parts...).WithUsage(100, int64(k))), llmtest.WithoutRequestLog())
	vars := with(limitsOff, map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-bench",
		"SWITCHBOARD_DB_MAX_CONNS": "32", "SWITCHBOARD_LOG_LEVEL": "error",
	})
	sink := newOTLPSink(b)
	otel := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": sink.URL, "OTEL_TRACES_SAMPLER": "always_on"}
	for k, v := range otel {
		if err := os.Setenv(k, v); err != nil {
			b.Fatal(err)
		}
	}
	on := servetest.Start(b, vars)
	for k := range otel {
		if err := os.Unsetenv(k); err != nil {
			b.Fatal(err)
		}
	}
	off := servetest.StartOn(b, on.Config.DatabaseURL, vars)
	fx := fixture.New(b, on.Pool)
	ag := fx.Agent(fx.Org(fixture.Org{Name: "Bench"}).ID, fixture.Agent{})
	createSession := sessionCreator(b, ag.ID.String())

	fmt.Printf("tracing on vs off, one after the other: clients=%d turns/client/round=%d tokens/turn=%d rounds=%d GOMAXPROCS=%s\n",
		clients, turns, k, rounds, os.Getenv("GOMAXPROCS"))
	sbOn, sbOff := result{name: "sb-traced", tokensPerTurn: k}, result{name: "sb-untraced", tokensPerTurn: k}
	var ratios []float64
	for round := range rounds {
		var r, o result
		if round%2 == 0 {
			r = drive(b, on.WSURL, clients, turns, k, createSession, on.Pool)
			o = drive(b, off.WSURL, clients, turns, k, createSession, off.Pool)
		} else {
			o = drive(b, off.WSURL, clients, turns, k, createSession, off.Pool)
			r = drive(b, on.WSURL, clients, turns, k, createSession, on.Pool)
		}
		sbOn.add(r)
		sbOff.add(o)
		ratios = append(ratios, r.tokensPerSec()/o.tokensPerSec())
	}
	// The traced server's last spans are exported when it shuts down: count them first.
	if err := on.Shutdown(b.Context()); err != nil {
		b.Fatal(err)
	}
	report(sbOn)
	report(sbOff)
	slices.Sort(ratios)
	fmt.Printf("  tracing on vs off: tokens/s all rounds %.1f%%; per round median %.1f%% (%.1f%% … %.1f%%)\n",
		100*sbOn.tokensPerSec()/sbOff.tokensPerSec(), 100*ratios[len(ratios)/2], 100*ratios[0], 100*ratios[len(ratios)-1])
	fmt.Printf("  exported: %d spans in %d OTLP requests (%.1f spans per traced turn, warm-up and session turns included)\n",
		sink.spans.Load(), sink.exports.Load(), float64(sink.spans.Load())/float64(max(sbOn.turns, 1)))
}
