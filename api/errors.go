package api

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Error is an API error: an HTTP status, a stable code from the closed table of
// ADMIN-API §1.5, a human message, and, for validation errors, the field at fault.
// Handlers return it; the app's error handler writes the envelope.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// RetryAfterMs, set on the 429 of a /ws upgrade (PROTOCOL-1.1 §1.10), joins the error
	// object at both places; zero leaves it out.
	RetryAfterMs int64
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf-free constructors for the codes handlers use most.
func NotFound(msg string) *Error { return &Error{Status: 404, Code: "NOT_FOUND", Message: msg} }

// Validation is a 400 naming the field at fault ("" when none).
func Validation(field, msg string) *Error {
	return &Error{Status: 400, Code: "VALIDATION_ERROR", Message: msg, Field: field}
}

var (
	errRouteNotFound   = &Error{Status: 404, Code: "NOT_FOUND", Message: "route not found"}
	errPayloadTooLarge = &Error{Status: 413, Code: "PAYLOAD_TOO_LARGE", Message: "request body exceeds the 2097152-byte limit"}
	errInternal        = &Error{Status: 500, Code: "INTERNAL_ERROR", Message: "internal error"}
)

type errorBody struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Field        string `json:"field,omitempty"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

type envelope struct {
	Type      string    `json:"type"`
	RequestID string    `json:"requestId"`
	Error     errorBody `json:"error"`
	Data      struct {
		RequestID string    `json:"requestId"`
		Error     errorBody `json:"error"`
	} `json:"data"`
	Timestamp int64 `json:"timestamp"`
}

// Envelope builds the error body of ADMIN-API §1.5.
func Envelope(requestID string, e *Error) any {
	body := errorBody{Code: e.Code, Message: e.Message, Field: e.Field, RetryAfterMs: e.RetryAfterMs}
	env := envelope{Type: "error", RequestID: requestID, Error: body, Timestamp: time.Now().UnixMilli()}
	env.Data.RequestID = requestID
	env.Data.Error = body
	return env
}

// WriteError writes e as the enveloped JSON answer.
func WriteError(c *fiber.Ctx, e *Error) error {
	if RequestID(c) == "" {
		// Errors raised before any middleware ran (an oversized body) still get an id.
		c.Locals(localRequestID, uuid.NewString())
		c.Set(fiber.HeaderXRequestID, RequestID(c))
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(e.Status).JSON(Envelope(RequestID(c), e), fiber.MIMEApplicationJSONCharsetUTF8)
}

// errorHandler turns every error that reaches Fiber into the envelope: API errors as
// they are, Fiber's own (unknown route, wrong method, oversized body) mapped onto the
// closed code table, and anything else as a logged 500 whose cause stays in the log.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var apiErr *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &fe) && (fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed):
		apiErr = errRouteNotFound
	case errors.As(err, &fe) && fe.Code == fiber.StatusRequestEntityTooLarge:
		apiErr = errPayloadTooLarge
		// Raised before any route ran, so the /admin headers are set here.
		if p := c.Path(); p == "/admin" || strings.HasPrefix(p, "/admin/") {
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		}
	default:
		s.log.Error("request failed", "request_id", RequestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		apiErr = errInternal
	}
	return WriteError(c, apiErr)
}
