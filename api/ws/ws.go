// Package ws serves the widget WebSocket protocol on /ws (docs/spec/PROTOCOL.md, with docs/spec/PROTOCOL-1.1.md): the upgrade,
// frames, every action, and the identity and access rules. Turns run in package agent; this
// package never talks to the LLM gateway or a tool itself.
//
// It must never close a socket for a protocol error, read a frame without a bound, write to
// a socket from any goroutine but the connection's writer, keep session state only in memory
// (everything lives in Postgres, so any instance serves any session), or log a token, a
// resume token or the raw query string of a /ws request.
package ws

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/instance"
	"github.com/switchboard-dev/switchboard/interaction"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/otp"
	"github.com/switchboard-dev/switchboard/ratelimit"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tracing"
)

// Deps are what /ws needs from the process.
type Deps struct {
	Config   *config.Config
	Store    *store.Store
	Box      *seal.Box
	Verifier *auth.Verifier // nil unless JWT key material is configured
	Log      *slog.Logger
	Instance *instance.Instance
	Engine   *agent.Engine
	// Decisions hands confirm_tool_action decisions to turns parked on this instance; nil
	// delivers to Engine.
	Decisions approval.Deliverer
	// Interactions hands submit_interaction answers to turns parked on this instance; nil
	// delivers to Engine.
	Interactions interaction.Deliverer
	// Hub, when set, binds every socket to the backplane (published events reach it) and
	// carries decisions for turns parked on other instances there, published in the deciding
	// transaction. Nil serves this instance alone.
	Hub *backplane.Hub
	// Addrs decides client addresses, shared with the admin API; nil builds one from Config.
	Addrs *api.ClientAddrs
	// Registerer receives the handler's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Panics counts the panics contained in socket writers; nil only logs them.
	Panics *panics.Counter
	// Tracing gives every frame's action a span; nil traces nothing.
	Tracing *tracing.Provider
}

// Handler serves /ws and owns every connection it upgraded.
type Handler struct {
	d         Deps
	log       *slog.Logger
	decisions approval.Deliverer
	// interactions receives the answers to cards parked on this instance.
	interactions interaction.Deliverer
	draining     atomic.Bool
	upgrade      fiber.Handler
	// detach: the server keeps hijacked connections open (Mount), so a connection may leave
	// the upgrade's goroutine.
	detach bool
	addrs  *api.ClientAddrs
	limits *edgeLimits
	tracer trace.Tracer
	// tokenLog samples the log lines of refused /ws tokens, so that a flood of bad tokens
	// cannot flood the log.
	tokenLog *sampler
	// otpHasher checks verify_otp codes (PROTOCOL-1.1 §7.14); nil without an encryption key.
	otpHasher *otp.Hasher

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool // Close is waiting for the connections: no new one registers
	wg      sync.WaitGroup
}

// New builds the handler.
func New(d Deps) *Handler {
	if d.Config == nil {
		d.Config = &config.Config{} // a handler built only for its routes
	}
	h := &Handler{d: d, log: d.Log, decisions: d.Decisions, conns: map[*conn]struct{}{}, addrs: d.Addrs}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.addrs == nil {
		h.addrs = api.NewClientAddrs(d.Config.TrustedProxies, h.log)
	}
	h.limits = newEdgeLimits(d.Config.Limits, nil)
	if d.Tracing == nil {
		d.Tracing = tracing.Off()
	}
	h.tracer = d.Tracing.Tracer(TracerName)
	h.tokenLog = newSampler(tokenLogEvery)
	if len(d.Config.EncryptionKey) > 0 {
		h.otpHasher, _ = otp.NewHasher(d.Config.EncryptionKey) // fails only without a key
	}
	if d.Registerer != nil {
		d.Registerer.MustRegister(h.limits.refused)
	}
	if h.decisions == nil {
		h.decisions = d.Engine
	}
	h.interactions = d.Interactions
	if h.interactions == nil {
		h.interactions = d.Engine
	}
	h.upgrade = websocket.New(h.serveConn, websocket.Config{
		// The origin is checked per agent at create_conversation_session, never here.
		Origins: []string{"*"},
		// An idle socket keeps its read buffer, so it is small: a frame larger than the
		// buffer is read straight into the frame's own buffer. The write buffer is taken
		// from a pool for each message and given back at its end, so an idle socket has none.
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: 4 << 10,
		WriteBufferPool: writeBuffers,
		RecoverHandler:  h.recoverConn,
	})
	return h
}

// readBufferSize is a socket's own read buffer (at least 125 bytes, the largest control
// frame: pings and closes are read through it whole).
const readBufferSize = 1 << 10

// writeBuffers are the write buffers every socket borrows one message at a time.
var writeBuffers = &sync.Pool{}

// Mount registers /ws (for api.New). It also makes the app's server leave hijacked
// connections open when their hijack handler returns (only /ws hijacks), so that an upgraded
// socket can outlive the upgrade's goroutine and request context (detach): every socket is
// then closed by its connection's teardown.
func (h *Handler) Mount(app *fiber.App) {
	app.Server().KeepHijackedConns = true
	h.detach = true
	app.All("/ws", h.serveHTTP)
}

// SetDraining makes the instance refuse upgrades (503) and new sessions and turns
// (SERVER_SHUTTING_DOWN), while existing connections and turns go on (PROTOCOL §1.8).
func (h *Handler) SetDraining() { h.draining.Store(true) }

// Draining reports whether SetDraining was called.
func (h *Handler) Draining() bool { return h.draining.Load() }

// ActiveTurns counts the turns running on this instance's connections.
func (h *Handler) ActiveTurns() int {
	n := 0
	for _, c := range h.snapshot() {
		if c.currentTurn() != nil {
			n++
		}
	}
	return n
}

func (h *Handler) snapshot() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// Close drains: it refuses new work, lets running turns finish until ctx is done, ends the
// rest with AGENT_ERROR "server is shutting down" (their approvals recorded cancelled), then
// closes every socket with 1001 and waits for the connections to end.
func (h *Handler) Close(ctx context.Context) error {
	h.SetDraining()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for h.ActiveTurns() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	endTurns(h.snapshot(), agent.ErrShuttingDown, time.Now().Add(cancelWait))
	// From here no socket registers (one upgraded meanwhile is closed at once), so that the
	// wait below never races a late registration.
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, c := range h.snapshot() {
		c.out.closeAfterFlush(1001)
	}
	waited := make(chan struct{})
	go func() { h.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-time.After(5 * time.Second):
		for _, c := range h.snapshot() {
			c.out.kill()
		}
		<-waited
		return errors.New("ws: connections did not close in time")
	}
}

// turnEnder is what endTurns needs of a connection.
type turnEnder interface {
	endTurn(cause error, by time.Time)
}

// endTurns ends the turns of conns with cause, all at once, each waiting at most until by
// for its records: the drain deadline has passed, and one slow turn must not hold up the
// others (PROTOCOL §1.8 step 4).
func endTurns[C turnEnder](conns []C, cause error, by time.Time) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.endTurn(cause, by)
		}()
	}
	wg.Wait()
}

// connInit is what the upgrade learned, handed to the connection.
type connInit struct {
	principal *principal
	origin    string
	client    client
	upgrade   trace.SpanContext // the upgrade request's span, which every action links to
}

const (
	localConnInit = "switchboard.ws.init"
	localSocket   = "switchboard.ws.socket"
)

// serveHTTP answers a /ws request: checks in the order of PROTOCOL-1.1 §1.1 (426, 503, 429
// for L1 then L2, 401), then the upgrade.
func (h *Handler) serveHTTP(c *fiber.Ctx) error {
	if !validUpgrade(c) {
		return upgradeRequired(c)
	}
	if h.draining.Load() {
		return api.WriteError(c, &api.Error{Status: fiber.StatusServiceUnavailable, Code: codeShuttingDown, Message: msgShuttingDown})
	}
	cl := h.limits.client(h.addrs.Of(c))
	if refused := h.admit(c, cl); refused != nil {
		return writeRateLimited(c, refused)
	}
	p, apiErr := h.authenticate(c)
	if apiErr != nil {
		return api.WriteError(c, apiErr)
	}
	c.Locals(localConnInit, &connInit{principal: p, origin: originOf(c.Get(fiber.HeaderOrigin)), client: cl,
		upgrade: trace.SpanContextFromContext(c.UserContext())})
	if err := h.upgrade(c); err != nil {
		return upgradeRequired(c)
	}
	return nil
}

// admit applies L1 and L2 (PROTOCOL-1.1 §1.10) to an upgrade and returns the refusal, if
// any. The socket's L2 slot is freed when the request's context is released, which fasthttp
// does when the connection ends, whether it was upgraded or not.
func (h *Handler) admit(c *fiber.Ctx, cl client) *protocolError {
	if cl.exempt {
		return nil
	}
	if wait, ok := h.limits.upgrades.Take(cl.key); !ok {
		return h.limits.rateLimited("L1", wait)
	}
	if !h.limits.sockets.Acquire(cl.key) {
		return h.limits.rateLimited("L2", ratelimit.CapRetryAfter)
	}
	c.Locals(localSocket, &socketSlot{release: func() { h.limits.sockets.Release(cl.key) }})
	return nil
}

// socketSlot holds an L2 slot. fasthttp closes it with the request's context, which frees it
// for a request that never became a connection; a connection takes it over (own) and frees it
// when it ends, since the request's context may be released long before that (detach).
type socketSlot struct {
	once    sync.Once
	release func()
	owned   atomic.Bool
}

func (s *socketSlot) Close() error {
	if !s.owned.Load() {
		s.free()
	}
	return nil
}

func (s *socketSlot) free() { s.once.Do(s.release) }

// writeRateLimited writes the 429 of an upgrade: the error envelope with retryAfterMs, and
// Retry-After in whole seconds rounded up (PROTOCOL-1.1 §1.10).
func writeRateLimited(c *fiber.Ctx, e *protocolError) error {
	secs := (e.RetryAfterMs + 999) / 1000
	c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(max(secs, 1), 10))
	return api.WriteError(c, &api.Error{Status: fiber.StatusTooManyRequests, Code: e.Code, Message: e.Message, RetryAfterMs: e.RetryAfterMs})
}

func upgradeRequired(c *fiber.Ctx) error {
	c.Set(fiber.HeaderUpgrade, "websocket")
	return api.WriteError(c, &api.Error{Status: fiber.StatusUpgradeRequired, Code: codeValidation, Message: "expected a WebSocket upgrade request"})
}

// validUpgrade checks what RFC 6455 §4.2.1 requires of the handshake.
func validUpgrade(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodGet &&
		headerHasToken(c.Get(fiber.HeaderConnection), "upgrade") &&
		headerHasToken(c.Get(fiber.HeaderUpgrade), "websocket") &&
		strings.TrimSpace(c.Get("Sec-WebSocket-Version")) == "13" &&
		strings.TrimSpace(c.Get("Sec-WebSocket-Key")) != ""
}

func headerHasToken(v, token string) bool {
	for _, part := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// originOf is the connection's origin (PROTOCOL §1.3): "" for none.
func originOf(h string) string {
	h = strings.TrimSpace(h)
	if h == "null" {
		return ""
	}
	return h
}

// principal is a verified end user (PROTOCOL §1.2).
type principal struct {
	sub, email, name string
	groups           []string
	orgID            uuid.UUID
}

// authenticate verifies ?token= (PROTOCOL §1.2). In lenient mode a missing or invalid token
// gives an anonymous connection; in strict mode it is a 401. A database failure while
// resolving a verified token's org is neither: the token may well be valid, so the upgrade
// is refused with 503 STORAGE_ERROR, which clients retry, in both modes (docs/decisions.md).
func (h *Handler) authenticate(c *fiber.Ctx) (*principal, *api.Error) {
	strict := h.d.Config.WSAuthStrict
	tok := strings.TrimSpace(c.Query("token"))
	if tok == "" {
		if strict {
			return nil, &api.Error{Status: fiber.StatusUnauthorized, Code: "UNAUTHENTICATED", Message: "a token is required"}
		}
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	claims, err := h.d.Verifier.VerifyEndUser(ctx, tok)
	var terr *auth.TokenError
	var orgID uuid.UUID
	if err == nil {
		orgID, err = h.d.Store.ResolveOrg(ctx, claims.Org, false, store.Meta{})
		if errors.Is(err, store.ErrNotFound) {
			err = auth.InvalidToken("the org claim names no existing org")
		} else if err != nil {
			h.log.Error("ws: resolve token org", "request_id", api.RequestID(c), "err", err)
			return nil, &api.Error{Status: fiber.StatusServiceUnavailable, Code: codeStorage, Message: msgStorage}
		}
	}
	if err != nil {
		if !errors.As(err, &terr) {
			terr = auth.InvalidToken("verification failed")
		}
		if strict {
			return nil, &api.Error{Status: fiber.StatusUnauthorized, Code: auth.CodeInvalidToken, Message: terr.Message}
		}
		if ok, suppressed := h.tokenLog.allow(); ok {
			h.log.Info("ws: token refused; the connection is anonymous", "request_id", api.RequestID(c),
				"check", terr.Message, "refusals_not_logged", suppressed)
		}
		return nil, nil
	}
	return &principal{sub: claims.Subject, email: claims.Email, name: claims.Name, groups: claims.Groups, orgID: orgID}, nil
}

// tokenLogEvery bounds the log lines of refused /ws tokens: one, then none for this long.
const tokenLogEvery = 10 * time.Second

// sampler lets one event through per interval and counts the rest.
type sampler struct {
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newSampler(every time.Duration) *sampler { return &sampler{every: every, now: time.Now} }

// allow reports whether this event may be logged and how many were held back since the last
// one that was.
func (s *sampler) allow() (bool, int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.Sub(s.last) < s.every {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}

// recoverConn contains a panic of the upgrade's goroutine: close 1011. The server no longer
// closes hijacked connections itself (Mount), so the socket is closed here.
func (h *Handler) recoverConn(c *websocket.Conn) {
	if r := recover(); r != nil {
		h.log.Error("ws: connection handler panicked", "panic", r)
		_ = c.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(fws.CloseInternalServerErr, ""), time.Now().Add(time.Second))
		_ = c.Close()
	}
}
