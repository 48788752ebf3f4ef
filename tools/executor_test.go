package tools

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/netguard"
	"github.com/switchboard-dev/switchboard/testkit"
)

var (
	testConversation = uuid.MustParse("6a1f0c2e-9b7d-4e3a-8c5f-2d4b6e8a0c13")
	testOrg          = uuid.MustParse("5f0d8a62-1c3e-4b7f-a9d2-6e4b1c8f3a07")
)

// received is one request as the tool server saw it.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// toolServer is a real HTTP tool on 127.0.0.1 that records what it receives and counts the
// connections it accepts.
type toolServer struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []received
	conns testkit.ConnLog
}

func newToolServer(t *testing.T, h http.HandlerFunc) *toolServer {
	t.Helper()
	ts := &toolServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, received{r.Method, r.URL.Path, r.Header.Clone(), body})
		ts.mu.Unlock()
		h(w, r)
	}))
	ts.Config.ConnState = ts.conns.ConnState
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toolServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.reqs...)
}

func newTestExecutor(t *testing.T, allowPrivate bool) *Executor {
	t.Helper()
	e := NewExecutor(ExecutorConfig{Version: "1.4.2", AllowPrivate: allowPrivate})
	t.Cleanup(e.CloseIdleConnections)
	return e
}

func testCall(url string) Call {
	return Call{
		URL:            url,
		ToolName:       "lookup_invoice",
		Arguments:      json.RawMessage(`{"number":"INV-42","note":"a<b & c>d"}`),
		ConversationID: testConversation,
		OrgID:          testOrg,
		TimeoutMs:      5000,
	}
}

func mustCall(t *testing.T, e *Executor, c Call) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.Call(ctx, c)
	if err != nil {
		t.Fatalf("Call returned error %v, want a result", err)
	}
	return res
}

func TestCallSendsSignedRequestAndReturnsBody(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Invoice INV-42 is paid.")
	})
	e := newTestExecutor(t, true)
	secret := []byte("t7%Qm3@zLp8Rw2Ys6Hv1Nc4Jd9Bx5Ke0")
	c := testCall(ts.URL + "/switchboard/invoices")
	c.SigningSecret = secret

	res := mustCall(t, e, c)
	if res.IsError || res.Text != "Invoice INV-42 is paid." {
		t.Fatalf("result = %+v, want success with the body", res)
	}

	got := ts.received()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.path != "/switchboard/invoices" {
		t.Fatalf("request %s %s, want POST /switchboard/invoices", r.method, r.path)
	}
	wantBody := `{"tool":"lookup_invoice","arguments":{"number":"INV-42","note":"a<b & c>d"},` +
		`"conversationId":"6a1f0c2e-9b7d-4e3a-8c5f-2d4b6e8a0c13","orgId":"5f0d8a62-1c3e-4b7f-a9d2-6e4b1c8f3a07"}`
	if string(r.body) != wantBody {
		t.Fatalf("body\n got %s\nwant %s", r.body, wantBody)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if ua := r.header.Get("User-Agent"); ua != "Switchboard/1.4.2" {
		t.Fatalf("User-Agent %q", ua)
	}
	delivery := r.header.Get("X-Switchboard-Delivery")
	if _, err := uuid.Parse(delivery); err != nil || res.DeliveryID != delivery {
		t.Fatalf("delivery %q (result %q) is not the same UUID", delivery, res.DeliveryID)
	}

	// Verify as a receiver would: recompute over the received bytes, compare in constant time.
	sig := r.header.Get("X-Switchboard-Signature")
	hexPart, ok := strings.CutPrefix(sig, "sha256=")
	if !ok || hexPart != strings.ToLower(hexPart) {
		t.Fatalf("signature %q is not sha256=<lowercase hex>", sig)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(r.body)
	want := mac.Sum(nil)
	gotMAC, err := hex.DecodeString(hexPart)
	if err != nil || !hmac.Equal(gotMAC, want) {
		t.Fatalf("signature %q does not verify over the received body", sig)
	}
	if strings.Contains(string(r.body), string(secret)) || strings.Contains(sig, string(secret)) {
		t.Fatal("the secret leaked into the request")
	}
}

func TestUnsignedCallsHaveNoSignatureAndDistinctDeliveryIDs(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	e := newTestExecutor(t, true)
	c := testCall(ts.URL)
	c.SigningSecret = nil
	mustCall(t, e, c)
	c.SigningSecret = []byte{} // empty counts as unset
	mustCall(t, e, c)

	got := ts.received()
	if len(got) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(got))
	}
	for _, r := range got {
		if v, present := r.header["X-Switchboard-Signature"]; present {
			t.Fatalf("unsigned call carries X-Switchboard-Signature %q", v)
		}
	}
	d1, d2 := got[0].header.Get("X-Switchboard-Delivery"), got[1].header.Get("X-Switchboard-Delivery")
	if d1 == "" || d1 == d2 {
		t.Fatalf("delivery ids %q and %q must be set and differ", d1, d2)
	}
}

func TestEmptyArgumentsAreSentAsEmptyObject(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {})
	e := newTestExecutor(t, true)
	c := testCall(ts.URL)
	c.Arguments = nil
	c.ToolName = "ping"
	res := mustCall(t, e, c)
	if res.IsError || res.Text != "" {
		t.Fatalf("result %+v, want empty success", res)
	}
	want := `{"tool":"ping","arguments":{},"conversationId":"` + testConversation.String() + `","orgId":"` + testOrg.String() + `"}`
	if got := string(ts.received()[0].body); got != want {
		t.Fatalf("body %s, want %s", got, want)
	}
}

func TestNon2xxIsAnErrorResult(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, "details the model must not see")
		})
		res := mustCall(t, newTestExecutor(t, true), testCall(ts.URL))
		want := "Error: tool returned HTTP " + strconv.Itoa(status)
		if !res.IsError || res.Text != want {
			t.Fatalf("status %d: result %+v, want %q", status, res, want)
		}
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var followed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		io.WriteString(w, "should not be reached")
	})
	ts := newToolServer(t, mux.ServeHTTP)
	res := mustCall(t, newTestExecutor(t, true), testCall(ts.URL+"/start"))
	if !res.IsError || res.Text != "Error: tool returned HTTP 302" {
		t.Fatalf("result %+v, want HTTP 302 error", res)
	}
	if followed.Load() != 0 || len(ts.received()) != 1 {
		t.Fatalf("redirect followed: target hits %d, requests %d", followed.Load(), len(ts.received()))
	}
}

// holdUntilClientLeaves holds a request, never answering it, until the client gives up on
// it (true) or the test ends (false).
func holdUntilClientLeaves(t *testing.T, r *http.Request) bool {
	select {
	case <-r.Context().Done():
		return true
	case <-t.Context().Done():
		return false
	}
}

// deadlineLog is the executor's transport with a record of the last request it sent: when,
// and the deadline its context carried.
type deadlineLog struct {
	next http.RoundTripper

	mu          sync.Mutex
	sent        time.Time
	deadline    time.Time
	hasDeadline bool
}

func (l *deadlineLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.sent = time.Now()
	l.deadline, l.hasDeadline = r.Context().Deadline()
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *deadlineLog) CloseIdleConnections() {
	if c, ok := l.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// A tool that never answers is given up at the call's timeoutMs: the exchange runs under a
// deadline timeoutMs after the call began, the call reports the timeout, and the tool sees
// the executor leave the request.
func TestSlowToolTimesOut(t *testing.T) {
	left := make(chan bool, 1)
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		left <- holdUntilClientLeaves(t, r)
	})
	e := newTestExecutor(t, true)
	log := &deadlineLog{next: e.client.Transport}
	e.client.Transport = log
	c := testCall(ts.URL)
	c.TimeoutMs = 150
	began := time.Now()
	res := mustCall(t, e, c)
	if !res.IsError || res.Text != "Error: tool timed out after 150 ms" {
		t.Fatalf("result %+v, want timeout", res)
	}
	// The deadline is a value the executor computed, not a duration this test measured: it
	// lies timeoutMs after a moment between the call's start and the request's sending.
	log.mu.Lock()
	sent, deadline, ok := log.sent, log.deadline, log.hasDeadline
	log.mu.Unlock()
	timeout := 150 * time.Millisecond
	if !ok || deadline.Before(began.Add(timeout)) || deadline.After(sent.Add(timeout)) {
		t.Fatalf("the request's deadline is %v (set %v), want %v after the call began (%v) and no later than %v after it was sent (%v)",
			deadline, ok, timeout, began, timeout, sent)
	}
	// Nothing but the deadline could end the call: the tool never answers. A request that
	// reached it in time is left by the executor (on a starved machine it may not get there
	// within 150 ms, which is no failure of the timeout).
	if len(ts.received()) > 0 {
		testkit.Eventually(t, "the tool to see the executor leave the request", func() bool {
			select {
			case byClient := <-left:
				if !byClient {
					t.Fatal("the request outlived the test")
				}
				return true
			default:
				return false
			}
		})
	}
}

func TestTimeoutCoversReadingTheBody(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial answer")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		holdUntilClientLeaves(t, r)
	})
	c := testCall(ts.URL)
	c.TimeoutMs = 150
	res := mustCall(t, newTestExecutor(t, true), c)
	if !res.IsError || res.Text != "Error: tool timed out after 150 ms" {
		t.Fatalf("result %+v, want timeout", res)
	}
}

func TestCancelledTurnIsAnErrorNotAResult(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the turn is cancelled while the tool holds the request
		holdUntilClientLeaves(t, r)
	})
	e := newTestExecutor(t, true)
	c := testCall(ts.URL)
	c.TimeoutMs = 10000
	res, err := e.Call(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Text != "" || res.IsError {
		t.Fatalf("result %+v, want none", res)
	}

	// Already cancelled: nothing is sent.
	before := len(ts.received())
	if _, err := e.Call(ctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(ts.received()) != before {
		t.Fatal("a call on a cancelled context reached the tool")
	}
}

func TestUnreachableToolFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	res := mustCall(t, newTestExecutor(t, true), testCall("http://"+addr+"/tool"))
	if !res.IsError || res.Text != "Error: tool request failed" || res.Cause == nil {
		t.Fatalf("result %+v, want request failed with a cause", res)
	}
}

func TestPrivateAddressRefusedWhenNotAllowed(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret internal data")
	})
	e := newTestExecutor(t, false)
	for _, u := range []string{ts.URL, strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)} {
		res := mustCall(t, e, testCall(u))
		if !res.IsError || res.Text != "Error: tool request failed" {
			t.Fatalf("%s: result %+v, want request failed", u, res)
		}
	}
	if n := ts.conns.AcceptedBefore(t, ts.Listener.Addr().String()); n != 0 {
		t.Fatalf("tool server accepted %d connections, want 0", n)
	}
	if n := len(ts.received()); n != 0 {
		t.Fatalf("tool server saw %d requests, want 0", n)
	}
}

func TestLongBodyIsCutAtCharacterBoundary(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string
	}{
		{
			name: "two-byte character that would cross the limit is dropped",
			body: strings.Repeat("a", MaxResultBytes-1) + "é" + "tail",
			want: strings.Repeat("a", MaxResultBytes-1) + TruncatedSuffix,
		},
		{
			name: "four-byte character that would cross the limit is dropped",
			body: strings.Repeat("a", MaxResultBytes-2) + "😀" + strings.Repeat("b", 100000),
			want: strings.Repeat("a", MaxResultBytes-2) + TruncatedSuffix,
		},
		{
			name: "character that ends exactly at the limit is kept",
			body: strings.Repeat("a", MaxResultBytes-2) + "é" + "x",
			want: strings.Repeat("a", MaxResultBytes-2) + "é" + TruncatedSuffix,
		},
		{
			name: "body of exactly the limit is not cut",
			body: strings.Repeat("€", MaxResultBytes/3) + "ab",
			want: strings.Repeat("€", MaxResultBytes/3) + "ab",
		},
		{
			name: "replacement characters count toward the limit",
			body: "\xff" + strings.Repeat("a", MaxResultBytes-1),
			want: "\uFFFD" + strings.Repeat("a", MaxResultBytes-3) + TruncatedSuffix,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tc.body)
			})
			res := mustCall(t, newTestExecutor(t, true), testCall(ts.URL))
			if res.IsError {
				t.Fatalf("result is an error: %q", res.Text)
			}
			if res.Text != tc.want {
				t.Fatalf("text of %d bytes (ends %q), want %d bytes (ends %q)",
					len(res.Text), tail(res.Text), len(tc.want), tail(tc.want))
			}
			if !utf8.ValidString(res.Text) {
				t.Fatal("text is not valid UTF-8")
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 20 {
		return s[len(s)-20:]
	}
	return s
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok \xff\xfe done, nul\x00, cut \xe2\x82"))
	})
	res := mustCall(t, newTestExecutor(t, true), testCall(ts.URL))
	want := "ok \uFFFD\uFFFD done, nul\uFFFD, cut \uFFFD\uFFFD"
	if res.IsError || res.Text != want {
		t.Fatalf("text %q, want %q", res.Text, want)
	}
}

func TestCallWithInvalidArgumentsSendsNothing(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c := testCall(ts.URL)
	c.Arguments = json.RawMessage(`[1,2]`)
	res := mustCall(t, newTestExecutor(t, true), c)
	if !res.IsError || res.Text != "Error: invalid tool arguments" || len(ts.received()) != 0 {
		t.Fatalf("result %+v, requests %d", res, len(ts.received()))
	}
}

func TestConcurrentCalls(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	e := newTestExecutor(t, true)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := e.Call(context.Background(), testCall(ts.URL))
			if err != nil || res.Text != "ok" {
				t.Errorf("result %+v err %v", res, err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range ts.received() {
		seen[r.header.Get("X-Switchboard-Delivery")] = true
	}
	if len(seen) != 8 {
		t.Fatalf("%d distinct delivery ids for 8 calls", len(seen))
	}
}

// The URL check refuses literal private addresses before any dial; this pins the second line
// of defence, the dialer, for a URL that passed it (as a DNS name rebound to 127.0.0.1 would).
func TestRefusedDialIsRequestFailed(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret internal data")
	})
	e := newTestExecutor(t, true)
	e.client = &http.Client{Transport: netguard.Transport(false), CheckRedirect: netguard.NoRedirects}
	t.Cleanup(e.client.CloseIdleConnections)
	res := mustCall(t, e, testCall(ts.URL))
	if !res.IsError || res.Text != "Error: tool request failed" {
		t.Fatalf("result %+v, want request failed", res)
	}
	if !errors.Is(res.Cause, netguard.ErrRefusedAddress) {
		t.Fatalf("cause %v, want netguard.ErrRefusedAddress", res.Cause)
	}
	if n := ts.conns.AcceptedBefore(t, ts.Listener.Addr().String()); n != 0 {
		t.Fatalf("tool server accepted %d connections, want 0", n)
	}
	if n := len(ts.received()); n != 0 {
		t.Fatalf("tool server saw %d requests, want 0", n)
	}
}

func TestTurnDeadlineIsAnErrorNotATimeoutResult(t *testing.T) {
	ts := newToolServer(t, func(w http.ResponseWriter, r *http.Request) {
		holdUntilClientLeaves(t, r)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := testCall(ts.URL)
	c.TimeoutMs = 5000
	res, err := newTestExecutor(t, true).Call(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) || res.Text != "" {
		t.Fatalf("result %+v err %v, want the context's deadline as an error", res, err)
	}
}

func TestCauseNeverQuotesTheURLsQueryString(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	slow := newToolServer(t, func(w http.ResponseWriter, r *http.Request) { holdUntilClientLeaves(t, r) })
	timeout := testCall(slow.URL + "/hook?token=s3cret&sig=abc")
	timeout.TimeoutMs = 50
	for name, c := range map[string]Call{
		"unreachable": testCall("http://" + addr + "/hook?token=s3cret&sig=abc"),
		"timed out":   timeout,
	} {
		res := mustCall(t, newTestExecutor(t, true), c)
		if res.Cause == nil || !res.IsError {
			t.Fatalf("%s: result %+v, want an error with a cause", name, res)
		}
		if msg := res.Cause.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "sig=") || !strings.Contains(msg, "/hook") {
			t.Errorf("%s: cause %q, want the URL without its query string", name, msg)
		}
	}
}
