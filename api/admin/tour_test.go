package admin_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// TestEveryOperationAnswersItsDocumentedSchema calls every documented operation once with
// valid input on a seeded org, and validates each answer (and sample errors) against the
// schema /openapi.json declares for its status (ADMIN-API §11).
func TestEveryOperationAnswersItsDocumentedSchema(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS": "1"}) // the connector reads a local site
	a := s.newOrg(t, "A")
	doc, _ := fetchDoc(t, s)
	v := responseValidator{doc: doc, compiler: schemaCompiler(t, doc)}
	visited := map[string]bool{}
	call := func(method, path, tmpl string, body any, status int) resp {
		t.Helper()
		r := s.do(t, method, path, a.key, body)
		if r.status != status {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
		}
		v.check(t, method, tmpl, r)
		visited[method+" "+tmpl] = true
		return r
	}
	public := func(method, path string, status int) {
		r := s.do(t, method, path, "", nil)
		if r.status != status {
			t.Fatalf("%s %s: %d", method, path, r.status)
		}
		v.check(t, method, path, r)
		visited[method+" "+path] = true
	}
	public("GET", "/healthz", 200)
	public("HEAD", "/healthz", 200)
	public("GET", "/readyz", 200)
	public("HEAD", "/readyz", 200)
	public("GET", "/openapi.json", 200)
	public("GET", "/admin/health", 200)
	public("GET", "/metrics", 200)
	call("GET", "/admin/me", "/admin/me", nil, 200)

	call("GET", "/admin/api-keys", "/admin/api-keys", nil, 200)
	k := call("POST", "/admin/api-keys", "/admin/api-keys", map[string]any{"name": "ci", "role": "curator"}, 201)
	call("DELETE", "/admin/api-keys/"+k.str(t, "apiKey.id"), "/admin/api-keys/{id}", nil, 204)

	ag := call("POST", "/admin/agents", "/admin/agents", map[string]any{
		"name": "Support", "model": "gpt-4o-mini", "systemPrompt": "Be brief.", "confirmTools": []string{"refund_*"},
		"documentSets": []string{"billing-faq"}, "maxIterations": 8, "toolSigningSecret": "t7%Qm3@zLp8Rw2Ys6Hv1",
		"widget": map[string]any{"allowedOrigins": []string{"https://www.acme.com", "https://*.acme.com"}, "requireAuthContext": true, "signingSecret": "k9#Vt2!mWbYc9dLfN4hJ"},
	}, 201)
	agentID := ag.str(t, "agent.id")
	call("GET", "/admin/agents", "/admin/agents", nil, 200)
	call("GET", "/admin/agents/"+agentID, "/admin/agents/{id}", nil, 200)
	call("PUT", "/admin/agents/"+agentID, "/admin/agents/{id}", map[string]any{"name": "Support", "maxTokens": 500}, 200)
	call("GET", "/admin/agents/"+agentID+"/embed", "/admin/agents/{id}/embed", nil, 200)
	tl := call("POST", "/admin/agents/"+agentID+"/tools", "/admin/agents/{id}/tools", map[string]any{
		"name": "lookup_invoice", "description": "Look up an invoice.", "url": "https://api.acme.com/invoices",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"number": map[string]any{"type": "string"}}},
	}, 201)
	toolPath := "/admin/agents/" + agentID + "/tools/" + tl.str(t, "tool.id")
	call("GET", "/admin/agents/"+agentID+"/tools", "/admin/agents/{id}/tools", nil, 200)
	call("GET", toolPath, "/admin/agents/{id}/tools/{toolId}", nil, 200)
	call("PUT", toolPath, "/admin/agents/{id}/tools/{toolId}", map[string]any{"name": "lookup_invoice", "description": "d", "url": "https://api.acme.com/v2"}, 200)
	call("DELETE", toolPath, "/admin/agents/{id}/tools/{toolId}", nil, 204)

	call("GET", "/admin/settings", "/admin/settings", nil, 200)
	call("PUT", "/admin/settings", "/admin/settings", map[string]any{"model": "gpt-4o", "systemPrompt": "Hi.", "monthlyTokenBudget": 2000000}, 200)

	c := s.seedChat(t, a, uuid.MustParse(agentID), "jwt:u1", "u1@example.org", 3)
	call("GET", "/admin/conversations", "/admin/conversations", nil, 200)
	call("GET", "/admin/conversations/"+c.conv.String(), "/admin/conversations/{id}", nil, 200)
	call("GET", "/admin/conversations/"+c.conv.String()+"/messages", "/admin/conversations/{id}/messages", nil, 200)

	apID := s.seedApproval(t, a, uuid.MustParse(agentID), c, "refund_order", time.Minute)
	call("GET", "/admin/approvals", "/admin/approvals", nil, 200)
	call("POST", "/admin/approvals/"+apID.String(), "/admin/approvals/{id}", map[string]any{"approved": false, "reason": "too much"}, 200)

	gk := call("POST", "/admin/gateway-keys", "/admin/gateway-keys", map[string]any{"label": "prod", "key": "sk-test-1234567890"}, 201)
	call("GET", "/admin/gateway-keys", "/admin/gateway-keys", nil, 200)
	if err := db.New().UsageEventInsert(context.Background(), s.Pool, db.UsageEventInsertParams{
		ID: uuid.New(), OrgID: a.id, AgentID: uuid.MustParse(agentID), ConversationID: c.conv, SessionID: c.session,
		RequestID: "r-1", Model: "gpt-4o", PromptTokens: 10, CompletionTokens: 5, CostUsd: 0.0001234567, Outcome: "completed",
		GatewayKeyID: uuid.NullUUID{UUID: uuid.MustParse(gk.str(t, "gatewayKey.id")), Valid: true},
	}); err != nil {
		t.Fatal(err)
	}
	call("DELETE", "/admin/gateway-keys/"+gk.str(t, "gatewayKey.id"), "/admin/gateway-keys/{id}", nil, 204)
	for _, g := range []string{"day", "model", "agent", "key"} {
		call("GET", "/admin/usage?groupBy="+g, "/admin/usage", nil, 200)
	}
	call("POST", "/admin/publish", "/admin/publish", map[string]any{
		"target": map[string]any{"type": "conversation", "id": c.conv.String()},
		"event":  map[string]any{"type": "notice", "data": map[string]any{"text": "hi"}},
	}, 202)
	tourKnowledge(t, s, a.key, call)
	call("GET", "/admin/end-users/"+url.PathEscape("jwt:u1")+"/export", "/admin/end-users/{ref}/export", nil, 200)
	call("DELETE", "/admin/end-users/email:u1@example.org", "/admin/end-users/{ref}", nil, 200)
	c2 := s.seedChat(t, a, uuid.MustParse(agentID), "", "", 1)
	call("DELETE", "/admin/conversations/"+c2.conv.String(), "/admin/conversations/{id}", nil, 204)
	call("GET", "/admin/end-users/sms:1/export", "/admin/end-users/{ref}/export", nil, 400)
	call("GET", "/admin/audit", "/admin/audit", nil, 200)
	call("DELETE", "/admin/agents/"+agentID, "/admin/agents/{id}", nil, 204)

	// Sample errors validate against Error.
	call("GET", "/admin/agents/"+agentID, "/admin/agents/{id}", nil, 404)
	call("POST", "/admin/api-keys", "/admin/api-keys", map[string]any{"name": "x", "role": "owner"}, 400)
	call("POST", "/admin/api-keys", "/admin/api-keys", map[string]any{"name": "BOOTSTRAP", "role": "basic"}, 409)
	r := s.do(t, "GET", "/admin/me", "", nil)
	v.check(t, "GET", "/admin/me", r)

	for _, o := range doc.ops() {
		if !visited[o.method+" "+o.path] {
			t.Errorf("%s %s was not exercised", o.method, o.path)
		}
	}
	if t.Failed() {
		return
	}
	if strings.Contains(s.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("the tour logged errors:\n%s", s.logs.String())
	}
}
