package llm

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrorKind says which of the PROTOCOL §6 AGENT_ERROR messages a gateway
// failure maps to.
type ErrorKind int

const (
	// KindStatus: the gateway answered with a non-2xx HTTP status.
	KindStatus ErrorKind = iota + 1
	// KindUnreachable: no HTTP response at all (DNS, connect, TLS, a
	// connection dropped before the response headers).
	KindUnreachable
	// KindTimeout: the gateway sent nothing for the stall timeout, a network
	// timeout fired, or the caller's context deadline passed.
	KindTimeout
	// KindInterrupted: the response started but did not end properly: the
	// connection broke, the gateway sent an error event or a chunk that is
	// not JSON, or the body ended without a finish reason.
	KindInterrupted
)

// Error is a failed model call. Message is the only part meant for a
// client; Error and Unwrap are for the server log.
type Error struct {
	Kind ErrorKind
	// Status is the gateway's HTTP status for KindStatus, else 0.
	Status int

	cause  error
	detail string // cause text with the gateway key redacted
}

// Message returns exactly one of "model gateway error (HTTP <status>)",
// "model gateway unreachable", "model gateway timed out" or "model stream
// interrupted": the suffix of the AGENT_ERROR message
// "agent turn failed: <Message>". It never contains a gateway body, URL or
// key.
func (e *Error) Message() string {
	switch e.Kind {
	case KindStatus:
		return fmt.Sprintf("model gateway error (HTTP %d)", e.Status)
	case KindUnreachable:
		return "model gateway unreachable"
	case KindTimeout:
		return "model gateway timed out"
	default:
		return "model stream interrupted"
	}
}

// Error returns the message followed by the cause, for the server log. The
// cause may quote the gateway's error text and the request URL; the gateway
// key is redacted from it. Never send it to a client.
func (e *Error) Error() string {
	if e.detail == "" {
		return "llm: " + e.Message()
	}
	return "llm: " + e.Message() + ": " + e.detail
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) and
// errors.As(err, *openai.Error) work.
func (e *Error) Unwrap() error { return e.cause }

func newError(kind ErrorKind, status int, cause error, apiKey string) *Error {
	e := &Error{Kind: kind, Status: status, cause: cause}
	if cause != nil {
		e.detail = redact(cause.Error(), apiKey)
	}
	return e
}

// maxDetail bounds how much gateway text one log line can carry.
const maxDetail = 1024

func redact(s, key string) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[REDACTED]")
	}
	if len(s) > maxDetail {
		s = cutUTF8(s, maxDetail) + "…"
	}
	return s
}

// cutUTF8 returns at most the first n bytes of s, cut on a rune boundary so that the
// result stays valid UTF-8 when s is.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// canceledError reports that the caller's context was cancelled. It is not
// an [Error]: a cancelled turn ends with `cancelled`, not AGENT_ERROR. It
// matches both context.Canceled and the context's cause.
type canceledError struct{ cause error }

func (e *canceledError) Error() string {
	if e.cause == nil || e.cause == context.Canceled { //nolint:errorlint // identity on purpose: a cause that wraps Canceled still adds detail
		return "llm: stream cancelled"
	}
	return "llm: stream cancelled: " + e.cause.Error()
}

func (e *canceledError) Unwrap() []error {
	if e.cause == nil {
		return []error{context.Canceled}
	}
	return []error{context.Canceled, e.cause}
}
