package admin_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// vcase is one request that must be a 400 VALIDATION_ERROR naming field.
type vcase struct {
	name, method, path, body, field string
}

func runValidation(t *testing.T, s *server, tok string, cases []vcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := s.do(t, c.method, c.path, tok, body).wantError(t, 400, "VALIDATION_ERROR", c.field)
			if msg := r.str(t, "error.message"); msg == "" || strings.Contains(msg, "sk-secret") || strings.Contains(msg, "SecretValue") {
				t.Fatalf("message %q", msg)
			}
		})
	}
}

func TestBodyValidation(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ALLOW_PRIVATE_TOOL_URLS": "0", "SWITCHBOARD_ALLOW_PRIVATE_GATEWAY_URLS": "0"})
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support").String()
	tools := "/admin/agents/" + agent + "/tools"
	long := strings.Repeat("x", 129)
	cases := []vcase{
		{"not json", "POST", "/admin/agents", "{name", ""},
		{"trailing data", "POST", "/admin/agents", `{"name":"a"} {}`, ""},
		{"top-level array", "POST", "/admin/agents", `[{"name":"a"}]`, ""},
		{"missing body", "POST", "/admin/agents", "", ""},
		{"duplicate key", "POST", "/admin/agents", `{"name":"a","name":"b"}`, "name"},
		{"unknown field", "POST", "/admin/agents", `{"name":"a","colour":"red"}`, "colour"},
		{"unknown nested field", "POST", "/admin/agents", `{"name":"a","widget":{"colour":"red"}}`, "widget.colour"},
		{"null required", "POST", "/admin/agents", `{"name":null}`, "name"},
		{"missing required", "POST", "/admin/agents", `{"model":"m"}`, "name"},
		{"number for string", "POST", "/admin/agents", `{"name":5}`, "name"},
		{"string for integer", "POST", "/admin/agents", `{"name":"a","maxIterations":"5"}`, "maxIterations"},
		{"1.0 for integer", "POST", "/admin/agents", `{"name":"a","maxIterations":1.0}`, "maxIterations"},
		{"1.5 for integer", "POST", "/admin/agents", `{"name":"a","maxTokens":1.5}`, "maxTokens"},
		{"maxIterations range", "POST", "/admin/agents", `{"name":"a","maxIterations":65}`, "maxIterations"},
		{"maxTokens range", "POST", "/admin/agents", `{"name":"a","maxTokens":0}`, "maxTokens"},
		{"string for boolean", "POST", "/admin/agents", `{"name":"a","enabled":"true"}`, "enabled"},
		{"object for array", "POST", "/admin/agents", `{"name":"a","confirmTools":{}}`, "confirmTools"},
		{"U+0000", "POST", "/admin/agents", `{"name":"a\u0000b"}`, "name"},
		{"name too long", "POST", "/admin/agents", `{"name":"` + long + `"}`, "name"},
		{"name blank after trim", "POST", "/admin/agents", `{"name":"   "}`, "name"},
		{"name control char", "POST", "/admin/agents", `{"name":"a\tb"}`, "name"},
		{"model grammar", "POST", "/admin/agents", `{"name":"a","model":"-bad model"}`, "model"},
		{"systemPrompt empty", "POST", "/admin/agents", `{"name":"a","systemPrompt":""}`, "systemPrompt"},
		{"systemPrompt too long", "POST", "/admin/agents", `{"name":"a","systemPrompt":"` + strings.Repeat("é", 16385) + `"}`, "systemPrompt"},
		{"persona too long", "POST", "/admin/agents", `{"name":"a","persona":"` + strings.Repeat("p", 8193) + `"}`, "persona"},
		{"confirmTools pattern", "POST", "/admin/agents", `{"name":"a","confirmTools":["ok","bad pattern"]}`, "confirmTools[1]"},
		{"confirmTools repeated", "POST", "/admin/agents", `{"name":"a","confirmTools":["x","x"]}`, "confirmTools[1]"},
		{"confirmTools too many", "POST", "/admin/agents", `{"name":"a","confirmTools":[` + numbered("t", 65) + `]}`, "confirmTools"},
		{"documentSets name", "POST", "/admin/agents", `{"name":"a","documentSets":["ok","-bad"]}`, "documentSets[1]"},
		{"origin with path", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["*","https://a.com","https://b.com/"]}}`, "widget.allowedOrigins[2]"},
		{"origin wildcard of one label", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["https://*.com"]}}`, "widget.allowedOrigins[0]"},
		{"origin scheme", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["ftp://a.com"]}}`, "widget.allowedOrigins[0]"},
		{"origin userinfo", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["https://u@a.com"]}}`, "widget.allowedOrigins[0]"},
		{"origin repeated after normalising", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["https://A.com","https://a.com:443"]}}`, "widget.allowedOrigins[1]"},
		{"origin too long", "POST", "/admin/agents", `{"name":"a","widget":{"allowedOrigins":["https://` + strings.Repeat("a", 300) + `.com"]}}`, "widget.allowedOrigins[0]"},
		{"tool secret too short", "POST", "/admin/agents", `{"name":"a","toolSigningSecret":"SecretValue"}`, "toolSigningSecret"},
		{"widget secret with a space", "POST", "/admin/agents", `{"name":"a","widget":{"signingSecret":"SecretValue 12345"}}`, "widget.signingSecret"},
		{"requireAuthContext without secret", "POST", "/admin/agents", `{"name":"a","widget":{"requireAuthContext":true}}`, "widget.requireAuthContext"},
		{"put: same rules", "PUT", "/admin/agents/" + agent, `{"name":"a","maxIterations":0}`, "maxIterations"},
		{"put: requireAuthContext without stored secret", "PUT", "/admin/agents/" + agent, `{"name":"a","widget":{"requireAuthContext":true}}`, "widget.requireAuthContext"},

		{"tool name grammar", "POST", tools, `{"name":"bad name","description":"d","url":"https://a.example.com"}`, "name"},
		{"tool name built-in", "POST", tools, `{"name":"Knowledge_Search","description":"d","url":"https://a.example.com"}`, "name"},
		{"tool description empty", "POST", tools, `{"name":"t","description":"","url":"https://a.example.com"}`, "description"},
		{"tool parameters not object type", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com","parameters":{"type":"string"}}`, "parameters"},
		{"tool parameters remote ref", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com","parameters":{"type":"object","$ref":"https://evil.example/s.json"}}`, "parameters"},
		{"tool parameters array", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com","parameters":[]}`, "parameters"},
		{"tool parameters U+0000", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com","parameters":{"type":"object","description":"\u0000"}}`, "parameters.description"},
		{"tool url private", "POST", tools, `{"name":"t","description":"d","url":"http://127.0.0.1:8080/x"}`, "url"},
		{"tool url localhost", "POST", tools, `{"name":"t","description":"d","url":"http://localhost/x"}`, "url"},
		{"tool url userinfo", "POST", tools, `{"name":"t","description":"d","url":"https://u:p@a.example.com"}`, "url"},
		{"tool url fragment", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com/#x"}`, "url"},
		{"tool timeout", "POST", tools, `{"name":"t","description":"d","url":"https://a.example.com","timeoutMs":99}`, "timeoutMs"},

		{"settings model null", "PUT", "/admin/settings", `{"model":null}`, "model"},
		{"settings systemPrompt null", "PUT", "/admin/settings", `{"systemPrompt":null}`, "systemPrompt"},
		{"settings defaultTools null", "PUT", "/admin/settings", `{"defaultTools":null}`, "defaultTools"},
		{"settings persona empty", "PUT", "/admin/settings", `{"persona":""}`, "persona"},
		{"settings unknown built-in", "PUT", "/admin/settings", `{"model":"m","systemPrompt":"p","defaultTools":["knowledge_search","web_search"]}`, "defaultTools[1]"},
		{"settings budget negative", "PUT", "/admin/settings", `{"model":"m","systemPrompt":"p","monthlyTokenBudget":-1}`, "monthlyTokenBudget"},
		{"settings budget too big", "PUT", "/admin/settings", `{"model":"m","systemPrompt":"p","monthlyTokenBudget":1000000000001}`, "monthlyTokenBudget"},

		{"api key role", "POST", "/admin/api-keys", `{"name":"k","role":"Admin"}`, "role"},
		{"api key name", "POST", "/admin/api-keys", `{"name":"","role":"admin"}`, "name"},

		{"gateway key too short", "POST", "/admin/gateway-keys", `{"label":"l","key":"sk-1234"}`, "key"},
		{"gateway key with space", "POST", "/admin/gateway-keys", `{"label":"l","key":"sk-secret value"}`, "key"},
		{"gateway baseUrl private", "POST", "/admin/gateway-keys", `{"label":"l","key":"sk-secret-value","baseUrl":"http://10.0.0.1/v1"}`, "baseUrl"},
		{"gateway label", "POST", "/admin/gateway-keys", `{"label":"` + long + `","key":"sk-secret-value"}`, "label"},

		{"approval approved as string", "POST", "/admin/approvals/" + uuid.NewString(), `{"approved":"true"}`, "approved"},
		{"approval approved missing", "POST", "/admin/approvals/" + uuid.NewString(), `{"reason":"r"}`, "approved"},
		{"approval reason empty", "POST", "/admin/approvals/" + uuid.NewString(), `{"approved":false,"reason":""}`, "reason"},

		{"publish target type", "POST", "/admin/publish", `{"target":{"type":"instance","id":"x"},"event":{"type":"n"}}`, "target.type"},
		{"publish target uuid", "POST", "/admin/publish", `{"target":{"type":"session","id":"nope"},"event":{"type":"n"}}`, "target.id"},
		{"publish user identity empty", "POST", "/admin/publish", `{"target":{"type":"user","id":"jwt:"},"event":{"type":"n"}}`, "target.id"},
		{"publish unknown target field", "POST", "/admin/publish", `{"target":{"type":"org","id":"x","extra":1},"event":{"type":"n"}}`, "target.extra"},
		{"publish event type missing", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":{"data":1}}`, "event.type"},
		{"publish event type of the protocol", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":{"type":"eventual_response"}}`, "event.type"},
		{"publish event type reserved", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":{"type":"otp_sent"}}`, "event.type"},
		{"publish event type too long", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":{"type":"` + strings.Repeat("t", 65) + `"}}`, "event.type"},
		{"publish event too big", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":{"type":"n","data":"` + strings.Repeat("d", 65536) + `"}}`, "event"},
		{"publish event not object", "POST", "/admin/publish", `{"target":{"type":"user","id":"u"},"event":"n"}`, "event"},
		{"body on a bodiless endpoint", "DELETE", "/admin/agents/" + uuid.NewString(), `{"x":1}`, "x"},
	}
	runValidation(t, s, a.key, cases)

	t.Run("wrong content type", func(t *testing.T) {
		s.do(t, "POST", "/admin/agents", a.key, `{"name":"a"}`, "Content-Type", "text/plain").wantError(t, 400, "VALIDATION_ERROR", "Content-Type")
		s.do(t, "POST", "/admin/agents", a.key, `{"name":"ct"}`, "Content-Type", "application/json; charset=utf-8").want(t, 201)
	})
	t.Run("validation comes before the resource lookup", func(t *testing.T) {
		s.do(t, "PUT", "/admin/agents/"+uuid.NewString(), a.key, `{"name":5}`).wantError(t, 400, "VALIDATION_ERROR", "name")
		s.do(t, "PUT", "/admin/agents/not-a-uuid", a.key, `{"name":5}`).wantError(t, 400, "VALIDATION_ERROR", "name")
		r := s.do(t, "PUT", "/admin/agents/not-a-uuid", a.key, `{"name":"ok"}`).wantError(t, 404, "NOT_FOUND", "-")
		if r.str(t, "error.message") != "agent 'not-a-uuid' not found" {
			t.Fatalf("message %s", r.body)
		}
	})
	t.Run("the 65th tool is refused", func(t *testing.T) {
		id := s.createAgent(t, a, "Many tools").String()
		for i := 0; i < 64; i++ {
			s.do(t, "POST", "/admin/agents/"+id+"/tools", a.key, map[string]any{"name": fmt.Sprintf("t%d", i), "description": "d", "url": "https://a.example.com"}).want(t, 201)
		}
		s.do(t, "POST", "/admin/agents/"+id+"/tools", a.key, map[string]any{"name": "t64", "description": "d", "url": "https://a.example.com"}).wantError(t, 400, "VALIDATION_ERROR", "")
	})
}

func numbered(prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q", fmt.Sprintf("%s%d", prefix, i))
	}
	return strings.Join(parts, ",")
}

func TestQueryParameterRules(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	cases := []vcase{
		{"unknown parameter", "GET", "/admin/agents?foo=1", "", "foo"},
		{"parameter on an endpoint without any", "GET", "/admin/me?x=1", "", "x"},
		{"repeated parameter", "GET", "/admin/agents?limit=1&limit=2", "", "limit"},
		{"empty value", "GET", "/admin/conversations?agentId=", "", "agentId"},
		{"malformed agentId", "GET", "/admin/conversations?agentId=nope", "", "agentId"},
		{"limit zero", "GET", "/admin/agents?limit=0", "", "limit"},
		{"limit too big", "GET", "/admin/agents?limit=201", "", "limit"},
		{"limit not integer", "GET", "/admin/agents?limit=1.0", "", "limit"},
		{"limit with sign", "GET", "/admin/agents?limit=+5", "", "limit"},
		{"cursor garbage", "GET", "/admin/agents?cursor=!!!", "", "cursor"},
		{"cursor too long", "GET", "/admin/agents?cursor=" + strings.Repeat("a", 513), "", "cursor"},
		{"usage from unparseable", "GET", "/admin/usage?from=yesterday", "", "from"},
		{"usage from after to", "GET", "/admin/usage?from=2025-07-01&to=2025-06-01", "", "from"},
		{"usage from equals to", "GET", "/admin/usage?from=2025-06-01&to=2025-06-01T00:00:00Z", "", "from"},
		{"usage span over 366 days", "GET", "/admin/usage?from=2024-01-01&to=2025-01-02", "", "to"},
		{"usage groupBy", "GET", "/admin/usage?groupBy=week", "", "groupBy"},
		{"usage is not paged", "GET", "/admin/usage?limit=5", "", "limit"},
	}
	runValidation(t, s, a.key, cases)
	s.do(t, "GET", "/admin/usage?from=2024-01-01&to=2025-01-01", a.key, nil).want(t, 200) // 366 days
	s.do(t, "GET", "/admin/agents?limit=200", a.key, nil).want(t, 200)
}

func TestTransportRules(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	t.Run("a body over 2 MiB is 413 before authentication", func(t *testing.T) {
		// The server answers from the Content-Length header and closes without reading the
		// body; speak HTTP by hand so the client cannot race its upload against that close.
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /admin/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20+1)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env struct {
			RequestID string                `json:"requestId"`
			Error     struct{ Code string } `json:"error"`
		}
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatalf("413 body: %v", err)
		}
		if res.StatusCode != 413 || env.Error.Code != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("got %d %q, want 413 PAYLOAD_TOO_LARGE", res.StatusCode, env.Error.Code)
		}
		if rid := res.Header.Get("X-Request-Id"); rid == "" || rid != env.RequestID {
			t.Fatalf("request id header %q, body %q", rid, env.RequestID)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("413 under /admin lacks Cache-Control: no-store")
		}
	})
	t.Run("unknown routes and methods are enveloped 404s", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/admin/nope"}, {"PATCH", "/admin/agents"}, {"HEAD", "/admin/agents"}, {"GET", "/Admin/agents"},
			{"POST", "/admin/me"}, {"GET", "/administrator"}, {"OPTIONS", "/admin/agents"},
		} {
			r := s.do(t, c.method, c.path, a.key, nil)
			if r.status != 404 {
				t.Fatalf("%s %s: %d", c.method, c.path, r.status)
			}
			if c.method != "HEAD" {
				r.wantError(t, 404, "NOT_FOUND", "-")
			}
		}
		// Unknown routes are 404 before authentication.
		s.do(t, "GET", "/admin/nope", "", nil).wantError(t, 404, "NOT_FOUND", "-")
	})
	t.Run("bodiless endpoints accept nothing or {}", func(t *testing.T) {
		s.do(t, "GET", "/admin/agents", a.key, "{}").want(t, 200)
		s.do(t, "GET", "/admin/agents", a.key, " { } ").want(t, 200)
		s.do(t, "GET", "/admin/agents", a.key, "[]").wantError(t, 400, "VALIDATION_ERROR", "")
	})
	t.Run("compressed bodies are refused, not inflated", func(t *testing.T) {
		s.do(t, "POST", "/admin/agents", a.key, `{"name":"gz"}`, "Content-Encoding", "gzip").wantError(t, 400, "VALIDATION_ERROR", "")
	})
	t.Run("a single trailing slash is not significant", func(t *testing.T) {
		s.do(t, "GET", "/admin/agents/", a.key, nil).want(t, 200)
	})
	t.Run("every admin response carries no-store and nosniff", func(t *testing.T) {
		for _, r := range []resp{
			s.do(t, "GET", "/admin/agents", a.key, nil), s.do(t, "GET", "/admin/agents", "", nil),
			s.do(t, "GET", "/admin/nope", "", nil), s.do(t, "GET", "/admin/health", "", nil),
		} {
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" ||
				r.header.Get("Content-Type") != "application/json; charset=utf-8" || r.header.Get("X-Request-Id") == "" {
				t.Fatalf("headers %v", r.header)
			}
		}
	})
	t.Run("204 has an empty body", func(t *testing.T) {
		id := s.createAgent(t, a, "Gone").String()
		r := s.do(t, "DELETE", "/admin/agents/"+id, a.key, nil).want(t, 204)
		if len(r.body) != 0 {
			t.Fatalf("body %q", r.body)
		}
	})
	t.Run("request ids are adopted when well-formed", func(t *testing.T) {
		r := s.do(t, "GET", "/admin/nope", "", nil, "X-Request-Id", "client.id:42")
		if r.header.Get("X-Request-Id") != "client.id:42" || r.str(t, "requestId") != "client.id:42" {
			t.Fatalf("request id %q", r.header.Get("X-Request-Id"))
		}
		r = s.do(t, "GET", "/admin/nope", "", nil, "X-Request-Id", "bad id!")
		if _, err := uuid.Parse(r.header.Get("X-Request-Id")); err != nil {
			t.Fatalf("request id %q", r.header.Get("X-Request-Id"))
		}
	})
}
