// Package api is Switchboard's HTTP surface: the Fiber app, its middleware, the public
// health endpoints, the REST admin API and the /ws protocol handler. Handlers never write
// SQL or see pgx types; they call the store and the engine, and answer every error in the
// JSON envelope of ADMIN-API §1.5.
package api

import (
	"log/slog"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/tracing"
)

// BodyLimit is the largest request body read (ADMIN-API §1.1).
const BodyLimit = 2 << 20

// Deps are what the server needs from the process.
type Deps struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// ListenerUp reports the backplane listener's health; nil (an API served without a
	// backplane, in tests) leaves it out of /readyz.
	ListenerUp func() bool
	// Metrics is what GET /metrics exposes; nil serves an empty registry.
	Metrics prometheus.Gatherer
	// Timeouts bound every HTTP exchange; zero values leave one unbounded (tests).
	Timeouts config.HTTPTimeouts
	// Tracing, when on, gives every request a server span; nil or off adds no middleware.
	Tracing *tracing.Provider
}

// Server owns the Fiber app and the state its handlers share.
type Server struct {
	app        *fiber.App
	pool       *pgxpool.Pool
	log        *slog.Logger
	listenerUp func() bool
	draining   atomic.Bool
}

// Mount registers one family of routes (the admin API, /ws) on the app.
type Mount func(app *fiber.App)

// New builds the app: shared middleware, the public health endpoints, each mount's routes,
// and last the enveloped 404 for everything else.
func New(d Deps, mounts ...Mount) *Server {
	s := &Server{pool: d.Pool, log: d.Logger, listenerUp: d.ListenerUp}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.app = fiber.New(fiber.Config{
		BodyLimit:      BodyLimit,
		ReadBufferSize: 16 << 10, // JWTs in headers can reach 8 KiB
		// The read buffer goes back to a shared pool once a request is read, and so does the
		// write buffer once a response is written, so that neither an idle keep-alive
		// connection nor an upgraded WebSocket (which never needs them again) keeps its own.
		ReduceMemoryUsage:     true,
		CaseSensitive:         true,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		// fasthttp's read timeout runs from a request's first byte to its last; it is the
		// header timeout here, and HeaderReceived extends it for the body (setTimeouts).
		ReadTimeout:  d.Timeouts.ReadHeader,
		WriteTimeout: d.Timeouts.Write,
		IdleTimeout:  d.Timeouts.Idle,
	})
	setTimeouts(s.app, d.Timeouts)
	s.app.Use(requestID)
	if d.Tracing != nil && d.Tracing.Enabled() {
		s.app.Use(traceRequests(d.Tracing.Tracer(TracerName)))
	}
	s.app.Use(s.accessLog, s.recoverPanic)
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/readyz", s.readyz)
	// GET only: HEAD /metrics is a 404 like every other undefined method.
	s.app.Add(fiber.MethodGet, "/metrics", metricsHandler(d.Metrics))
	for _, m := range mounts {
		m(s.app)
	}
	s.app.Use(func(c *fiber.Ctx) error { return errRouteNotFound })
	return s
}

// setTimeouts gives a request's body its own read timeout once its headers are in, so that a
// slow client is cut off at the header timeout (a slowloris sends headers a byte at a time)
// while an honest upload gets the longer body timeout. A WebSocket, once upgraded, sets its
// own deadlines (PROTOCOL §1.6–1.7).
func setTimeouts(app *fiber.App, t config.HTTPTimeouts) {
	if t.Read <= 0 {
		return
	}
	app.Server().HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
		return fasthttp.RequestConfig{ReadTimeout: t.Read}
	}
}

// App is the Fiber app, for serving and for tests.
func (s *Server) App() *fiber.App { return s.app }

// SetDraining marks the server as draining: /readyz fails from then on.
func (s *Server) SetDraining() { s.draining.Store(true) }
