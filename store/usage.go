package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

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

// usageGroupBys are the buckets of GET /admin/usage.
var usageGroupBys = map[string]bool{"day": true, "model": true, "agent": true, "key": true}

// Usage aggregates the org's usage_events with from ≤ created_at < to by groupBy (day,
// model, agent or key), buckets in ascending order. The whole UTC days of the window come
// from the usage_days rollup (kept by triggers on usage_events, migration 00025), its
// partial first and last days from the raw rows: the result is the raw rows' aggregate,
// read in a number of rows bound by the days and agents of the window, not its turns.
func (s *Store) Usage(ctx context.Context, orgID uuid.UUID, groupBy string, from, to time.Time) ([]UsageRow, error) {
	if !usageGroupBys[groupBy] {
		return nil, fmt.Errorf("usage: unknown groupBy %q", groupBy)
	}
	w := usageWindow(from.UTC(), to.UTC())
	rows, err := queries.UsageReport(ctx, s.pool, db.UsageReportParams{
		OrgID: orgID, GroupBy: groupBy, FromAt: w.from, ToAt: w.to,
		HeadTo: w.headTo, TailFrom: w.tailFrom,
		DayFrom: pgtype.Date{Time: w.dayFrom, Valid: true}, DayTo: pgtype.Date{Time: w.dayTo, Valid: true},
	})
	if err != nil {
		return nil, fmt.Errorf("usage by %s: %w", groupBy, err)
	}
	out := make([]UsageRow, len(rows))
	for i, r := range rows {
		out[i] = UsageRow{Bucket: r.Bucket, Turns: r.Turns, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, CostUSD: r.CostUsd}
	}
	return out, nil
}

// window splits [from, to) into a raw head [from, headTo), whole UTC days [dayFrom, dayTo)
// read from the rollup, and a raw tail [tailFrom, to). Without a whole day inside, the head
// is the whole window and the other two parts are empty.
type window struct {
	from, headTo, tailFrom, to time.Time
	dayFrom, dayTo             time.Time
}

func usageWindow(from, to time.Time) window {
	firstDay := from.Truncate(24 * time.Hour)
	if firstDay.Before(from) {
		firstDay = firstDay.Add(24 * time.Hour)
	}
	endDay := to.Truncate(24 * time.Hour)
	if !firstDay.Before(endDay) {
		return window{from: from, headTo: to, tailFrom: to, to: to, dayFrom: endDay, dayTo: endDay}
	}
	return window{from: from, headTo: firstDay, tailFrom: endDay, to: to, dayFrom: firstDay, dayTo: endDay}
}
