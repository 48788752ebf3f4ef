package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// jwtSecret is the HS256 key of test servers in JWT mode.
const jwtSecret = "admin-api-test-secret-of-at-least-32-bytes!"

// logBuffer collects every log line a test server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running test server and what a test needs to talk to it.
type server struct {
	*servetest.Server
	logs *logBuffer
	fx   *fixture.Factory // writes to the server's database
}

// start runs a server in JWT mode (HS256) with the rate limits off unless env sets them,
// logging everything at debug level into a buffer the test can scan.
func start(t *testing.T, env map[string]string) *server {
	t.Helper()
	base := map[string]string{
		"AUTH_JWT_SECRET":                           jwtSecret,
		"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE":   "0",
		"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "0",
	}
	for k, v := range env {
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	logs := &logBuffer{}
	cfg := servetest.Config(t, dbtest.NewURL(t), base)
	srv := servetest.StartConfig(t, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return &server{Server: srv, logs: logs, fx: fixture.New(t, srv.Pool)}
}

// org is a tenant with an admin API key.
type org struct {
	id  uuid.UUID
	key string // admin API key
}

// newOrg writes an org and an admin API key named "bootstrap".
func (s *server) newOrg(t *testing.T, name string) org {
	t.Helper()
	o := s.fx.Org(fixture.Org{Name: name})
	return org{id: o.ID, key: s.fx.APIKey(o.ID, fixture.APIKey{Name: "bootstrap", Role: "admin"}).Plaintext}
}

// bootstrapOrg creates an org the way `switchboard orgs create` does, with the store's
// org.create and apiKey.create audit rows (actor system/cli).
func (s *server) bootstrapOrg(t *testing.T, name string) org {
	t.Helper()
	k, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := s.Store.CreateOrgWithKey(context.Background(), name, nil, store.NewAPIKeyRow{
		Name: "bootstrap", Role: "admin", Hash: k.Hash, Prefix: k.Prefix, Last4: k.Last4,
	}, store.Meta{Actor: store.SystemCLI})
	if err != nil {
		t.Fatal(err)
	}
	return org{id: o.ID, key: k.Plaintext}
}

// apiKey creates an API key of role in o through the API and returns its plaintext.
func (s *server) apiKey(t *testing.T, o org, role string) string {
	t.Helper()
	r := s.do(t, "POST", "/admin/api-keys", o.key, map[string]any{"name": role + "-" + uuid.NewString()[:8], "role": role})
	r.want(t, 201)
	return r.str(t, "key")
}

// token mints an HS256 JWT with standard valid claims plus changes (nil deletes a claim).
func token(t *testing.T, changes map[string]any) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": "user-1", "org": "acme", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range changes {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resp is an HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body may be nil, a string or []byte (sent as is) or any value (JSON).
func (s *server) do(t *testing.T, method, path, tok string, body any, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: raw}
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// decode decodes the body exactly into a T (see testkit.DecodeJSON): every key the answer
// carries, and only those.
func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	return testkit.DecodeJSON[T](t, r.body)
}

// jsonValue decodes raw JSON for comparison by value, so cmp.Diff does not compare key
// order or spacing: use it as cmp.Transformer("json", jsonValue).
func jsonValue(raw json.RawMessage) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	return v
}

// listField returns field (a string: an id, a name) of every item of the list under key,
// in order, and the list's opaque nextCursor (nil on the last page).
func listField(t *testing.T, r resp, key, field string) ([]string, *string) {
	t.Helper()
	page := testkit.DecodeJSON[map[string]json.RawMessage](t, r.body)
	return listItems(t, r, key, field), testkit.DecodeJSON[*string](t, page["nextCursor"])
}

// listItems returns field of every item of the list under key, in order.
func listItems(t *testing.T, r resp, key, field string) []string {
	t.Helper()
	page := testkit.DecodeJSON[map[string]json.RawMessage](t, r.body)
	items, ok := page[key]
	if !ok {
		t.Fatalf("no list %q in %s", key, r.body)
	}
	var out []string
	for _, it := range testkit.DecodeJSON[[]map[string]json.RawMessage](t, items) {
		var v string
		if err := json.Unmarshal(it[field], &v); err != nil {
			t.Fatalf("%s of an item of %s: %v in %s", field, key, err, r.body)
		}
		out = append(out, v)
	}
	return out
}

// json decodes the body into a generic value.
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// get walks a dotted path (numbers index arrays) in the JSON body.
func (r resp) get(t *testing.T, path string) any {
	t.Helper()
	var cur any = r.json(t)
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[part]
		case []any:
			i := 0
			for _, c := range part {
				i = i*10 + int(c-'0')
			}
			if i >= len(v) {
				t.Fatalf("%s: index %d out of range in %s", path, i, r.body)
			}
			cur = v[i]
		default:
			t.Fatalf("%s: cannot descend into %T in %s", path, cur, r.body)
		}
	}
	return cur
}

func (r resp) str(t *testing.T, path string) string {
	t.Helper()
	s, ok := r.get(t, path).(string)
	if !ok {
		t.Fatalf("%s is not a string in %s", path, r.body)
	}
	return s
}

func (r resp) list(t *testing.T, path string) []any {
	t.Helper()
	l, ok := r.get(t, path).([]any)
	if !ok {
		t.Fatalf("%s is not a list in %s", path, r.body)
	}
	return l
}

// wantError checks an enveloped error: status, code and (when not "-") field.
func (r resp) wantError(t *testing.T, status int, code, field string) resp {
	t.Helper()
	r.want(t, status)
	got := decode[admintest.Error](t, r)
	if got.Error.Code != code {
		t.Fatalf("error code %q, want %s; body %s", got.Error.Code, code, r.body)
	}
	if field != "-" && got.Error.Field != field {
		t.Fatalf("error field %q, want %q; body %s", got.Error.Field, field, r.body)
	}
	// The envelope: the error again under data, the request id of the header in both.
	rid := r.header.Get("X-Request-Id")
	want := admintest.Error{Type: "error", RequestID: rid, Error: got.Error, Timestamp: got.Timestamp}
	want.Data.RequestID, want.Data.Error = rid, got.Error
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("not an envelope with the request id (-want +got):\n%s", diff)
	}
	return r
}

// comparable strips requestId and timestamp from an error body (ADMIN-API §4.1).
func comparable(t *testing.T, r resp) string {
	t.Helper()
	m := r.json(t)
	delete(m, "requestId")
	delete(m, "timestamp")
	if d, ok := m["data"].(map[string]any); ok {
		delete(d, "requestId")
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// instanceID is the live instance of the server (approvals need a live owner).
func (s *server) instanceID(t *testing.T) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := s.Pool.QueryRow(context.Background(), `SELECT id FROM instances WHERE stopped_at IS NULL ORDER BY started_at DESC LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// chat is a seeded conversation with a session.
type chat struct {
	conv, session, userPart, agentPart uuid.UUID
}

// seedChat writes a conversation of agent in o, with a user participant carrying the given
// identity and email (either may be ""), an ai-agent participant, a session and n messages.
func (s *server) seedChat(t *testing.T, o org, agent uuid.UUID, identity, email string, n int) chat {
	t.Helper()
	c := s.fx.Conversation(o.id, agent, fixture.Conversation{UserIdentity: identity, UserEmail: email, Messages: n})
	return chat{conv: c.Conversation.ID, session: c.Session.ID, userPart: c.User.ID, agentPart: c.Agent.ID}
}

// seedApproval parks a tool call of c owned by the server's instance.
func (s *server) seedApproval(t *testing.T, o org, agent uuid.UUID, c chat, tool string, expires time.Duration) uuid.UUID {
	t.Helper()
	a, err := db.New().ApprovalCreate(context.Background(), s.Pool, db.ApprovalCreateParams{
		ID: uuid.New(), OrgID: o.id, SessionID: c.session, ConversationID: c.conv, AgentID: agent,
		RequestID: "r-1", ToolName: tool, Arguments: json.RawMessage(`{"order":"1042"}`),
		InstanceID: s.instanceID(t), ExpiresAt: time.Now().Add(expires),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// createAgent creates an agent through the API and returns its id.
func (s *server) createAgent(t *testing.T, o org, name string) uuid.UUID {
	t.Helper()
	r := s.do(t, "POST", "/admin/agents", o.key, map[string]any{"name": name}).want(t, 201)
	return uuid.MustParse(r.str(t, "agent.id"))
}

// auditRows reads o's audit rows straight from the database, oldest first.
func (s *server) auditRows(t *testing.T, o org) []db.AuditLog {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `SELECT id, org_id, at, actor_type, actor_id, actor_name, action, target_type, target_id, request_id, ip, details FROM audit_log WHERE org_id = $1 ORDER BY at, id`, o.id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []db.AuditLog
	for rows.Next() {
		var a db.AuditLog
		if err := rows.Scan(&a.ID, &a.OrgID, &a.At, &a.ActorType, &a.ActorID, &a.ActorName, &a.Action, &a.TargetType, &a.TargetID, &a.RequestID, &a.Ip, &a.Details); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}
