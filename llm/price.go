package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Price is what a model costs, in USD per one million tokens.
type Price struct {
	InputPer1M  float64 `json:"inputPer1M"`
	OutputPer1M float64 `json:"outputPer1M"`
}

// defaultPrices are published list prices (USD per 1M tokens, standard tier,
// uncached input) of a few common models. They are defaults only: an
// operator overrides or extends them with SWITCHBOARD_PRICE_TABLE, and a
// cost the gateway reports always wins over the table (ADMIN-API §7.2).
var defaultPrices = map[string]Price{
	"gpt-4o-mini":  {InputPer1M: 0.15, OutputPer1M: 0.60},
	"gpt-4o":       {InputPer1M: 2.50, OutputPer1M: 10.00},
	"gpt-4.1":      {InputPer1M: 2.00, OutputPer1M: 8.00},
	"gpt-4.1-mini": {InputPer1M: 0.40, OutputPer1M: 1.60},
	"gpt-4.1-nano": {InputPer1M: 0.10, OutputPer1M: 0.40},
	"o4-mini":      {InputPer1M: 1.10, OutputPer1M: 4.40},
}

// PriceTable prices model usage. The zero value knows no model; use
// [DefaultPriceTable] or [LoadPriceTable]. A PriceTable is immutable and
// safe for concurrent use.
type PriceTable struct {
	prices map[string]Price
}

// DefaultPriceTable returns the built-in prices.
func DefaultPriceTable() PriceTable {
	prices := make(map[string]Price, len(defaultPrices))
	for model, p := range defaultPrices {
		prices[model] = p
	}
	return PriceTable{prices: prices}
}

// LoadPriceTable returns the built-in prices overridden and extended by the
// JSON file at path (SWITCHBOARD_PRICE_TABLE), shaped
// {"<model>": {"inputPer1M": number, "outputPer1M": number}}. An empty path
// returns the defaults.
//
// The file is read strictly, so that a typo fails at startup rather than
// silently pricing turns at 0: each model needs both prices, no other key,
// no negative price, no model listed twice, and nothing after the object.
// Errors name the file and the model.
func LoadPriceTable(path string) (PriceTable, error) {
	if path == "" {
		return DefaultPriceTable(), nil
	}
	data, err := os.ReadFile(path) //nolint:gosec // G304: the operator names this file in SWITCHBOARD_PRICE_TABLE
	if err != nil {
		return PriceTable{}, fmt.Errorf("price table: %w", err)
	}
	t, err := parsePriceTable(data)
	if err != nil {
		return PriceTable{}, fmt.Errorf("price table %s: %w", path, err)
	}
	return t, nil
}

func parsePriceTable(data []byte) (PriceTable, error) {
	t := DefaultPriceTable()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return PriceTable{}, errors.New(`want a JSON object {"<model>": {"inputPer1M": number, "outputPer1M": number}}`)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return PriceTable{}, err
		}
		model := tok.(string) // object keys are always strings
		if strings.TrimSpace(model) == "" {
			return PriceTable{}, errors.New("empty model name")
		}
		if seen[model] {
			return PriceTable{}, fmt.Errorf("model %q is listed twice", model)
		}
		seen[model] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return PriceTable{}, fmt.Errorf("model %q: %w", model, err)
		}
		p, err := parsePrice(raw)
		if err != nil {
			return PriceTable{}, fmt.Errorf("model %q: %w", model, err)
		}
		t.prices[model] = p
	}
	if _, err := dec.Token(); err != nil {
		return PriceTable{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return PriceTable{}, errors.New("unexpected data after the price object")
	}
	return t, nil
}

func parsePrice(raw json.RawMessage) (Price, error) {
	// A map rather than a struct: encoding/json matches struct fields
	// case-insensitively, and "inputPer1m" must be refused, not accepted.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Price{}, errors.New("want an object with inputPer1M and outputPer1M")
	}
	var p Price
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		v := fields[key]
		var dst *float64
		switch key {
		case "inputPer1M":
			dst = &p.InputPer1M
		case "outputPer1M":
			dst = &p.OutputPer1M
		default:
			return Price{}, fmt.Errorf("unknown field %q (want inputPer1M and outputPer1M)", key)
		}
		// Unmarshalling null into a float64 is a silent no-op.
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) || json.Unmarshal(v, dst) != nil {
			return Price{}, fmt.Errorf("%s is not a number", key)
		}
		if *dst < 0 {
			return Price{}, fmt.Errorf("%s is negative (%v)", key, *dst)
		}
	}
	for _, key := range []string{"inputPer1M", "outputPer1M"} {
		if _, ok := fields[key]; !ok {
			return Price{}, fmt.Errorf("%s is missing", key)
		}
	}
	return p, nil
}

// Price returns the price of model. An exact name wins; otherwise the name
// is looked up without a provider prefix ("openai/gpt-4o") and without a
// dated snapshot suffix ("gpt-4o-2024-08-06"), in lower case, so that the
// names gateways commonly use find the defaults.
func (t PriceTable) Price(model string) (Price, bool) {
	if p, ok := t.prices[model]; ok {
		return p, true
	}
	p, ok := t.prices[baseModel(model)]
	return p, ok
}

var snapshotSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)

func baseModel(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	return snapshotSuffix.ReplaceAllString(m, "")
}

// Cost prices one call's tokens. known is false when the table has no price
// for model; usd is then 0. Cached-input discounts are not modelled. The
// result is rounded to [CostDecimals] places ([RoundUSD]).
func (t PriceTable) Cost(model string, promptTokens, completionTokens int64) (usd float64, known bool) {
	p, ok := t.Price(model)
	if !ok {
		return 0, false
	}
	cost := (float64(max(promptTokens, 0))*p.InputPer1M + float64(max(completionTokens, 0))*p.OutputPer1M) / 1e6
	return RoundUSD(cost, CostDecimals), true
}

// CostDecimals is the scale of a turn's cost: that of the usage_events cost_usd
// column (numeric(20,10)), so that the cost sent in eventual_response equals
// the one stored. The tenth decimal is kept for amounts below about 900,000
// USD, far above any turn.
const CostDecimals = 10

// RoundUSD rounds a dollar amount to decimals places (0 to 15): a turn's cost
// to [CostDecimals], the admin API's sums to the 6 of ADMIN-API §1.4. Sum
// rounded costs, then round the sum again. NaN and infinities round to 0.
func RoundUSD(usd float64, decimals int) float64 {
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return 0
	}
	p := math.Pow10(decimals)
	return math.Round(usd*p) / p
}
