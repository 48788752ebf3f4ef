package ws

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/backplane"
)

// actionTimeout bounds the database work of one frame.
const actionTimeout = 15 * time.Second

// cancelWait bounds how long cancel and disconnect wait for a stopped turn to write its usage.
const cancelWait = 10 * time.Second

// conn is one WebSocket connection. Its frames are read and handled one at a time on the
// goroutine that runs serve; turns run on the engine's goroutines and reach the socket only
// through the outbox.
type conn struct {
	h         *Handler
	ws        *fws.Conn
	id        uuid.UUID
	principal *principal
	origin    string
	client    client     // the client address (PROTOCOL-1.1 §1.9)
	lim       connLimits // L3 and L4
	out       *outbox
	binding   *backplane.Binding // nil without a backplane
	slot      *socketSlot        // the L2 slot, freed at teardown; nil when exempt
	upgrade   trace.SpanContext  // the upgrade request's span
	ctx       context.Context
	cancel    context.CancelFunc

	// Read goroutine only. Slices, not maps: a connection holds one or a few of each (L4
	// bounds the sessions it creates), and an idle socket should not pay for a map.
	//
	// Sessions created or resumed on this connection: their conversations are granted
	// (PROTOCOL §3.3) and their ids never change, so send_message and confirm_tool_action
	// need no lookup for them.
	sessions []sessionKeys
	widgetW  []widgetIdentity // W: the authContext identities verified on this connection

	mu   sync.Mutex
	turn *turnRun
}

// widgetIdentity is one verified authContext user (PROTOCOL §3.1 W).
type widgetIdentity struct {
	org      uuid.UUID
	identity string // ctx:<userId>
}

// serveConn runs on the upgrade's goroutine (fasthttp's hijack handler). When it can, it
// detaches: the connection goes on in a goroutine of its own and serveConn returns, so that
// the upgrade's request context, its copies of the request's headers and query, and the
// stack of the goroutine that served the request are freed instead of being held for the
// socket's lifetime. The connection cannot detach when fasthttp handed over a buffered reader
// (the client sent data behind its upgrade request before the 101): fasthttp reuses that
// reader once serveConn returns, so the connection then stays on this goroutine.
func (h *Handler) serveConn(wc *websocket.Conn) {
	init, _ := wc.Locals(localConnInit).(*connInit)
	if init == nil {
		init = &connInit{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		h: h, ws: wc.Conn, id: uuid.New(), principal: init.principal, origin: init.origin,
		client: init.client, lim: h.limits.forConn(), upgrade: init.upgrade,
		out: newOutbox(wc.Conn, h.log, h.d.Panics), ctx: ctx, cancel: cancel,
	}
	if slot, ok := wc.Locals(localSocket).(*socketSlot); ok {
		slot.owned.Store(true)
		c.slot = slot
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		cancel()
		_ = wc.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(fws.CloseGoingAway, ""), time.Now().Add(controlWait))
		_ = wc.Close()
		c.freeSlot()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	c.out.start()
	if h.detach && readsTheSocket(wc.NetConn()) {
		go c.run()
		return
	}
	c.run()
}

// run serves the connection until its socket fails or closes, then tears it down. A panic
// is contained here: close 1011, logged, and the connection torn down like any other.
func (c *conn) run() {
	defer c.h.wg.Done()
	defer c.teardown()
	defer func() {
		if r := recover(); r != nil {
			c.h.log.Error("ws: connection handler panicked", "panic", r, "connection_id", c.id)
			_ = c.ws.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(fws.CloseInternalServerErr, ""), time.Now().Add(time.Second))
		}
	}()
	c.subscribe()
	c.serve()
}

func (c *conn) freeSlot() {
	if c.slot != nil {
		c.slot.free()
	}
}

// logger is the connection's logger, built for each (rare) line rather than kept by every
// socket.
func (c *conn) logger() *slog.Logger { return c.h.log.With("connection_id", c.id) }

func (c *conn) alive() {
	if !c.out.killed.Load() {
		_ = c.ws.SetReadDeadline(time.Now().Add(livenessWindow))
	}
}

// serve reads frames until the socket fails or closes.
func (c *conn) serve() {
	c.alive()
	c.ws.SetPongHandler(func(string) error { c.alive(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		c.alive()
		err := c.ws.WriteControl(fws.PongMessage, []byte(data), time.Now().Add(controlWait))
		if errors.Is(err, fws.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		c.alive()
		data, oversized, err := readBounded(r)
		if err != nil {
			return
		}
		c.alive()
		c.handle(typ, data, oversized)
	}
}

// readBounded reads one message up to maxFrameBytes and discards the rest of a larger one,
// so that the socket stays usable (PROTOCOL §1.4).
func readBounded(r io.Reader) ([]byte, bool, error) {
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(r, maxFrameBytes+1)); err != nil {
		return nil, false, err
	}
	if b.Len() <= maxFrameBytes {
		return b.Bytes(), false, nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}

// handle answers one message: the action's result, or the one error event fail writes. A
// frame over L3 (PROTOCOL-1.1 §1.10) gets RATE_LIMITED instead of any other answer.
func (c *conn) handle(typ int, data []byte, oversized bool) {
	if wait, ok := c.lim.frames.Take(); !ok {
		c.refuseFrame(typ, data, oversized, wait)
		return
	}
	f, err := readFrame(typ, data, oversized)
	ctx, span := c.startAction(f)
	defer span.End()
	if err == nil {
		err = c.dispatch(ctx, f)
	}
	if err != nil {
		code := c.fail(f, err)
		span.SetStatus(codes.Error, "")
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
	}
}

// refuseFrame answers a frame refused by L3: not processed, parsed only to find a requestId
// to echo.
func (c *conn) refuseFrame(typ int, data []byte, oversized bool, wait time.Duration) {
	requestID := ""
	if typ == fws.TextMessage && !oversized {
		f, _ := parseFrame(data)
		requestID = f.requestID
	}
	c.send(errorEvent(requestID, c.h.limits.rateLimited("L3", wait)))
}

// readFrame applies the bad-frame checks of PROTOCOL §4.11; the frame is never nil.
func readFrame(typ int, data []byte, oversized bool) (*frame, error) {
	switch {
	case oversized:
		return &frame{}, unechoedError(codeValidation, "frame exceeds the 1048576-byte limit")
	case typ != fws.TextMessage:
		return &frame{}, unechoedError(codeValidation, "binary frames are not supported; send JSON text frames")
	}
	return parseFrame(data)
}

func (c *conn) dispatch(ctx context.Context, f *frame) error {
	act, ok := actions[f.action]
	if !ok {
		return unsupported(f.action)
	}
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	return act(c, ctx, f)
}

// action serves one frame. It sends its results itself and returns its failure, which
// handle answers.
type action func(c *conn, ctx context.Context, f *frame) error

var actions map[string]action

func init() {
	actions = map[string]action{
		"ping":                        (*conn).ping,
		"create_conversation_session": (*conn).createSession,
		"get_session":                 (*conn).getSession,
		"get_conversation_messages":   (*conn).getMessages,
		"list_conversations":          (*conn).listConversations,
		"rename_conversation":         (*conn).renameConversation,
		"send_message":                (*conn).sendMessage,
		"cancel":                      (*conn).cancelTurn,
		"confirm_tool_action":         (*conn).confirmToolAction,
		"submit_interaction":          (*conn).submitInteraction,
		"verify_otp":                  (*conn).verifyOTP,
	}
}

func (c *conn) send(ev []byte) { c.out.push(ev) }

func (c *conn) ping(_ context.Context, f *frame) error {
	c.send(pongEvent(f.requestID))
	return nil
}

// teardown runs when the socket is gone (PROTOCOL §1.7): the turn is cancelled without an
// event and its approval recorded cancelled, the writer stops, grants are forgotten.
func (c *conn) teardown() {
	c.unsubscribe()
	c.endTurn(errDisconnected, time.Now().Add(cancelWait))
	c.cancel()
	c.out.shutdown()
	c.freeSlot()
	c.h.mu.Lock()
	delete(c.h.conns, c)
	c.h.mu.Unlock()
}

func (c *conn) currentTurn() *turnRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.turn
}

// endTurn stops the connection's turn, if any, with cause and waits, at most until by, for
// its records to be written. ErrShuttingDown lets the turn send its AGENT_ERROR; any other
// cause (a disconnect) suppresses its events. A turn that had already settled its outcome
// ends with it.
func (c *conn) endTurn(cause error, by time.Time) {
	c.mu.Lock()
	run := c.turn
	c.mu.Unlock()
	if run == nil || run.handle == nil {
		return
	}
	if run.handle.Cancel(cause) && !errors.Is(cause, agent.ErrShuttingDown) {
		c.mu.Lock()
		c.suppressLocked(run)
		c.mu.Unlock()
	}
	wait := time.NewTimer(time.Until(by))
	defer wait.Stop()
	select {
	case <-run.handle.Done():
	case <-wait.C:
		c.logger().Warn("ws: stopped turn did not end in time", "ws_request_id", run.requestID)
	}
	run.release()
}

// suppressLocked drops every later event of run and frees the connection's turn slot; c.mu
// is held.
func (c *conn) suppressLocked(run *turnRun) {
	run.suppressed = true
	if c.turn == run {
		c.turn = nil
	}
}
