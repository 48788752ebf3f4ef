package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/migrations"
)

type readiness struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Draining bool              `json:"draining"`
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"}, fiber.MIMEApplicationJSONCharsetUTF8)
}

// readyz reports the database, the schema version and (once the backplane runs) the
// listener; any failure, or draining, is a 503 with the same document.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	r := readiness{Status: "ready", Checks: map[string]string{}, Draining: s.draining.Load()}
	ok := !r.Draining

	if _, err := s.pool.Exec(ctx, "SELECT 1"); err != nil {
		r.Checks["database"] = "down"
		r.Checks["schema"] = "unknown"
		ok = false
	} else {
		r.Checks["database"] = "ok"
		if err := migrations.CheckCurrent(ctx, s.pool); err != nil {
			r.Checks["schema"] = "behind"
			ok = false
		} else {
			r.Checks["schema"] = "ok"
		}
	}
	if s.listenerUp != nil {
		if s.listenerUp() {
			r.Checks["listener"] = "ok"
		} else {
			r.Checks["listener"] = "down"
			ok = false
		}
	}
	if !ok {
		r.Status = "unavailable"
		return c.Status(fiber.StatusServiceUnavailable).JSON(r, fiber.MIMEApplicationJSONCharsetUTF8)
	}
	return c.JSON(r, fiber.MIMEApplicationJSONCharsetUTF8)
}
