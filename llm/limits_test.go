package llm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// limited runs one call against resp with limits.
func limited(t *testing.T, resp llmtest.Response, limits llm.Limits) (llm.Result, *recorder, error) {
	t.Helper()
	gw := llmtest.New(t)
	gw.Push(resp)
	c, err := llm.New(llm.Config{BaseURL: gw.BaseURL(), APIKey: testKey, StallTimeout: 5 * time.Second, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := c.Stream(context.Background(), simpleRequest(), rec.handler())
	return res, rec, err
}

func TestHostileStreamsEndTheCallAtTheirLimit(t *testing.T) {
	kb := strings.Repeat("y", 1024)
	cases := []struct {
		name   string
		resp   llmtest.Response
		limits llm.Limits
		cause  error
	}{
		{"an endless data line", llmtest.EndlessLine(), llm.Limits{}, llm.ErrEventTooLarge},
		{"one event over the event limit", llmtest.Chunks(llmtest.TextDelta("ok"), llmtest.TextDelta(strings.Repeat("z", 70<<10))), llm.Limits{EventBytes: 64 << 10}, llm.ErrEventTooLarge},
		{"a body over the response limit", llmtest.Generated(1000, func(int) llmtest.Chunk { return llmtest.TextDelta(kb) }), llm.Limits{ResponseBytes: 256 << 10}, llm.ErrResponseTooLarge},
		{"10,000 tool calls", llmtest.Generated(10000, func(i int) llmtest.Chunk {
			return llmtest.ToolDelta(i, fmt.Sprintf("call_%d", i), "lookup", `{}`)
		}).WithFinish("tool_calls"), llm.Limits{}, llm.ErrTooManyToolCalls},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := limited(t, tc.resp, tc.limits)
			e := gatewayError(t, err)
			if e.Kind != llm.KindInterrupted || e.Message() != "model stream interrupted" || !errors.Is(err, tc.cause) {
				t.Errorf("err = %v (kind %v), want model stream interrupted caused by %v", err, e.Kind, tc.cause)
			}
			if res.ToolCalls != nil {
				t.Errorf("%d tool calls returned from a failed call", len(res.ToolCalls))
			}
			if !res.Usage.Estimated {
				t.Errorf("usage %+v, want an estimate: the gateway answered 2xx", res.Usage)
			}
		})
	}
}

func TestToolCallsUpToTheLimitAreKept(t *testing.T) {
	res, _, err := limited(t, llmtest.Generated(3, func(i int) llmtest.Chunk {
		return llmtest.ToolDelta(i, fmt.Sprintf("call_%d", i), "lookup", `{}`)
	}).WithFinish("tool_calls"), llm.Limits{ToolCalls: 3})
	if err != nil || len(res.ToolCalls) != 3 {
		t.Fatalf("%d calls, err %v", len(res.ToolCalls), err)
	}
}

func TestArgumentsOverTheLimitAreDroppedUnread(t *testing.T) {
	at := `{"q":"` + strings.Repeat("a", 65536-8) + `"}`
	over := `{"q":"` + strings.Repeat("a", 65536-7) + `"}`
	if len(at) != 65536 || len(over) != 65537 {
		t.Fatal("bad fixture")
	}
	res, _, err := limited(t, llmtest.ToolCalls(
		llmtest.Call{ID: "c1", Name: "at_limit", Arguments: at},
		llmtest.Call{ID: "c2", Name: "over_limit", Arguments: over},
	), llm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ToolCalls) != 2 {
		t.Fatalf("calls %+v", res.ToolCalls)
	}
	if c := res.ToolCalls[0]; c.ArgumentsTooLong || c.Arguments != at {
		t.Errorf("a call of exactly 65536 bytes: too long %v, %d bytes kept", c.ArgumentsTooLong, len(c.Arguments))
	}
	if c := res.ToolCalls[1]; !c.ArgumentsTooLong || c.Arguments != "{}" || c.Name != "over_limit" || c.ID != "c2" {
		t.Errorf("a call of 65537 bytes = %+v, want its arguments dropped as {}", c)
	}
}

func TestLongOrUnstorableToolNamesAreCleaned(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	res, _, err := limited(t, llmtest.ToolCalls(
		llmtest.Call{ID: "c1", Name: long, Arguments: `{}`},
		llmtest.Call{ID: "c2", Name: "a\x00b", Arguments: `{}`},
	), llm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.ToolCalls[0].Name; got != strings.Repeat("é", 128)+"…" {
		t.Errorf("long name kept as %d bytes: %q", len(got), got)
	}
	if got := res.ToolCalls[1].Name; got != "a\uFFFDb" {
		t.Errorf("name with U+0000 = %q", got)
	}
}

func TestReportedUsageIsClamped(t *testing.T) {
	cases := []struct {
		name string
		resp llmtest.Response
		want llm.Usage
	}{
		{"negative tokens", llmtest.Text("ok").WithUsage(-5, -1),
			llm.Usage{Reported: true, Clamped: &llm.ReportedUsage{PromptTokens: -5, CompletionTokens: -1}}},
		{"huge tokens", llmtest.Text("ok").WithUsage(1<<62, 3),
			llm.Usage{PromptTokens: llm.MaxReportedTokens, CompletionTokens: 3, Reported: true, Clamped: &llm.ReportedUsage{PromptTokens: 1 << 62, CompletionTokens: 3}}},
		{"huge cost", llmtest.Text("ok").WithUsage(3, 1).WithCost(1e12),
			llm.Usage{PromptTokens: 3, CompletionTokens: 1, Reported: true, CostUSD: llm.MaxReportedCostUSD, CostReported: true, Clamped: &llm.ReportedUsage{PromptTokens: 3, CompletionTokens: 1, Cost: "1000000000000"}}},
		{"negative cost", llmtest.Text("ok").WithUsage(3, 1).WithCost(-2),
			llm.Usage{PromptTokens: 3, CompletionTokens: 1, Reported: true, Clamped: &llm.ReportedUsage{PromptTokens: 3, CompletionTokens: 1, Cost: "-2"}}},
		{"in range", llmtest.Text("ok").WithUsage(3, 1).WithCost(0.25),
			llm.Usage{PromptTokens: 3, CompletionTokens: 1, Reported: true, CostUSD: 0.25, CostReported: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := limited(t, tc.resp, llm.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Usage
			if (got.Clamped == nil) != (tc.want.Clamped == nil) || got.Clamped != nil && *got.Clamped != *tc.want.Clamped {
				t.Errorf("Clamped = %+v, want %+v", got.Clamped, tc.want.Clamped)
			}
			got.Clamped, tc.want.Clamped = nil, nil
			if got != tc.want {
				t.Errorf("Usage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestUsageIsEstimatedWhenTheRequestWasSentButNoAnswerCame(t *testing.T) {
	t.Run("timed out before the first byte", func(t *testing.T) {
		gw := llmtest.New(t)
		gw.Push(llmtest.Hang())
		res, err := newClient(t, gw.BaseURL(), 100*time.Millisecond).Stream(context.Background(), simpleRequest(), llm.Handler{})
		if e := gatewayError(t, err); e.Kind != llm.KindTimeout {
			t.Fatalf("kind %v", e.Kind)
		}
		// "What are your hours?" is 20 characters: 5 tokens; nothing came back.
		if want := (llm.Usage{PromptTokens: 5, Estimated: true}); res.Usage != want {
			t.Errorf("Usage = %+v, want %+v", res.Usage, want)
		}
	})
	t.Run("cancelled before the first byte", func(t *testing.T) {
		gw := llmtest.New(t)
		gw.Push(llmtest.Hang())
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			res llm.Result
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := newClient(t, gw.BaseURL(), time.Minute).Stream(ctx, simpleRequest(), llm.Handler{})
			done <- result{res, err}
		}()
		testkit.Eventually(t, "the gateway to receive the request", func() bool { return gw.RequestCount() > 0 })
		cancel()
		r := <-done
		res, err := r.res, r.err
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if want := (llm.Usage{PromptTokens: 5, Estimated: true}); res.Usage != want {
			t.Errorf("Usage = %+v, want %+v", res.Usage, want)
		}
	})
}

func TestHugeErrorBodyIsStillAStatusError(t *testing.T) {
	body := `{"error":{"message":"` + strings.Repeat("x", 8<<20) + `"}}`
	_, _, err := limited(t, llmtest.Error(500, body), llm.Limits{})
	if e := gatewayError(t, err); e.Kind != llm.KindStatus || e.Status != 500 {
		t.Errorf("err = %v", err)
	}
}
