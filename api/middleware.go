package api

import (
	"fmt"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

const localRequestID = "requestId"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// RequestID is the id of the request being served.
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	return ""
}

// requestID adopts a well-formed X-Request-Id or generates a UUIDv4, and echoes it on
// every response.
func requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

// accessLog writes one structured line per request. It logs the path without the query
// string: a /ws query carries the end user's token.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now, so the line shows the real status.
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	s.log.Info("http request",
		"request_id", RequestID(c),
		"method", c.Method(),
		"path", c.Path(),
		"status", c.Response().StatusCode(),
		"duration_ms", time.Since(start).Milliseconds(),
		"ip", c.IP(),
	)
	return nil
}

// recoverPanic turns a panic in a handler into a 500 with the envelope; the panic value
// goes to the log under the request id.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Next()
}
