package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

// turnUsage is one turn's usage as its client saw it in eventual_response.usage.
type turnUsage struct {
	requestID          string
	prompt, completion int64
	cost               float64
}

// runTurn sends message on the session and returns the usage of the turn's
// eventual_response, which must end it.
func runTurn(t *testing.T, c *wstest.Client, sessionID, requestID, message string) (prompt, completion int64, cost float64) {
	t.Helper()
	c.Send(map[string]any{"action": "send_message", "requestId": requestID, "sessionId": sessionID, "message": message})
	evs := c.Terminal(requestID)
	last := evs[len(evs)-1]
	if last.Type() != "eventual_response" {
		t.Fatalf("turn %s ended with %s", requestID, last.Raw)
	}
	ev := wstest.Decode[wstest.Wrapped[wstest.Reply]](t, last)
	if ev.Status != 200 || ev.Data.Status != 200 {
		t.Fatalf("turn %s ended with %s", requestID, last.Raw)
	}
	u := ev.Data.Data.Usage
	return u.PromptTokens, u.CompletionTokens, u.CostUSD
}

// openSession dials /ws and creates a session on agent.
func openSession(t *testing.T, s *server, agent uuid.UUID) (*wstest.Client, string) {
	t.Helper()
	c := wstest.Dial(t, s.WSURL, nil)
	ack := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-" + agent.String()[:8], "agentId": agent.String()})
	if ack.Type() != "immediate_response" || ack.Status() != 200 {
		t.Fatalf("create session: %s", ack.Raw)
	}
	return c, ack.Str("sessionId")
}

// usageDays maps the request id of each of o's usage rows to the UTC date of its
// created_at, which must lie in [first, end).
func usageDays(t *testing.T, s *server, o org, first, end string) map[string]string {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `SELECT request_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM usage_events WHERE org_id = $1`, o.id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	days := map[string]string{}
	for rows.Next() {
		var r, d string
		if err := rows.Scan(&r, &d); err != nil {
			t.Fatal(err)
		}
		if _, dup := days[r]; dup || d < first || d >= end {
			t.Fatalf("usage row of %s on %s (the test ran from %s)", r, d, first)
		}
		days[r] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return days
}

func sortedRows(rows ...usageRow) []usageRow {
	slices.SortFunc(rows, func(a, b usageRow) int { return strings.Compare(a.Bucket, b.Bucket) })
	return rows
}

func TestUsageAggregatesTheRowsRealTurnsWrite(t *testing.T) {
	t.Parallel()
	gw := llmtest.New(t)
	prices := filepath.Join(t.TempDir(), "prices.json")
	// Models the built-in table does not know, so every priced cost comes from this file.
	if err := os.WriteFile(prices, []byte(`{"acme-large":{"inputPer1M":2.5,"outputPer1M":10},"acme-small":{"inputPer1M":1,"outputPer1M":2}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const serverKey, orgKey = "sk-server-usage-test-1234", "sk-org-usage-test-4242"
	s := start(t, map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(),
		"SWITCHBOARD_GATEWAY_KEY": serverKey,
		"SWITCHBOARD_PRICE_TABLE": prices,
	})
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	// No built-in tools for org A: the estimated turn's prompt is then exactly its system
	// prompt and user message.
	s.do(t, "PUT", "/admin/settings", a.key, map[string]any{"model": "acme-large", "systemPrompt": "Unused.", "defaultTools": []string{}}).want(t, 200)
	agent := func(o org, name, model, prompt string) uuid.UUID {
		t.Helper()
		r := s.do(t, "POST", "/admin/agents", o.key, map[string]any{"name": name, "model": model, "systemPrompt": prompt}).want(t, 201)
		return uuid.MustParse(r.str(t, "agent.id"))
	}
	one := agent(a, "One", "acme-large", "Be brief.")
	two := agent(a, "Two", "acme-small", "Reply in one line.") // 18 characters
	solo := agent(b, "Solo", "acme-large", "Be brief.")

	firstDay := time.Now().UTC().Format(time.DateOnly)
	var turns []turnUsage
	turn := func(c *wstest.Client, sid, requestID, message string, script llmtest.Response, want turnUsage) {
		t.Helper()
		gw.Push(script)
		p, cp, usd := runTurn(t, c, sid, requestID, message)
		if p != want.prompt || cp != want.completion || usd != want.cost {
			t.Fatalf("turn %s: usage %d/%d/%v, want %d/%d/%v", requestID, p, cp, usd, want.prompt, want.completion, want.cost)
		}
		turns = append(turns, turnUsage{requestID: requestID, prompt: p, completion: cp, cost: usd})
	}

	c1, s1 := openSession(t, s, one)
	// Gateway-reported usage and cost: the cost wins over the price table.
	turn(c1, s1, "u-1", "What are your hours?",
		llmtest.Text("We open at nine.").WithUsage(1200, 150).WithCost(0.0123000412),
		turnUsage{prompt: 1200, completion: 150, cost: 0.0123000412})
	// Reported tokens without a cost: priced from the table, (300×2.5 + 40×10) / 1e6.
	turn(c1, s1, "u-2", "And on Sundays?",
		llmtest.Text("Closed on Sundays.").WithUsage(300, 40),
		turnUsage{prompt: 300, completion: 40, cost: 0.00115})
	c2, s2 := openSession(t, s, two)
	// No usage reported: prompt ⌈(18 + 19) / 4⌉ = 10, completion ⌈24 / 4⌉ = 6, priced
	// (10×1 + 6×2) / 1e6.
	turn(c2, s2, "u-3", "Where is my parcel?",
		llmtest.Text("It left the depot ", "today."),
		turnUsage{prompt: 10, completion: 6, cost: 0.000022})

	// Org B's only turn, which org A's usage must never count.
	cb, sb := openSession(t, s, solo)
	gw.Push(llmtest.Text("Hi.").WithUsage(5000, 500).WithCost(7))
	if p, cp, usd := runTurn(t, cb, sb, "u-b", "Hello"); p != 5000 || cp != 500 || usd != 7 {
		t.Fatalf("org B turn usage %d/%d/%v", p, cp, usd)
	}

	// From now on org A's own key pays, at the same gateway.
	keyID := s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": "paid", "key": orgKey, "baseUrl": gw.BaseURL()}).
		want(t, 201).str(t, "gatewayKey.id")
	turn(c2, s2, "u-4", "Thanks!",
		llmtest.Text("You're welcome.").WithUsage(500, 100),
		turnUsage{prompt: 500, completion: 100, cost: 0.0007})
	lastDay := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)

	for i, want := range []string{serverKey, serverKey, serverKey, serverKey, orgKey} {
		if got := gw.Request(i).Header.Get("Authorization"); got != "Bearer "+want {
			t.Fatalf("gateway request %d paid with %q, want the key ending %s", i, got, want[len(want)-4:])
		}
	}
	if got := []string{gw.Request(2).Chat.Model, gw.Request(4).Chat.Model}; got[0] != "acme-small" || got[1] != "acme-small" {
		t.Fatalf("agent Two's turns asked for %v", got)
	}

	// Each turn wrote one row, bucketed by the UTC date of its created_at.
	days, daysB := usageDays(t, s, a, firstDay, lastDay), usageDays(t, s, b, firstDay, lastDay)
	if len(days) != len(turns) || len(daysB) != 1 || daysB["u-b"] == "" {
		t.Fatalf("usage rows of org A %v, of org B %v: want one per turn", days, daysB)
	}

	// The turns almost always share one day; a run across midnight splits them.
	byDay := map[string]*usageRow{}
	var sum float64
	for _, tu := range turns {
		d := days[tu.requestID]
		if byDay[d] == nil {
			byDay[d] = &usageRow{Bucket: d}
		}
		r := byDay[d]
		r.Turns++
		r.PromptTokens += tu.prompt
		r.CompletionTokens += tu.completion
		r.CostUSD += tu.cost
		sum += tu.cost
	}
	var dayRows []usageRow
	for _, r := range byDay {
		r.CostUSD = llm.RoundUSD(r.CostUSD, 6)
		dayRows = append(dayRows, *r)
	}

	large := usageRow{Turns: 2, PromptTokens: 1500, CompletionTokens: 190, CostUSD: 0.01345}
	small := usageRow{Turns: 2, PromptTokens: 510, CompletionTokens: 106, CostUSD: 0.000722}
	named := func(bucket string, r usageRow) usageRow { r.Bucket = bucket; return r }
	totals := usageRow{Turns: 4, PromptTokens: 2010, CompletionTokens: 296, CostUSD: 0.014172}
	// The cost reported is the clients' eventual_response costs summed, then rounded to 6
	// decimals (0.0141720412 → 0.014172).
	if got := llm.RoundUSD(sum, 6); got != totals.CostUSD {
		t.Fatalf("clients were charged %v in all, the test expects %v", got, totals.CostUSD)
	}

	window := "?from=" + firstDay + "&to=" + lastDay
	cases := []struct {
		groupBy string
		a, b    []usageRow
	}{
		{"day", sortedRows(dayRows...), []usageRow{{Bucket: daysB["u-b"], Turns: 1, PromptTokens: 5000, CompletionTokens: 500, CostUSD: 7}}},
		{"model", []usageRow{named("acme-large", large), named("acme-small", small)}, []usageRow{{"acme-large", 1, 5000, 500, 7}}},
		{"agent", sortedRows(named(one.String(), large), named(two.String(), small)), []usageRow{{solo.String(), 1, 5000, 500, 7}}},
		{"key", sortedRows(
			usageRow{keyID, 1, 500, 100, 0.0007},
			usageRow{"server", 3, 1510, 196, 0.013472}, // 0.0123000412 + 0.00115 + 0.000022
		), []usageRow{{"server", 1, 5000, 500, 7}}},
	}
	for _, c := range cases {
		t.Run("groupBy="+c.groupBy, func(t *testing.T) {
			for _, o := range []struct {
				name   string
				org    org
				rows   []usageRow
				totals usageRow
			}{
				{"A", a, c.a, totals},
				{"B", b, c.b, usageRow{Turns: 1, PromptTokens: 5000, CompletionTokens: 500, CostUSD: 7}},
			} {
				u := getUsage(t, s, o.org.key, window+"&groupBy="+c.groupBy)
				if !slices.Equal(u.Rows, o.rows) || u.Totals != o.totals {
					t.Fatalf("org %s: rows %+v totals %+v,\nwant rows %+v totals %+v", o.name, u.Rows, u.Totals, o.rows, o.totals)
				}
			}
		})
	}
}
