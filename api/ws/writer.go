package ws

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Fixed values of PROTOCOL §1.6, §1.7.
const (
	maxQueuedBytes = 8 << 20
	pingEvery      = 30 * time.Second
	livenessWindow = 90 * time.Second
	writeWait      = 60 * time.Second
	controlWait    = 5 * time.Second
)

// outbox is a connection's outbound queue and the one goroutine that writes to its socket.
// Everything else only pushes; push never blocks. More than maxQueuedBytes unsent closes the
// connection with 1008.
type outbox struct {
	ws *websocket.Conn

	mu        sync.Mutex
	queue     [][]byte
	bytes     int
	closed    bool // nothing more is accepted
	closeCode int  // set: write what is queued, then this close frame, then close the socket

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	wg   sync.WaitGroup // the writer and an abort, if any

	killed atomic.Bool // the socket is dead: the reader must not extend its deadline
}

func newOutbox(ws *websocket.Conn) *outbox {
	return &outbox{ws: ws, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

func (o *outbox) start() {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(o.done)
		o.run()
	}()
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
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if o.bytes+len(ev) > maxQueuedBytes {
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

// flush wakes the writer when events are queued.
func (o *outbox) flush() {
	o.mu.Lock()
	queued := len(o.queue) > 0
	o.mu.Unlock()
	if queued {
		o.signal()
	}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
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
	o.mu.Unlock()
	o.signal()
}

// abort sends a close frame if the socket takes it soon, and kills the socket, which also
// ends the reader.
func (o *outbox) abort(code int) {
	_ = o.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	o.kill()
}

// kill unblocks every read and write on the socket and closes it. A hijacked fasthttp
// connection ignores Close (it closes when the handler returns), so the deadlines do the
// work.
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
	o.closed = true
	o.mu.Unlock()
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	o.kill()
	o.wg.Wait()
}

func (o *outbox) run() {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	// The last batch, emptied, becomes the next queue, so that pushes do not allocate; one
	// that grew large is dropped rather than kept for the connection's lifetime.
	const maxSpareEvents = 1024
	var spare [][]byte
	for {
		select {
		case <-o.stop:
			return
		case <-ping.C:
			if o.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(controlWait)) != nil {
				o.kill()
				return
			}
		case <-o.wake:
			o.mu.Lock()
			batch, code := o.queue, o.closeCode
			o.queue, o.bytes = spare, 0
			o.mu.Unlock()
			for _, ev := range batch {
				_ = o.ws.SetWriteDeadline(time.Now().Add(writeWait))
				if err := o.ws.WriteMessage(websocket.TextMessage, ev); err != nil {
					o.kill()
					return
				}
			}
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
}
