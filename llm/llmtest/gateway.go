// Package llmtest is a scripted OpenAI-compatible LLM gateway for tests: a
// real HTTP server (httptest) that answers each /chat/completions request
// with the next response from a queue, streamed as server-sent events the
// way OpenAI and the common gateways do, and logs every request it gets.
//
//	gw := llmtest.New(t)
//	gw.Push(llmtest.Text("Hello ", "world").WithUsage(10, 2))
//	gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "call_1", Name: "get_order", Arguments: `{"id":"A-1"}`}))
//	// point the code under test at gw.BaseURL(), run it, then:
//	req := gw.Request(0) // what the model received
//
// Scripts cover text, reasoning and tool-call deltas, the usage chunk (with
// or without a cost), HTTP errors, slow, stalled and broken streams, a
// request that is never answered, and hostile streams: chunks generated as
// they are sent, in any number or without end ([Generated]), and a data line
// that never ends ([EndlessLine]). A request that finds the queue empty gets
// the default response when one is set ([WithDefault]); otherwise it fails
// the test and gets a 500.
//
// It is for tests only: it must never be linked into the server, and it
// never talks to a real gateway. Tests must not put real gateway keys in
// the requests it logs.
package llmtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Gateway is a scripted gateway. Its methods are safe for concurrent use.
type Gateway struct {
	tb     testing.TB
	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	queue    []Response
	fallback *Response
	log      bool
	requests []Request
	count    int

	// after, when set, replaces the timer of a delay (WithDelay): the package's own tests
	// fire it themselves, to see what a stream sent before each wait.
	after func(time.Duration) <-chan time.Time
}

// Option configures a [Gateway].
type Option func(*Gateway)

// WithDefault answers with r whenever the queue is empty, instead of
// failing the test: for benchmarks and for code that makes an unknown
// number of calls.
func WithDefault(r Response) Option {
	return func(g *Gateway) { g.fallback = &r }
}

// WithoutRequestLog keeps only the request count, so that a long benchmark
// does not hold every request body in memory. Such a gateway reads each
// request body without decoding it, as a remote gateway costs the caller's
// machine nothing, and names its model "llmtest" in the chunks it streams.
func WithoutRequestLog() Option {
	return func(g *Gateway) { g.log = false }
}

// New starts a gateway and closes it when the test ends.
func New(tb testing.TB, opts ...Option) *Gateway {
	tb.Helper()
	g := &Gateway{tb: tb, closed: make(chan struct{}), log: true}
	for _, o := range opts {
		o(g)
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serveHTTP))
	tb.Cleanup(g.Close)
	return g
}

// BaseURL is the OpenAI-style base URL to configure clients with
// ("http://127.0.0.1:<port>/v1"); requests go to BaseURL + "/chat/completions".
func (g *Gateway) BaseURL() string { return g.srv.URL + "/v1" }

// Push queues responses; each request consumes the first one.
func (g *Gateway) Push(rs ...Response) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = append(g.queue, rs...)
}

// Pending returns how many queued responses no request has consumed yet.
func (g *Gateway) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// RequestCount returns how many /chat/completions requests arrived.
func (g *Gateway) RequestCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.count
}

// Requests returns the logged requests in arrival order.
func (g *Gateway) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.requests...)
}

// Request returns the i-th logged request (from 0), failing the test when
// there is none.
func (g *Gateway) Request(i int) Request {
	g.tb.Helper()
	reqs := g.Requests()
	if i < 0 || i >= len(reqs) {
		g.tb.Fatalf("llmtest: request %d requested, %d logged", i, len(reqs))
	}
	return reqs[i]
}

// Close unblocks stalled and hanging responses and shuts the server down,
// waiting for its handlers. Clients connecting afterwards are refused. It
// is idempotent and runs at test cleanup anyway.
func (g *Gateway) Close() {
	g.once.Do(func() {
		close(g.closed)
		g.srv.Close()
	})
}

// next logs req and takes the response for it.
func (g *Gateway) next(req Request) (Response, int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.count++
	n := g.count
	if g.log {
		g.requests = append(g.requests, req)
	}
	if len(g.queue) > 0 {
		r := g.queue[0]
		g.queue = g.queue[1:]
		return r, n, true
	}
	if g.fallback != nil {
		return *g.fallback, n, true
	}
	return Response{}, n, false
}

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"llmtest: only POST .../chat/completions is scripted"}}`, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req Request
	if g.log {
		req = newRequest(r, body)
	}
	resp, n, ok := g.next(req)
	if !ok {
		g.tb.Errorf("llmtest: request %d to %s found no scripted response (Push one, or use WithDefault)", n, r.URL.Path)
		http.Error(w, `{"error":{"message":"llmtest: no scripted response"}}`, http.StatusInternalServerError)
		return
	}
	model := req.Chat.Model
	if model == "" {
		model = "llmtest"
	}
	g.serve(w, r, resp, fmt.Sprintf("chatcmpl-llmtest-%d", n), model)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, resp Response, id, model string) {
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case resp.hang:
		g.wait(r, -1)
		return
	case resp.status != 0:
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(resp.status)
		_, _ = io.WriteString(w, resp.body)
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	switch {
	case resp.endless:
		g.sendEndless(w, r, rc)
		return
	case resp.gen != nil:
		g.sendGenerated(w, r, rc, resp, id, model)
		return
	}
	events := resp.events(id, model)
	send := len(events)
	if resp.end == endStall || resp.end == endBreak {
		send = min(max(resp.endAfter, 0), len(events))
	}
	for i, ev := range events[:send] {
		if resp.release != nil && i == resp.holdAfter && !g.hold(r, resp.release) {
			return
		}
		if resp.delay > 0 && !g.wait(r, resp.delay) {
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	switch resp.end {
	case endStall:
		g.wait(r, -1)
		return
	case endBreak:
		// Closes the connection without the terminating chunk, so the
		// client sees the body end mid-stream.
		panic(http.ErrAbortHandler)
	case endNoDone:
		return
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// sendEndless writes one data line that never ends.
func (g *Gateway) sendEndless(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) {
	block := []byte("data: " + strings.Repeat("x", 32<<10))
	for {
		if _, err := w.Write(block); err != nil || rc.Flush() != nil {
			return
		}
		block = block[len("data: "):]
		select {
		case <-r.Context().Done():
			return
		case <-g.closed:
			return
		default:
		}
	}
}

// sendGenerated streams a generated response, one chunk at a time.
func (g *Gateway) sendGenerated(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, resp Response, id, model string) {
	rd := &renderer{id: id, model: model}
	write := func(ev []byte) bool {
		if resp.delay > 0 && !g.wait(r, resp.delay) {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", ev); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for i := 0; resp.genN < 0 || i < resp.genN; i++ {
		select {
		case <-r.Context().Done():
			return
		case <-g.closed:
			return
		default:
		}
		if !write(rd.event(resp.gen(i))) {
			return
		}
	}
	for _, ev := range resp.tail(rd) {
		if !write(ev) {
			return
		}
	}
	if resp.end == endNoDone {
		return
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// hold blocks until release is closed; it returns false early when the client goes away
// or the gateway closes.
func (g *Gateway) hold(r *http.Request, release <-chan struct{}) bool {
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	case <-g.closed:
		return false
	}
}

// wait blocks for d (forever when d < 0) and reports whether the time
// passed; it returns false early when the client goes away or the gateway
// closes.
func (g *Gateway) wait(r *http.Request, d time.Duration) bool {
	var timeout <-chan time.Time
	switch {
	case d >= 0 && g.after != nil:
		timeout = g.after(d)
	case d >= 0:
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-r.Context().Done():
		return false
	case <-g.closed:
		return false
	}
}
