package llm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/llm"
)

func writeTable(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultPrices(t *testing.T) {
	prices := llm.DefaultPriceTable()
	cases := []struct {
		model string
		usd   float64
	}{
		// One million tokens each way costs input + output price.
		{"gpt-4o-mini", 0.75},
		{"gpt-4o", 12.5},
		{"gpt-4.1", 10},
		{"gpt-4.1-mini", 2},
		{"gpt-4.1-nano", 0.5},
		{"o4-mini", 5.5},
		// Names gateways use for the same models.
		{"openai/gpt-4o-mini", 0.75},
		{"gpt-4o-2024-08-06", 12.5},
		{"GPT-4.1-Mini", 2},
	}
	for _, tc := range cases {
		usd, known := prices.Cost(tc.model, 1_000_000, 1_000_000)
		if !known || usd != tc.usd {
			t.Errorf("Cost(%q) = %v, %v; want %v, true", tc.model, usd, known, tc.usd)
		}
	}
	if usd, known := prices.Cost("llama-3-70b", 1000, 1000); known || usd != 0 {
		t.Errorf("unknown model priced %v, %v", usd, known)
	}
	if _, known := (llm.PriceTable{}).Cost("gpt-4o", 1, 1); known {
		t.Error("zero PriceTable knows a model")
	}
}

func TestCostIsRoundedToTenDecimals(t *testing.T) {
	prices := llm.DefaultPriceTable()
	// 412 × 0.15/1M + 11 × 0.60/1M = 0.0000618 + 0.0000066
	if usd, _ := prices.Cost("gpt-4o-mini", 412, 11); usd != 0.0000684 {
		t.Errorf("cost = %v, want 0.0000684", usd)
	}
	// 1 token at 0.15/1M is 1.5e-7, kept exactly; 1/3 of a cent is cut.
	if usd, _ := prices.Cost("gpt-4o-mini", 1, 0); usd != 0.00000015 {
		t.Errorf("cost = %v", usd)
	}
	if got := llm.RoundUSD(0.123456789012345, llm.CostDecimals); got != 0.123456789 {
		t.Errorf("RoundUSD = %v", got)
	}
	if got := llm.RoundUSD(1.0/3, llm.CostDecimals); got != 0.3333333333 {
		t.Errorf("RoundUSD(1/3) = %v", got)
	}
}

func TestLoadPriceTableOverridesDefaults(t *testing.T) {
	path := writeTable(t, `{
		"gpt-4o-mini": {"inputPer1M": 1, "outputPer1M": 2},
		"acme/llama-3-70b": {"inputPer1M": 0.5, "outputPer1M": 0.75},
		"free-model": {"inputPer1M": 0, "outputPer1M": 0}
	}`)
	prices, err := llm.LoadPriceTable(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		model string
		usd   float64
	}{
		{"gpt-4o-mini", 3},         // overridden
		{"gpt-4o", 12.5},           // default kept
		{"acme/llama-3-70b", 1.25}, // added
		{"free-model", 0},
	}
	for _, tc := range cases {
		if usd, known := prices.Cost(tc.model, 1_000_000, 1_000_000); !known || usd != tc.usd {
			t.Errorf("Cost(%q) = %v, %v; want %v", tc.model, usd, known, tc.usd)
		}
	}
	if got, _ := llm.DefaultPriceTable().Cost("gpt-4o-mini", 1_000_000, 0); got != 0.15 {
		t.Errorf("loading a file changed the defaults: %v", got)
	}
}

func TestLoadPriceTableEmptyPathIsDefaults(t *testing.T) {
	prices, err := llm.LoadPriceTable("")
	if err != nil {
		t.Fatal(err)
	}
	if _, known := prices.Price("o4-mini"); !known {
		t.Error("defaults missing")
	}
}

func TestLoadPriceTableIsStrict(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"unknown key", `{"my-model": {"inputPer1M": 1, "outputPer1M": 2, "cachedPer1M": 0.5}}`, []string{`"my-model"`, "cachedPer1M"}},
		{"misspelt key", `{"my-model": {"inputPer1m": 1, "outputPer1M": 2}}`, []string{`"my-model"`, "inputPer1m"}},
		{"negative input", `{"my-model": {"inputPer1M": -1, "outputPer1M": 2}}`, []string{`"my-model"`, "negative"}},
		{"negative output", `{"gpt-4o": {"inputPer1M": 1, "outputPer1M": -0.5}}`, []string{`"gpt-4o"`, "negative"}},
		{"missing price", `{"my-model": {"inputPer1M": 1}}`, []string{`"my-model"`, "outputPer1M is missing"}},
		{"string price", `{"my-model": {"inputPer1M": "1", "outputPer1M": 2}}`, []string{`"my-model"`}},
		{"null price", `{"my-model": {"inputPer1M": null, "outputPer1M": 2}}`, []string{`"my-model"`, "inputPer1M is not a number"}},
		{"null model", `{"my-model": null}`, []string{`"my-model"`}},
		{"listed twice", `{"my-model": {"inputPer1M": 1, "outputPer1M": 2}, "my-model": {"inputPer1M": 1, "outputPer1M": 2}}`, []string{`"my-model"`, "twice"}},
		{"empty model name", `{"": {"inputPer1M": 1, "outputPer1M": 2}}`, []string{"empty model"}},
		{"not an object", `[]`, []string{"JSON object"}},
		{"trailing data", `{} {}`, []string{"after"}},
		{"truncated", `{"my-model": {"inputPer1M": 1,`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTable(t, tc.content)
			_, err := llm.LoadPriceTable(path)
			if err == nil {
				t.Fatal("loaded a bad price table")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestLoadPriceTableMissingFile(t *testing.T) {
	if _, err := llm.LoadPriceTable(filepath.Join(t.TempDir(), "nope.json")); err == nil {
		t.Fatal("loaded a missing file")
	}
}
