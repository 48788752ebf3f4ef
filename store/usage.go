package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// UsageRow is one bucket of GET /admin/usage.
type UsageRow struct {
	Bucket           string
	Turns            int64
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64 // summed, not yet rounded
}

// Usage aggregates the org's usage_events with from ≤ created_at < to by groupBy (day,
// model, agent or key), buckets in ascending order.
func (s *Store) Usage(ctx context.Context, orgID uuid.UUID, groupBy string, from, to time.Time) ([]UsageRow, error) {
	var out []UsageRow
	add := func(bucket string, turns, prompt, completion int64, cost float64) {
		out = append(out, UsageRow{Bucket: bucket, Turns: turns, PromptTokens: prompt, CompletionTokens: completion, CostUSD: cost})
	}
	var err error
	switch groupBy {
	case "day":
		var rows []db.UsageByDayRow
		rows, err = queries.UsageByDay(ctx, s.pool, db.UsageByDayParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "model":
		var rows []db.UsageByModelRow
		rows, err = queries.UsageByModel(ctx, s.pool, db.UsageByModelParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "agent":
		var rows []db.UsageByAgentRow
		rows, err = queries.UsageByAgent(ctx, s.pool, db.UsageByAgentParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	case "key":
		var rows []db.UsageByKeyRow
		rows, err = queries.UsageByKey(ctx, s.pool, db.UsageByKeyParams{OrgID: orgID, FromAt: from, ToAt: to})
		for _, r := range rows {
			add(r.Bucket, r.Turns, r.PromptTokens, r.CompletionTokens, r.CostUsd)
		}
	default:
		return nil, fmt.Errorf("usage: unknown groupBy %q", groupBy)
	}
	if err != nil {
		return nil, fmt.Errorf("usage by %s: %w", groupBy, err)
	}
	return out, nil
}
