package admin_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/db"
)

// tenant is an org with one of everything the admin API reaches by id.
type tenant struct {
	org
	curator, basic string // API keys
	agent, agent2  uuid.UUID
	tool, tool2    uuid.UUID // tool of agent, tool of agent2
	chat           chat
	approval       uuid.UUID
	gatewayKey     uuid.UUID
	apiKeyID       uuid.UUID // the curator key's id
	connector, run uuid.UUID // a web connector targeting "only-<name>"; an ingestion run into "faq"
	doc            string    // a document id only this tenant uses ("doc-<name>", in "faq")
	ids            []string  // every id of this tenant, to scan other tenants' answers for
}

func (s *server) seedTenant(t *testing.T, name string) tenant {
	t.Helper()
	tn := tenant{org: s.newOrg(t, name)}
	tn.curator = s.apiKey(t, tn.org, "curator")
	tn.basic = s.apiKey(t, tn.org, "basic")
	for _, k := range decode[admintest.APIKeyList](t, s.do(t, "GET", "/admin/api-keys", tn.key, nil).want(t, 200)).APIKeys {
		tn.ids = append(tn.ids, k.ID)
		if k.Role == "curator" {
			tn.apiKeyID = uuid.MustParse(k.ID)
		}
	}
	tn.agent = s.createAgent(t, tn.org, "Support")
	tn.agent2 = s.createAgent(t, tn.org, "Sales")
	tool := func(agent uuid.UUID) uuid.UUID {
		r := s.do(t, "POST", "/admin/agents/"+agent.String()+"/tools", tn.key, map[string]any{
			"name": "lookup", "description": "Look up.", "url": "https://api.example.com/lookup",
		}).want(t, 201)
		return uuid.MustParse(r.str(t, "tool.id"))
	}
	tn.tool, tn.tool2 = tool(tn.agent), tool(tn.agent2)
	tn.chat = s.seedChat(t, tn.org, tn.agent, "jwt:shared-user", "shared@example.org", 2)
	tn.approval = s.seedApproval(t, tn.org, tn.agent, tn.chat, "refund", time.Hour)
	gk := s.do(t, "POST", "/admin/gateway-keys", tn.key, map[string]any{"label": "prod", "key": "sk-" + name + "-secret-key"}).want(t, 201)
	tn.gatewayKey = uuid.MustParse(gk.str(t, "gatewayKey.id"))
	if err := db.New().UsageEventInsert(context.Background(), s.Pool, db.UsageEventInsertParams{
		ID: uuid.New(), OrgID: tn.id, AgentID: tn.agent, ConversationID: tn.chat.conv, SessionID: tn.chat.session,
		RequestID: "r-1", Model: "model-" + name, PromptTokens: 100, CompletionTokens: 10, CostUsd: 0.01, Outcome: "completed",
		GatewayKeyID: uuid.NullUUID{UUID: tn.gatewayKey, Valid: true},
	}); err != nil {
		t.Fatal(err)
	}
	tn.connector = uuid.MustParse(s.do(t, "POST", "/admin/connectors", tn.key, map[string]any{
		"name": "Docs", "kind": "web", "config": map[string]any{"urls": []string{"https://docs.example.com/" + name}}, "documentSet": "only-" + name,
	}).want(t, 201).str(t, "connector.id"))
	tn.doc = "doc-" + name
	tn.run = uuid.MustParse(s.ingestAndWait(t, tn.key, "faq", doc{"id": tn.doc, "title": "Doc " + name, "content": "Isolation notes of " + name + "."},
		doc{"id": "shared-doc", "title": "Shared " + name, "content": "Both orgs use this id."}).ID)
	tn.ids = append(tn.ids, tn.doc, "only-"+name)
	for _, id := range []uuid.UUID{tn.id, tn.agent, tn.agent2, tn.tool, tn.tool2, tn.chat.conv, tn.chat.session,
		tn.chat.userPart, tn.chat.agentPart, tn.approval, tn.gatewayKey, tn.connector, tn.run} {
		tn.ids = append(tn.ids, id.String())
	}
	return tn
}

// snapshot reads everything of t through its own admin key, to prove it unchanged.
func (s *server) snapshot(t *testing.T, tn tenant) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/admin/agents/" + tn.agent.String(), "/admin/agents/" + tn.agent.String() + "/tools",
		"/admin/agents/" + tn.agent2.String() + "/tools", "/admin/approvals", "/admin/gateway-keys",
		"/admin/api-keys", "/admin/settings", "/admin/conversations/" + tn.chat.conv.String(),
		"/admin/connectors/" + tn.connector.String(), "/admin/document-sets", "/admin/document-sets/faq/documents",
		"/admin/indexing/runs",
	} {
		b.Write(s.do(t, "GET", p, tn.key, nil).want(t, 200).body)
	}
	return b.String()
}

// idRouteCase is one request of TestTenantIsolationOfIDRoutes: the same call with an id of
// org B (foreign) and with an id of no org (unknown), both made by org A.
type idRouteCase struct {
	name, method, foreign, unknown string
	body                           any
}

// idRouteCases is the table of TestTenantIsolationOfIDRoutes; TestEveryIDRouteHasAnIsolationCase
// checks it against the router.
func idRouteCases(a, b tenant, unknown string) []idRouteCase {
	agentBody := map[string]any{"name": "Hijacked", "enabled": false}
	toolBody := map[string]any{"name": "hijack", "description": "x", "url": "https://evil.example.com"}
	connectorBody := map[string]any{"name": "Hijacked", "kind": "web", "config": map[string]any{"urls": []string{"https://evil.example.com/"}}, "documentSet": "faq"}
	return []idRouteCase{
		{"delete api key", "DELETE", "/admin/api-keys/" + b.apiKeyID.String(), "/admin/api-keys/" + unknown, nil},
		{"get agent", "GET", "/admin/agents/" + b.agent.String(), "/admin/agents/" + unknown, nil},
		{"put agent", "PUT", "/admin/agents/" + b.agent.String(), "/admin/agents/" + unknown, agentBody},
		{"delete agent", "DELETE", "/admin/agents/" + b.agent.String(), "/admin/agents/" + unknown, nil},
		{"embed snippet of B's agent", "GET", "/admin/agents/" + b.agent.String() + "/embed", "/admin/agents/" + unknown + "/embed", nil},
		{"list tools of B's agent", "GET", "/admin/agents/" + b.agent.String() + "/tools", "/admin/agents/" + unknown + "/tools", nil},
		{"create tool on B's agent", "POST", "/admin/agents/" + b.agent.String() + "/tools", "/admin/agents/" + unknown + "/tools", toolBody},
		{"get B's tool under B's agent", "GET", "/admin/agents/" + b.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + unknown + "/tools/" + b.tool.String(), nil},
		{"put B's tool under B's agent", "PUT", "/admin/agents/" + b.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + unknown + "/tools/" + unknown, toolBody},
		{"delete B's tool under B's agent", "DELETE", "/admin/agents/" + b.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + unknown + "/tools/" + unknown, nil},
		{"get B's tool under A's agent", "GET", "/admin/agents/" + a.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + a.agent.String() + "/tools/" + unknown, nil},
		{"put B's tool under A's agent", "PUT", "/admin/agents/" + a.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + a.agent.String() + "/tools/" + unknown, toolBody},
		{"delete B's tool under A's agent", "DELETE", "/admin/agents/" + a.agent.String() + "/tools/" + b.tool.String(), "/admin/agents/" + a.agent.String() + "/tools/" + unknown, nil},
		{"get A's other agent's tool", "GET", "/admin/agents/" + a.agent.String() + "/tools/" + a.tool2.String(), "/admin/agents/" + a.agent.String() + "/tools/" + unknown, nil},
		{"delete A's other agent's tool", "DELETE", "/admin/agents/" + a.agent.String() + "/tools/" + a.tool2.String(), "/admin/agents/" + a.agent.String() + "/tools/" + unknown, nil},
		{"get conversation", "GET", "/admin/conversations/" + b.chat.conv.String(), "/admin/conversations/" + unknown, nil},
		{"get messages", "GET", "/admin/conversations/" + b.chat.conv.String() + "/messages", "/admin/conversations/" + unknown + "/messages", nil},
		{"delete conversation", "DELETE", "/admin/conversations/" + b.chat.conv.String(), "/admin/conversations/" + unknown, nil},
		{"decide approval", "POST", "/admin/approvals/" + b.approval.String(), "/admin/approvals/" + unknown, map[string]any{"approved": true}},
		{"revoke gateway key", "DELETE", "/admin/gateway-keys/" + b.gatewayKey.String(), "/admin/gateway-keys/" + unknown, nil},
		{"list documents of a set only B uses", "GET", "/admin/document-sets/only-B/documents", "/admin/document-sets/" + unknown + "/documents", nil},
		{"delete B's document", "DELETE", "/admin/documents/" + b.doc, "/admin/documents/" + unknown, nil},
		{"get connector", "GET", "/admin/connectors/" + b.connector.String(), "/admin/connectors/" + unknown, nil},
		{"put connector", "PUT", "/admin/connectors/" + b.connector.String(), "/admin/connectors/" + unknown, connectorBody},
		{"delete connector", "DELETE", "/admin/connectors/" + b.connector.String(), "/admin/connectors/" + unknown, nil},
		{"index connector", "POST", "/admin/connectors/" + b.connector.String() + "/index", "/admin/connectors/" + unknown + "/index", nil},
		{"get run", "GET", "/admin/indexing/runs/" + b.run.String(), "/admin/indexing/runs/" + unknown, nil},
	}
}

// idRoutesWithoutACase names the routes with a :param that TestTenantIsolationOfIDRoutes
// does not call, each with the reason.
var idRoutesWithoutACase = map[string]string{
	"POST /admin/document-sets/:name/documents": "a set name is the caller's own namespace, not another org's row: " +
		"ingesting into a name another org uses fills the caller's own set (TestKnowledgeOfTwoOrgsNeverMixes)",
	"DELETE /admin/end-users/:ref": "a reference names an end user within the caller's org, never a row: erasing one only " +
		"another org holds erases nothing and answers like any user with no data (TestEndUserErasureNeverCrossesOrgs)",
	"GET /admin/end-users/:ref/export": "a reference names an end user within the caller's org, never a row: exporting one only " +
		"another org holds exports nothing (TestEndUserErasureNeverCrossesOrgs)",
}

// routeOf returns the router pattern of the route that serves method and path, or "".
func routeOf(routes []fiber.Route, method, path string) string {
	segs := strings.Split(strings.SplitN(path, "?", 2)[0], "/")
	for _, r := range routes {
		pat := strings.Split(r.Path, "/")
		if r.Method != method || len(pat) != len(segs) {
			continue
		}
		match := true
		for i := range pat {
			if !strings.HasPrefix(pat[i], ":") && pat[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			return r.Method + " " + r.Path
		}
	}
	return ""
}

// TestEveryIDRouteHasAnIsolationCase derives the id-taking routes from the router, so a
// route added with a :param fails here until the isolation table calls it.
func TestEveryIDRouteHasAnIsolationCase(t *testing.T) {
	t.Parallel()
	routes := routerRoutes(t)
	var idRoutes []string
	for _, r := range routes {
		if strings.Contains(r.Path, "/:") {
			idRoutes = append(idRoutes, r.Method+" "+r.Path)
		}
	}
	if len(idRoutes) < 20 {
		t.Fatalf("only %d id routes in the router's table; the route listing is off: %v", len(idRoutes), idRoutes)
	}
	covered := map[string]bool{}
	zero := uuid.Nil.String()
	for _, c := range idRouteCases(tenant{}, tenant{}, zero) {
		route := routeOf(routes, c.method, c.foreign)
		if route == "" {
			t.Errorf("isolation case %q (%s %s) matches no route of the router", c.name, c.method, c.foreign)
			continue
		}
		if u := routeOf(routes, c.method, c.unknown); u != route {
			t.Errorf("isolation case %q calls %s with the foreign id but %q with the unknown one", c.name, route, u)
		}
		covered[route] = true
	}
	for _, r := range idRoutes {
		if covered[r] {
			if _, ok := idRoutesWithoutACase[r]; ok {
				t.Errorf("route %s has an isolation case; remove it from idRoutesWithoutACase", r)
			}
			continue
		}
		if _, ok := idRoutesWithoutACase[r]; !ok {
			t.Errorf("route %s takes an id but TestTenantIsolationOfIDRoutes never calls it: add a case to idRouteCases "+
				"whose foreign path names a row of org B and whose unknown path names no row (both must be the same 404), "+
				"or, if the parameter is not another org's row, name the route in idRoutesWithoutACase with the reason", r)
		}
	}
	for r := range idRoutesWithoutACase {
		if !slices.Contains(idRoutes, r) {
			t.Errorf("idRoutesWithoutACase names %s, which the router does not have; remove it", r)
		}
	}
}

func TestTenantIsolationOfIDRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.seedTenant(t, "A"), s.seedTenant(t, "B")
	bBefore := s.snapshot(t, b)
	auditA, auditB := len(s.auditRows(t, a.org)), len(s.auditRows(t, b.org))
	unknown := uuid.NewString()
	for _, c := range idRouteCases(a, b, unknown) {
		t.Run(c.name, func(t *testing.T) {
			creds := []string{a.key}
			switch {
			case strings.HasPrefix(c.foreign, "/admin/conversations") && c.method == "GET":
				creds = append(creds, a.curator, a.basic, token(t, map[string]any{"org": a.id.String(), "role": "basic", "sub": "shared-user", "email": "shared@example.org"}))
			case strings.HasSuffix(c.foreign, "/index"):
				creds = append(creds, a.curator)
			}
			for _, cred := range creds {
				foreign := s.do(t, c.method, c.foreign, cred, c.body).wantError(t, 404, "NOT_FOUND", "-")
				unknownR := s.do(t, c.method, c.unknown, cred, c.body).wantError(t, 404, "NOT_FOUND", "-")
				f, u := comparable(t, foreign), comparable(t, unknownR)
				// The message echoes what was sent, so compare with the ids swapped back.
				f = strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(f, b.agent.String(), unknown), b.tool.String(), unknown), a.tool2.String(), unknown)
				for _, id := range []string{b.chat.conv.String(), b.approval.String(), b.gatewayKey.String(), b.apiKeyID.String(),
					"only-B", b.doc, b.connector.String(), b.run.String()} {
					f = strings.ReplaceAll(f, id, unknown)
				}
				if f != u {
					t.Fatalf("foreign and unknown differ:\n%s\n%s", f, u)
				}
			}
		})
	}
	if after := s.snapshot(t, b); after != bBefore {
		t.Fatalf("B changed:\nbefore %s\nafter  %s", bBefore, after)
	}
	s.do(t, "GET", "/admin/me", b.curator, nil).want(t, 200) // B's key still authenticates
	if s.do(t, "GET", "/admin/agents/"+a.agent2.String()+"/tools/"+a.tool2.String(), a.key, nil).status != 200 {
		t.Fatal("A's other tool was deleted through the wrong agent")
	}
	if n, m := len(s.auditRows(t, a.org)), len(s.auditRows(t, b.org)); n != auditA || m != auditB {
		t.Fatalf("404s wrote audit rows: A %d→%d, B %d→%d", auditA, n, auditB, m)
	}
	var pending string
	if err := s.Pool.QueryRow(context.Background(), `SELECT status FROM pending_approvals WHERE id = $1`, b.approval).Scan(&pending); err != nil || pending != "pending" {
		t.Fatalf("B's approval is %q (%v)", pending, err)
	}
}

func TestTenantIsolationOfLists(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.seedTenant(t, "A"), s.seedTenant(t, "B")
	noneOf := func(t *testing.T, r resp, ids []string) {
		t.Helper()
		for _, id := range ids {
			if strings.Contains(string(r.body), id) {
				t.Fatalf("answer contains the other org's id %s: %s", id, r.body)
			}
		}
	}
	lists := []string{
		"/admin/api-keys", "/admin/agents", "/admin/agents/" + a.agent.String() + "/tools", "/admin/conversations",
		"/admin/conversations?agentId=" + a.agent.String(), "/admin/approvals", "/admin/gateway-keys", "/admin/audit",
		"/admin/document-sets", "/admin/document-sets/faq/documents", "/admin/connectors", "/admin/indexing/runs",
		"/admin/indexing/runs?connectorId=" + a.connector.String(), "/admin/indexing/runs?status=succeeded",
	}
	for _, p := range lists {
		t.Run(p, func(t *testing.T) {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			// Whole list, then page by page with limit=1.
			r := s.do(t, "GET", p, a.key, nil).want(t, 200)
			noneOf(t, r, b.ids)
			next, pages := "", 0
			for {
				q := sep + "limit=1"
				if next != "" {
					q += "&cursor=" + next
				}
				r := s.do(t, "GET", p+q, a.key, nil).want(t, 200)
				noneOf(t, r, b.ids)
				pages++
				c, _ := r.get(t, "nextCursor").(string)
				if c == "" || pages > 100 {
					break
				}
				next = c
			}
			// Offsets (the smooth-operator dialect), page by page: still only A's rows.
			for off := 0; off <= 100; off++ {
				r := s.do(t, "GET", p+sep+"limit=1&cursor="+strconv.Itoa(off), a.key, nil).want(t, 200)
				noneOf(t, r, b.ids)
				if r.get(t, "nextCursor") == nil {
					break
				}
			}
			// B's own list is not empty, and B's cursor replayed by A shows only A's rows.
			bp := strings.Replace(p, a.agent.String(), b.agent.String(), 1)
			br := s.do(t, "GET", bp+sep+"limit=1", b.key, nil).want(t, 200)
			if c, _ := br.get(t, "nextCursor").(string); c != "" && bp == p {
				noneOf(t, s.do(t, "GET", p+sep+"cursor="+c, a.key, nil).want(t, 200), b.ids)
			}
		})
	}
	for _, role := range []string{a.key, a.curator} {
		got := decode[admintest.ConversationList](t, s.do(t, "GET", "/admin/conversations?agentId="+b.agent.String(), role, nil).want(t, 200))
		if diff := cmp.Diff(admintest.ConversationList{Conversations: []admintest.Conversation{}}, got); diff != "" {
			t.Fatalf("B's agent filter (-want +got):\n%s", diff)
		}
	}
	for _, p := range []string{"/admin/indexing/runs?connectorId=" + b.connector.String(), "/admin/indexing/runs?connectorId=" + b.connector.String() + "&status=succeeded"} {
		got := decode[admintest.RunList](t, s.do(t, "GET", p, a.key, nil).want(t, 200))
		if diff := cmp.Diff(admintest.RunList{Runs: []admintest.Run{}}, got); diff != "" {
			t.Fatalf("B's connector filter (-want +got):\n%s", diff)
		}
	}
	for _, g := range []string{"day", "model", "agent", "key"} {
		r := s.do(t, "GET", "/admin/usage?groupBy="+g, a.key, nil).want(t, 200)
		noneOf(t, r, b.ids)
		if strings.Contains(string(r.body), "model-B") {
			t.Fatalf("usage by %s shows B's model: %s", g, r.body)
		}
		if turns := decode[admintest.Usage](t, r).Totals.Turns; turns != 1 {
			t.Fatalf("usage by %s counts %d turns, want A's one: %s", g, turns, r.body)
		}
	}
}

func TestTenantIsolationOfNamesSettingsAndPublish(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.seedTenant(t, "A"), s.seedTenant(t, "B")

	t.Run("an agent name used by B is free in A", func(t *testing.T) {
		s.do(t, "POST", "/admin/agents", b.key, map[string]any{"name": "Only In B"}).want(t, 201)
		s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "only in b"}).want(t, 201)
		s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "ONLY IN B"}).wantError(t, 409, "CONFLICT", "-")
	})
	t.Run("settings written by A never reach B", func(t *testing.T) {
		s.do(t, "PUT", "/admin/settings", a.key, map[string]any{"model": "a-model", "systemPrompt": "A's prompt", "monthlyTokenBudget": 5}).want(t, 200)
		got := decode[admintest.SettingsAnswer](t, s.do(t, "GET", "/admin/settings", b.key, nil).want(t, 200)).Settings
		if got.OrgID != b.id.String() || got.Model != "gpt-4o-mini" || got.UpdatedAt != nil || got.MonthlyTokenBudget != nil {
			t.Fatalf("B reads %+v", got)
		}
	})
	t.Run("publish to B's targets is 404 and writes nothing", func(t *testing.T) {
		count := func() int {
			var n int
			if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM backplane_events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		ev := map[string]any{"type": "notice"}
		for _, target := range []map[string]any{
			{"type": "session", "id": b.chat.session.String()},
			{"type": "conversation", "id": b.chat.conv.String()},
			{"type": "agent", "id": b.agent.String()},
			{"type": "org", "id": b.id.String()},
			{"type": "org", "id": uuid.NewString()},
			{"type": "agent", "id": uuid.NewString()},
		} {
			s.do(t, "POST", "/admin/publish", a.key, map[string]any{"target": target, "event": ev}).wantError(t, 404, "NOT_FOUND", "-")
		}
		if count() != before {
			t.Fatal("a refused publish wrote a backplane event")
		}
		r := s.do(t, "POST", "/admin/publish", a.key, map[string]any{"target": map[string]any{"type": "org", "id": strings.ToUpper(a.id.String())}, "event": ev}).want(t, 202)
		var org, target string
		if err := s.Pool.QueryRow(context.Background(), `SELECT org_id::text, target_id FROM backplane_events WHERE id = $1::bigint`, r.str(t, "eventId")).Scan(&org, &target); err != nil {
			t.Fatal(err)
		}
		if org != a.id.String() || target != a.id.String() {
			t.Fatalf("event of org %s target %s", org, target)
		}
	})
}

func TestBasicPrincipalsSeeOnlyTheirOwnConversations(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.seedTenant(t, "A"), s.seedTenant(t, "B")
	mine := s.seedChat(t, a.org, a.agent, "jwt:ada", "", 1)
	byEmail := s.seedChat(t, a.org, a.agent, "", " Ada@Example.ORG ", 1)
	ctxOnly := s.seedChat(t, a.org, a.agent, "ctx:ada", "", 1)
	other := s.seedChat(t, a.org, a.agent, "jwt:grace", "grace@example.org", 1)
	foreignEmail := s.seedChat(t, b.org, b.agent, "jwt:ada", "ada@example.org", 1)

	ada := token(t, map[string]any{"org": a.id.String(), "role": "basic", "sub": "ada", "email": "ada@example.org"})
	r := s.do(t, "GET", "/admin/conversations", ada, nil).want(t, 200)
	got := map[string]bool{}
	for _, c := range decode[admintest.ConversationList](t, r).Conversations {
		got[c.ID] = true
	}
	if len(got) != 2 || !got[mine.conv.String()] || !got[byEmail.conv.String()] {
		t.Fatalf("basic user lists %v", got)
	}
	for _, c := range []chat{mine, byEmail} {
		s.do(t, "GET", "/admin/conversations/"+c.conv.String(), ada, nil).want(t, 200)
		s.do(t, "GET", "/admin/conversations/"+c.conv.String()+"/messages", ada, nil).want(t, 200)
	}
	unknown := uuid.NewString()
	want := comparable(t, s.do(t, "GET", "/admin/conversations/"+unknown, ada, nil).wantError(t, 404, "NOT_FOUND", "-"))
	for _, c := range []chat{ctxOnly, other, foreignEmail} {
		for _, suffix := range []string{"", "/messages"} {
			if suffix != "" {
				want = comparable(t, s.do(t, "GET", "/admin/conversations/"+unknown+suffix, ada, nil).wantError(t, 404, "NOT_FOUND", "-"))
			}
			got := comparable(t, s.do(t, "GET", "/admin/conversations/"+c.conv.String()+suffix, ada, nil).wantError(t, 404, "NOT_FOUND", "-"))
			if strings.ReplaceAll(got, c.conv.String(), unknown) != want {
				t.Fatalf("invisible conversation differs from unknown: %s vs %s", got, want)
			}
		}
	}
	// A verified-false email does not count; a basic API key sees nothing.
	unverified := token(t, map[string]any{"org": a.id.String(), "role": "basic", "sub": "nobody", "email": "ada@example.org", "email_verified": false})
	if l := s.do(t, "GET", "/admin/conversations", unverified, nil).want(t, 200).list(t, "conversations"); len(l) != 0 {
		t.Fatalf("unverified email sees %d conversations", len(l))
	}
	if l := s.do(t, "GET", "/admin/conversations", a.basic, nil).want(t, 200).list(t, "conversations"); len(l) != 0 {
		t.Fatalf("basic API key sees %d conversations", len(l))
	}
	// Curators see the whole org, never B's.
	if l := s.do(t, "GET", "/admin/conversations", a.curator, nil).want(t, 200).list(t, "conversations"); len(l) != 5 {
		t.Fatalf("curator sees %d conversations, want 5", len(l))
	}
}

func TestAJWTForANewOrgGetsAFreshEmptyOrg(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.seedTenant(t, "A")
	tok := token(t, map[string]any{"org": "brand-new-co", "role": "admin", "sub": "founder", "name": "Founder"})
	me := s.do(t, "GET", "/admin/me", tok, nil).want(t, 200)
	org := me.str(t, "orgId")
	if org == a.id.String() {
		t.Fatal("provisioned into an existing org")
	}
	for _, p := range []string{"/admin/agents", "/admin/api-keys", "/admin/conversations", "/admin/approvals", "/admin/gateway-keys",
		"/admin/document-sets", "/admin/connectors", "/admin/indexing/runs"} {
		r := s.do(t, "GET", p, tok, nil).want(t, 200)
		for _, v := range r.json(t) {
			if l, ok := v.([]any); ok && len(l) != 0 {
				t.Fatalf("%s of a new org: %s", p, r.body)
			}
		}
	}
	st := decode[admintest.SettingsAnswer](t, s.do(t, "GET", "/admin/settings", tok, nil).want(t, 200)).Settings
	if st.OrgID != org || st.UpdatedAt != nil {
		t.Fatalf("settings %+v", st)
	}
	audit := decode[admintest.AuditList](t, s.do(t, "GET", "/admin/audit", tok, nil).want(t, 200)).Entries
	if len(audit) != 1 || audit[0].Action != "org.create" {
		t.Fatalf("audit of a new org: %+v", audit)
	}
	founder := "Founder"
	if diff := cmp.Diff(admintest.AuditActor{Type: "user", ID: "founder", Name: &founder}, audit[0].Actor); diff != "" {
		t.Fatalf("org.create actor (-want +got):\n%s", diff)
	}
	// The same claim resolves to the same org again; a UUID claim of an unknown org is that id.
	if s.do(t, "GET", "/admin/me", tok, nil).want(t, 200).str(t, "orgId") != org {
		t.Fatal("second request resolved elsewhere")
	}
	id := uuid.NewString()
	if got := s.do(t, "GET", "/admin/me", token(t, map[string]any{"org": nil, "org_id": strings.ToUpper(id)}), nil).want(t, 200).str(t, "orgId"); got != id {
		t.Fatalf("UUID claim provisioned %s, want %s", got, id)
	}
}
