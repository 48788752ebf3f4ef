package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves GET /metrics (ADMIN-API §9.1): the Prometheus text exposition format
// of g, public and without CORS. Whoever registers a collector on g keeps org, agent and user
// ids, emails and key material out of its labels. A nil g serves an empty registry.
func metricsHandler(g prometheus.Gatherer) fiber.Handler {
	if g == nil {
		g = prometheus.NewRegistry()
	}
	return adaptor.HTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{
		// One failing collector must not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	}))
}
