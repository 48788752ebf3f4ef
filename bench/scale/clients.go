package scalebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	fws "github.com/fasthttp/websocket"
)

// admin is one keep-alive HTTP connection to the admin API, as one org's admin key.
type admin struct {
	ctx  context.Context //nolint:containedctx // the run's context, for every request of this client
	base string
	key  string
	c    *http.Client
}

func newAdmin(ctx context.Context, base, key string) *admin {
	return &admin{ctx: ctx, base: base, key: key, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

// do sends a request and decodes a JSON reply into out (when not nil), failing on any
// status but want.
func (a *admin) do(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(a.ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.c.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (a *admin) get(path string) error { return a.do(http.MethodGet, path, nil, http.StatusOK, nil) }

// deepCursor walks GET /admin/conversations 200 at a time and returns the cursor after at
// least skip conversations: the start of a deep page.
func (a *admin) deepCursor(skip int) (string, error) {
	cursor, seen := "", 0
	for seen < skip {
		path := "/admin/conversations?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Conversations []json.RawMessage `json:"conversations"`
			NextCursor    *string           `json:"nextCursor"`
		}
		if err := a.do(http.MethodGet, path, nil, http.StatusOK, &page); err != nil {
			return "", err
		}
		if page.NextCursor == nil {
			return "", fmt.Errorf("only %d conversations, wanted to skip %d", seen+len(page.Conversations), skip)
		}
		seen += len(page.Conversations)
		cursor = *page.NextCursor
	}
	return cursor, nil
}

// socket is one /ws connection.
type socket struct{ c *fws.Conn }

func dial(ctx context.Context, wsURL string) (*socket, error) {
	c, res, err := fws.DefaultDialer.DialContext(ctx, wsURL, nil)
	if res != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return &socket{c}, nil
}

func (s *socket) close() { _ = s.c.Close() }

type event struct {
	Type      string          `json:"type"`
	RequestID string          `json:"requestId"`
	Status    int             `json:"status"`
	Data      json.RawMessage `json:"data"`
	N         int             `json:"n"` // published bench events only
}

// until reads events until done says so; an error event for requestID fails.
func (s *socket) until(requestID string, done func(event) bool) (event, error) {
	for {
		_, b, err := s.c.ReadMessage()
		if err != nil {
			return event{}, err
		}
		var ev event
		if err := json.Unmarshal(b, &ev); err != nil {
			return event{}, err
		}
		if ev.Type == "error" && (requestID == "" || ev.RequestID == requestID) {
			return ev, fmt.Errorf("error event: %s", b)
		}
		if done(ev) {
			return ev, nil
		}
	}
}

// resume creates a session on the probe's conversation with its resume token (PROTOCOL
// §4.2.5) and fails when the server made a fresh conversation instead.
func (s *socket) resume(requestID string, p Probe) (string, error) {
	err := s.c.WriteJSON(map[string]any{"action": "create_conversation_session", "requestId": requestID,
		"agentId": p.AgentID.String(), "conversationId": p.ConversationID.String(), "resumeToken": p.ResumeToken})
	if err != nil {
		return "", err
	}
	ev, err := s.until(requestID, func(e event) bool { return e.Type == "immediate_response" && e.RequestID == requestID })
	if err != nil {
		return "", err
	}
	var d struct{ SessionID, ConversationID string }
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", err
	}
	if d.ConversationID != p.ConversationID.String() {
		return "", fmt.Errorf("resume refused: got conversation %s", d.ConversationID)
	}
	return d.SessionID, nil
}

// turn sends one message and reads the turn's events up to its eventual_response.
func (s *socket) turn(requestID, sessionID, text string) error {
	err := s.c.WriteJSON(map[string]any{"action": "send_message", "requestId": requestID, "sessionId": sessionID, "message": text})
	if err != nil {
		return err
	}
	_, err = s.until(requestID, func(e event) bool { return e.Type == "eventual_response" && e.RequestID == requestID })
	return err
}
