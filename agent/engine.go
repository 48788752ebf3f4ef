// Package agent is Switchboard's turn engine (PROTOCOL §7): for one send_message it reads the
// agent, its tools, the org settings and the history from Postgres (LoadInputs, in one round
// trip, which the send_message's checks share), streams the model through the LLM gateway,
// runs tools one at a time behind the approval gate, and records the reply and the turn's
// usage. It reports what happens through a Sink and knows nothing of sockets or frames.
//
// It must never import Fiber or any HTTP server code, cache configuration between turns, hold
// a transaction across a gateway or tool call, or log a gateway key, a signing secret or a
// prompt. Every goroutine it starts belongs to the Engine, which stops and waits for them.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/netguard"
	"github.com/switchboard-dev/switchboard/otp"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
	"github.com/switchboard-dev/switchboard/tracing"
	"github.com/switchboard-dev/switchboard/version"
)

// ErrShuttingDown is the cause a turn is cancelled with when its instance stops: it ends with
// AGENT_ERROR "server is shutting down" rather than silently.
var ErrShuttingDown = errors.New("server is shutting down")

// Deps are what the engine needs from the process.
type Deps struct {
	Config     *config.Config
	Store      *store.Store
	Box        *seal.Box
	Log        *slog.Logger
	InstanceID uuid.UUID
	// Retriever serves knowledge_search and the pre-turn knowledge context; nil retrieves
	// nothing.
	Retriever Retriever
	// GatewayHTTP, when set, makes the requests to the operator's gateway (benchmarks and
	// tests); nil uses a pooled default client.
	GatewayHTTP *http.Client
	// Panics counts the panics contained in turns and tool executors; nil only logs them.
	Panics *panics.Counter
	// Registerer receives the engine's metrics (turns, model calls, tools, approvals); nil
	// keeps them unregistered.
	Registerer prometheus.Registerer
	// Offline is a model this process serves itself, without a gateway (switchboard-demo):
	// a turn whose model is its name always uses it, and, when SWITCHBOARD_DEMO_MODEL is on,
	// so does a turn of an org without any gateway key. The zero value serves none.
	Offline OfflineModel
	// Builtins are the tools of kind "builtin" this process serves, by tool name (the seeded
	// demo's create_ticket, in development). A builtin tool without an entry fails as a tool
	// whose request failed.
	Builtins map[string]tools.Builtin
	// Tracing receives the turn spans; nil traces nothing.
	Tracing *tracing.Provider
	// OTPSender delivers one-time codes (PROTOCOL-1.1 §7.14); nil uses SWITCHBOARD_SMTP_*,
	// and without a mail server verification by code is unavailable.
	OTPSender otp.Sender
}

// OfflineModel is a model served in-process, and the model name that selects it.
type OfflineModel struct {
	Name  string
	Model llm.Model
}

// Engine runs turns. It is safe for concurrent use; build one per process.
type Engine struct {
	cfg        *config.Config
	store      *store.Store
	box        *seal.Box
	log        *slog.Logger
	instanceID uuid.UUID
	retriever  Retriever
	prices     llm.PriceTable
	limits     llm.Limits
	maxReply   int // SWITCHBOARD_MAX_REPLY_BYTES
	panics     *panics.Counter
	exec       *tools.Executor
	serverHTTP *http.Client // SWITCHBOARD_GATEWAY_URL: the operator's own, never restricted
	tenantHTTP *http.Client // a gateway key's own baseUrl: guarded (ADMIN-API §6.4)
	offline    OfflineModel
	builtins   map[string]tools.Builtin
	metrics    *metrics
	tracer     trace.Tracer
	otpSender  otp.Sender  // nil: no mail server, the gate fails closed
	otpHasher  *otp.Hasher // nil without an encryption key: the gate fails closed

	mu     sync.Mutex
	turns  map[*Turn]struct{}
	parks  map[uuid.UUID]*Turn // approval or interaction id → the turn parked on it
	closed bool
	wg     sync.WaitGroup
}

var _ approval.Deliverer = (*Engine)(nil)

// New builds the engine; it fails on an unreadable price table (SWITCHBOARD_PRICE_TABLE).
func New(d Deps) (*Engine, error) {
	prices, err := llm.LoadPriceTable(d.Config.PriceTablePath)
	if err != nil {
		return nil, fmt.Errorf("SWITCHBOARD_PRICE_TABLE: %w", err)
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	serverHTTP := d.GatewayHTTP
	if serverHTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		serverHTTP = &http.Client{Transport: tr}
	}
	limits := llm.Limits{
		ResponseBytes: d.Config.GatewayResponseBytes, EventBytes: d.Config.GatewayEventBytes,
		ToolCalls: d.Config.GatewayToolCalls, ArgumentBytes: d.Config.ToolArgumentBytes,
	}
	if limits.ArgumentBytes <= 0 {
		limits.ArgumentBytes = llm.DefaultArgumentBytes // the result text names it
	}
	maxReply := d.Config.ReplyBytes
	if maxReply <= 0 {
		maxReply = MaxReplyBytes
	}
	if d.Tracing == nil {
		d.Tracing = tracing.Off()
	}
	tracer := d.Tracing.Tracer(TracerName)
	if d.Retriever != nil && d.Tracing.Enabled() {
		d.Retriever = tracedRetriever{r: d.Retriever, tracer: tracer, content: d.Config.TraceContent}
	}
	sender := d.OTPSender
	if sender == nil {
		if s := otp.NewSMTPSender(d.Config.SMTP, d.Config.OTP.TTL); s != nil {
			sender = s
		}
	}
	var hasher *otp.Hasher
	if len(d.Config.EncryptionKey) > 0 {
		if hasher, err = otp.NewHasher(d.Config.EncryptionKey); err != nil {
			return nil, err
		}
	}
	tenantTr := netguard.Transport(d.Config.AllowPrivateGateway)
	tenantTr.MaxIdleConnsPerHost = 64
	e := &Engine{
		cfg: d.Config, store: d.Store, box: d.Box, log: log, instanceID: d.InstanceID,
		retriever: d.Retriever, prices: prices, limits: limits, maxReply: maxReply, panics: d.Panics,
		exec:       tools.NewExecutor(tools.ExecutorConfig{Version: version.Version, AllowPrivate: d.Config.AllowPrivateTools}),
		serverHTTP: serverHTTP,
		tenantHTTP: &http.Client{Transport: tenantTr, CheckRedirect: netguard.NoRedirects},
		offline:    d.Offline,
		builtins:   d.Builtins,
		tracer:     tracer,
		otpSender:  sender,
		otpHasher:  hasher,
		turns:      map[*Turn]struct{}{},
		parks:      map[uuid.UUID]*Turn{},
	}
	e.metrics, err = newMetrics(d.Registerer, func() float64 { return float64(e.pending()) })
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Start runs a turn on its own goroutine. The caller has read spec.Inputs (LoadInputs), then
// stored the user message and sent the 202; sink gets every later event of the turn.
func (e *Engine) Start(spec TurnSpec, sink Sink) *Turn {
	ctx, cancel := context.WithCancelCause(context.Background())
	ctx, span := e.startTurnSpan(ctx, spec)
	t := &Turn{
		e: e, spec: spec, sink: sink, ctx: ctx, cancel: cancel, span: span,
		done:      make(chan struct{}),
		started:   time.Now(),
		decisions: make(chan approval.Decision, 4),
		answers:   make(chan interaction.Answer, 4),
		log: e.log.With("org_id", spec.OrgID, "session_id", spec.SessionID,
			"conversation_id", spec.ConversationID, "request_id", spec.RequestID, "turn_id", spec.TurnID),
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		// Draining refuses turns before they get here; this is the race with the deadline.
		t.stopped = true
		cancel(ErrShuttingDown)
		t.traceFailure(ErrShuttingDown, ErrShuttingDown.Error())
		span.End()
		close(t.done)
		e.metrics.turnEnded("error", ErrShuttingDown.Error(), t.started)
		sink.Failed(agentErrorPrefix + ErrShuttingDown.Error())
		return t
	}
	e.turns[t] = struct{}{}
	e.wg.Add(1)
	e.mu.Unlock()
	t.clock = startClock(e.cfg.TurnTimeout, func() { t.Cancel(errTurnTimedOut) })
	go func() {
		defer e.wg.Done()
		defer e.forget(t)
		t.run()
	}()
	return t
}

func (e *Engine) forget(t *Turn) {
	e.mu.Lock()
	delete(e.turns, t)
	e.mu.Unlock()
}

// Deliver hands a committed decision to the turn parked on it, when that turn runs on this
// instance; otherwise, or when the turn no longer waits on that approval, it does nothing.
func (e *Engine) Deliver(ctx context.Context, d approval.Decision) {
	if d.Traceparent == "" { // decided on this instance
		d.Traceparent = tracing.Traceparent(ctx)
	}
	e.mu.Lock()
	t := e.parks[d.ApprovalID]
	e.mu.Unlock()
	if t == nil || t.spec.OrgID != d.OrgID {
		return
	}
	select {
	case t.decisions <- d:
	default:
		t.log.Warn("approval decision dropped: the turn's decision queue is full", "approval_id", d.ApprovalID)
	}
}

func (e *Engine) registerPark(id uuid.UUID, t *Turn) {
	e.mu.Lock()
	e.parks[id] = t
	e.mu.Unlock()
}

func (e *Engine) unregisterPark(id uuid.UUID) {
	e.mu.Lock()
	delete(e.parks, id)
	e.mu.Unlock()
}

// pending returns how many turns are parked on an approval.
func (e *Engine) pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.parks)
}

// Active returns how many turns are running (parked ones included).
func (e *Engine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.turns)
}

// Close ends every running turn with ErrShuttingDown (their approvals are recorded
// cancelled) and waits for them, at most until ctx is done. No turn starts afterwards.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	running := make([]*Turn, 0, len(e.turns))
	for t := range e.turns {
		running = append(running, t)
	}
	e.mu.Unlock()
	for _, t := range running {
		t.Cancel(ErrShuttingDown)
	}
	waited := make(chan struct{})
	go func() { e.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		e.exec.CloseIdleConnections()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("turns still running after shutdown: %w", ctx.Err())
	}
}

// MaxReplyBytes is the longest reply a turn may have (PROTOCOL-1.1 §1.11), and the default
// and maximum of SWITCHBOARD_MAX_REPLY_BYTES.
const MaxReplyBytes = 131072

// backgroundTimeout bounds the writes a turn makes after it was cancelled.
const backgroundTimeout = 10 * time.Second
