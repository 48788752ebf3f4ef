package admin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// usageAt writes a usage row directly (the UsageEventInsert fixture query), then moves its
// created_at, so aggregation can be checked over chosen instants; usage_turns_test.go
// aggregates rows written by real turns.
func usageAt(t *testing.T, s *server, o org, at time.Time, agent uuid.UUID, model string, key *uuid.UUID, prompt, completion int64, cost float64) {
	t.Helper()
	id := uuid.New()
	p := db.UsageEventInsertParams{
		ID: id, OrgID: o.id, AgentID: agent, ConversationID: uuid.New(), SessionID: uuid.New(), RequestID: "r",
		Model: model, PromptTokens: prompt, CompletionTokens: completion, CostUsd: cost, Outcome: "completed",
	}
	if key != nil {
		p.GatewayKeyID = uuid.NullUUID{UUID: *key, Valid: true}
	}
	ctx := context.Background()
	if err := db.New().UsageEventInsert(ctx, s.Pool, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE usage_events SET created_at = $1 WHERE id = $2`, at, id); err != nil {
		t.Fatal(err)
	}
}

type usageRow struct {
	Bucket           string  `json:"bucket"`
	Turns            int64   `json:"turns"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

type usageReport struct {
	Rows   []usageRow `json:"rows"`
	Totals usageRow   `json:"totals"`
}

func getUsage(t *testing.T, s *server, tok, query string) usageReport {
	t.Helper()
	r := s.do(t, "GET", "/admin/usage"+query, tok, nil).want(t, 200)
	var u usageReport
	if err := json.Unmarshal(r.body, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsageAggregatesHalfOpenUTCWindows(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	agent1, agent2 := s.createAgent(t, a, "One"), s.createAgent(t, a, "Two")
	key := uuid.MustParse(s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": "k", "key": "sk-0123456789"}).want(t, 201).str(t, "gatewayKey.id"))
	d := func(day, hour int) time.Time { return time.Date(2025, 6, day, hour, 0, 0, 0, time.UTC) }
	usageAt(t, s, a, d(1, 0), agent1, "gpt-4o", &key, 100, 10, 0.0000004) // exactly at from: included
	usageAt(t, s, a, d(1, 23), agent1, "gpt-4o", &key, 200, 20, 0.0000004)
	usageAt(t, s, a, d(2, 5), agent2, "gpt-4o-mini", nil, 300, 30, 0.0000004)
	usageAt(t, s, a, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), agent1, "gpt-4o", nil, 999, 999, 1) // exactly at to: excluded
	usageAt(t, s, a, d(1, 0).Add(-time.Microsecond), agent1, "gpt-4o", nil, 999, 999, 1)              // before from
	usageAt(t, s, b, d(1, 12), agent1, "gpt-4o", nil, 5000, 500, 5)                                   // another org

	window := "?from=2025-06-01&to=2025-07-01"
	totals := usageRow{Turns: 3, PromptTokens: 600, CompletionTokens: 60, CostUSD: 0.000001}
	cases := []struct {
		groupBy string
		rows    []usageRow
	}{
		{"day", []usageRow{{"2025-06-01", 2, 300, 30, 0.000001}, {"2025-06-02", 1, 300, 30, 0}}},
		{"model", []usageRow{{"gpt-4o", 2, 300, 30, 0.000001}, {"gpt-4o-mini", 1, 300, 30, 0}}},
		{"key", func() []usageRow {
			rows := []usageRow{{key.String(), 2, 300, 30, 0.000001}, {"server", 1, 300, 30, 0}}
			if rows[0].Bucket > "server" {
				rows[0], rows[1] = rows[1], rows[0]
			}
			return rows
		}()},
	}
	for _, c := range cases {
		t.Run(c.groupBy, func(t *testing.T) {
			u := getUsage(t, s, a.key, window+"&groupBy="+c.groupBy)
			if len(u.Rows) != len(c.rows) {
				t.Fatalf("rows %+v", u.Rows)
			}
			for i := range c.rows {
				if u.Rows[i] != c.rows[i] {
					t.Fatalf("row %d = %+v, want %+v", i, u.Rows[i], c.rows[i])
				}
			}
			// Costs are rounded after summing: three 0.0000004 rows total 0.000001, not 0.
			if u.Totals != totals {
				t.Fatalf("totals %+v, want %+v", u.Totals, totals)
			}
		})
	}
	t.Run("agent", func(t *testing.T) {
		u := getUsage(t, s, a.key, window+"&groupBy=agent")
		if len(u.Rows) != 2 || u.Rows[0].Bucket > u.Rows[1].Bucket {
			t.Fatalf("rows %+v", u.Rows)
		}
		for _, r := range u.Rows {
			if (r.Bucket == agent1.String()) != (r.Turns == 2) || (r.Bucket != agent1.String() && r.Bucket != agent2.String()) {
				t.Fatalf("row %+v", r)
			}
		}
	})
	t.Run("RFC 3339 offsets are normalised to UTC", func(t *testing.T) {
		u := getUsage(t, s, a.key, "?from=2025-06-01T02:00:00%2B02:00&to=2025-06-02T00:00:00Z")
		if u.Totals.Turns != 2 {
			t.Fatalf("totals %+v", u.Totals)
		}
	})
	t.Run("the default window is the current UTC month", func(t *testing.T) {
		now := time.Now().UTC()
		usageAt(t, s, a, now, agent1, "now-model", nil, 1, 2, 0.5)
		usageAt(t, s, a, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-time.Second), agent1, "last-month", nil, 1, 2, 0.5)
		u := getUsage(t, s, a.key, "")
		if len(u.Rows) != 1 || u.Rows[0].Bucket != now.Format("2006-01-02") || u.Totals.Turns != 1 || u.Totals.CostUSD != 0.5 {
			t.Fatalf("default window %+v", u)
		}
	})
	t.Run("an empty window has no rows and zero totals", func(t *testing.T) {
		u := getUsage(t, s, a.key, "?from=2020-01-01&to=2020-02-01")
		if len(u.Rows) != 0 || u.Totals != (usageRow{}) {
			t.Fatalf("%+v", u)
		}
		r := s.do(t, "GET", "/admin/usage?from=2020-01-01&to=2020-02-01", a.key, nil).want(t, 200)
		if string(r.body) != `{"rows":[],"totals":{"turns":0,"promptTokens":0,"completionTokens":0,"costUsd":0}}` {
			t.Fatalf("body %s", r.body)
		}
	})
}
