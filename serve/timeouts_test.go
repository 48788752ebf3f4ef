package serve_test

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/serve/servetest"
)

// A slowloris client sends its headers a byte at a time to hold a connection forever; the
// header timeout closes it, while honest requests are served.
func TestASlowlorisClientIsClosedAtTheHeaderTimeout(t *testing.T) {
	srv := servetest.Start(t, map[string]string{
		"SWITCHBOARD_HTTP_READ_HEADER_TIMEOUT": "300ms", "SWITCHBOARD_HTTP_READ_TIMEOUT": "60s",
	})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var closed atomic.Bool
	go func() {
		// The server answers nothing and closes: the read ends with EOF (or a 408).
		b := make([]byte, 512)
		for {
			if _, err := conn.Read(b); err != nil {
				closed.Store(true)
				return
			}
		}
	}()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: switchboard\r\n")); err != nil {
		t.Fatal(err)
	}
	// Trickle a header forever, a byte every 20 ms: each byte arrives well within any
	// per-read timeout, so only a deadline on the whole header ends this.
	header := []byte("X-Slow: " + strings.Repeat("a", 1<<16))
	deadline := time.Now().Add(30 * time.Second) // a hang guard, far beyond the timeout
	for i := 0; !closed.Load(); i++ {
		if time.Now().After(deadline) {
			t.Fatal("the connection is still open after 30 s of trickled headers")
		}
		if _, err := conn.Write(header[i%len(header) : i%len(header)+1]); err != nil {
			break // closed by the server
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("an honest request: %v %v", resp, err)
	}
	resp.Body.Close()
}

// The body gets its own, longer timeout once the headers are in: an upload slower than the
// header timeout but within the body timeout is served.
func TestTheBodyHasItsOwnTimeout(t *testing.T) {
	srv := servetest.Start(t, map[string]string{
		"SWITCHBOARD_HTTP_READ_HEADER_TIMEOUT": "300ms", "SWITCHBOARD_HTTP_READ_TIMEOUT": "60s",
	})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"x"}`
	if _, err := conn.Write([]byte("POST /admin/api-keys HTTP/1.1\r\nHost: switchboard\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// The body trickles in over about a second, past the header timeout.
	for i := range body {
		time.Sleep(100 * time.Millisecond)
		if _, err := conn.Write([]byte{body[i]}); err != nil {
			t.Fatalf("the server closed during the body: %v", err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 { // answered (unauthenticated), not cut off
		t.Fatalf("status %d", resp.StatusCode)
	}
}
