package ws

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/internal/panics"
)

// Fixed values of PROTOCOL §1.4, §1.6, §1.7.
const (
	maxQueuedBytes = 8 << 20
	maxEventBytes  = 1 << 20
	pingEvery      = 30 * time.Second
	livenessWindow = 90 * time.Second
	writeWait      = 60 * time.Second
	controlWait    = 5 * time.Second
)

// outbox is a connection's outbound queue and its writer: the one goroutine at a time that
// writes to its socket. Everything else only pushes; push never blocks. The writer exists only
// while there is something to write (events, a ping, a close frame): the first push to an
// idle outbox starts it, and it ends when it finds the queue empty, so that an idle socket
// holds no goroutine for writing. Pings are due every pingEvery, on a timer.
// More than maxQueued bytes unsent (queued, or in the batch the writer holds) closes the
// connection with 1008, and so does a write that stalls for writeWait. No event over 1 MiB is
// ever written (PROTOCOL §1.4).
type outbox struct {
	ws     *websocket.Conn
	log    *slog.Logger
	panics *panics.Counter

	// maxQueued, writeWait and pingEvery are maxQueuedBytes, writeWait and pingEvery; tests
	// shrink them.
	maxQueued int
	writeWait time.Duration
	pingEvery time.Duration
	// write is the writer's body, run on a goroutine of its own; tests replace it.
	write func()

	mu        sync.Mutex
	queue     [][]byte
	bytes     int
	closed    bool // nothing more is accepted
	closeCode int  // set: write what is queued, then this close frame, then close the socket
	pingDue   bool // the ping timer fired: the writer sends a ping next
	writing   bool // a writer is running (or ended the socket: none starts again)
	stopped   bool // shutdown: no writer starts again
	ping      *time.Timer

	// unsent is what the writer took from the queue and has not written yet.
	unsent atomic.Int64

	wg sync.WaitGroup // the writer and an abort, if any

	killed atomic.Bool // the socket is dead: the reader must not extend its deadline
}

func newOutbox(ws *websocket.Conn, log *slog.Logger, p *panics.Counter) *outbox {
	if log == nil {
		log = slog.Default()
	}
	o := &outbox{ws: ws, log: log, panics: p, maxQueued: maxQueuedBytes, writeWait: writeWait, pingEvery: pingEvery}
	o.write = o.run
	return o
}

// start arms the ping timer: from now on a ping is due every pingEvery (PROTOCOL §1.6).
func (o *outbox) start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.stopped {
		o.ping = time.AfterFunc(o.pingEvery, o.pingFired)
	}
}

// pingFired makes a ping due, wakes the writer for it, and arms the timer again, so that
// pings keep their period however long each one waits to be written.
func (o *outbox) pingFired() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped || o.closed {
		return
	}
	o.pingDue = true
	o.wakeLocked()
	o.ping.Reset(o.pingEvery)
}

// wakeLocked starts the writer unless one is running; o.mu is held.
func (o *outbox) wakeLocked() {
	if o.writing || o.stopped {
		return
	}
	o.writing = true
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer o.contain()
		o.write()
	}()
}

// contain ends the socket, not the process, when the writer panics: close 1011, logged with
// its stack, counted.
func (o *outbox) contain() {
	r := recover()
	if r == nil {
		return
	}
	o.panics.Record(o.log, panics.SocketWriter, r)
	o.mu.Lock()
	o.closed, o.queue, o.bytes = true, nil, 0
	o.mu.Unlock()
	o.abort(websocket.CloseInternalServerErr)
}

// push queues one event and wakes the writer; false when the connection no longer accepts
// events.
func (o *outbox) push(ev []byte) bool {
	if !o.hold(ev) {
		return false
	}
	o.signal()
	return true
}

// hold queues one event without waking the writer: it goes out with the next push or signal.
// A turn holds its streamed tokens until it is about to wait for more, so that a burst of
// tokens costs the writer one wake-up, not one each. False when the connection no longer
// accepts events.
func (o *outbox) hold(ev []byte) bool {
	if len(ev) > maxEventBytes {
		ev = o.oversized(ev)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if o.bytes+int(o.unsent.Load())+len(ev) > o.maxQueued {
		o.closed, o.queue, o.bytes = true, nil, 0
		o.wg.Add(1)
		o.mu.Unlock()
		// The writer may be blocked on the slow client; close from the side.
		go func() { defer o.wg.Done(); o.abort(websocket.ClosePolicyViolation) }()
		return false
	}
	o.queue = append(o.queue, ev)
	o.bytes += len(ev)
	o.mu.Unlock()
	return true
}

// oversized stands in for an event over 1 MiB, which the caps of PROTOCOL-1.1 §1.11 should
// have made impossible: an error carrying the event's requestId (AGENT_ERROR for a turn's
// event, whose terminal event it then is), and a log line, since it is a bug.
func (o *outbox) oversized(ev []byte) []byte {
	var head struct {
		Type      string `json:"type"`
		RequestID string `json:"requestId"`
	}
	_ = json.Unmarshal(ev, &head)
	o.log.Error("ws: event over 1 MiB not sent", "type", head.Type, "bytes", len(ev), "ws_request_id", head.RequestID)
	switch head.Type {
	case "stream_token", "stream_reasoning", "stream_chunk", "write_confirmation_required", "eventual_response":
		return errorEvent(head.RequestID, newError(codeAgentError, "agent turn failed: internal error"))
	}
	return errorEvent(head.RequestID, errInternal)
}

// flush wakes the writer when events are queued.
func (o *outbox) flush() { o.signal() }

// signal wakes the writer when events are queued.
func (o *outbox) signal() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) > 0 {
		o.wakeLocked()
	}
}

// closeAfterFlush stops accepting events, writes what is queued, then closes with code.
func (o *outbox) closeAfterFlush(code int) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed, o.closeCode = true, code
	o.wakeLocked()
	o.mu.Unlock()
}

// abort sends a close frame if the socket takes it soon, and kills the socket, which also
// ends the reader.
func (o *outbox) abort(code int) {
	_ = o.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	o.kill()
}

// kill unblocks every read and write on the socket and closes it. The deadlines unblock
// them at once wherever the socket is; Close closes it when the server leaves hijacked
// connections to their handler (Handler.Mount), and is ignored otherwise (fasthttp then
// closes it when the upgrade's goroutine returns).
func (o *outbox) kill() {
	o.killed.Store(true)
	past := time.Now().Add(-time.Second)
	nc := o.ws.NetConn()
	_ = nc.SetReadDeadline(past)
	_ = nc.SetWriteDeadline(past)
	_ = o.ws.Close()
}

// shutdown stops the writer and waits for it; the socket is closed.
func (o *outbox) shutdown() {
	o.mu.Lock()
	o.closed, o.stopped = true, true
	if o.ping != nil {
		o.ping.Stop()
	}
	o.mu.Unlock()
	o.kill()
	o.wg.Wait()
}

// run is the writer: it writes what is due (a ping first, then the queued events in order,
// then the close frame of closeAfterFlush) until nothing is, and ends. After a failed write or
// a close it ends leaving writing set, so that no writer starts again on the dead socket.
func (o *outbox) run() {
	// While the writer runs, the last batch, emptied, becomes the next queue, so that pushes
	// do not allocate; one that grew large is dropped rather than kept.
	const maxSpareEvents, maxIdleQueue = 1024, 8
	var spare [][]byte
	for {
		o.mu.Lock()
		batch, code, ping := o.queue, o.closeCode, o.pingDue
		if o.stopped || (len(batch) == 0 && code == 0 && !ping) {
			// The emptied queue stays for the next burst only when it is small: an idle
			// socket should not keep the capacity of its largest burst.
			if cap(o.queue) > maxIdleQueue {
				o.queue = nil
			}
			o.writing = false
			o.mu.Unlock()
			return
		}
		o.pingDue = false
		o.unsent.Store(int64(o.bytes))
		o.queue, o.bytes = spare, 0
		o.mu.Unlock()
		if ping {
			// A Ping waits behind unread data like any write, so it gets the same deadline.
			if err := o.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(o.writeWait)); err != nil {
				o.writeFailed(err)
				return
			}
		}
		for _, ev := range batch {
			_ = o.ws.SetWriteDeadline(time.Now().Add(o.writeWait))
			if err := o.ws.WriteMessage(websocket.TextMessage, ev); err != nil {
				o.writeFailed(err)
				return
			}
			o.unsent.Add(-int64(len(ev)))
		}
		spare = nil
		if cap(batch) <= maxSpareEvents {
			clear(batch)
			spare = batch[:0]
		}
		if code != 0 {
			o.abort(code)
			return
		}
	}
}

// writeFailed ends the socket after a failed write: a write that stalled for writeWait is a
// client that does not read, closed with 1008 like an overfull queue (PROTOCOL §1.7); any
// other failure means the socket is already gone.
func (o *outbox) writeFailed(err error) {
	o.mu.Lock()
	o.closed, o.queue, o.bytes = true, nil, 0
	o.mu.Unlock()
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		o.closeAfterStall(websocket.ClosePolicyViolation)
		return
	}
	o.kill()
}

// closeAfterStall sends the close frame of a socket whose last write timed out, then kills
// it. The WebSocket library refuses every write after a failed one (the failed write may have
// left half a frame on the wire), so the frame is written to the connection directly; when
// half a frame was left, the client cannot read the close, but it was not reading anyway.
func (o *outbox) closeAfterStall(code int) {
	payload := websocket.FormatCloseMessage(code, "")
	frame := append([]byte{0x88, byte(len(payload))}, payload...) // FIN + close, unmasked
	nc := o.ws.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(frame)
	o.kill()
}
