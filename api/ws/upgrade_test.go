package ws_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func readEnvelope(t *testing.T, resp *http.Response) (code, message string) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	got := testkit.DecodeJSON[admintest.Error](t, b)
	want := admintest.Error{Type: "error", RequestID: resp.Header.Get("X-Request-Id"), Error: got.Error, Timestamp: got.Timestamp}
	want.Data.RequestID, want.Data.Error = want.RequestID, got.Error
	if diff := cmp.Diff(want, got); diff != "" || want.RequestID == "" || got.Timestamp <= 0 {
		t.Fatalf("error envelope (-want +got):\n%s\nX-Request-Id %q, timestamp %d", diff, want.RequestID, got.Timestamp)
	}
	return got.Error.Code, got.Error.Message
}

func TestPlainHTTPRequestIsAnswered426(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	resp, err := http.Get(e.srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	code, msg := readEnvelope(t, resp)
	if resp.StatusCode != 426 || resp.Header.Get("Upgrade") != "websocket" || code != "VALIDATION_ERROR" || msg != "expected a WebSocket upgrade request" {
		t.Fatalf("got %d %q %s %s", resp.StatusCode, resp.Header.Get("Upgrade"), code, msg)
	}
}

func TestStrictModeRefusesMissingAndInvalidTokens(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_WS_AUTH": "strict", "AUTH_JWT_SECRET": testJWTSecret})
	cases := []struct {
		name, token, code string
	}{
		{"no token", "", "UNAUTHENTICATED"},
		{"blank token", "  ", "UNAUTHENTICATED"},
		{"garbage", "not-a-jwt", "INVALID_TOKEN"},
		{"api key", "sbk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "INVALID_TOKEN"},
		{"unknown org", jwtToken(t, map[string]any{"sub": "u1", "org": "no-such-org"}), "INVALID_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := e.srv.WSURL
			if tc.token != "" {
				u += "?token=" + url.QueryEscape(tc.token)
			}
			_, resp, err := websocket.DefaultDialer.Dial(u, nil)
			if err == nil || resp == nil {
				t.Fatalf("upgrade succeeded")
			}
			defer resp.Body.Close()
			code, _ := readEnvelope(t, resp)
			if resp.StatusCode != 401 || code != tc.code {
				t.Fatalf("got %d %s", resp.StatusCode, code)
			}
		})
	}
	// A valid token for an existing org upgrades.
	c := wstest.Dial(t, e.srv.WSURL+"?token="+jwtToken(t, map[string]any{"sub": "u1", "org": e.org.String()}), nil)
	if ev := c.Request(map[string]any{"action": "ping"}); ev.Type() != "pong" {
		t.Fatalf("got %s", ev.Raw)
	}
}

func TestLenientModeTreatsInvalidTokenAsAnonymous(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	c := wstest.Dial(t, e.srv.WSURL+"?token=garbage", nil)
	ack := c.Request(map[string]any{"action": "create_conversation_session", "agentId": e.agent.ID.String()})
	if ack.Status() != 200 {
		t.Fatalf("got %s", ack.Raw)
	}
}

// A client that sends a frame right behind its upgrade request, before the 101, is served
// like any other: fasthttp has buffered the frame with the request, the connection reads it
// first (and stays on its upgrade's goroutine, since fasthttp reuses that buffer once the
// upgrade's goroutine returns), and the socket goes on.
func TestAFrameSentBehindTheUpgradeRequestIsServed(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	u, err := url.Parse(e.srv.WSURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	upgrade := "GET /ws HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write(append([]byte(upgrade), maskedText(`{"action":"ping","requestId":"early"}`)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, id := range []string{"early", "later"} {
		if id == "later" {
			if _, err := c.Write(maskedText(`{"action":"ping","requestId":"later"}`)); err != nil {
				t.Fatal(err)
			}
		}
		pong := wstest.Decode[struct {
			Timestamp int64 `json:"timestamp"`
		}](t, wstest.Event{Raw: readTextFrame(t, br)})
		if pong.Type != "pong" || pong.RequestID != id {
			t.Fatalf("got %+v, want the pong of %s", pong, id)
		}
	}
}

// maskedText is a client's text frame (RFC 6455 §5.2) of a payload under 126 bytes.
func maskedText(payload string) []byte {
	key := []byte{1, 2, 3, 4}
	f := append([]byte{0x81, 0x80 | byte(len(payload))}, key...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}

// readTextFrame reads one unfragmented, unmasked text frame of the server's.
func readTextFrame(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		t.Fatal(err)
	}
	if head[0] != 0x81 {
		t.Fatalf("frame header %#x, want a final text frame", head[0])
	}
	n := int(head[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	return payload
}
