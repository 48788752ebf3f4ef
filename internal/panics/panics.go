// Package panics is where Switchboard counts the panics it contains: a panic in a turn, a
// tool executor, the backplane dispatcher or a socket writer is recovered where it happens,
// logged with its stack, and counted in switchboard_panics_total{where}, so that one bad
// turn or event never ends the process and every other tenant's work with it.
//
// It holds the metric and the one way to report a recovered value; the recover itself stays
// in the deferred function of the code that knows what to end (recover only works there).
// It must never label the metric with anything but a Where (no org, agent or user id), and
// callers must never pass a prompt, a payload or key material as a log attribute.
package panics

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Where is the one label of switchboard_panics_total: the kind of goroutine a panic was
// contained in. The set is closed, so the metric's cardinality is fixed.
type Where string

// The places a panic is contained.
const (
	// Turn: a turn's own goroutine (the model loop, the engine's sink calls); the turn ends
	// with AGENT_ERROR.
	Turn Where = "turn"
	// Tool: a tool executor (an HTTP tool, a built-in such as knowledge_search, argument
	// validation); the turn ends with AGENT_ERROR.
	Tool Where = "tool"
	// Dispatcher: the backplane's delivery of one event to one socket or internal handler;
	// that delivery is skipped and the others go on.
	Dispatcher Where = "dispatcher"
	// SocketWriter: a WebSocket connection's writer goroutine.
	SocketWriter Where = "socket_writer"
)

var all = []Where{Turn, Tool, Dispatcher, SocketWriter}

// Counter is switchboard_panics_total. The zero value and a nil *Counter count nothing but
// still log, so code under test need not register a metric.
type Counter struct {
	vec *prometheus.CounterVec
}

// NewCounter registers switchboard_panics_total on reg, every label at 0 so that a
// dashboard sees the series before the first panic.
func NewCounter(reg prometheus.Registerer) (*Counter, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Name: "panics_total",
		Help: "Panics recovered and contained, by where they happened (turn, tool, dispatcher, socket_writer).",
	}, []string{"where"})
	for _, w := range all {
		vec.WithLabelValues(string(w))
	}
	if reg != nil {
		if err := reg.Register(vec); err != nil {
			return nil, fmt.Errorf("register switchboard_panics_total: %w", err)
		}
	}
	return &Counter{vec: vec}, nil
}

// Record reports a value recovered at where: one error log line with the value's text, the
// goroutine's stack and attrs (ids that say what was affected, never payloads), and one
// count. Call it from the deferred function that recovered, so that the stack still shows
// where the panic came from.
func (c *Counter) Record(log *slog.Logger, where Where, recovered any, attrs ...any) {
	if log == nil {
		log = slog.Default()
	}
	args := append([]any{"where", string(where), "panic", fmt.Sprint(recovered), "stack", string(debug.Stack())}, attrs...)
	log.Error("panic contained", args...)
	if c != nil && c.vec != nil {
		c.vec.WithLabelValues(string(where)).Inc()
	}
}
