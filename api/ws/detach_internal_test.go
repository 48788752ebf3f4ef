package ws

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// readsTheSocket recognises fasthttp's hijacked connection: true when it reads the socket
// directly, false when fasthttp handed over the bytes it had buffered behind the request.
// If fasthttp's internals change, the first case fails here instead of every socket quietly
// staying on its upgrade's goroutine.
func TestHijackedReads(t *testing.T) {
	got := make(chan bool, 1)
	srv := &fasthttp.Server{
		ReduceMemoryUsage: true, // as api.New configures it
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Hijack(func(c net.Conn) { got <- readsTheSocket(c) })
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	for _, tc := range []struct {
		name   string
		behind string // sent in the same write as the request, behind it
		want   bool
	}{
		{"nothing behind the request", "", true},
		{"bytes behind the request", "\x81\x80abcd", false},
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + tc.behind)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatalf("%s: response: %v", tc.name, err)
		}
		if r := <-got; r != tc.want {
			t.Errorf("%s: readsTheSocket = %v, want %v", tc.name, r, tc.want)
		}
		_ = c.Close()
	}
	if readsTheSocket(&net.TCPConn{}) {
		t.Error("a connection that is not fasthttp's hijacked one is recognised")
	}
}
