package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/tracing"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestTracingIsOnOnlyWithAnExporterDestination pins when FromEnv traces: an OTLP endpoint or
// OTEL_TRACES_EXPORTER=otlp turn it on; nothing, "none" or OTEL_SDK_DISABLED leave it off;
// an exporter or protocol it cannot serve is a startup error.
func TestTracingIsOnOnlyWithAnExporterDestination(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		on, err bool
	}{
		{"nothing set", nil, false, false},
		{"only a service name", map[string]string{"OTEL_SERVICE_NAME": "sb"}, false, false},
		{"an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, false},
		{"a traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, false},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
		{"the otlp exporter named", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false, false},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false, false},
		{"an unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
		{"an unknown protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tracing.FromEnv(context.Background(), lookup(tc.env))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			if p.Enabled() != tc.on {
				t.Fatalf("enabled = %v, want %v", p.Enabled(), tc.on)
			}
			if tc.on {
				return // nothing listens there: no span is made to be exported
			}
			if _, span := p.Tracer("t").Start(context.Background(), "s"); span.SpanContext().IsValid() || span.IsRecording() {
				t.Fatal("tracing off produced a real span")
			}
		})
	}
}

// TestSpansReachTheOTLPEndpoint: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported
// over OTLP/HTTP to it (here a receiver in the test) by the time Shutdown returns.
func TestSpansReachTheOTLPEndpoint(t *testing.T) {
	var posts atomic.Int32
	var path atomic.Value
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		path.Store(r.URL.Path)
		posts.Add(1)
	}))
	defer recv.Close()
	// The exporter reads the process environment itself, as it does in the binary.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	p, err := tracing.FromEnv(context.Background(), func(k string) (string, bool) {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return recv.URL, true
		}
		return "", false
	})
	if err != nil || !p.Enabled() {
		t.Fatalf("FromEnv: %v, enabled %v", err, p != nil && p.Enabled())
	}
	_, span := p.Tracer("t").Start(context.Background(), "exported")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the receiver gets the span", func() bool { return posts.Load() > 0 })
	if got := path.Load(); got != "/v1/traces" {
		t.Fatalf("exported to %v", got)
	}
}

// TestTraceparentRoundTrips: what crosses the backplane names the same span.
func TestTraceparentRoundTrips(t *testing.T) {
	if tracing.Traceparent(context.Background()) != "" || tracing.ParseTraceparent("").IsValid() || tracing.ParseTraceparent("garbage").IsValid() {
		t.Fatal("no span must give no traceparent, and no traceparent no span")
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sc := tracing.ParseTraceparent(tp)
	if !sc.IsValid() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("parsed %v", sc)
	}
}
