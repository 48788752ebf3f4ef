package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the HTTP server spans.
const TracerName = "github.com/switchboard-dev/switchboard/api"

// traceRequests starts one server span per HTTP request (named "{method} {route}", with the
// HTTP semantic-convention attributes), continues a W3C traceparent the caller sent, and
// hands the span to the handlers through c.UserContext(). The URL's query string is never
// recorded: a /ws query carries the visitor's token. A /ws upgrade's span ends at the 101;
// each frame on the socket gets its own trace (package ws).
func traceRequests(tracer trace.Tracer) fiber.Handler {
	prop := propagation.TraceContext{}
	return func(c *fiber.Ctx) error {
		ctx := prop.Extract(c.UserContext(), headerCarrier{&c.Request().Header})
		method := c.Method()
		ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.URLPath(c.Path())))
		defer span.End()
		c.SetUserContext(ctx)
		err := c.Next()
		if !span.IsRecording() {
			return err
		}
		// Middleware routes (the 404 fallback) name no route.
		if r := c.Route(); r != nil && r.Method != "USE" {
			span.SetName(method + " " + r.Path)
			span.SetAttributes(semconv.HTTPRoute(r.Path))
		}
		status := c.Response().StatusCode()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status), attribute.String("switchboard.request_id", RequestID(c)))
		if status >= 500 {
			span.SetStatus(codes.Error, "")
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		}
		return err
	}
}

// headerCarrier reads a W3C traceparent from a fasthttp request.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c headerCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, 8)
	c.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
