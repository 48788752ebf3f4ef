package ws

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the /ws action spans.
const TracerName = "github.com/switchboard-dev/switchboard/api/ws"

// maxTracedRequestID bounds the visitor's requestId as a span attribute.
const maxTracedRequestID = 128

// startAction starts the span of one frame: "ws {action}" for an action this server knows,
// "ws" for anything else (the name must not echo whatever a visitor sends). Each frame is a
// trace of its own, linked to the socket's upgrade request; a send_message's turn continues
// its trace. The span ends when the frame has been answered.
func (c *conn) startAction(f *frame) (context.Context, trace.Span) {
	name := "ws"
	if _, ok := actions[f.action]; ok {
		name += " " + f.action
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot()}
	if c.upgrade.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: c.upgrade}))
	}
	ctx, span := c.h.tracer.Start(c.ctx, name, opts...)
	if span.IsRecording() {
		attrs := []attribute.KeyValue{attribute.String("switchboard.connection_id", c.id.String())}
		if name != "ws" {
			attrs = append(attrs, attribute.String("switchboard.ws.action", f.action))
		}
		if r := f.requestID; r != "" && len(r) <= maxTracedRequestID {
			attrs = append(attrs, attribute.String("switchboard.ws.request_id", r))
		}
		span.SetAttributes(attrs...)
	}
	return ctx, span
}
