package llm

import (
	"bytes"
	"errors"
	"io"
)

// Limits bound what one call takes from the gateway, so that a hostile or broken gateway (a
// tenant's own baseUrl) cannot exhaust the server's memory: everything the client buffers is
// counted as it arrives, never copied to be measured. A zero field takes its default.
type Limits struct {
	// ResponseBytes caps the bytes of one call's response body. Crossing it ends the call with
	// KindInterrupted (cause ErrResponseTooLarge).
	ResponseBytes int64
	// EventBytes caps one server-sent event: the bytes of its lines since the last blank
	// line, so also one endless line. Crossing it ends the call with KindInterrupted (cause
	// ErrEventTooLarge).
	EventBytes int64
	// ToolCalls caps the tool calls of one response. Crossing it ends the call with
	// KindInterrupted (cause ErrTooManyToolCalls).
	ToolCalls int
	// ArgumentBytes caps one tool call's argument text. A longer text is not kept: the call
	// comes back with ArgumentsTooLong set and "{}" as its arguments, and the call goes on.
	ArgumentBytes int
}

// Defaults of [Limits]. ArgumentBytes is PROTOCOL-1.1 §1.11's number.
const (
	DefaultResponseBytes = 32 << 20
	DefaultEventBytes    = 1 << 20
	DefaultToolCalls     = 32
	DefaultArgumentBytes = 65536
)

// Sane ranges of gateway-reported usage, per call: a count or cost outside them is a broken
// or hostile gateway, and is clamped (Usage.Clamped says so) so that sums stay far from
// overflow and stored rows and month counters stay writable. The largest context windows
// are a few million tokens; the dearest models cost well under a dollar per thousand.
const (
	MaxReportedTokens  = 10_000_000
	MaxReportedCostUSD = 1000
)

// errorBodyBytes is how much of a non-2xx answer is read; the rest is dropped (its text only
// goes to the log, and openai-go reads an error body whole).
const errorBodyBytes = 64 << 10

// Causes of a call ended by a limit; errors.Is finds them in the [*Error].
var (
	ErrResponseTooLarge = errors.New("gateway response exceeds the byte limit")
	ErrEventTooLarge    = errors.New("gateway sent a server-sent event over the byte limit")
	ErrTooManyToolCalls = errors.New("gateway response has more tool calls than the limit")
)

func (l Limits) withDefaults() Limits {
	if l.ResponseBytes <= 0 {
		l.ResponseBytes = DefaultResponseBytes
	}
	if l.EventBytes <= 0 {
		l.EventBytes = DefaultEventBytes
	}
	if l.ToolCalls <= 0 {
		l.ToolCalls = DefaultToolCalls
	}
	if l.ArgumentBytes <= 0 {
		l.ArgumentBytes = DefaultArgumentBytes
	}
	return l
}

// boundedBody counts a streamed response body as the SSE decoder reads it and fails the read
// that would take it over the response or the event limit, so neither the decoder's line
// buffer nor the event it accumulates can grow past them. It follows the decoder's framing:
// lines end at '\n' (one '\r' before it is dropped) and an empty line ends an event.
type boundedBody struct {
	io.ReadCloser
	left     int64 // response bytes still allowed
	maxEvent int64
	event    int64 // bytes of the current event's finished lines
	line     int64 // bytes of the current, unfinished line
	cr       bool  // the unfinished line ends with a '\r' not yet counted
	err      error
}

func newBoundedBody(rc io.ReadCloser, l Limits) *boundedBody {
	return &boundedBody{ReadCloser: rc, left: l.ResponseBytes, maxEvent: l.EventBytes}
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.ReadCloser.Read(p)
	if n == 0 {
		return n, err
	}
	if b.left -= int64(n); b.left < 0 {
		b.err = ErrResponseTooLarge
		return 0, b.err
	}
	if !b.scan(p[:n]) {
		b.err = ErrEventTooLarge
		return 0, b.err
	}
	return n, err
}

// scan advances the framing over q and reports whether every event stayed within the limit.
func (b *boundedBody) scan(q []byte) bool {
	for len(q) > 0 {
		i := bytes.IndexByte(q, '\n')
		if i < 0 {
			b.add(q)
			break
		}
		seg := q[:i]
		if b.cr && len(seg) > 0 {
			b.line++ // the held '\r' was not the one before '\n'
		}
		b.cr = false
		if n := len(seg); n > 0 && seg[n-1] == '\r' {
			seg = seg[:n-1]
		}
		line := b.line + int64(len(seg))
		b.line = 0
		q = q[i+1:]
		if line == 0 {
			b.event = 0 // a blank line dispatches the event
			continue
		}
		if b.event += line; b.event > b.maxEvent {
			return false
		}
	}
	return b.event+b.line <= b.maxEvent
}

// add counts a piece of an unfinished line; a final '\r' is held back, since the decoder drops
// it when '\n' follows.
func (b *boundedBody) add(q []byte) {
	if b.cr {
		b.line++
	}
	b.cr = q[len(q)-1] == '\r'
	if b.cr {
		q = q[:len(q)-1]
	}
	b.line += int64(len(q))
}
