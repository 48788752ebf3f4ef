package ws_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// checkEnvelope pins PROTOCOL §11 items 1 and 2 on any event.
func checkEnvelope(t *testing.T, ev wstest.Event) {
	t.Helper()
	ts, ok := ev.Fields["timestamp"].(float64)
	if !ok || ts != float64(int64(ts)) || ts < 1e12 {
		t.Errorf("timestamp not integer milliseconds: %s", ev.Raw)
	}
	if bytes.Contains(ev.Raw, []byte(`"requestId":null`)) || bytes.Contains(ev.Raw, []byte(`"requestId":""`)) {
		t.Errorf("requestId null or empty: %s", ev.Raw)
	}
	if ev.Type() == "error" {
		// Exactly the error event's keys, the error repeated at data.error, and no status.
		got := wstest.Decode[wstest.ErrorData](t, ev)
		if diff := cmp.Diff(wstest.ErrorEvent(got.RequestID, got.Error.Code, got.Error.Message), got); diff != "" {
			t.Errorf("error event (-want +got):\n%s", diff)
		}
	}
}

func TestBadFramesGetOneErrorAndTheConnectionStaysOpen(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	long := strings.Repeat("x", 257)
	cases := []struct {
		name          string
		typ           int
		data          []byte
		code, message string
		prefix        bool
		requestID     string
	}{
		{"invalid JSON", websocket.TextMessage, []byte(`{"action":`), "VALIDATION_ERROR", "invalid JSON frame", true, ""},
		{"invalid UTF-8", websocket.TextMessage, []byte("{\"action\":\"ping\",\"x\":\"\xff\"}"), "VALIDATION_ERROR", "invalid JSON frame", true, ""},
		{"binary", websocket.BinaryMessage, []byte(`{"action":"ping"}`), "VALIDATION_ERROR", "binary frames are not supported; send JSON text frames", false, ""},
		{"oversized", websocket.TextMessage, append(append([]byte(`{"action":"ping","pad":"`), bytes.Repeat([]byte("a"), 1<<20)...), []byte(`"}`)...), "VALIDATION_ERROR", "frame exceeds the 1048576-byte limit", false, ""},
		{"requestId too long", websocket.TextMessage, []byte(`{"action":"ping","requestId":"` + long + `"}`), "VALIDATION_ERROR", "'requestId' must be at most 256 characters", false, ""},
		{"not an object", websocket.TextMessage, []byte(`[1,2]`), "VALIDATION_ERROR", "missing 'action' field", false, ""},
		{"missing action echoes requestId", websocket.TextMessage, []byte(`{"requestId":"q-1"}`), "VALIDATION_ERROR", "missing 'action' field", false, "q-1"},
		{"action not a string", websocket.TextMessage, []byte(`{"action":5,"requestId":"q-2"}`), "VALIDATION_ERROR", "missing 'action' field", false, "q-2"},
		{"unknown action", websocket.TextMessage, []byte(`{"action":"dance","requestId":"q-3"}`), "UNSUPPORTED_ACTION", "action 'dance' is not supported by this server", false, "q-3"},
		{"submit_interaction", websocket.TextMessage, []byte(`{"action":"submit_interaction","requestId":"q-4"}`), "VALIDATION_ERROR", "submit_interaction requires a 'sessionId'", false, "q-4"},
		{"verify_otp", websocket.TextMessage, []byte(`{"action":"verify_otp","requestId":"q-5"}`), "VALIDATION_ERROR", "verify_otp requires a 'sessionId'", false, "q-5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.SendRaw(tc.typ, tc.data)
			ev := c.Next()
			checkEnvelope(t, ev)
			if ev.Type() != "error" || ev.Code() != tc.code || ev.RequestID() != tc.requestID {
				t.Fatalf("got %s", ev.Raw)
			}
			if tc.prefix && !strings.HasPrefix(ev.Message(), tc.message) || !tc.prefix && ev.Message() != tc.message {
				t.Fatalf("message %q, want %q", ev.Message(), tc.message)
			}
			pong := c.Request(map[string]any{"action": "ping", "requestId": "after"})
			if pong.Type() != "pong" || pong.RequestID() != "after" {
				t.Fatalf("ping after bad frame: %s", pong.Raw)
			}
		})
	}
}

func TestPingEchoesRequestIDAndTimestamp(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	ev := c.Request(map[string]any{"action": "ping", "requestId": "p-1"})
	checkEnvelope(t, ev)
	type pong struct {
		Type      string `json:"type"`
		RequestID string `json:"requestId,omitempty"`
		Data      struct {
			Timestamp int64 `json:"timestamp"`
		} `json:"data"`
		Timestamp int64 `json:"timestamp"`
	}
	got := testkit.DecodeJSON[pong](t, ev.Raw)
	want := pong{Type: "pong", RequestID: "p-1", Timestamp: got.Timestamp}
	want.Data.Timestamp = got.Timestamp // the data's timestamp is the envelope's
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("pong (-want +got):\n%s", diff)
	}
	ev = c.Request(map[string]any{"action": "ping"})
	if _, has := ev.Fields["requestId"]; has || ev.Type() != "pong" {
		t.Fatalf("pong without requestId: %s", ev.Raw)
	}
	// A requestId of the wrong type is absent.
	ev = c.Request(map[string]any{"action": "ping", "requestId": 7})
	if _, has := ev.Fields["requestId"]; has {
		t.Fatalf("non-string requestId echoed: %s", ev.Raw)
	}
}

func TestCancelWithoutTurnSendsNothing(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	c.Send(map[string]any{"action": "cancel", "requestId": "x"})
	ev := c.Request(map[string]any{"action": "ping", "requestId": "next"})
	if ev.Type() != "pong" || ev.RequestID() != "next" {
		t.Fatalf("cancel without a turn produced %s", ev.Raw)
	}
}
