package admin

import (
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/llm"
)

const maxUsageSpan = 366 * 24 * time.Hour

// costDecimals: money in the admin API is rounded to 6 decimal places, after summing
// (ADMIN-API §1.4, §7.4).
const costDecimals = 6

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

var groupBys = map[string]bool{"day": true, "model": true, "agent": true, "key": true}

type usageRowJSON struct {
	Bucket           string  `json:"bucket"`
	Turns            int64   `json:"turns"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

type usageTotalsJSON struct {
	Turns            int64   `json:"turns"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

// parseInstant reads an RFC 3339 timestamp (any offset) or a YYYY-MM-DD date (UTC midnight).
func parseInstant(param, raw string) (time.Time, error) {
	if datePattern.MatchString(raw) {
		if t, err := time.Parse(time.DateOnly, raw); err == nil {
			return t, nil
		}
	} else if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, api.Validation(param, param+" must be an RFC 3339 timestamp or a YYYY-MM-DD date")
}

// usage is GET /admin/usage (ADMIN-API §7.4, §9.14): half-open UTC windows, buckets in
// ascending order, costs rounded to 6 decimals after summing.
func (h *handlers) usage(c *fiber.Ctx) error {
	q, err := query(c, "from", "to", "groupBy")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	if raw, ok := q["from"]; ok {
		if from, err = parseInstant("from", raw); err != nil {
			return err
		}
	}
	if raw, ok := q["to"]; ok {
		if to, err = parseInstant("to", raw); err != nil {
			return err
		}
	}
	groupBy := "day"
	if raw, ok := q["groupBy"]; ok {
		if !groupBys[raw] {
			return api.Validation("groupBy", "groupBy must be one of day, model, agent, key")
		}
		groupBy = raw
	}
	switch {
	case !from.Before(to):
		return api.Validation("from", "from must be before to")
	case to.Sub(from) > maxUsageSpan:
		return api.Validation("to", "the span from from to to must be at most 366 days")
	}
	if err := noBody(c); err != nil {
		return err
	}
	rows, err := h.st.Usage(c.UserContext(), principalOf(c).org, groupBy, from, to)
	if err != nil {
		return err
	}
	out := make([]usageRowJSON, len(rows))
	var totals usageTotalsJSON
	var cost float64
	for i, r := range rows {
		out[i] = usageRowJSON{
			Bucket: r.Bucket, Turns: r.Turns, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			CostUSD: llm.RoundUSD(r.CostUSD, costDecimals),
		}
		totals.Turns += r.Turns
		totals.PromptTokens += r.PromptTokens
		totals.CompletionTokens += r.CompletionTokens
		cost += r.CostUSD
	}
	totals.CostUSD = llm.RoundUSD(cost, costDecimals)
	return reply(c, fiber.StatusOK, fiber.Map{"rows": out, "totals": totals})
}
