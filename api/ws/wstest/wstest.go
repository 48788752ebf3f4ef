// Package wstest is a WebSocket client for end-to-end tests of /ws (docs/spec/PROTOCOL.md): dial a
// real server, send frames, read events with a timeout, wait for an event type. The rows
// those tests start from come from the fixture factory of package testkit.
//
// It is for tests only and must never be linked into the server.
package wstest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// ReadTimeout bounds every wait for an event; reaching it fails the test (it is a hang
// guard, not a timing assertion).
const ReadTimeout = 15 * time.Second

// Client is one test connection.
type Client struct {
	tb   testing.TB
	Conn *websocket.Conn
	// Resp is the handshake response.
	Resp *http.Response
}

// Dial connects to url (the server's WSURL, with any ?token=) with optional headers such as
// Origin, failing the test when the upgrade fails. The connection closes at cleanup.
func Dial(tb testing.TB, url string, header http.Header) *Client {
	tb.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header) //nolint:bodyclose // a handshake response needs no close (websocket.Dialer docs)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("wstest: dial: %v (HTTP %d)", err, status)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &Client{tb: tb, Conn: conn, Resp: resp}
}

// Send writes one JSON text frame.
func (c *Client) Send(frame map[string]any) {
	c.tb.Helper()
	b, err := json.Marshal(frame)
	if err != nil {
		c.tb.Fatalf("wstest: marshal frame: %v", err)
	}
	c.SendRaw(websocket.TextMessage, b)
}

// SendRaw writes one message of the given type as is.
func (c *Client) SendRaw(typ int, data []byte) {
	c.tb.Helper()
	if err := c.Conn.WriteMessage(typ, data); err != nil {
		c.tb.Fatalf("wstest: write: %v", err)
	}
}

// Next reads the next event.
func (c *Client) Next() Event {
	c.tb.Helper()
	ev, err := c.TryNext(ReadTimeout)
	if err != nil {
		c.tb.Fatalf("wstest: read event: %v", err)
	}
	return ev
}

// TryNext reads the next event, returning the read error (a close, a timeout) instead of
// failing.
func (c *Client) TryNext(timeout time.Duration) (Event, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(timeout))
	typ, data, err := c.Conn.ReadMessage()
	if err != nil {
		return Event{}, err
	}
	if typ != websocket.TextMessage {
		c.tb.Fatalf("wstest: server sent a non-text message (type %d)", typ)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		c.tb.Fatalf("wstest: server sent invalid JSON %q: %v", data, err)
	}
	return Event{Raw: data, Fields: fields}, nil
}

// WaitFor reads events until one of type typ arrives and returns it with the events read
// before it.
func (c *Client) WaitFor(typ string) (Event, []Event) {
	c.tb.Helper()
	var before []Event
	for {
		ev := c.Next()
		if ev.Type() == typ {
			return ev, before
		}
		before = append(before, ev)
	}
}

// Terminal reads a turn's events until its terminal event (eventual_response, cancelled or
// error) carrying requestID, and returns every event read, the terminal one last.
func (c *Client) Terminal(requestID string) []Event {
	c.tb.Helper()
	var evs []Event
	for {
		ev := c.Next()
		evs = append(evs, ev)
		switch ev.Type() {
		case "eventual_response", "cancelled", "error":
			if ev.RequestID() == requestID {
				return evs
			}
		}
	}
}

// Request sends a frame and returns the next event (for actions answered by one event).
func (c *Client) Request(frame map[string]any) Event {
	c.tb.Helper()
	c.Send(frame)
	return c.Next()
}

// Event is one server event.
type Event struct {
	Raw    []byte
	Fields map[string]any
}

// Type is the event's type.
func (e Event) Type() string { s, _ := e.Fields["type"].(string); return s }

// RequestID is the top-level requestId, "" when absent.
func (e Event) RequestID() string { s, _ := e.Fields["requestId"].(string); return s }

// Data is the event's data object.
func (e Event) Data() map[string]any { m, _ := e.Fields["data"].(map[string]any); return m }

// Inner is data.data of a wrapped event.
func (e Event) Inner() map[string]any { m, _ := e.Data()["data"].(map[string]any); return m }

// Code and Message are an error event's error fields.
func (e Event) Code() string {
	m, _ := e.Fields["error"].(map[string]any)
	s, _ := m["code"].(string)
	return s
}

// Message is an error event's message (or an immediate_response's message).
func (e Event) Message() string {
	if m, ok := e.Fields["error"].(map[string]any); ok {
		s, _ := m["message"].(string)
		return s
	}
	s, _ := e.Fields["message"].(string)
	return s
}

// Status is the event's status, 0 when absent.
func (e Event) Status() int { f, _ := e.Fields["status"].(float64); return int(f) }

// Str returns data[key] as a string.
func (e Event) Str(key string) string { s, _ := e.Data()[key].(string); return s }

// Token is the top-level token of a stream event.
func (e Event) Token() string { s, _ := e.Fields["token"].(string); return s }
