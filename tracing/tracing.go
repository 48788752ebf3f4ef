// Package tracing sets up OpenTelemetry traces for one process from the standard OTEL_*
// environment variables, and carries trace context where no library does (the backplane).
// Every component takes its tracer from the Provider it is handed; nothing here sets
// OpenTelemetry's global provider, so two servers in one test process trace separately.
//
// It must never turn tracing on without an exporter destination in the environment, start
// an exporter goroutine when tracing is off, or record prompt or reply content itself
// (whether the agent does is SWITCHBOARD_TRACE_CONTENT's business).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchboard-dev/switchboard/version"
)

// ServiceName is the service.name of Switchboard's spans unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const ServiceName = "switchboard"

// Provider is the process's tracer provider: the SDK's with an OTLP exporter, one a test
// hands in, or a no-op one when tracing is off.
type Provider struct {
	trace.TracerProvider
	sdk     *sdktrace.TracerProvider // built here from the environment; nil otherwise
	enabled bool
}

// Off is a provider that records nothing and starts nothing.
func Off() *Provider { return &Provider{TracerProvider: noop.NewTracerProvider()} }

// Use wraps a provider built elsewhere (a test's SDK provider with an in-memory exporter);
// its owner shuts it down.
func Use(tp trace.TracerProvider) *Provider { return &Provider{TracerProvider: tp, enabled: true} }

// Enabled reports whether spans may be recorded. Instrumentation that costs something even
// with a no-op tracer (a database query tracer, a River middleware) is installed only then.
func (p *Provider) Enabled() bool { return p.enabled }

// Shutdown flushes and stops the exporter of a provider built from the environment; for any
// other provider it does nothing.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// FromEnv builds the provider the environment asks for (env is os.LookupEnv in the binary).
// Tracing is on when OTEL_TRACES_EXPORTER is "otlp", or when it is unset and
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; it is off when
// none of them is set, when OTEL_TRACES_EXPORTER is "none", and when OTEL_SDK_DISABLED is
// "true". The exporter speaks OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" (the default) or "grpc". Everything else
// (endpoint, headers, timeout, compression, certificates, OTEL_TRACES_SAMPLER and its
// argument, OTEL_BSP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) the SDK reads itself.
func FromEnv(ctx context.Context, env func(string) (string, bool)) (*Provider, error) {
	on, err := wanted(env)
	if err != nil || !on {
		return Off(), err
	}
	exp, err := exporter(ctx, env)
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(semconv.ServiceName(ServiceName), semconv.ServiceVersion(version.Version)))
	if err == nil {
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults.
		res, err = resource.Merge(res, resource.Environment())
	}
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: sdk, sdk: sdk, enabled: true}, nil
}

func wanted(env func(string) (string, bool)) (bool, error) {
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := get("OTEL_TRACES_EXPORTER"); exp {
	case "":
		return get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported (otlp or none)", exp)
	}
}

func exporter(ctx context.Context, env func(string) (string, bool)) (sdktrace.SpanExporter, error) {
	name := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	proto, _ := env(name)
	if proto == "" {
		name = "OTEL_EXPORTER_OTLP_PROTOCOL"
		proto, _ = env(name)
	}
	switch proto {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s: %q is not supported (http/protobuf or grpc)", name, proto)
	}
}

// propagator is W3C Trace Context: what crosses the backplane.
var propagator = propagation.TraceContext{}

// Traceparent is the W3C traceparent of the span in ctx, "" when there is none.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"]
}

// ParseTraceparent is the span context a traceparent names; an empty or malformed one is
// the invalid (zero) span context.
func ParseTraceparent(tp string) trace.SpanContext {
	if tp == "" {
		return trace.SpanContext{}
	}
	ctx := propagator.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	return trace.SpanContextFromContext(ctx)
}

// ErrorType is the error.type of a failure: its class, never its message, which may quote
// what a visitor sent.
func ErrorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}
