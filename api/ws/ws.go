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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/instance"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
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
	// Hub, when set, binds every socket to the backplane (published events reach it) and
	// carries decisions for turns parked on other instances there, published in the deciding
	// transaction. Nil serves this instance alone.
	Hub *backplane.Hub
}

// Handler serves /ws and owns every connection it upgraded.
type Handler struct {
	d         Deps
	log       *slog.Logger
	decisions approval.Deliverer
	draining  atomic.Bool
	upgrade   fiber.Handler

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

// New builds the handler.
func New(d Deps) *Handler {
	h := &Handler{d: d, log: d.Log, decisions: d.Decisions, conns: map[*conn]struct{}{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.decisions == nil {
		h.decisions = d.Engine
	}
	h.upgrade = websocket.New(h.serveConn, websocket.Config{
		// The origin is checked per agent at create_conversation_session, never here.
		Origins:         []string{"*"},
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 4 << 10,
		RecoverHandler:  h.recoverConn,
	})
	return h
}

// Mount registers /ws (for api.New).
func (h *Handler) Mount(app *fiber.App) { app.All("/ws", h.serveHTTP) }

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
	for _, c := range h.snapshot() {
		c.endTurn(agent.ErrShuttingDown)
	}
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

// connInit is what the upgrade learned, handed to the connection.
type connInit struct {
	principal *principal
	origin    string
}

const localConnInit = "switchboard.ws.init"

func (h *Handler) serveHTTP(c *fiber.Ctx) error {
	if h.draining.Load() {
		return api.WriteError(c, &api.Error{Status: fiber.StatusServiceUnavailable, Code: codeShuttingDown, Message: msgShuttingDown})
	}
	if !validUpgrade(c) {
		return upgradeRequired(c)
	}
	p, apiErr := h.authenticate(c)
	if apiErr != nil {
		return api.WriteError(c, apiErr)
	}
	c.Locals(localConnInit, &connInit{principal: p, origin: originOf(c.Get(fiber.HeaderOrigin))})
	if err := h.upgrade(c); err != nil {
		return upgradeRequired(c)
	}
	return nil
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
// gives an anonymous connection; in strict mode it is a 401.
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
			return nil, &api.Error{Status: fiber.StatusInternalServerError, Code: codeInternal, Message: msgInternal}
		}
	}
	if err != nil {
		if !errors.As(err, &terr) {
			terr = auth.InvalidToken("verification failed")
		}
		if strict {
			return nil, &api.Error{Status: fiber.StatusUnauthorized, Code: auth.CodeInvalidToken, Message: terr.Message}
		}
		h.log.Info("ws: token refused; the connection is anonymous", "request_id", api.RequestID(c), "check", terr.Message)
		return nil, nil
	}
	return &principal{sub: claims.Subject, email: claims.Email, name: claims.Name, groups: claims.Groups, orgID: orgID}, nil
}

func (h *Handler) recoverConn(c *websocket.Conn) {
	if r := recover(); r != nil {
		h.log.Error("ws: connection handler panicked", "panic", r)
		_ = c.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(fws.CloseInternalServerErr, ""), time.Now().Add(time.Second))
	}
}
