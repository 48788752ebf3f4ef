package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// TestSecretsNeverLeave creates gateway keys, widget and tool signing secrets and API keys,
// then scans every response (but the one 201 that hands an API key over), every audit row
// and every log line for the plaintexts (ADMIN-API §6.5, §4.2 invariant 36).
func TestSecretsNeverLeave(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	jwtTok := token(t, map[string]any{"org": a.id.String(), "role": "admin", "sub": "secret-tester"})
	var bodies []string
	do := func(method, path, tok string, body any, status int) resp {
		t.Helper()
		r := s.do(t, method, path, tok, body).want(t, status)
		bodies = append(bodies, string(r.body))
		for k, v := range r.header {
			bodies = append(bodies, k+": "+strings.Join(v, ","))
		}
		return r
	}
	secrets := []string{
		"gw-key-PLAINTEXT-0001", "gw-key-PLAINTEXT-0002",
		"widget-SECRET-plaintext-1", "tool-SECRET-plaintext-1", "widget-SECRET-plaintext-2", "tool-SECRET-plaintext-2",
		"refused-SECRET-never-echoed", "bad key with-SECRET-spaces",
	}
	gk1 := do("POST", "/admin/gateway-keys", a.key, map[string]any{"label": "one", "key": secrets[0]}, 201)
	do("POST", "/admin/gateway-keys", jwtTok, map[string]any{"label": "two", "key": secrets[1], "baseUrl": "https://gw.example.com/v1"}, 201)
	if gk1.str(t, "gatewayKey.last4") != "0001" {
		t.Fatalf("last4 %s", gk1.body)
	}
	ag := do("POST", "/admin/agents", a.key, map[string]any{"name": "S", "toolSigningSecret": secrets[3],
		"widget": map[string]any{"signingSecret": secrets[2], "requireAuthContext": true}}, 201)
	agentID := ag.str(t, "agent.id")
	if got := decode[admintest.AgentAnswer](t, ag).Agent; !got.HasToolSigningSecret || !got.Widget.HasSigningSecret {
		t.Fatalf("agent %+v does not report its secrets", got)
	}
	up := do("PUT", "/admin/agents/"+agentID, jwtTok, map[string]any{"name": "S", "toolSigningSecret": secrets[5],
		"widget": map[string]any{"signingSecret": secrets[4], "requireAuthContext": true}}, 200)
	_ = up
	do("POST", "/admin/agents", a.key, map[string]any{"name": "T", "toolSigningSecret": "short"}, 400)
	do("POST", "/admin/gateway-keys", a.key, map[string]any{"label": "bad", "key": secrets[7]}, 400)
	do("POST", "/admin/agents", a.key, map[string]any{"name": "U", "widget": map[string]any{"signingSecret": secrets[6] + " x"}}, 400)
	var apiKeys []string
	for _, role := range []string{"admin", "curator", "basic"} {
		r := s.do(t, "POST", "/admin/api-keys", a.key, map[string]any{"name": "k-" + role, "role": role}).want(t, 201)
		k := r.str(t, "key")
		apiKeys = append(apiKeys, k)
		do("GET", "/admin/me", k, nil, 200)
	}
	secrets = append(secrets, apiKeys...)
	// Deleting the widget secret is recorded by name only.
	do("PUT", "/admin/agents/"+agentID, a.key, map[string]any{"name": "S", "toolSigningSecret": nil, "widget": map[string]any{"signingSecret": nil}}, 200)
	for _, p := range []string{"/admin/gateway-keys", "/admin/agents", "/admin/agents/" + agentID, "/admin/api-keys", "/admin/audit", "/admin/me"} {
		do("GET", p, a.key, nil, 200)
	}
	do("DELETE", "/admin/gateway-keys/"+gk1.str(t, "gatewayKey.id"), a.key, nil, 204)

	var audit []string
	for _, row := range s.auditRows(t, a) {
		b, _ := json.Marshal(row)
		audit = append(audit, string(b))
	}
	logs := s.logs.String()
	for _, sec := range append(secrets, jwtTok) {
		for _, b := range bodies {
			if strings.Contains(b, sec) {
				t.Errorf("a response contains a secret: %s", b)
			}
		}
		for _, row := range audit {
			if strings.Contains(row, sec) {
				t.Errorf("an audit row contains a secret: %s", row)
			}
		}
		if strings.Contains(logs, sec) {
			t.Errorf("the log contains a secret")
		}
	}
	if len(logs) == 0 || !strings.Contains(logs, "http request") {
		t.Fatal("no log lines were captured")
	}
	// The update's audit row names the secret fields it changed.
	var fields []string
	for _, row := range s.auditRows(t, a) {
		if row.Action == "agent.update" {
			var d struct{ Fields []string }
			if err := json.Unmarshal(row.Details, &d); err != nil {
				t.Fatal(err)
			}
			fields = append(fields, strings.Join(d.Fields, ","))
		}
	}
	if len(fields) != 2 || !strings.Contains(fields[0], "widget.signingSecret") || !strings.Contains(fields[0], "toolSigningSecret") ||
		!strings.Contains(fields[1], "widget.signingSecret") || !strings.Contains(fields[1], "toolSigningSecret") {
		t.Fatalf("agent.update fields %v", fields)
	}

	// At rest: sealed for its own row, not plaintext, erased on revoke.
	box := sealBox(t, s)
	ctx := context.Background()
	var gkCipher []byte
	var gkID uuid.UUID
	if err := s.Pool.QueryRow(ctx, `SELECT id, key_ciphertext FROM gateway_keys WHERE org_id = $1 AND label = 'two'`, a.id).Scan(&gkID, &gkCipher); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(gkCipher), secrets[1]) {
		t.Fatal("gateway key stored in plaintext")
	}
	pt, err := box.Open(gkCipher, seal.AAD("gateway_keys", "key_ciphertext", a.id, gkID))
	if err != nil || string(pt) != secrets[1] {
		t.Fatalf("gateway key does not open for its row: %v", err)
	}
	if _, err := box.Open(gkCipher, seal.AAD("gateway_keys", "key_ciphertext", a.id, uuid.New())); err == nil {
		t.Fatal("gateway key opens for another row")
	}
	var revoked []byte
	if err := s.Pool.QueryRow(ctx, `SELECT key_ciphertext FROM gateway_keys WHERE id = $1`, gk1.str(t, "gatewayKey.id")).Scan(&revoked); err != nil || revoked != nil {
		t.Fatalf("revoked key keeps its ciphertext (%v)", err)
	}
	var widget, tool []byte
	if err := s.Pool.QueryRow(ctx, `SELECT widget_signing_secret, tool_signing_secret FROM agents WHERE id = $1`, agentID).Scan(&widget, &tool); err != nil {
		t.Fatal(err)
	}
	if widget != nil || tool != nil {
		t.Fatal("null did not delete the agent's secrets")
	}
}

func TestAgentSecretsAreSealedForTheirRow(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	r := s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "S", "toolSigningSecret": "tool-secret-0123456789",
		"widget": map[string]any{"signingSecret": "widget-secret-0123456789"}}).want(t, 201)
	id := uuid.MustParse(r.str(t, "agent.id"))
	var widget, tool []byte
	if err := s.Pool.QueryRow(context.Background(), `SELECT widget_signing_secret, tool_signing_secret FROM agents WHERE id = $1`, id).Scan(&widget, &tool); err != nil {
		t.Fatal(err)
	}
	box := sealBox(t, s)
	if pt, err := box.Open(widget, seal.AAD("agents", "widget_signing_secret", a.id, id)); err != nil || string(pt) != "widget-secret-0123456789" {
		t.Fatalf("widget secret: %v", err)
	}
	if pt, err := box.Open(tool, seal.AAD("agents", "tool_signing_secret", a.id, id)); err != nil || string(pt) != "tool-secret-0123456789" {
		t.Fatalf("tool secret: %v", err)
	}
	// PUT without the secret fields keeps them.
	r = s.do(t, "PUT", "/admin/agents/"+id.String(), a.key, map[string]any{"name": "S2"}).want(t, 200)
	if got := decode[admintest.AgentAnswer](t, r).Agent; !got.HasToolSigningSecret || !got.Widget.HasSigningSecret {
		t.Fatalf("omitted secrets were dropped: %+v", got)
	}
	// Deleting the widget secret while requiring authContext is refused.
	s.do(t, "PUT", "/admin/agents/"+id.String(), a.key, map[string]any{"name": "S2", "widget": map[string]any{"requireAuthContext": true, "signingSecret": nil}}).
		wantError(t, 400, "VALIDATION_ERROR", "widget.requireAuthContext")
	s.do(t, "PUT", "/admin/agents/"+id.String(), a.key, map[string]any{"name": "S2", "widget": map[string]any{"requireAuthContext": true}}).want(t, 200)
}

func sealBox(t *testing.T, s *server) *seal.Box {
	t.Helper()
	key, err := config.ParseEncryptionKey(fixture.EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}
