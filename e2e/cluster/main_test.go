package cluster_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

const (
	jwtSecret    = "switchboard-cluster-test-jwt-secret-0123456789"
	widgetSecret = "widget-secret-0123456789abcdef"
	acme         = "acme" // the main org's external id
)

// cluster is one test's world: a database shared by every instance started on it, a
// scripted gateway, and an org "acme" with an agent whose cancel_* tools need approval.
type cluster struct {
	t     *testing.T
	url   string
	vars  map[string]string
	gw    *llmtest.Gateway
	pool  *pgxpool.Pool
	st    *store.Store
	fx    *fixture.Factory // writes to the shared database
	org   uuid.UUID
	agent db.Agent
	tool  *toolServer
}

func newCluster(t *testing.T, vars map[string]string) *cluster {
	t.Helper()
	gw := llmtest.New(t)
	url := dbtest.NewURL(t)
	pool := dbtest.Pool(t, url)
	c := &cluster{
		t: t, url: url, gw: gw, pool: pool, st: store.New(pool, nil), fx: fixture.New(t, pool),
		vars: map[string]string{
			"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-cluster-test",
			"AUTH_JWT_SECRET": jwtSecret, "SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE": "0",
		},
	}
	for k, v := range vars {
		c.vars[k] = v
	}
	c.org = c.fx.Org(fixture.Org{Name: "Acme", ExternalID: acme}).ID
	c.agent = c.fx.Agent(c.org, fixture.Agent{ConfirmTools: []string{"cancel_*"}, WidgetSecret: widgetSecret})
	c.tool = newToolServer(t)
	c.addTool(c.agent.ID)
	return c
}

// addTool gives an agent of acme the gated tool cancel_subscription.
func (c *cluster) addTool(agentID uuid.UUID) {
	c.fx.Tool(c.org, agentID, fixture.Tool{Name: "cancel_subscription", URL: c.tool.URL,
		Parameters: `{"type":"object","properties":{"plan":{"type":"string"}}}`})
}

// start runs one more instance on the cluster's database; extra overrides variables.
// servetest returns once the instance serves and its LISTEN connection is up.
func (c *cluster) start(extra map[string]string, opts ...serve.Option) *servetest.Server {
	c.t.Helper()
	vars := map[string]string{}
	for k, v := range c.vars {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	srv := servetest.StartOn(c.t, c.url, vars, opts...)
	if code, body := readyz(c.t, srv); code != 200 || body.Checks["listener"] != "ok" {
		c.t.Fatalf("instance not ready after start: %d %+v", code, body)
	}
	return srv
}

// token signs a JWT for the cluster's secret: an end user for /ws, or with a role for /admin.
func token(t *testing.T, claims map[string]any) string {
	t.Helper()
	mc := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		mc[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, mc).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func adminToken(t *testing.T, org string) string {
	return token(t, map[string]any{"sub": "ops", "org": org, "role": "admin"})
}

func visitorToken(t *testing.T, sub string) string {
	return token(t, map[string]any{"sub": sub, "org": acme, "email": sub + "@example.org"})
}

// authContext is a valid signed authContext for userID (PROTOCOL §4.2.4).
func authContext(userID string) map[string]any {
	ts := time.Now().Unix()
	mac := hmac.New(sha256.New, []byte(widgetSecret))
	mac.Write([]byte(userID + ":" + strconv.FormatInt(ts, 10)))
	return map[string]any{"userId": userID, "timestamp": ts, "signature": hex.EncodeToString(mac.Sum(nil))}
}

// response is an HTTP answer.
type response struct {
	status int
	raw    []byte
}

// call sends an HTTP request to srv with an optional bearer token and JSON body.
func call(t *testing.T, srv *servetest.Server, method, path, tok string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, raw: raw}
}

// publish is POST /admin/publish on srv with tok; it returns the status.
func publish(t *testing.T, srv *servetest.Server, tok, kind, id string, event map[string]any) response {
	t.Helper()
	return call(t, srv, "POST", "/admin/publish", tok, map[string]any{"target": map[string]any{"type": kind, "id": id}, "event": event})
}

// mustPublish publishes and requires the 202.
func mustPublish(t *testing.T, srv *servetest.Server, tok, kind, id string, event map[string]any) {
	t.Helper()
	if r := publish(t, srv, tok, kind, id, event); r.status != 202 {
		t.Fatalf("publish to %s %s: %d %s", kind, id, r.status, r.raw)
	}
}

type readiness struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Draining bool              `json:"draining"`
}

func readyz(t *testing.T, srv *servetest.Server) (int, readiness) {
	t.Helper()
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		return 0, readiness{}
	}
	defer res.Body.Close()
	var r readiness
	_ = json.NewDecoder(res.Body).Decode(&r)
	return res.StatusCode, r
}

// metric reads one unlabelled sample from srv's GET /metrics (0 when absent).
func metric(t *testing.T, srv *servetest.Server, name string) float64 {
	t.Helper()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	return 0
}

func ctx() context.Context { return context.Background() }

// approvalStatus reads an approval's status straight from the database.
func (c *cluster) approvalStatus(id string) string {
	c.t.Helper()
	var s string
	if err := c.pool.QueryRow(ctx(), `SELECT status FROM pending_approvals WHERE id = $1`, id).Scan(&s); err != nil {
		c.t.Fatal(err)
	}
	return s
}

var reqSeq struct {
	sync.Mutex
	n int
}

func nextR() string {
	reqSeq.Lock()
	defer reqSeq.Unlock()
	reqSeq.n++
	return fmt.Sprintf("r-%d", reqSeq.n)
}

// widget is a test connection with the session it created.
type widget struct {
	*wstest.Client
	session, conversation string
}

// openWidget dials srv (with a visitor token when tok is set) and creates a session on agent;
// extra adds fields to the create frame.
func openWidget(t *testing.T, srv *servetest.Server, tok string, agentID uuid.UUID, extra map[string]any) *widget {
	t.Helper()
	u := srv.WSURL
	if tok != "" {
		u += "?token=" + tok
	}
	c := wstest.Dial(t, u, nil)
	f := map[string]any{"action": "create_conversation_session", "agentId": agentID.String()}
	for k, v := range extra {
		f[k] = v
	}
	ack := c.Request(f)
	if ack.Type() != "immediate_response" || ack.Status() != 200 {
		t.Fatalf("create session: %s", ack.Raw)
	}
	return &widget{Client: c, session: ack.Str("sessionId"), conversation: ack.Str("conversationId")}
}

// send sends a send_message and requires its 202.
func (w *widget) send(t *testing.T, text string) string {
	t.Helper()
	r := nextR()
	ev := w.Request(map[string]any{"action": "send_message", "requestId": r, "sessionId": w.session, "message": text})
	if ev.Type() != "immediate_response" || ev.Status() != 202 {
		t.Fatalf("send_message: %s", ev.Raw)
	}
	return r
}

// confirm sends confirm_tool_action for the widget's session and returns the answer.
func (w *widget) confirm(approved bool, sessionID string) wstest.Event {
	return w.Request(map[string]any{"action": "confirm_tool_action", "requestId": "cf", "sessionId": sessionID, "approved": approved})
}

// parked is a turn waiting for a decision on cancel_subscription.
type parked struct {
	*widget
	r, approvalID string
}

// park opens a widget on srv (as visitor tok) and sends a message whose turn parks; after is
// what the gateway answers once the turn resumes.
func (c *cluster) park(srv *servetest.Server, tok string, agentID uuid.UUID, after ...llmtest.Response) *parked {
	c.t.Helper()
	c.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "cancel_subscription", Arguments: `{"plan":"pro"}`}))
	c.gw.Push(after...)
	w := openWidget(c.t, srv, tok, agentID, nil)
	p := &parked{widget: w, r: w.send(c.t, "Please cancel my subscription.")}
	ev := w.Next()
	if ev.Type() != "write_confirmation_required" || ev.RequestID() != p.r {
		c.t.Fatalf("expected the park: %s", ev.Raw)
	}
	p.approvalID = wstest.Decode[wstest.Wrapped[wstest.Confirmation]](c.t, ev).Data.Data.ApprovalID
	if call := w.Next(); call.Type() != "stream_chunk" {
		c.t.Fatalf("expected the held-back toolCall: %s", call.Raw)
	}
	return p
}

// toolResult returns the toolResult of a turn's events.
func toolResult(t *testing.T, evs []wstest.Event) wstest.ToolResult {
	t.Helper()
	for _, ev := range evs {
		if ev.Type() != "stream_chunk" {
			continue
		}
		if tr := wstest.Decode[wstest.Chunk](t, ev).Data.State.RawResponse.ToolResult; tr != nil {
			return *tr
		}
	}
	t.Fatalf("no toolResult among %d events", len(evs))
	return wstest.ToolResult{}
}

// expectClose requires the socket's next frame to be a close with code want.
func expectClose(t *testing.T, w *wstest.Client, want int) {
	t.Helper()
	ev, err := w.TryNext(wstest.ReadTimeout)
	if err == nil {
		t.Fatalf("expected the socket to close with %d, got %s", want, ev.Raw)
	}
	if !websocket.IsCloseError(err, want) {
		t.Fatalf("socket ended with %v, want close %d", err, want)
	}
}

// toolServer is a real HTTP tool endpoint that counts its calls.
type toolServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls int
}

func newToolServer(t *testing.T) *toolServer {
	ts := &toolServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ts.mu.Lock()
		ts.calls++
		ts.mu.Unlock()
		_, _ = io.WriteString(w, "cancelled; access until 2026-01-31")
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toolServer) Calls() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.calls
}
