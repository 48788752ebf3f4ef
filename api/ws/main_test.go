package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// env is one test's world: a scripted gateway, a server, an org with one agent.
type env struct {
	t     *testing.T
	gw    *llmtest.Gateway
	srv   *servetest.Server
	fx    *fixture.Factory // writes to the server's database
	org   uuid.UUID
	agent db.Agent
}

// newEnv starts a gateway and a server (extra env vars override), and creates an org and
// an agent described by a.
func newEnv(t *testing.T, a fixture.Agent, extra map[string]string) *env {
	t.Helper()
	return newEnvLogged(t, a, extra, nil)
}

// newLoggedEnv is newEnv with an agent without restrictions whose server logs everything,
// at debug level, into logs.
func newLoggedEnv(t *testing.T, logs *logBuffer, extra map[string]string) *env {
	t.Helper()
	return newEnvLogged(t, fixture.Agent{}, extra, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func newEnvLogged(t *testing.T, a fixture.Agent, extra map[string]string, log *slog.Logger) *env {
	t.Helper()
	gw := llmtest.New(t)
	vars := map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(),
		"SWITCHBOARD_GATEWAY_KEY": "sk-server-test-key",
	}
	for k, v := range extra {
		vars[k] = v
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := servetest.StartConfig(t, servetest.Config(t, dbtest.NewURL(t), vars), log)
	e := &env{t: t, gw: gw, srv: srv, fx: fixture.New(t, srv.Pool)}
	e.org = e.fx.Org(fixture.Org{Name: "Acme"}).ID
	e.agent = e.fx.Agent(e.org, a)
	return e
}

func (e *env) dial(header http.Header) *wstest.Client {
	return wstest.Dial(e.t, e.srv.WSURL, header)
}

// session dials and creates a session on the env's agent; it returns the client and the ack.
func (e *env) session() (*wstest.Client, wstest.Event) {
	e.t.Helper()
	c := e.dial(nil)
	ack := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": e.agent.ID.String()})
	if ack.Type() != "immediate_response" || ack.Status() != 200 {
		e.t.Fatalf("create session: %s", ack.Raw)
	}
	return c, ack
}

var reqSeq atomic.Int64

func nextR() string { return fmt.Sprintf("r-%d", reqSeq.Add(1)) }

// send sends a send_message and requires its 202.
func send(t *testing.T, c *wstest.Client, sessionID, text string) string {
	t.Helper()
	r := nextR()
	ev := c.Request(map[string]any{"action": "send_message", "requestId": r, "sessionId": sessionID, "message": text})
	if ev.Type() != "immediate_response" || ev.Status() != 202 || ev.RequestID() != r {
		t.Fatalf("send_message %s: got %s", r, ev.Raw)
	}
	return r
}

// tokens concatenates the stream_token tokens of evs.
func tokens(evs []wstest.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Type() == "stream_token" {
			b.WriteString(ev.Token())
		}
	}
	return b.String()
}

func types(evs []wstest.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type()
	}
	return out
}

func ctx() context.Context { return context.Background() }

const testJWTSecret = "switchboard-ws-test-jwt-secret-0123456789"

// jwtToken signs an end-user token for the env's JWT secret.
func jwtToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	mc := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		mc[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString([]byte(testJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count is how many log lines contain s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// textReply is a scripted text reply with usage.
func textReply(parts ...string) llmtest.Response { return llmtest.Text(parts...).WithUsage(10, 2) }
