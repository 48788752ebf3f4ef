package ws_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

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
