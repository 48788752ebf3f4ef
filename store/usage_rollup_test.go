package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// rawUsage is GET /admin/usage computed the slow way, from every raw row of the window.
const rawUsage = `
SELECT (CASE $2::text WHEN 'day' THEN to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                      WHEN 'model' THEN model WHEN 'agent' THEN agent_id::text
                      ELSE coalesce(gateway_key_id::text, 'server') END)::text,
       count(*)::bigint, coalesce(sum(prompt_tokens), 0)::bigint, coalesce(sum(completion_tokens), 0)::bigint,
       coalesce(sum(cost_usd), 0)::float8
FROM usage_events WHERE org_id = $1 AND created_at >= $3 AND created_at < $4
GROUP BY 1 ORDER BY 1`

// TestUsageRollupEqualsTheRawRows records many turns through RecordTurn (concurrently, so
// that they share batches), with clamped token counts and costs, both paying keys, two
// agents and two models, moves them across UTC days (to the microsecond before and at
// midnight), deletes some, and checks after each step that usage_days is exactly the
// aggregate of usage_events and that every report, over windows cut at midnight, inside a
// day, and across days, equals the raw rows' aggregate.
func TestUsageRollupEqualsTheRawRows(t *testing.T) {
	w := newTurnWorld(t)
	other := w.fx.Agent(w.org, fixture.Agent{Name: "Sales"})
	key := w.fx.GatewayKey(w.org, fixture.GatewayKey{Secret: "sk-rollup-test-0000"})
	agents := []uuid.UUID{w.agent.ID, other.ID}

	const turns = 120
	var wg sync.WaitGroup
	errs := make(chan error, turns)
	for i := range turns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := store.TurnRecord{
				TurnID: uuid.New(), OrgID: w.org, AgentID: agents[i%2], ConversationID: w.conv.ID, SessionID: w.sessionID,
				AgentParticipantID: w.bot, RequestID: fmt.Sprintf("r-%d", i), Model: []string{"gpt-4o-mini", "gpt-4o"}[i%3%2],
				Outcome: []string{"completed", "cancelled", "error"}[i%3], Reply: "ok",
				PromptTokens: int64(i * 7), CompletionTokens: int64(i * 3), CostUSD: float64(i) * 0.0000001234567,
				CalledGateway: true, ServerKeyPaid: i%4 != 0,
			}
			switch i % 10 {
			case 0: // clamped to the largest counts and cost a gateway may report
				r.PromptTokens, r.CompletionTokens, r.CostUSD, r.TokensEstimated, r.CostEstimated =
					llm.MaxReportedTokens, llm.MaxReportedTokens, llm.MaxReportedCostUSD, true, true
			case 1: // nothing reported
				r.PromptTokens, r.CompletionTokens, r.CostUSD = 0, 0, 0
			case 2: // the smallest cost a row holds
				r.CostUSD = 1e-10
			}
			if i%4 == 0 {
				r.GatewayKeyID = uuid.NullUUID{UUID: key.ID, Valid: true}
			}
			if _, err := w.st.RecordTurn(w.ctx, r); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The other org's usage must never reach this org's report.
	w.exec(t, `INSERT INTO usage_events (id, org_id, agent_id, conversation_id, session_id, request_id, model, prompt_tokens, outcome)
		VALUES (gen_random_uuid(), $1, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'x', 'gpt-4o', 99, 'completed')`, w.otherOrgID)

	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	check := func(step string) {
		t.Helper()
		if n := w.count(t, `SELECT count(*) FROM (
			(SELECT org_id, day, agent_id, model, gateway_key_id, shard, turns, prompt_tokens, completion_tokens, cost_usd FROM usage_days
			 EXCEPT ALL
			 SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, agent_id, model,
			        coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000'), get_byte(uuid_send(id), 15) % 4,
			        count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
			 FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6)
			UNION ALL
			(SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, agent_id, model,
			        coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000'), get_byte(uuid_send(id), 15) % 4,
			        count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
			 FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6
			 EXCEPT ALL
			 SELECT org_id, day, agent_id, model, gateway_key_id, shard, turns, prompt_tokens, completion_tokens, cost_usd FROM usage_days)
		) d`); n != 0 {
			t.Fatalf("%s: usage_days differs from the aggregate of usage_events in %d rows", step, n)
		}
		windows := [][2]time.Time{
			{day.AddDate(0, 0, -3), day.AddDate(0, 0, 4)},                                                // whole days only
			{day.Add(-time.Microsecond), day.AddDate(0, 0, 2).Add(time.Microsecond)},                     // a microsecond each side
			{day.Add(6 * time.Hour), day.AddDate(0, 0, 2).Add(18 * time.Hour)},                           // partial days at both edges
			{day.Add(time.Hour), day.Add(23 * time.Hour)},                                                // inside one day
			{day.AddDate(0, 0, 1), day.AddDate(0, 0, 1).Add(12 * time.Hour)},                             // from midnight to midday
			{day.AddDate(0, 0, 1).Add(12 * time.Hour), day.AddDate(0, 0, 2)},                             // from midday to midnight
			{time.Now().UTC().Add(-48 * time.Hour), time.Now().UTC().Add(48 * time.Hour)},                // where the turns were written
			{time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, // a year
		}
		for _, win := range windows {
			for _, g := range []string{"day", "model", "agent", "key"} {
				got, err := w.st.Usage(w.ctx, w.org, g, win[0], win[1])
				if err != nil {
					t.Fatal(err)
				}
				rows, err := w.pool.Query(w.ctx, rawUsage, w.org, g, win[0], win[1])
				if err != nil {
					t.Fatal(err)
				}
				var want []store.UsageRow
				for rows.Next() {
					var r store.UsageRow
					if err := rows.Scan(&r.Bucket, &r.Turns, &r.PromptTokens, &r.CompletionTokens, &r.CostUSD); err != nil {
						t.Fatal(err)
					}
					want = append(want, r)
				}
				if rows.Err() != nil {
					t.Fatal(rows.Err())
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: usage by %s over %s..%s:\n got %v\nwant %v", step, g, win[0], win[1], got, want)
				}
			}
		}
	}
	check("as recorded")

	// Spread the turns over three days: at midnight, a microsecond before it, and between.
	w.exec(t, `UPDATE usage_events SET created_at = $2::timestamptz + (CASE (get_byte(uuid_send(id), 0) % 5)
			WHEN 0 THEN interval '0' WHEN 1 THEN interval '1 day' - interval '1 microsecond'
			WHEN 2 THEN interval '1 day' WHEN 3 THEN interval '1 day 13 hours' ELSE interval '2 days 23 hours' END)
		WHERE org_id = $1`, w.org, day)
	if n := w.count(t, `SELECT count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) FROM usage_events WHERE org_id = $1`, w.org); n != 3 {
		t.Fatalf("turns spread over %d days, want 3", n)
	}
	check("moved across days")

	w.exec(t, `DELETE FROM usage_events WHERE org_id = $1 AND get_byte(uuid_send(id), 1) % 3 = 0`, w.org)
	check("some deleted")

	// A day whose every turn is deleted leaves no rollup rows behind.
	w.exec(t, `DELETE FROM usage_events WHERE org_id = $1 AND created_at >= $2 AND created_at < $3`, w.org, day, day.AddDate(0, 0, 1))
	check("a day deleted")
	if n := w.count(t, `SELECT count(*) FROM usage_days WHERE org_id = $1 AND day = $2`, w.org, day); n != 0 {
		t.Fatalf("%d usage_days rows left for a day without turns", n)
	}
}
