package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// turnWorld is one org with an agent, a conversation with both participants and a session,
// in its own database (the turn store sends its batches on the pool, outside any test tx).
type turnWorld struct {
	ctx        context.Context
	pool       *pgxpool.Pool
	st         *store.Store
	org        uuid.UUID
	agent      db.Agent
	conv       db.Conversation
	user, bot  uuid.UUID
	sessionID  uuid.UUID
	otherOrgID uuid.UUID
	fx         *fixture.Factory
}

func newTurnWorld(t *testing.T) *turnWorld {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	fx := fixture.New(t, pool)
	w := &turnWorld{ctx: ctx, pool: pool, st: store.New(pool, nil), fx: fx}
	w.org, w.otherOrgID = fx.Org(fixture.Org{Name: "A"}).ID, fx.Org(fixture.Org{Name: "B"}).ID
	w.agent = fx.Agent(w.org, fixture.Agent{Name: "Support"})
	chat := fx.Conversation(w.org, w.agent.ID, fixture.Conversation{})
	w.conv, w.user, w.bot, w.sessionID = chat.Conversation, chat.User.ID, chat.Agent.ID, chat.Session.ID
	return w
}

func (w *turnWorld) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.pool.Exec(w.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (w *turnWorld) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (w *turnWorld) record(r store.TurnRecord) (uuid.UUID, error) {
	r.OrgID, r.AgentID, r.ConversationID, r.SessionID, r.AgentParticipantID = w.org, w.agent.ID, w.conv.ID, w.sessionID, w.bot
	if r.TurnID == uuid.Nil {
		r.TurnID = uuid.New()
	}
	r.RequestID, r.Model = "r-1", "gpt-4o-mini"
	return w.st.RecordTurn(w.ctx, r)
}

func TestLoadTurnInputsReadsEveryInputOfTheOrg(t *testing.T) {
	w := newTurnWorld(t)
	budget := int64(5000)
	if _, err := q.OrgSettingsUpsert(w.ctx, w.pool, db.OrgSettingsUpsertParams{
		OrgID: w.org, Model: "gpt-4o", SystemPrompt: "Be brief.", DefaultTools: []string{}, MonthlyTokenBudget: &budget,
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lookup", "Cancel"} {
		w.fx.Tool(w.org, w.agent.ID, fixture.Tool{Name: name, Description: "d", Parameters: `{"type":"object"}`,
			URL: "https://tools.example.com/" + name, TimeoutMs: 1000})
	}
	var keys []uuid.UUID
	for i, revoked := range []bool{false, false, true} {
		id := w.fx.GatewayKey(w.org, fixture.GatewayKey{Secret: fmt.Sprintf("sk-key-%d-abcd", i), Label: "k"}).ID
		keys = append(keys, id)
		// Distinct creation times, oldest first; the newest is revoked.
		w.exec(t, `UPDATE gateway_keys SET created_at = now() + make_interval(secs => $2) WHERE id = $1`, id, i)
		if revoked {
			w.exec(t, `UPDATE gateway_keys SET revoked_at = now(), key_ciphertext = NULL WHERE id = $1`, id)
		}
	}
	// The month's tokens are spread over shards; last month's never count.
	w.exec(t, `INSERT INTO org_usage_months (org_id, month, shard, tokens) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 0, 1200),
	           ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 7, 34),
	           ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date - 40, 0, 99999)`, w.org)
	for _, m := range []struct{ dir, text string }{{"inbound", "q1"}, {"outbound", "a1"}, {"inbound", "q2"}, {"outbound", ""}, {"inbound", "q3"}} {
		w.exec(t, `INSERT INTO messages (org_id, conversation_id, direction, text) VALUES ($1, $2, $3, $4)`, w.org, w.conv.ID, m.dir, m.text)
	}

	in, err := w.st.LoadTurnInputs(w.ctx, w.org, w.agent.ID, uuid.Nil, w.conv.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !in.AgentFound || in.Agent.ID != w.agent.ID {
		t.Errorf("agent %+v found=%v", in.Agent.ID, in.AgentFound)
	}
	if !in.HasSettings || in.Settings.Model != "gpt-4o" || in.Settings.MonthlyTokenBudget == nil || *in.Settings.MonthlyTokenBudget != budget {
		t.Errorf("settings %+v has=%v", in.Settings, in.HasSettings)
	}
	if len(in.Tools) != 2 || in.Tools[0].Name != "Cancel" || in.Tools[1].Name != "lookup" {
		t.Errorf("tools %+v", in.Tools)
	}
	if !in.HasGatewayKey || in.GatewayKey.ID != keys[1] {
		t.Errorf("gateway key %v, want the newest active %v", in.GatewayKey.ID, keys[1])
	}
	if in.MonthTokens != 1234 {
		t.Errorf("month tokens %d, want the sum of this month's shards", in.MonthTokens)
	}
	if in.HasKnowledge {
		t.Error("an org without indexed documents reports knowledge")
	}
	w.exec(t, `WITH s AS (INSERT INTO document_sets (org_id, name) VALUES ($1, 'faq') RETURNING id)
	           INSERT INTO documents (org_id, doc_id, document_set_id, title, content_hash, content_bytes, state)
	           SELECT $1, 'd1', s.id, 'T', '\x00', 1, 'indexed' FROM s`, w.org)
	if in, err := w.st.LoadTurnInputs(w.ctx, w.org, w.agent.ID, uuid.Nil, w.conv.ID, 3); err != nil || !in.HasKnowledge {
		t.Errorf("after indexing a document: HasKnowledge=%v err=%v", in != nil && in.HasKnowledge, err)
	}
	if in, err := w.st.LoadTurnInputs(w.ctx, w.otherOrgID, w.agent.ID, uuid.Nil, w.conv.ID, 3); err != nil || in.HasKnowledge {
		t.Errorf("another org sees this org's knowledge: %v", err)
	}
	var got []string
	for _, h := range in.History {
		dir := "a:"
		if h.Inbound {
			dir = "q:"
		}
		got = append(got, dir+h.Text)
	}
	if strings.Join(got, ",") != "a:a1,q:q2,q:q3" {
		t.Errorf("history %v: want the newest 3 non-empty messages, oldest first", got)
	}
}

func TestLoadTurnInputsReportsWhatIsMissing(t *testing.T) {
	w := newTurnWorld(t)
	w.exec(t, `UPDATE agents SET deleted_at = now() WHERE id = $1`, w.agent.ID)
	cases := []struct {
		name       string
		org, agent uuid.UUID
	}{
		{"deleted agent, no settings, key, usage or history", w.org, w.agent.ID},
		{"another org never sees this org's agent", w.otherOrgID, w.agent.ID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := w.st.LoadTurnInputs(w.ctx, tc.org, tc.agent, uuid.Nil, w.conv.ID, 50)
			if err != nil {
				t.Fatal(err)
			}
			if in.AgentFound || in.HasSettings || in.HasGatewayKey || in.MonthTokens != 0 || len(in.Tools) != 0 || len(in.History) != 0 {
				t.Fatalf("inputs %+v", in)
			}
		})
	}
}

func TestInsertUserMessageTouchesTheConversation(t *testing.T) {
	w := newTurnWorld(t)
	if err := w.st.InsertUserMessage(w.ctx, w.org, w.conv.ID, w.user, "hello", "r-1"); err != nil {
		t.Fatal(err)
	}
	n := w.count(t, `SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
	                 WHERE m.direction = 'inbound' AND m.text = 'hello' AND m.request_id = 'r-1' AND m.participant_id = $1
	                   AND c.message_count = 1 AND c.last_message_at = m.created_at AND c.updated_at = m.created_at`, w.user)
	if n != 1 {
		t.Fatal("user message or conversation activity not stored together")
	}
}

func TestRecordTurnWritesReplyUsageCounterAndKeyTogether(t *testing.T) {
	w := newTurnWorld(t)
	keyID := w.fx.GatewayKey(w.org, fixture.GatewayKey{Secret: "sk-key-abcd", Label: "k"}).ID
	msgID, err := w.record(store.TurnRecord{
		Outcome: "completed", Reply: "Hi there", ReplyUsage: []byte(`{"promptTokens":10}`), ToolCalls: []byte(`[{"name":"x","isError":false}]`),
		PromptTokens: 10, CompletionTokens: 2, CostUSD: 0.000123, CalledGateway: true,
		GatewayKeyID: uuid.NullUUID{UUID: keyID, Valid: true},
	})
	if err != nil || msgID == uuid.Nil {
		t.Fatalf("record: %v %v", msgID, err)
	}
	checks := []struct {
		what string
		sql  string
		args []any
	}{
		{"reply", `SELECT count(*) FROM messages WHERE id = $1 AND direction = 'outbound' AND text = 'Hi there' AND participant_id = $2
		           AND usage = '{"promptTokens":10}' AND tool_calls IS NOT NULL`, []any{msgID, w.bot}},
		{"conversation activity", `SELECT count(*) FROM conversations c JOIN messages m ON m.id = $1
		           WHERE c.id = $2 AND c.message_count = 1 AND c.last_message_at = m.created_at`, []any{msgID, w.conv.ID}},
		{"usage row", `SELECT count(*) FROM usage_events WHERE org_id = $1 AND outcome = 'completed' AND prompt_tokens = 10
		           AND completion_tokens = 2 AND cost_usd = 0.000123 AND gateway_key_id = $2 AND session_id = $3`, []any{w.org, keyID, w.sessionID}},
		{"month counter", `SELECT count(*) FROM (SELECT sum(tokens) AS s FROM org_usage_months WHERE org_id = $1) m WHERE s = 12`, []any{w.org}},
		{"key last use", `SELECT count(*) FROM gateway_keys WHERE id = $1 AND last_used_at IS NOT NULL`, []any{keyID}},
	}
	for _, c := range checks {
		if w.count(t, c.sql, c.args...) != 1 {
			t.Errorf("%s not written", c.what)
		}
	}

	// A server-key turn that failed: a usage row and the counter, no message, no key touched.
	if id, err := w.record(store.TurnRecord{Outcome: "error", PromptTokens: 5, CompletionTokens: 1, TokensEstimated: true, CalledGateway: true}); err != nil || id != uuid.Nil {
		t.Fatalf("record failed turn: %v %v", id, err)
	}
	if w.count(t, `SELECT count(*) FROM messages`) != 1 || w.count(t, `SELECT coalesce(sum(tokens), 0)::bigint FROM org_usage_months WHERE org_id = $1`, w.org) != 18 ||
		w.count(t, `SELECT count(*) FROM usage_events WHERE outcome = 'error' AND tokens_estimated AND gateway_key_id IS NULL`) != 1 {
		t.Fatal("failed turn records")
	}
	// A turn that never called the gateway writes nothing.
	if id, err := w.record(store.TurnRecord{Outcome: "error"}); err != nil || id != uuid.Nil || w.count(t, `SELECT count(*) FROM usage_events`) != 2 {
		t.Fatalf("turn without a gateway call: %v %v", id, err)
	}
}

func TestRecordTurnIsAllOrNothing(t *testing.T) {
	w := newTurnWorld(t)
	turnID := uuid.New()
	rec := store.TurnRecord{TurnID: turnID, Outcome: "completed", Reply: "first", PromptTokens: 10, CompletionTokens: 2, CalledGateway: true}
	if _, err := w.record(rec); err != nil {
		t.Fatal(err)
	}
	// The same turn id again: the usage row conflicts, so the reply queued before it must not stay.
	rec.Reply = "second"
	if _, err := w.record(rec); err == nil {
		t.Fatal("a duplicate turn id was recorded")
	}
	if n := w.count(t, `SELECT count(*) FROM messages WHERE text = 'second'`); n != 0 {
		t.Fatal("the reply of a failed record stayed")
	}
	if w.count(t, `SELECT message_count FROM conversations WHERE id = $1`, w.conv.ID) != 1 ||
		w.count(t, `SELECT coalesce(sum(tokens), 0)::bigint FROM org_usage_months WHERE org_id = $1`, w.org) != 12 {
		t.Fatal("a failed record changed the conversation or the month counter")
	}
}

func TestMessageBelongsToItsConversationsOrg(t *testing.T) {
	w := newTurnWorld(t)
	// Another org's id with this conversation: the (org_id, conversation_id) key refuses it.
	err := w.st.InsertUserMessage(w.ctx, w.otherOrgID, w.conv.ID, w.user, "stray", "r-1")
	if err == nil || !strings.Contains(err.Error(), "messages_org_conversation_fkey") {
		t.Fatalf("a message of org B in org A's conversation: %v", err)
	}
	if w.count(t, `SELECT count(*) FROM messages`) != 0 || w.count(t, `SELECT message_count FROM conversations WHERE id = $1`, w.conv.ID) != 0 {
		t.Fatal("the refused message left a row or touched the conversation")
	}
	// Deleting the org still deletes its messages, through its conversations.
	if err := w.st.InsertUserMessage(w.ctx, w.org, w.conv.ID, w.user, "hello", "r-2"); err != nil {
		t.Fatal(err)
	}
	w.exec(t, `DELETE FROM orgs WHERE id = $1`, w.org)
	if w.count(t, `SELECT count(*) FROM messages`) != 0 {
		t.Fatal("messages outlived their org")
	}
}

// blockTurnWrites holds the conversation's row until the returned release is called, so that
// the next end-of-turn write with a reply waits, in flight, and the writes after it queue.
func (w *turnWorld) blockTurnWrites(t *testing.T) (release func()) {
	t.Helper()
	tx, err := w.pool.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(w.ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`, w.conv.ID); err != nil {
		t.Fatal(err)
	}
	return func() { _ = tx.Rollback(w.ctx) }
}

type recorded struct {
	text  string
	msgID uuid.UUID
	err   error
}

// recordWhileBlocked records first while the conversation is held, then queues rest behind it,
// releases the conversation and returns every result, first's first.
func (w *turnWorld) recordWhileBlocked(t *testing.T, first store.TurnRecord, rest []store.TurnRecord) []recorded {
	t.Helper()
	release := w.blockTurnWrites(t)
	defer release()
	out := make([]recorded, 1+len(rest))
	var wg sync.WaitGroup
	run := func(i int, r store.TurnRecord) {
		defer wg.Done()
		id, err := w.record(r)
		out[i] = recorded{r.Reply, id, err}
	}
	wg.Add(1)
	go run(0, first)
	testkit.Eventually(t, "the first write to wait for the conversation", func() bool {
		return w.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 1
	})
	for i, r := range rest {
		wg.Add(1)
		go run(i+1, r)
	}
	testkit.Eventually(t, "the other writes to queue", func() bool { return store.QueuedTurnWrites(w.st) == len(rest) })
	release()
	wg.Wait()
	return out
}

func completedTurn(reply string) store.TurnRecord {
	return store.TurnRecord{TurnID: uuid.New(), Outcome: "completed", Reply: reply, PromptTokens: 10, CompletionTokens: 2, CalledGateway: true}
}

func TestRecordTurnWritesTurnsThatEndMeanwhileInOneTransaction(t *testing.T) {
	w := newTurnWorld(t)
	var rest []store.TurnRecord
	for i := range 8 {
		rest = append(rest, completedTurn(fmt.Sprintf("reply %d", i)))
	}
	keyID := w.fx.GatewayKey(w.org, fixture.GatewayKey{Secret: "sk-key-abcd", Label: "k"}).ID
	rest[3].GatewayKeyID = uuid.NullUUID{UUID: keyID, Valid: true}
	rest[5].GatewayKeyID = rest[3].GatewayKeyID
	rest[6] = store.TurnRecord{TurnID: uuid.New(), Outcome: "cancelled", PromptTokens: 3, CalledGateway: true} // usage only

	results := w.recordWhileBlocked(t, completedTurn("first"), rest)
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("turn %d: %v", i, r.err)
		}
		if r.text == "" {
			if r.msgID != uuid.Nil {
				t.Errorf("turn %d stored no reply but returned message %s", i, r.msgID)
			}
			continue
		}
		if w.count(t, `SELECT count(*) FROM messages WHERE id = $1 AND text = $2`, r.msgID, r.text) != 1 {
			t.Errorf("turn %d: message %s is not %q", i, r.msgID, r.text)
		}
	}
	// The first write's transaction, then one for the eight that queued behind it.
	if n := w.count(t, `SELECT count(DISTINCT xmin::text) FROM usage_events`); n != 2 {
		t.Errorf("the 9 turns were written in %d transactions, want 2", n)
	}
	if w.count(t, `SELECT count(*) FROM messages`) != 8 || w.count(t, `SELECT count(*) FROM usage_events`) != 9 ||
		w.count(t, `SELECT message_count FROM conversations WHERE id = $1`, w.conv.ID) != 8 ||
		w.count(t, `SELECT sum(tokens)::int FROM org_usage_months WHERE org_id = $1`, w.org) != 8*12+3 ||
		w.count(t, `SELECT count(*) FROM gateway_keys WHERE id = $1 AND last_used_at IS NOT NULL`, keyID) != 1 {
		t.Error("the batch's rows are not what its turns wrote")
	}
}

func TestRecordTurnWritesEachTurnAloneWhenTheirTransactionFails(t *testing.T) {
	w := newTurnWorld(t)
	done := completedTurn("already recorded")
	if _, err := w.record(done); err != nil {
		t.Fatal(err)
	}
	rest := []store.TurnRecord{completedTurn("a"), completedTurn("b"), completedTurn("c")}
	dup := rest[1]
	dup.TurnID = done.TurnID // its usage row conflicts: the shared transaction fails
	rest[1] = dup

	results := w.recordWhileBlocked(t, completedTurn("first"), rest)
	for i, r := range results {
		if (r.err != nil) != (i == 2) {
			t.Errorf("turn %d (%q): error %v", i, r.text, r.err)
		}
	}
	if w.count(t, `SELECT count(*) FROM messages WHERE text = 'b'`) != 0 {
		t.Error("the failed turn's reply was stored")
	}
	if w.count(t, `SELECT count(*) FROM messages WHERE text IN ('a', 'c', 'first')`) != 3 ||
		w.count(t, `SELECT message_count FROM conversations WHERE id = $1`, w.conv.ID) != 4 ||
		w.count(t, `SELECT sum(tokens)::int FROM org_usage_months WHERE org_id = $1`, w.org) != 4*12 {
		t.Error("the other turns were not each written")
	}
}
