package agent

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/llm"
)

// The engine's Prometheus metrics: how turns end and how long they take, what the model calls
// cost and how they fail, tool calls and approvals. No label carries an id, an email or a tool
// name (tool names are the tenants'); the one label a tenant chooses, the model, is bounded by
// modelLabels.

// maxModelLabels is how many distinct model names one process gives a label value of their
// own; every later one shares "other". Models are named by agents and org settings, which
// tenants write, so without a cap a tenant could grow the series without bound.
const maxModelLabels = 50

// maxModelLabelBytes is the longest model name kept as a label value.
const maxModelLabelBytes = 64

type metrics struct {
	turns        *prometheus.CounterVec   // outcome, error
	turnDuration *prometheus.HistogramVec // outcome
	firstToken   *prometheus.HistogramVec // model
	modelCalls   *prometheus.CounterVec   // model
	modelErrors  *prometheus.CounterVec   // model, class
	tokens       *prometheus.CounterVec   // model, direction
	retries      *prometheus.CounterVec   // reason
	toolCalls    *prometheus.CounterVec   // kind, outcome
	toolDuration *prometheus.HistogramVec // kind
	approvals    *prometheus.CounterVec   // outcome
	approvalWait *prometheus.HistogramVec // outcome

	models modelLabels
}

// newMetrics builds the engine's metrics and registers them on reg, unless reg is nil (tests
// that build an engine alone).
func newMetrics(reg prometheus.Registerer, pending func() float64) (*metrics, error) {
	const ns = "switchboard"
	m := &metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "turns_total",
			Help: "Turns ended on this instance, by outcome (completed, error, cancelled) and, for errors, the AGENT_ERROR reason.",
		}, []string{"outcome", "error"}),
		turnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "turn_duration_seconds",
			Help:    "From a turn's start to its end, time parked on approvals included, by outcome.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800},
		}, []string{"outcome"}),
		firstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "turn_time_to_first_token_seconds",
			Help:    "From a turn's start to the first token the visitor gets, for turns whose first model call streams text or reasoning.",
			Buckets: []float64{.05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30, 60},
		}, []string{"model"}),
		modelCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "model_calls_total",
			Help: "Model calls made by turns (one per iteration, retries not counted), by model.",
		}, []string{"model"}),
		modelErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "model_call_errors_total",
			Help: "Model calls that failed, by model and class (http_429, http_4xx, http_5xx, unreachable, timeout, interrupted).",
		}, []string{"model", "class"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "model_tokens_total",
			Help: "Tokens of model calls, by model and direction (input, output); estimated when the gateway reported none.",
		}, []string{"model", "direction"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "model_retries_total",
			Help: "Model requests repeated before their response stream began, by the failure of the attempt before (connection, http_429, http_5xx).",
		}, []string{"reason"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "tool_calls_total",
			Help: "Tool calls asked for by models, by tool kind (http, builtin, knowledge_search, unknown) and outcome.",
		}, []string{"kind", "outcome"}),
		toolDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "tool_call_duration_seconds",
			Help:    "Time to run a tool call that was executed (approval wait excluded), by tool kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "approvals_total",
			Help: "Parks of tool calls ended on this instance, by outcome (approved, rejected, expired, agent_deleted, cancelled).",
		}, []string{"outcome"}),
		approvalWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "approval_wait_seconds",
			Help:    "From a park's approval row to its outcome, by outcome.",
			Buckets: []float64{.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"outcome"}),
		models: modelLabels{max: maxModelLabels, seen: map[string]struct{}{}},
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{
		m.turns, m.turnDuration, m.firstToken, m.modelCalls, m.modelErrors, m.tokens, m.retries,
		m.toolCalls, m.toolDuration, m.approvals, m.approvalWait,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Name: "approvals_pending",
			Help: "Tool calls parked on this instance, waiting for a decision.",
		}, pending),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register turn metrics: %w", err)
		}
	}
	// Series that exist before anything happened, so that rates and alerts see a 0, not a gap.
	m.turns.WithLabelValues("completed", "")
	m.turns.WithLabelValues("cancelled", "")
	for _, r := range []string{retryConnection, retry429, retry5xx} {
		m.retries.WithLabelValues(r)
	}
	for _, o := range []string{"approved", "rejected", "expired", "agent_deleted", "cancelled"} {
		m.approvals.WithLabelValues(o)
	}
	return m, nil
}

// turnEnded counts a turn's end. msg is its AGENT_ERROR suffix, "" for a completed or
// cancelled turn.
func (m *metrics) turnEnded(outcome, msg string, started time.Time) {
	m.turns.WithLabelValues(outcome, errorLabel(msg)).Inc()
	m.turnDuration.WithLabelValues(outcome).Observe(time.Since(started).Seconds())
}

// errorLabel is the label value of an AGENT_ERROR suffix: one of the fixed texts of PROTOCOL
// §6 and PROTOCOL-1.1 §1.11 in snake case, without the HTTP status ("model_gateway_error").
func errorLabel(msg string) string {
	if msg == "" {
		return ""
	}
	if i := strings.Index(msg, " ("); i >= 0 {
		msg = msg[:i]
	}
	switch msg {
	case "model gateway error", "model gateway unreachable", "model gateway timed out", "model stream interrupted",
		errReplyTooLong.Error(), "storage error", ErrShuttingDown.Error(), "internal error":
		return strings.ReplaceAll(msg, " ", "_")
	}
	return "other"
}

// modelCall counts one model call of the turn: its tokens and, when it failed, its class.
func (m *metrics) modelCall(model string, u llm.Usage, err error) {
	label := m.models.label(model)
	m.modelCalls.WithLabelValues(label).Inc()
	m.tokens.WithLabelValues(label, "input").Add(float64(u.PromptTokens))
	m.tokens.WithLabelValues(label, "output").Add(float64(u.CompletionTokens))
	var le *llm.Error
	if errors.As(err, &le) {
		m.modelErrors.WithLabelValues(label, errorClass(le)).Inc()
	}
}

func errorClass(e *llm.Error) string {
	switch e.Kind {
	case llm.KindStatus:
		switch {
		case e.Status == 429:
			return "http_429"
		case e.Status >= 500:
			return "http_5xx"
		}
		return "http_4xx"
	case llm.KindUnreachable:
		return "unreachable"
	case llm.KindTimeout:
		return "timeout"
	}
	return "interrupted"
}

// Reasons of model_retries_total.
const (
	retryConnection = "connection"
	retry429        = "http_429"
	retry5xx        = "http_5xx"
)

// retried counts a request repeated after a failed attempt (llm.Config.OnRetry).
func (m *metrics) retried(r llm.Retry) {
	reason := retryConnection
	switch {
	case r.Status == 429:
		reason = retry429
	case r.Status >= 500:
		reason = retry5xx
	}
	m.retries.WithLabelValues(reason).Inc()
}

// toolCall counts one tool call; d is its run time when it was executed, else 0.
func (m *metrics) toolCall(kind, outcome string, d time.Duration) {
	m.toolCalls.WithLabelValues(kind, outcome).Inc()
	if d > 0 {
		m.toolDuration.WithLabelValues(kind).Observe(d.Seconds())
	}
}

func (m *metrics) approvalEnded(outcome string, waited time.Duration) {
	m.approvals.WithLabelValues(outcome).Inc()
	m.approvalWait.WithLabelValues(outcome).Observe(waited.Seconds())
}

// modelLabels bounds the label values of model names: the first max distinct names one
// process sees keep their own value, later ones become "other", and so does any name that
// could carry something else than a model (longer than maxModelLabelBytes, with an "@", a
// control character, or shaped like a UUID). The empty name is "unknown".
type modelLabels struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func (l *modelLabels) label(model string) string {
	if model == "" {
		return "unknown"
	}
	if !plausibleModel(model) {
		return "other"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[model]; ok {
		return model
	}
	if len(l.seen) >= l.max {
		return "other"
	}
	l.seen[model] = struct{}{}
	return model
}

func plausibleModel(s string) bool {
	if len(s) > maxModelLabelBytes || strings.Contains(s, "@") || s == "other" || s == "unknown" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == 0xFFFD {
			return false
		}
	}
	return !hasUUID(s)
}

// hasUUID reports whether s holds 8-4-4-4-12 hex digits.
func hasUUID(s string) bool {
	const shape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	for i := 0; i+len(shape) <= len(s); i++ {
		ok := true
		for j := 0; j < len(shape) && ok; j++ {
			c := s[i+j]
			if shape[j] == '-' {
				ok = c == '-'
			} else {
				ok = ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
			}
		}
		if ok {
			return true
		}
	}
	return false
}
