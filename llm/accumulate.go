package llm

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/respjson"
)

// delta is one token for the handler.
type delta struct {
	reasoning bool
	token     string
}

// accumulator folds the chunks of one stream into deltas and a result.
type accumulator struct {
	text, reasoning TokenSplitter
	calls           []*callBuilder
	byIndex         map[int64]*callBuilder
	finish          string
	finished        bool
	model           string // the first model name a chunk carried
	usage           Usage
	reasoningChars  int64

	maxCalls int   // Limits.ToolCalls
	maxArgs  int   // Limits.ArgumentBytes
	err      error // a limit was crossed: the stream must stop
}

type callBuilder struct {
	index int64
	id    string
	name  string
	args  strings.Builder
	// argBytes counts the argument text received; past maxArgs the text is no longer
	// kept (tooLong) but still counted, for the usage estimate.
	argBytes int
	tooLong  bool
}

// maxNameBytes bounds a tool name kept from the gateway. Tool names are far shorter
// (ADMIN-API §9.5), so a longer one never names a tool; it is cut, like every echoed value
// (PROTOCOL-1.1 §1.11), before it reaches an error text or the wire.
const maxNameBytes = 256

// reasoningKeys are the delta keys gateways stream reasoning under, in
// order of preference. They are not in openai-go's types, so they come from
// the chunk's extra fields. Some gateways send both with the same text; only
// the first non-empty one is used.
var reasoningKeys = []string{"reasoning_content", "reasoning"}

// costKeys are the usage keys a gateway-reported cost is read from, in
// order of preference (OpenRouter and LiteLLM-style proxies send "cost").
var costKeys = []string{"cost", "cost_usd"}

func (a *accumulator) add(chunk openai.ChatCompletionChunk) []delta {
	if chunk.JSON.Usage.Valid() {
		a.usage = usageOf(chunk.Usage)
	}
	if a.model == "" {
		a.model = chunk.Model
	}
	if a.err != nil {
		return nil
	}
	var out []delta
	for _, choice := range chunk.Choices {
		// The client never asks for n > 1; anything beyond choice 0 is noise.
		if choice.Index != 0 {
			continue
		}
		d := choice.Delta
		if t := a.reasoning.Push(extraString(d.JSON.ExtraFields, reasoningKeys)); t != "" {
			out = append(out, delta{reasoning: true, token: t})
		}
		if t := a.text.Push(d.Content); t != "" {
			out = append(out, delta{token: t})
		}
		for _, tc := range d.ToolCalls {
			a.addToolCall(tc)
		}
		if choice.FinishReason != "" {
			a.finish, a.finished = choice.FinishReason, true
		}
	}
	return out
}

// flush returns the tokens the splitters still hold once the stream ended.
func (a *accumulator) flush() []delta {
	var out []delta
	if t := a.reasoning.Flush(); t != "" {
		out = append(out, delta{reasoning: true, token: t})
	}
	if t := a.text.Flush(); t != "" {
		out = append(out, delta{token: t})
	}
	return out
}

// addToolCall merges one tool-call delta. Deltas for a call share its
// index: the first carries id and name, the rest pieces of the arguments,
// and deltas of several calls may interleave.
func (a *accumulator) addToolCall(tc openai.ChatCompletionChunkChoiceDeltaToolCall) {
	idx := tc.Index
	if idx < 0 {
		// Some providers number a lone tool call -1 (openai-go's own
		// accumulator treats it as 0 too).
		idx = 0
	}
	b := a.byIndex[idx]
	// Some gateways put every call at index 0 and tell them apart only by
	// id: a new id at a known index starts a new call.
	if b == nil || (tc.ID != "" && b.id != "" && tc.ID != b.id) {
		if len(a.calls) >= a.maxCalls && a.maxCalls > 0 {
			a.err = fmt.Errorf("%w (%d)", ErrTooManyToolCalls, a.maxCalls)
			return
		}
		b = &callBuilder{index: idx}
		a.calls = append(a.calls, b)
		if a.byIndex == nil {
			a.byIndex = map[int64]*callBuilder{}
		}
		a.byIndex[idx] = b
	}
	if b.id == "" {
		b.id = tc.ID
	}
	// The name comes once; gateways that repeat it repeat it whole.
	if b.name == "" {
		b.name = cleanName(tc.Function.Name)
	}
	piece := tc.Function.Arguments
	b.argBytes += len(piece)
	switch {
	case b.tooLong:
	case a.maxArgs > 0 && b.argBytes > a.maxArgs:
		// Dropped at once: the text is never parsed (PROTOCOL-1.1 §1.11).
		b.tooLong = true
		b.args = strings.Builder{}
	default:
		b.args.WriteString(piece)
	}
}

// cleanName makes a tool name safe to echo and store: valid UTF-8 without U+0000 (which
// PostgreSQL cannot store), cut to maxNameBytes with "…" appended.
func cleanName(name string) string {
	if len(name) > maxNameBytes {
		name = cutUTF8(name, maxNameBytes) + "…"
	}
	return storable(name)
}

// toolCalls returns the finished calls ordered by index (calls sharing an
// index keep their order of arrival). A call without an id gets
// "call_<n>", so its result can still be paired with it.
func (a *accumulator) toolCalls() []ToolCall {
	if len(a.calls) == 0 {
		return nil
	}
	sorted := slices.Clone(a.calls)
	slices.SortStableFunc(sorted, func(x, y *callBuilder) int {
		switch {
		case x.index < y.index:
			return -1
		case x.index > y.index:
			return 1
		}
		return 0
	})
	out := make([]ToolCall, len(sorted))
	for i, b := range sorted {
		id := b.id
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		out[i] = ToolCall{ID: id, Name: b.name, Arguments: b.args.String()}
		if b.tooLong {
			out[i].Arguments, out[i].ArgumentsTooLong = "{}", true
		}
	}
	return out
}

func (a *accumulator) toolCallChars() int64 {
	var n int
	for _, b := range a.calls {
		n += utf8.RuneCountInString(b.name)
		if b.tooLong {
			n += b.argBytes // the text is gone; its bytes bound its characters
		} else {
			n += utf8.RuneCountInString(b.args.String())
		}
	}
	return int64(n)
}

// usageOf reads a usage object, clamping what is out of range: token counts to
// 0..MaxReportedTokens, a cost above MaxReportedCostUSD to it. A cost that is not a finite,
// non-negative number counts as not reported (the tokens are then priced), and is reported
// in Clamped too.
func usageOf(u openai.CompletionUsage) Usage {
	out := Usage{PromptTokens: clampTokens(u.PromptTokens), CompletionTokens: clampTokens(u.CompletionTokens), Reported: true}
	clamped := out.PromptTokens != u.PromptTokens || out.CompletionTokens != u.CompletionTokens
	var rawCost string
	for _, key := range costKeys {
		raw := extraRaw(u.JSON.ExtraFields, key)
		if raw == "" {
			continue
		}
		rawCost = raw
		usd, ok := parseCost(raw)
		if !ok {
			clamped = true
			continue
		}
		if usd > MaxReportedCostUSD {
			usd, clamped = MaxReportedCostUSD, true
		}
		out.CostUSD, out.CostReported = RoundUSD(usd, CostDecimals), true
		break
	}
	if clamped {
		out.Clamped = &ReportedUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, Cost: clip(rawCost)}
	}
	return out
}

func clampTokens(n int64) int64 { return min(max(n, 0), MaxReportedTokens) }

// clip keeps a raw JSON value short enough for a log line.
func clip(raw string) string {
	if len(raw) > 64 {
		return cutUTF8(raw, 64) + "…"
	}
	return raw
}

// parseCost accepts a JSON number or a JSON string holding one.
func parseCost(raw string) (float64, bool) {
	var v float64
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			return 0, false
		}
		if v, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return 0, false
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, false
	}
	return v, true
}

// extraString returns the first of keys that holds a non-empty JSON string.
func extraString(fields map[string]respjson.Field, keys []string) string {
	for _, key := range keys {
		raw := extraRaw(fields, key)
		if raw == "" {
			continue
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// extraRaw returns the raw JSON of an extra field, "" when it is absent or
// null. openai-go marks fields its types do not declare as not Valid, so
// the raw text is all there is.
func extraRaw(fields map[string]respjson.Field, key string) string {
	raw := fields[key].Raw()
	if raw == respjson.Null {
		return ""
	}
	return raw
}

// watchdog cancels a call when the gateway stays silent for d while the
// client is waiting on it. It is armed only around network waits, so time
// spent in the handler does not count. All methods are called from the
// goroutine running the stream; the timer fires on its own goroutine and
// only calls the cancel func.
type watchdog struct {
	d     time.Duration
	timer *time.Timer
	armed bool
}

func newWatchdog(d time.Duration, fire func()) *watchdog {
	w := &watchdog{d: d}
	if d > 0 {
		w.timer = time.AfterFunc(d, fire)
		w.timer.Stop()
	}
	return w
}

func (w *watchdog) arm() {
	if w.timer != nil {
		w.armed = true
		w.timer.Reset(w.d)
	}
}

func (w *watchdog) pause() {
	if w.timer != nil {
		w.armed = false
		w.timer.Stop()
	}
}

// touch restarts the countdown: bytes arrived.
func (w *watchdog) touch() {
	if w.timer != nil && w.armed {
		w.timer.Reset(w.d)
	}
}

func (w *watchdog) stop() { w.pause() }

// activityBody reports every read that returns bytes to the watchdog, so
// that SSE comments and keep-alives count as signs of life too, and calls
// wait, when set, before each read: the stream has delivered everything it
// had read so far and may now block.
type activityBody struct {
	io.ReadCloser
	wd   *watchdog
	wait func()
}

func (b *activityBody) Read(p []byte) (int, error) {
	if b.wait != nil {
		b.wait()
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.wd.touch()
	}
	return n, err
}
