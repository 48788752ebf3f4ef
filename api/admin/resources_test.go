package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
)

func TestAgentWritesNormaliseAndReplace(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	r := s.do(t, "POST", "/admin/agents", a.key, map[string]any{
		"name": "  Support  ", "model": "gpt-4o-mini", "maxIterations": 8, "enabled": false,
		"confirmTools": []string{"refund_*", "delete_?"}, "documentSets": []string{"billing-faq", "FAQ"},
		"widget": map[string]any{"allowedOrigins": []string{
			"*", "HTTPS://WWW.Acme.COM:443", "http://localhost:3000", "https://*.Acme.com:8443", "http://[::1]:80", "http://127.0.0.1:80",
		}},
	}).want(t, 201)
	id := r.str(t, "agent.id")
	if r.header.Get("Location") != "/admin/agents/"+id {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	got := decode[admintest.AgentAnswer](t, r).Agent
	model, iterations := "gpt-4o-mini", int32(8)
	want := admintest.Agent{
		ID: id, Name: "Support", Model: &model, MaxIterations: &iterations, Enabled: false,
		ConfirmTools: []string{"refund_*", "delete_?"}, DocumentSets: []string{"billing-faq", "FAQ"},
		Widget: admintest.Widget{AllowedOrigins: []string{
			"*", "https://www.acme.com", "http://localhost:3000", "https://*.acme.com:8443", "http://[::1]", "http://127.0.0.1",
		}},
		CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("created agent (-want +got):\n%s", diff)
	}
	created := got.CreatedAt
	// updatedAt must differ at the millisecond of its rendering: wait until the database's
	// clock has passed createdAt at that precision.
	testkit.Eventually(t, "the database clock to pass createdAt", func() bool {
		var passed bool
		if err := s.Pool.QueryRow(t.Context(), `SELECT date_trunc('milliseconds', clock_timestamp()) > $1::timestamptz`, created).Scan(&passed); err != nil {
			t.Fatal(err)
		}
		return passed
	})
	// PUT replaces the whole agent: omitted fields take their defaults.
	r = s.do(t, "PUT", "/admin/agents/"+id, a.key, map[string]any{"name": "Support"}).want(t, 200)
	got = decode[admintest.AgentAnswer](t, r).Agent
	want = admintest.Agent{
		ID: id, Name: "Support", Enabled: true, ConfirmTools: []string{}, DocumentSets: []string{},
		Widget: admintest.Widget{AllowedOrigins: []string{}}, CreatedAt: created, UpdatedAt: got.UpdatedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after PUT (-want +got):\n%s", diff)
	}
	if got.UpdatedAt == created {
		t.Fatalf("updatedAt %s did not move on PUT", got.UpdatedAt)
	}
	// Names are unique per org, case-insensitively, on create and on rename.
	other := s.createAgent(t, a, "Sales").String()
	s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "SUPPORT"}).wantError(t, 409, "CONFLICT", "-")
	s.do(t, "PUT", "/admin/agents/"+other, a.key, map[string]any{"name": "support"}).wantError(t, 409, "CONFLICT", "-")
	s.do(t, "PUT", "/admin/agents/"+other, a.key, map[string]any{"name": "sales"}).want(t, 200) // its own name, recased
}

func TestToolsBelongToTheirAgent(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent, agent2 := s.createAgent(t, a, "One").String(), s.createAgent(t, a, "Two").String()
	r := s.do(t, "POST", "/admin/agents/"+agent+"/tools", a.key, map[string]any{
		"name": "lookup_invoice", "description": "Look up an invoice by its number.", "url": "https://api.acme.com/invoices",
	}).want(t, 201)
	tool := decode[admintest.ToolAnswer](t, r).Tool
	want := admintest.Tool{
		ID: tool.ID, AgentID: agent, Name: "lookup_invoice", Description: "Look up an invoice by its number.",
		Parameters: json.RawMessage(`{"type":"object","properties":{}}`), URL: "https://api.acme.com/invoices", Kind: "http",
		TimeoutMs: 10000, CreatedAt: tool.CreatedAt, UpdatedAt: tool.UpdatedAt,
	}
	if diff := cmp.Diff(want, tool, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("created tool (-want +got):\n%s", diff)
	}
	if loc := r.header.Get("Location"); loc != "/admin/agents/"+agent+"/tools/"+tool.ID {
		t.Fatalf("Location %q", loc)
	}
	s.do(t, "POST", "/admin/agents/"+agent+"/tools", a.key, map[string]any{"name": "LOOKUP_INVOICE", "description": "d", "url": "https://a.example.com"}).
		wantError(t, 409, "CONFLICT", "-")
	s.do(t, "POST", "/admin/agents/"+agent2+"/tools", a.key, map[string]any{"name": "lookup_invoice", "description": "d", "url": "https://a.example.com"}).want(t, 201)
	// A schema with local refs is accepted and returned.
	schema := map[string]any{"type": "object", "$defs": map[string]any{"n": map[string]any{"type": "string"}},
		"properties": map[string]any{"number": map[string]any{"$ref": "#/$defs/n"}}, "required": []string{"number"}}
	r = s.do(t, "PUT", "/admin/agents/"+agent+"/tools/"+tool.ID, a.key, map[string]any{
		"name": "lookup_invoice", "description": "d", "url": "https://api.acme.com/v2", "parameters": schema, "requiresApproval": true, "timeoutMs": 5000,
	}).want(t, 200)
	updated := decode[admintest.ToolAnswer](t, r).Tool
	want = admintest.Tool{ID: tool.ID, AgentID: agent, Name: "lookup_invoice", Description: "d", Parameters: json.RawMessage(mustJSON(schema)),
		URL: "https://api.acme.com/v2", Kind: "http", RequiresApproval: true, TimeoutMs: 5000, CreatedAt: tool.CreatedAt, UpdatedAt: updated.UpdatedAt}
	if diff := cmp.Diff(want, updated, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("updated tool (-want +got):\n%s", diff)
	}
	if l := s.do(t, "GET", "/admin/agents/"+agent+"/tools", a.key, nil).want(t, 200).list(t, "tools"); len(l) != 1 {
		t.Fatalf("tools of agent one: %v", l)
	}
}

func TestABuiltinToolShowsItsKindAndAPutMakesItAnHTTPTool(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "One")
	created, err := s.Store.EnsureBuiltinTool(context.Background(), a.id, db.ToolCreateBuiltinParams{
		AgentID: agent, Name: "create_ticket", Description: "Open a ticket.", Parameters: json.RawMessage(`{"type":"object"}`),
		RequiresApproval: true, TimeoutMs: 5000,
	}, store.Meta{Actor: store.SystemCLI})
	if err != nil || !created {
		t.Fatalf("builtin tool: %v %v", created, err)
	}
	l := decode[admintest.ToolList](t, s.do(t, "GET", "/admin/agents/"+agent.String()+"/tools", a.key, nil).want(t, 200)).Tools
	if len(l) != 1 {
		t.Fatalf("tools %+v", l)
	}
	tool := l[0]
	want := admintest.Tool{
		ID: tool.ID, AgentID: agent.String(), Name: "create_ticket", Description: "Open a ticket.", Parameters: json.RawMessage(`{"type":"object"}`),
		Kind: "builtin", RequiresApproval: true, TimeoutMs: 5000, CreatedAt: tool.CreatedAt, UpdatedAt: tool.UpdatedAt,
	}
	if diff := cmp.Diff(want, tool, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("builtin tool (-want +got):\n%s", diff)
	}
	r := s.do(t, "PUT", "/admin/agents/"+agent.String()+"/tools/"+tool.ID, a.key, map[string]any{
		"name": "create_ticket", "description": "Open a ticket.", "url": "https://tickets.example.com/hook", "requiresApproval": true, "timeoutMs": 5000,
	}).want(t, 200)
	got := decode[admintest.ToolAnswer](t, r).Tool
	want.Kind, want.URL, want.Parameters, want.UpdatedAt = "http", "https://tickets.example.com/hook", json.RawMessage(`{"type":"object","properties":{}}`), got.UpdatedAt
	if diff := cmp.Diff(want, got, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("after PUT (-want +got):\n%s", diff)
	}
	rows := s.auditRows(t, a)
	last := rows[len(rows)-1]
	if last.Action != "tool.update" || !strings.Contains(string(last.Details), `"kind"`) || !strings.Contains(string(last.Details), `"url"`) {
		t.Fatalf("audit %s %s", last.Action, last.Details)
	}
}

func TestGatewayKeysAreMaskedAndRevocable(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	r := s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": " Acme OpenAI prod ", "key": "sk-live-abcdefXk2Q", "baseUrl": nil}).want(t, 201)
	if r.header.Get("Location") != "" {
		t.Fatal("a gateway key 201 carries Location")
	}
	// Decoded exactly: a "key" in the answer fails the decode.
	k := decode[admintest.GatewayKeyAnswer](t, r).GatewayKey
	want := admintest.GatewayKey{ID: k.ID, Label: "Acme OpenAI prod", Last4: "Xk2Q", CreatedAt: k.CreatedAt}
	if diff := cmp.Diff(want, k); diff != "" {
		t.Fatalf("created key (-want +got):\n%s", diff)
	}
	s.do(t, "DELETE", "/admin/gateway-keys/"+k.ID, a.key, nil).want(t, 204)
	s.do(t, "DELETE", "/admin/gateway-keys/"+k.ID, a.key, nil).want(t, 204)
	l := s.do(t, "GET", "/admin/gateway-keys", a.key, nil).want(t, 200)
	if l.get(t, "gatewayKeys.0.revokedAt") == nil {
		t.Fatalf("revoked key %s", l.body)
	}
	if r := s.do(t, "POST", "/admin/api-keys", a.key, map[string]any{"name": "x", "role": "basic"}).want(t, 201); r.header.Get("Location") != "" {
		t.Fatal("an API key 201 carries Location")
	}
}

func TestGatewayBaseURLMustBeHTTPSInProduction(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{
		"SWITCHBOARD_ENV": "production", "AUTH_JWT_ISSUER": "https://idp.example.com/",
		"AUTH_JWT_AUDIENCE": "switchboard-admin", "AUTH_WS_AUDIENCE": "switchboard-widget",
	})
	a := s.newOrg(t, "A")
	s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": "l", "key": "sk-0123456789", "baseUrl": "http://gw.example.com/v1"}).
		wantError(t, 400, "VALIDATION_ERROR", "baseUrl")
	s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": "l", "key": "sk-0123456789", "baseUrl": "https://gw.example.com/v1"}).want(t, 201)
}

func TestPublishWritesTheEventForTheBackplane(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 0)
	ctx := context.Background()
	cases := []struct {
		target     map[string]any
		kind, id   string
		eventInput string
	}{
		{map[string]any{"type": "conversation", "id": strings.ToUpper(c.conv.String())}, "conversation", c.conv.String(), `{"type":"notice","data":{"text":"An agent will join shortly."}}`},
		{map[string]any{"type": "session", "id": c.session.String()}, "session", c.session.String(), `{"type":"n","timestamp":5}`},
		{map[string]any{"type": "agent", "id": agent.String()}, "agent", agent.String(), `{"type":"n"}`},
		{map[string]any{"type": "user", "id": "jwt:ada"}, "user", "jwt:ada", `{"type":"n"}`},
		{map[string]any{"type": "user", "id": "user_77"}, "user", "ctx:user_77", `{"type":"n"}`},
	}
	for _, tc := range cases {
		body := `{"target":` + mustJSON(tc.target) + `,"event":` + tc.eventInput + `}`
		r := s.do(t, "POST", "/admin/publish", a.key, body).want(t, 202)
		id := r.str(t, "eventId")
		var org, kind, target string
		var event []byte
		if err := s.Pool.QueryRow(ctx, `SELECT org_id::text, target_type, target_id, event FROM backplane_events WHERE id = $1::bigint`, id).Scan(&org, &kind, &target, &event); err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(event, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.eventInput), &want); err != nil {
			t.Fatal(err)
		}
		if org != a.id.String() || kind != tc.kind || target != tc.id || mustJSON(got) != mustJSON(want) {
			t.Fatalf("event %s %s %s %s", org, kind, target, event)
		}
	}
	// A deleted agent is no target.
	s.do(t, "DELETE", "/admin/agents/"+agent.String(), a.key, nil).want(t, 204)
	s.do(t, "POST", "/admin/publish", a.key, map[string]any{"target": map[string]any{"type": "agent", "id": agent.String()}, "event": map[string]any{"type": "n"}}).
		wantError(t, 404, "NOT_FOUND", "-")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
