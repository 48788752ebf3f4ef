package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// catalogTenantTables reads, from the database itself, every table with an org_id column.
func catalogTenantTables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT c.table_name::text FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND c.column_name = 'org_id' AND t.table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("catalog lists only %v", names)
	}
	return names
}

// Every table with an org_id column has an erasure rule, and every rule names such a table:
// a tenant table added without one fails here.
func TestEveryTenantTableHasAnErasureRule(t *testing.T) {
	pool := dbtest.NewPool(t)
	ruled := map[string]bool{}
	for _, r := range store.TenantTables {
		if ruled[r.Name] {
			t.Errorf("table %s has two rules", r.Name)
		}
		ruled[r.Name] = true
		switch r.EndUser {
		case store.EndUserDeleted, store.EndUserScrubbed, store.OrgDataOnly:
		default:
			t.Errorf("table %s: unknown rule %q", r.Name, r.EndUser)
		}
	}
	catalog := map[string]bool{}
	for _, name := range catalogTenantTables(t, pool) {
		catalog[name] = true
		if !ruled[name] {
			t.Errorf("table %s has an org_id column but no erasure rule in store.TenantTables (store/erasure.go): "+
				"say what erasing an end user does to it, count it in OrgRowCounts, and seed it in erasure_test.go", name)
		}
	}
	for name := range ruled {
		if !catalog[name] {
			t.Errorf("store.TenantTables has a rule for %s, which has no org_id column", name)
		}
	}
	// The dry run counts every table.
	counts, err := store.New(pool, nil).OrgRows(context.Background(), uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != len(store.TenantTables) {
		t.Fatalf("OrgRows counted %d tables, want %d", len(counts), len(store.TenantTables))
	}
}

// Deleting an org row reaches every tenant table: each has a chain of ON DELETE CASCADE
// foreign keys to orgs.
func TestEveryTenantTableCascadesFromOrgs(t *testing.T) {
	pool := dbtest.NewPool(t)
	rows, err := pool.Query(context.Background(), `
		SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND confdeltype = 'c' AND connamespace = current_schema()::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	type edge struct{ From, To string }
	edges, err := pgx.CollectRows(rows, pgx.RowToStructByPos[edge])
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string][]string{}
	for _, e := range edges {
		parents[e.From] = append(parents[e.From], e.To)
	}
	var reaches func(table string, seen map[string]bool) bool
	reaches = func(table string, seen map[string]bool) bool {
		if table == "orgs" {
			return true
		}
		if seen[table] {
			return false
		}
		seen[table] = true
		for _, p := range parents[table] {
			if reaches(p, seen) {
				return true
			}
		}
		return false
	}
	for _, name := range catalogTenantTables(t, pool) {
		if !reaches(name, map[string]bool{}) {
			t.Errorf("deleting an org leaves %s behind: no ON DELETE CASCADE chain leads from it to orgs", name)
		}
	}
}

// erasureWorld: two orgs, each with a row in every tenant table and two end users, each
// user with a conversation matched by identity and email and another matched by email only.
type erasureWorld struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	st     *store.Store
	orgA   uuid.UUID
	orgB   uuid.UUID
	chats  map[string]seededChat // "A1", "A1mail", "A2", "A2mail", "B1", ...
	tables []string
}

// seededChat is one conversation and everything about it; marks are strings that appear in
// its rows only.
type seededChat struct {
	org, conversation, session, approval uuid.UUID
	identity, email                      string
	marks                                []string
	// derived are ids of rows that only copy the chat's data (webhook events, named by their
	// deliveries): erased with it, not exported.
	derived []string
}

func newErasureWorld(t *testing.T) *erasureWorld {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	w := &erasureWorld{ctx: ctx, pool: pool, st: store.New(pool, nil), chats: map[string]seededChat{}}
	fx := fixture.New(t, pool)
	instance := uuid.New()
	w.exec(t, `INSERT INTO instances (id) VALUES ($1)`, instance)
	for _, o := range []string{"A", "B"} {
		org := fx.Org(fixture.Org{Name: "org " + o}).ID
		if o == "A" {
			w.orgA = org
		} else {
			w.orgB = org
		}
		agent := fx.Agent(org, fixture.Agent{Name: "Support"})
		fx.Tool(org, agent.ID, fixture.Tool{Name: "refund", URL: "https://tools.example.com/refund"})
		fx.Webhook(org, fixture.Webhook{URL: "https://hooks.example.com/" + o, Events: []string{"message.created", "budget.reached"}})
		fx.APIKey(org, fixture.APIKey{})
		key := fx.GatewayKey(org, fixture.GatewayKey{Secret: "sk-test-" + o + "abcd"})
		w.exec(t, `INSERT INTO org_settings (org_id, model, system_prompt) VALUES ($1, 'gpt-4o-mini', 'be kind')`, org)
		w.exec(t, `INSERT INTO org_usage_months (org_id, month, shard, tokens) VALUES ($1, '2026-01-01', 0, 1000)`, org)
		var set, connector, run, doc uuid.UUID
		w.scan(t, []any{&set}, `INSERT INTO document_sets (org_id, name) VALUES ($1, 'faq') RETURNING id`, org)
		w.scan(t, []any{&connector}, `INSERT INTO connectors (org_id, name, kind, config, document_set) VALUES ($1, 'site', 'web', '{}', 'faq') RETURNING id`, org)
		w.scan(t, []any{&run}, `INSERT INTO indexing_runs (org_id, connector_id, document_set) VALUES ($1, $2, 'faq') RETURNING id`, org, connector)
		w.scan(t, []any{&doc}, `INSERT INTO documents (org_id, doc_id, document_set_id, title, content_hash, content_bytes, state)
			VALUES ($1, 'refunds', $2, 'Refunds', '\x00', 3, 'indexed') RETURNING id`, org, set)
		w.exec(t, `INSERT INTO chunks (org_id, document_id, ordinal, text) VALUES ($1, $2, 0, 'refunds take a week')`, org, doc)
		for _, u := range []string{"1", "2"} {
			identity := "jwt:user-" + o + u
			email := "user" + o + u + "@example.org"
			w.chats[o+u] = w.seedChat(t, fx, org, agent.ID, key.ID, instance, identity, email, o+u)
			// The same person without a token, with their verified email written otherwise.
			w.chats[o+u+"mail"] = w.seedChat(t, fx, org, agent.ID, key.ID, instance, "", "  "+strings.ToUpper(email)+" ", o+u+"mail")
		}
		// An org-wide webhook event that names no end user.
		if err := w.st.Emit(ctx, org, events.BudgetReached{Month: "2026-01", Budget: 10, UsedTokens: 10}); err != nil {
			t.Fatal(err)
		}
		// An org-wide event and audit entry that name no end user.
		w.exec(t, `INSERT INTO backplane_events (org_id, target_type, target_id, event) VALUES ($1, 'org', $2, '{"type":"notice"}')`, org, org.String())
		w.exec(t, `INSERT INTO audit_log (org_id, actor_type, actor_id, action, target_type, target_id, details)
			VALUES ($1, 'user', 'admin', 'agent.create', 'agent', $2::text, '{"fields":["name"]}')`, org, agent.ID)
	}
	w.tables = catalogTenantTables(t, pool)
	for _, table := range w.tables {
		for _, org := range []uuid.UUID{w.orgA, w.orgB} {
			var n int
			w.scan(t, []any{&n}, fmt.Sprintf(`SELECT count(*) FROM %s WHERE org_id = $1`, pgx.Identifier{table}.Sanitize()), org)
			if n == 0 {
				t.Fatalf("the erasure world has no row of %s in org %s: seed one in newErasureWorld (store/erasure_test.go)", table, org)
			}
		}
	}
	return w
}

// seedChat writes a conversation of one end user with a row in every table that can be about
// an end user: participants, session, messages, a parked approval, a usage row, audit
// entries and outbox events naming it.
func (w *erasureWorld) seedChat(t *testing.T, fx *fixture.Factory, org, agent, key, instance uuid.UUID, identity, email, tag string) seededChat {
	t.Helper()
	secret := "secret-of-" + tag + "-" + uuid.NewString()[:8]
	ch := fx.Conversation(org, agent, fixture.Conversation{UserName: "Name " + tag, UserIdentity: identity, UserEmail: email, Messages: 2})
	c := seededChat{org: org, conversation: ch.Conversation.ID, session: ch.Session.ID, approval: uuid.New(), identity: identity, email: email}
	w.exec(t, `UPDATE conversations SET title = $2, metadata = jsonb_build_object('note', $3::text) WHERE id = $1`, c.conversation, "title "+secret, secret)
	w.exec(t, `UPDATE sessions SET contact_email = $2 WHERE id = $1`, c.session, secret+"@contact.example")
	var msg uuid.UUID
	w.scan(t, []any{&msg}, `INSERT INTO messages (org_id, conversation_id, participant_id, direction, text, request_id)
		VALUES ($1, $2, $3, 'inbound', $4, $5) RETURNING id`, org, c.conversation, ch.User.ID, "my order "+secret, "req-"+secret)
	w.exec(t, `INSERT INTO pending_approvals (id, org_id, session_id, conversation_id, agent_id, request_id, tool_name, arguments, instance_id, expires_at, reason)
		VALUES ($1, $2, $3, $4, $5, $6, 'refund', jsonb_build_object('note', $7::text), $8, now() + interval '5 minutes', $7)`,
		c.approval, org, c.session, c.conversation, agent, "req-"+secret, secret, instance)
	w.exec(t, `INSERT INTO pending_interactions (id, org_id, session_id, conversation_id, agent_id, request_id, kind, spec, reason, instance_id, status, submitted_values, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'identity_intake', '{"fields":[{"key":"email","required":true}]}', 'to follow up', $7, 'submitted',
		        jsonb_build_object('email', $8::text), now() + interval '5 minutes')`,
		uuid.New(), org, c.session, c.conversation, agent, "req-"+secret, instance, secret+"@card.example")
	w.exec(t, `INSERT INTO otp_challenges (id, org_id, session_id, conversation_id, agent_id, request_id, tool_name, destination, code_hash, max_attempts, instance_id, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'get_orders', $7, $8, 5, $9, now() + interval '10 minutes')`,
		uuid.New(), org, c.session, c.conversation, agent, "req-"+secret, secret+"@contact.example", make([]byte, 32), instance)
	w.exec(t, `INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model, prompt_tokens, completion_tokens, gateway_key_id, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, 'gpt-4o-mini', 100, 20, $7, 'completed')`, uuid.New(), org, agent, c.conversation, c.session, "req-"+secret, key)
	audit := func(action, targetType, targetID string, details string) {
		w.exec(t, `INSERT INTO audit_log (org_id, actor_type, actor_id, action, target_type, target_id, details)
			VALUES ($1, 'user', 'admin', $2, $3, $4, $5::jsonb)`, org, action, targetType, targetID, details)
	}
	detail, _ := json.Marshal(map[string]any{"approved": false, "reason": "no, " + secret})
	audit("approval.decide", "approval", c.approval.String(), string(detail))
	audit("publish.send", "conversation", c.conversation.String(), `{"eventType":"notice"}`)
	audit("publish.send", "session", c.session.String(), `{"eventType":"notice"}`)
	event := func(targetType, targetID string, ev map[string]any) {
		raw, _ := json.Marshal(ev)
		w.exec(t, `INSERT INTO backplane_events (org_id, target_type, target_id, event) VALUES ($1, $2, $3, $4)`, org, targetType, targetID, raw)
	}
	event("conversation", c.conversation.String(), map[string]any{"type": "notice", "text": secret})
	event("instance", instance.String(), map[string]any{"type": "decision", "approvalId": c.approval.String(), "sessionId": c.session.String()})
	// A webhook event about the conversation; its delivery names the event.
	if err := w.st.Emit(w.ctx, org, events.MessageCreated{ConversationID: c.conversation, MessageID: msg, Role: events.RoleVisitor,
		Text: "my order " + secret, RequestID: "req-" + secret}); err != nil {
		t.Fatal(err)
	}
	var webhookEvent uuid.UUID
	w.scan(t, []any{&webhookEvent}, `SELECT id FROM webhook_events WHERE org_id = $1 AND conversation_id = $2`, org, c.conversation)
	c.marks = []string{secret, c.conversation.String(), c.session.String(), c.approval.String(), msg.String(),
		ch.User.ID.String(), ch.Agent.ID.String()}
	c.derived = []string{webhookEvent.String()}
	if identity != "" {
		audit("publish.send", "user", identity, `{"eventType":"notice"}`)
		event("user", identity, map[string]any{"type": "notice"})
		c.marks = append(c.marks, identity)
	}
	return c
}

func (w *erasureWorld) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.pool.Exec(w.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (w *erasureWorld) scan(t *testing.T, dest []any, sql string, args ...any) {
	t.Helper()
	if err := w.pool.QueryRow(w.ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// snapshot is every row of every tenant table, as JSON text, by table.
func (w *erasureWorld) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range w.tables {
		rows, err := w.pool.Query(w.ctx, fmt.Sprintf(`SELECT row_to_json(t)::text FROM %s t`, pgx.Identifier{table}.Sanitize()))
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(texts)
		out[table] = texts
	}
	return out
}

func mentionsAny(row string, marks []string) string {
	for _, m := range marks {
		if strings.Contains(row, m) {
			return m
		}
	}
	return ""
}

// checkErased fails unless no row of any tenant table mentions a mark of the erased chats,
// and every row before that mentioned none is still there, unchanged.
func (w *erasureWorld) checkErased(t *testing.T, before, after map[string][]string, erased []seededChat) {
	t.Helper()
	var marks []string
	for _, c := range erased {
		marks = append(marks, c.marks...)
		marks = append(marks, c.derived...)
	}
	for table, rows := range after {
		for _, r := range rows {
			if m := mentionsAny(r, marks); m != "" {
				t.Errorf("%s still holds %q: %s", table, m, r)
			}
		}
	}
	for table, rows := range before {
		left := map[string]int{}
		for _, r := range after[table] {
			left[r]++
		}
		for _, r := range rows {
			if mentionsAny(r, marks) != "" {
				continue
			}
			if left[r] == 0 {
				t.Errorf("%s lost or changed a row about nobody erased: %s", table, r)
				continue
			}
			left[r]--
		}
	}
}

func (w *erasureWorld) usageTotals(t *testing.T, org uuid.UUID) [2]int64 {
	t.Helper()
	var n, tokens int64
	w.scan(t, []any{&n, &tokens}, `SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_events WHERE org_id = $1`, org)
	return [2]int64{n, tokens}
}

func TestEraseEndUserLeavesNoRowOfThemAndTouchesNoOtherRow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   store.EndUser
		erased []string
	}{
		{"by identity", store.EndUser{Identity: "jwt:user-A1"}, []string{"A1"}},
		{"by verified email, any case and spacing", store.EndUser{Email: " USERa1@Example.org"}, []string{"A1", "A1mail"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newErasureWorld(t)
			before := w.snapshot(t)
			usage := w.usageTotals(t, w.orgA)
			m := store.Meta{Actor: store.Actor{Type: "user", ID: "admin"}, RequestID: "req-erase"}
			got, err := w.st.EraseEndUser(w.ctx, w.orgA, tc.user, m)
			if err != nil {
				t.Fatal(err)
			}
			n := int64(len(tc.erased))
			want := store.Erasure{Conversations: n, Participants: 2 * n, Messages: 3 * n, Sessions: n, Approvals: n,
				UsageEvents: n, AuditEntries: 3 * n, BackplaneEvents: 2 * n}
			// A1's identity (the reference, or that of the participant with the email) was
			// published to: one more entry and event.
			want.AuditEntries++
			want.BackplaneEvents++
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("erasure counts (-want +got):\n%s", d)
			}
			after := w.snapshot(t)
			var chats []seededChat
			for _, k := range tc.erased {
				chats = append(chats, w.chats[k])
			}
			w.checkErased(t, before, after, chats)
			if got := w.usageTotals(t, w.orgA); got != usage {
				t.Errorf("usage of org A = %v after the erasure, want %v kept", got, usage)
			}
			// Audited once, without naming the user or anything erased.
			var action, target, details string
			w.scan(t, []any{&action, &target, &details}, `SELECT action, target_id, details::text FROM audit_log
				WHERE org_id = $1 AND request_id = 'req-erase'`, w.orgA)
			if action != "endUser.erase" || target != tc.user.AuditID() || !strings.HasPrefix(target, "sha256:") {
				t.Errorf("audit row = %s %s", action, target)
			}
			for _, leak := range []string{"user-A1", "usera1", "USERa1"} {
				if strings.Contains(target+details, leak) {
					t.Errorf("the audit row names the user: %s %s", target, details)
				}
			}
		})
	}
}

// An org erasing a reference that only another org holds erases nothing anywhere.
func TestEraseEndUserOfAnotherOrgTouchesNothing(t *testing.T) {
	w := newErasureWorld(t)
	before := w.snapshot(t)
	got, err := w.st.EraseEndUser(w.ctx, w.orgA, store.EndUser{Identity: "jwt:user-B1"}, store.Meta{Actor: store.SystemCLI})
	if err != nil {
		t.Fatal(err)
	}
	if got != (store.Erasure{}) {
		t.Errorf("erasure in A of B's user = %+v, want nothing", got)
	}
	after := w.snapshot(t)
	w.checkErased(t, before, after, nil)
	// The one new row is A's audit entry.
	if len(after["audit_log"]) != len(before["audit_log"])+1 {
		t.Errorf("audit rows %d -> %d", len(before["audit_log"]), len(after["audit_log"]))
	}
}

func TestDeleteConversationErasesItAlone(t *testing.T) {
	w := newErasureWorld(t)
	before := w.snapshot(t)
	c := w.chats["A2"]
	got, err := w.st.DeleteConversation(w.ctx, w.orgA, c.conversation, store.Meta{Actor: store.SystemCLI, RequestID: "req-del"})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Erasure{Conversations: 1, Participants: 2, Messages: 3, Sessions: 1, Approvals: 1, UsageEvents: 1, AuditEntries: 3, BackplaneEvents: 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	after := w.snapshot(t)
	// The conversation's own deletion entry names its id, and only that.
	marks := c.marks
	var audit []string
	for _, r := range after["audit_log"] {
		if strings.Contains(r, `"req-del"`) {
			audit = append(audit, r)
			if !strings.Contains(r, `"conversation.delete"`) || mentionsAny(r, marks[:1]) != "" {
				t.Errorf("deletion audit row: %s", r)
			}
			continue
		}
	}
	if len(audit) != 1 {
		t.Fatalf("deletion audit rows: %v", audit)
	}
	filtered := map[string][]string{}
	for table, rows := range after {
		for _, r := range rows {
			if table != "audit_log" || !strings.Contains(r, `"req-del"`) {
				filtered[table] = append(filtered[table], r)
			}
		}
	}
	// The user's identity is the user's, not the conversation's: publishes to it stay.
	conversationOnly := c
	conversationOnly.marks = nil
	for _, m := range c.marks {
		if m != c.identity {
			conversationOnly.marks = append(conversationOnly.marks, m)
		}
	}
	w.checkErased(t, before, filtered, []seededChat{conversationOnly})

	// Unknown and foreign ids are not found, and change nothing.
	for _, id := range []uuid.UUID{uuid.New(), w.chats["B1"].conversation} {
		if _, err := w.st.DeleteConversation(w.ctx, w.orgA, id, store.Meta{Actor: store.SystemCLI}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete %s in A: %v, want ErrNotFound", id, err)
		}
	}
	if d := cmp.Diff(after, w.snapshot(t)); d != "" {
		t.Errorf("refused deletions changed rows:\n%s", d)
	}
}

func TestDeleteOrgLeavesNoRowOfItAndTouchesNoOtherOrg(t *testing.T) {
	w := newErasureWorld(t)
	before := w.snapshot(t)
	counts, err := w.st.OrgRows(w.ctx, w.orgA)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		var n int64
		for _, r := range before[c.Table] {
			if strings.Contains(r, `"org_id":"`+w.orgA.String()+`"`) {
				n++
			}
		}
		if c.Rows != n || n == 0 {
			t.Errorf("OrgRows: %s has %d rows of A, counted %d", c.Table, n, c.Rows)
		}
	}
	if err := w.st.DeleteOrg(w.ctx, w.orgA); err != nil {
		t.Fatal(err)
	}
	after := w.snapshot(t)
	w.checkErased(t, before, after, []seededChat{{marks: []string{w.orgA.String()}}})
	var orgs int
	w.scan(t, []any{&orgs}, `SELECT count(*) FROM orgs WHERE id = $1`, w.orgA)
	if orgs != 0 {
		t.Error("org A's row is still there")
	}
	if err := w.st.DeleteOrg(w.ctx, w.orgA); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
}

// The export holds every row about the end user and nothing about anyone else.
func TestExportEndUserHoldsExactlyTheirData(t *testing.T) {
	w := newErasureWorld(t)
	got, err := w.st.ExportEndUser(w.ctx, w.orgA, store.EndUser{Email: "usera1@example.org"}, store.Meta{Actor: store.SystemCLI})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, c := range got.Conversations {
		ids = append(ids, c.ID)
	}
	want := []uuid.UUID{w.chats["A1"].conversation, w.chats["A1mail"].conversation}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("conversations (-want +got):\n%s", d)
	}
	if len(got.Participants) != 4 || len(got.Sessions) != 2 || len(got.Messages) != 6 || len(got.Approvals) != 2 ||
		len(got.Usage) != 2 || len(got.Audit) != 7 {
		t.Errorf("export sizes: %d participants, %d sessions, %d messages, %d approvals, %d usage, %d audit",
			len(got.Participants), len(got.Sessions), len(got.Messages), len(got.Approvals), len(got.Usage), len(got.Audit))
	}
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, k := range []string{"A1", "A1mail"} {
		for _, m := range w.chats[k].marks {
			if !strings.Contains(doc, m) {
				t.Errorf("the export lacks %q of %s", m, k)
			}
		}
	}
	for k, c := range w.chats {
		if k == "A1" || k == "A1mail" {
			continue
		}
		if m := mentionsAny(doc, c.marks); m != "" {
			t.Errorf("the export holds %q of %s", m, k)
		}
	}
}
