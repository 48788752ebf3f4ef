package serve

import (
	"context"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/switchboard-dev/switchboard/tracing"
)

// Tracing that libraries do for us: database queries (otelpgx, a span per query inside a
// traced operation, with the SQL text but never its arguments) and River jobs (otelriver,
// with the trace context carried in the job's metadata from the insert to the work). Both
// are installed only when tracing is on; their OpenTelemetry metrics are not wanted (the
// process's metrics are Prometheus's), so they get a no-op meter provider.

// traceQueries adds the query tracer to cc, beside a tracer cc may already have.
func traceQueries(cc *pgx.ConnConfig, p *tracing.Provider) {
	if !p.Enabled() {
		return
	}
	t := otelpgx.NewTracer(otelpgx.WithTracerProvider(p), otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithDisableConnectionDetailsInAttributes(), otelpgx.WithDisableAcquireTracer())
	if cc.Tracer == nil {
		cc.Tracer = t
		return
	}
	cc.Tracer = multitracer.New(cc.Tracer, t)
}

// riverMiddleware is the River middleware that traces job inserts and work.
func riverMiddleware(p *tracing.Provider) []rivertype.Middleware {
	if !p.Enabled() {
		return nil
	}
	return []rivertype.Middleware{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
		TracerProvider: p, MeterProvider: metricnoop.NewMeterProvider(), EnableTracePropagation: true,
		EnableWorkSpanJobKindSuffix: true,
	})}
}

// stopTracing exports the spans still buffered, if this server built its tracer provider.
func (s *Server) stopTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), afterDrain)
	defer cancel()
	if err := s.opts.tracing.Shutdown(ctx); err != nil {
		s.log.Warn("export the last spans", "err", err)
	}
}
