package admin_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

// TestEveryWriteAppendsOneAuditRow performs each state-changing write once and checks that
// exactly one audit row with the request's id, actor, target and non-secret details
// followed, and that reads and refused writes add none (ADMIN-API §8, invariants 31-32).
func TestEveryWriteAppendsOneAuditRow(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.bootstrapOrg(t, "A")
	jwtTok := token(t, map[string]any{"org": a.id.String(), "role": "admin", "sub": "ada", "name": "Ada Lovelace"})
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 0)
	approvalID := s.seedApproval(t, a, agent, c, "refund", time.Hour)
	var toolID, gatewayID, keyID string

	type write struct {
		name, method, path string
		body               any
		status             int
		action, targetType string
		target             func(r resp) string
		details            string // the details JSON, compared by value
	}
	writes := []write{
		{"create api key", "POST", "/admin/api-keys", map[string]any{"name": "ci", "role": "curator"}, 201, "apiKey.create", "apiKey",
			func(r resp) string { keyID = r.str(t, "apiKey.id"); return keyID }, `{"role":"curator"}`},
		{"create agent", "POST", "/admin/agents", map[string]any{"name": "Sales", "model": "m", "widget": map[string]any{"allowedOrigins": []string{}}}, 201,
			"agent.create", "agent", func(r resp) string { return r.str(t, "agent.id") }, `{"fields":["model","name","widget.allowedOrigins"]}`},
		{"update agent", "PUT", "/admin/agents/" + agent.String(), map[string]any{"name": "Support", "persona": "Warm."}, 200,
			"agent.update", "agent", func(resp) string { return agent.String() }, `{"fields":["persona"]}`},
		{"create tool", "POST", "/admin/agents/" + agent.String() + "/tools", map[string]any{"name": "t", "description": "d", "url": "https://a.example.com"}, 201,
			"tool.create", "tool", func(r resp) string { toolID = r.str(t, "tool.id"); return toolID }, `{"fields":["description","name","url"]}`},
		{"update tool", "PUT", "/admin/agents/" + agent.String() + "/tools/{tool}", map[string]any{"name": "t", "description": "d2", "url": "https://a.example.com", "timeoutMs": 500}, 200,
			"tool.update", "tool", func(resp) string { return toolID }, `{"fields":["description","timeoutMs"]}`},
		{"delete tool", "DELETE", "/admin/agents/" + agent.String() + "/tools/{tool}", nil, 204, "tool.delete", "tool", func(resp) string { return toolID }, `{}`},
		{"put settings", "PUT", "/admin/settings", map[string]any{"model": "gpt-4o-mini", "systemPrompt": "Hi.", "maxTokens": 100}, 200,
			"settings.update", "settings", func(resp) string { return a.id.String() }, `{"fields":["systemPrompt","maxTokens"]}`},
		{"decide approval", "POST", "/admin/approvals/" + approvalID.String(), map[string]any{"approved": false, "reason": "No."}, 200,
			"approval.decide", "approval", func(resp) string { return approvalID.String() }, `{"approved":false,"reason":"No."}`},
		{"create gateway key", "POST", "/admin/gateway-keys", map[string]any{"label": "gw", "key": "sk-audit-ABCD"}, 201, "gatewayKey.create", "gatewayKey",
			func(r resp) string { gatewayID = r.str(t, "gatewayKey.id"); return gatewayID }, `{"last4":"ABCD"}`},
		{"revoke gateway key", "DELETE", "/admin/gateway-keys/{gateway}", nil, 204, "gatewayKey.revoke", "gatewayKey", func(resp) string { return gatewayID }, `{}`},
		{"publish", "POST", "/admin/publish", map[string]any{"target": map[string]any{"type": "user", "id": "user_77"}, "event": map[string]any{"type": "notice"}}, 202,
			"publish.send", "user", func(resp) string { return "ctx:user_77" }, `{"eventType":"notice"}`},
		{"delete api key", "DELETE", "/admin/api-keys/{key}", nil, 204, "apiKey.delete", "apiKey", func(resp) string { return keyID }, `{}`},
		{"delete agent", "DELETE", "/admin/agents/" + agent.String(), nil, 204, "agent.delete", "agent", func(resp) string { return agent.String() }, `{}`},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			before := len(s.auditRows(t, a))
			path := strings.NewReplacer("{tool}", toolID, "{gateway}", gatewayID, "{key}", keyID).Replace(w.path)
			reqID := "req-" + uuid.NewString()
			r := s.do(t, w.method, path, jwtTok, w.body, "X-Request-Id", reqID).want(t, w.status)
			rows := s.auditRows(t, a)
			if len(rows) != before+1 {
				t.Fatalf("%d audit rows written", len(rows)-before)
			}
			row := rows[len(rows)-1]
			if row.Action != w.action || row.TargetType != w.targetType || row.TargetID != w.target(r) ||
				row.RequestID == nil || *row.RequestID != reqID || row.ActorType != "user" || row.ActorID != "ada" ||
				row.ActorName == nil || *row.ActorName != "Ada Lovelace" || row.Ip == nil || *row.Ip != "127.0.0.1" || row.OrgID != a.id {
				b, _ := json.Marshal(row)
				t.Fatalf("row %s", b)
			}
			var got, want any
			if err := json.Unmarshal(row.Details, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(w.details), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("details %s, want %s", row.Details, w.details)
			}
		})
	}
	t.Run("reads, refusals and no-op revokes write nothing", func(t *testing.T) {
		before := len(s.auditRows(t, a))
		s.do(t, "GET", "/admin/agents", jwtTok, nil).want(t, 200)
		s.do(t, "GET", "/admin/audit", jwtTok, nil).want(t, 200)
		s.do(t, "POST", "/admin/agents", jwtTok, map[string]any{"name": ""}).want(t, 400)
		s.do(t, "POST", "/admin/agents", jwtTok, map[string]any{"name": "sales"}).want(t, 409)
		s.do(t, "DELETE", "/admin/gateway-keys/"+gatewayID, jwtTok, nil).want(t, 204)
		s.do(t, "DELETE", "/admin/gateway-keys/"+uuid.NewString(), jwtTok, nil).want(t, 404)
		if n := len(s.auditRows(t, a)); n != before {
			t.Fatalf("%d rows written", n-before)
		}
	})
	t.Run("GET /admin/audit maps the rows one to one", func(t *testing.T) {
		page := decode[admintest.AuditList](t, s.do(t, "GET", "/admin/audit?limit=1", a.key, nil).want(t, 200))
		if len(page.Entries) != 1 || page.Entries[0].RequestID == nil {
			t.Fatalf("entries %+v", page.Entries)
		}
		e := page.Entries[0]
		name, ip := "Ada Lovelace", "127.0.0.1"
		want := admintest.AuditEntry{ID: e.ID, At: e.At, Actor: admintest.AuditActor{Type: "user", ID: "ada", Name: &name},
			Action: "agent.delete", TargetType: "agent", TargetID: agent.String(), RequestID: e.RequestID, IP: &ip, Details: json.RawMessage(`{}`)}
		if diff := cmp.Diff(want, e, cmp.Transformer("json", jsonValue)); diff != "" {
			t.Fatalf("entry (-want +got):\n%s", diff)
		}
		var apiKeyActor bool
		for _, e := range decode[admintest.AuditList](t, s.do(t, "GET", "/admin/audit?limit=200", a.key, nil).want(t, 200)).Entries {
			if e.Actor.Type == "system" && e.Actor.ID == "cli" {
				apiKeyActor = true
			}
		}
		if !apiKeyActor {
			t.Fatal("the bootstrap rows (actor system/cli) are missing")
		}
	})
}
