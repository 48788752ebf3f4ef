package ws

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/testkit"
)

// ctlConn is a server-side connection the test controls: its writes can stall (as to a
// client that does not read) until their deadline, or panic once.
type ctlConn struct {
	net.Conn
	stall     atomic.Bool // writes block until their deadline
	stallOnce atomic.Bool // ... and the first one that times out clears stall
	panicNext atomic.Bool
	inWrite   atomic.Bool

	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{}
}

func (c *ctlConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *ctlConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

func (c *ctlConn) Write(p []byte) (int, error) {
	if c.panicNext.CompareAndSwap(true, false) {
		panic("injected socket failure")
	}
	for c.stall.Load() {
		c.inWrite.Store(true)
		c.mu.Lock()
		d, changed := c.deadline, c.changed
		c.mu.Unlock()
		if !d.IsZero() && !time.Now().Before(d) {
			c.inWrite.Store(false)
			if c.stallOnce.Load() {
				c.stall.Store(false)
			}
			return 0, os.ErrDeadlineExceeded
		}
		wait := time.Hour
		if !d.IsZero() {
			wait = time.Until(d)
		}
		select {
		case <-changed:
		case <-time.After(wait):
		}
	}
	return c.Conn.Write(p)
}

// pair is a server-side WebSocket over a ctlConn, and the client talking to it.
type pair struct {
	ctl    *ctlConn
	server *websocket.Conn
	client *websocket.Conn
}

func newPair(t *testing.T) *pair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctls := make(chan *ctlConn, 1)
	servers := make(chan *websocket.Conn, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		servers <- c
	}))
	srv.Listener = &ctlListener{Listener: ln, conns: ctls}
	srv.Start()
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return &pair{ctl: <-ctls, server: <-servers, client: client}
}

type ctlListener struct {
	net.Listener
	conns chan *ctlConn
}

func (l *ctlListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ctl := &ctlConn{Conn: c, changed: make(chan struct{})}
	select {
	case l.conns <- ctl:
	default:
	}
	return ctl, nil
}

// closeCode reads until the connection ends and returns the close code received, 0 for none.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return 0
		}
	}
}

// PROTOCOL §1.7: a write that stalls is a client that does not read: 1008, not a silent drop.
func TestAStalledWriteClosesWith1008(t *testing.T) {
	p := newPair(t)
	o := newOutbox(p.server, nil, nil)
	o.writeWait = 50 * time.Millisecond
	p.ctl.stall.Store(true)
	p.ctl.stallOnce.Store(true)
	o.start()
	defer o.shutdown()
	o.push([]byte(`{"type":"pong"}`))
	if code := closeCode(t, p.client); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

// The 8 MiB cap counts the batch the writer holds, not only what is still queued.
func TestTheQueueCapCountsTheBatchBeingWritten(t *testing.T) {
	p := newPair(t)
	o := newOutbox(p.server, nil, nil)
	o.maxQueued = 1000
	p.ctl.stall.Store(true) // the client does not read
	o.start()
	defer o.shutdown()
	if !o.push([]byte(strings.Repeat("a", 600))) {
		t.Fatal("refused under the cap")
	}
	testkit.Eventually(t, "the writer to take the event and block on it", func() bool { return p.ctl.inWrite.Load() })
	if o.hold([]byte(strings.Repeat("b", 500))) {
		t.Fatal("accepted 1,100 bytes unsent against a 1,000-byte cap")
	}
}

// A panic in a socket's writer ends that socket with 1011, is counted, and leaves the other
// sockets alone.
func TestAWriterPanicEndsOnlyItsSocketWith1011(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter, err := panics.NewCounter(reg)
	if err != nil {
		t.Fatal(err)
	}
	bad, good := newPair(t), newPair(t)
	ob, og := newOutbox(bad.server, nil, counter), newOutbox(good.server, nil, counter)
	ob.start()
	og.start()
	defer ob.shutdown()
	defer og.shutdown()
	bad.ctl.panicNext.Store(true)
	ob.push([]byte(`{"type":"pong"}`))
	if code := closeCode(t, bad.client); code != websocket.CloseInternalServerErr {
		t.Fatalf("close code %d, want 1011", code)
	}
	want := "# HELP switchboard_panics_total Panics recovered and contained, by where they happened (turn, tool, dispatcher, socket_writer).\n" +
		"# TYPE switchboard_panics_total counter\n" +
		"switchboard_panics_total{where=\"dispatcher\"} 0\nswitchboard_panics_total{where=\"socket_writer\"} 1\n" +
		"switchboard_panics_total{where=\"tool\"} 0\nswitchboard_panics_total{where=\"turn\"} 0\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_panics_total"); err != nil {
		t.Fatal(err)
	}
	og.push([]byte(`{"type":"pong","requestId":"still"}`))
	_ = good.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := good.client.ReadMessage(); err != nil || !strings.Contains(string(msg), "still") {
		t.Fatalf("the other socket: %q %v", msg, err)
	}
}

// No event over 1 MiB is ever sent (PROTOCOL §1.4): one that a bug made too large goes out as
// an error carrying its requestId.
func TestAnEventOver1MiBIsReplacedByAnError(t *testing.T) {
	o := newOutbox(nil, nil, nil)
	big := wrappedEvent("eventual_response", "r-9", 200, map[string]string{"text": strings.Repeat("x", 2<<20)})
	o.hold(big)
	o.hold(immediateEvent("g-1", 200, "Session", map[string]string{"x": strings.Repeat("y", 2<<20)}))
	if len(o.queue) != 2 {
		t.Fatalf("queue %d", len(o.queue))
	}
	wstest.RequireError(t, wstest.Event{Raw: o.queue[0]}, "r-9", "AGENT_ERROR", "agent turn failed: internal error")
	wstest.RequireError(t, wstest.Event{Raw: o.queue[1]}, "g-1", "INTERNAL_ERROR", "internal error")
}

// barrier lets the turn enders through only once every one of them has entered it: ending
// turns one after the other never gets past the first.
type barrier struct {
	all     int32
	entered atomic.Int32
	allIn   chan struct{} // closed by the last ender to enter
	abandon chan struct{} // closed at cleanup, to let a failed test's enders go
}

type barrierEnder struct{ b *barrier }

func (e barrierEnder) endTurn(error, time.Time) {
	if e.b.entered.Add(1) == e.b.all {
		close(e.b.allIn)
	}
	select {
	case <-e.b.allIn:
	case <-e.b.abandon:
	}
}

// At the drain deadline the remaining turns are ended all at once, not one connection at a
// time (each may wait up to cancelWait for its records).
func TestDrainEndsTurnsConcurrently(t *testing.T) {
	b := &barrier{all: 4, allIn: make(chan struct{}), abandon: make(chan struct{})}
	t.Cleanup(func() { close(b.abandon) })
	enders := make([]barrierEnder, b.all)
	for i := range enders {
		enders[i] = barrierEnder{b: b}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		endTurns(enders, errors.New("shutting down"), time.Now().Add(time.Minute))
	}()
	// Every ender got past the barrier, so all four were ending their turns at once; ended one
	// after the other, the first would wait at the barrier until the test gives up.
	testkit.Eventually(t, "every turn to be ended, all at once", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}

// writing reports whether the outbox's writer is running.
func (o *outbox) running() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writing
}

// An idle socket holds no writer: it starts for what there is to write and ends once it is
// written, and the next event starts it again.
func TestTheWriterRunsOnlyWhileThereIsSomethingToWrite(t *testing.T) {
	p := newPair(t)
	o := newOutbox(p.server, nil, nil)
	o.start()
	defer o.shutdown()
	for _, ev := range []string{`{"type":"pong","requestId":"a"}`, `{"type":"pong","requestId":"b"}`} {
		if !o.push([]byte(ev)) {
			t.Fatal("push refused")
		}
		_ = p.client.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, msg, err := p.client.ReadMessage(); err != nil || string(msg) != ev {
			t.Fatalf("read %q %v, want %s", msg, err, ev)
		}
		testkit.Eventually(t, "the writer to end once the queue is written", func() bool { return !o.running() })
	}
}

// PROTOCOL §1.6: a Ping every pingEvery, written by a writer started for it, on a socket
// that has nothing else to write.
func TestAnIdleSocketIsPingedEveryPeriod(t *testing.T) {
	p := newPair(t)
	o := newOutbox(p.server, nil, nil)
	o.pingEvery = 20 * time.Millisecond
	var pings atomic.Int32
	p.client.SetPingHandler(func(string) error { pings.Add(1); return nil })
	go func() {
		for {
			if _, _, err := p.client.NextReader(); err != nil {
				return
			}
		}
	}()
	o.start()
	defer o.shutdown()
	testkit.Eventually(t, "three pings", func() bool { return pings.Load() >= 3 })
	testkit.Eventually(t, "the writer to end after a ping", func() bool { return !o.running() })
}
