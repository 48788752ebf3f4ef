package ws_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// procStatusKB reads one "<field>: <n> kB" line of /proc/self/status.
func procStatusKB(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// streamedTurn reads a turn's events until its terminal one without keeping them (a hostile
// turn may stream a lot), and returns the terminal event and the bytes of its tokens.
func streamedTurn(t *testing.T, c *wstest.Client, r string) (wstest.Event, int) {
	t.Helper()
	n := 0
	for {
		ev := c.Next()
		switch ev.Type() {
		case "stream_token":
			n += len(ev.Token())
		case "eventual_response", "cancelled", "error":
			if ev.RequestID() == r {
				return ev, n
			}
		}
	}
}

// The public edge's gateway half (issue 11): whatever a gateway sends, a turn ends with the
// spec's error and the process's memory stays bounded. The server, the gateway and the
// client all run in this process, so its peak RSS bounds the server's.
func TestHostileGatewayEndsTheTurnWithBoundedMemory(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_TURN_TIMEOUT": "2s"})
	c, ack := e.session()
	sid := ack.Str("sessionId")
	kb := strings.Repeat("x", 1000)

	// Reset the peak (VmHWM) to the current RSS, so the peak read at the end is this test's.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	base := procStatusKB(t, "VmRSS")

	cases := []struct {
		name string
		resp llmtest.Response
		want string
	}{
		{"an endless data line", llmtest.EndlessLine(), "agent turn failed: model stream interrupted"},
		{"a 100 MB reply", llmtest.Generated(100_000, func(int) llmtest.Chunk { return llmtest.TextDelta(kb) }), "agent turn failed: reply too long"},
		{"10,000 tool calls", llmtest.Generated(10_000, func(i int) llmtest.Chunk {
			return llmtest.ToolDelta(i, fmt.Sprintf("call_%d", i), "knowledge_search", `{"query":"x"}`)
		}).WithFinish("tool_calls"), "agent turn failed: model stream interrupted"},
		// Never silent for long (no stall), never over any byte limit within the deadline.
		{"a stream that never ends", llmtest.Generated(-1, func(int) llmtest.Chunk { return llmtest.Chunk{} }).WithDelay(10 * time.Millisecond),
			"agent turn failed: model gateway timed out"},
	}
	for i, tc := range cases {
		e.gw.Push(tc.resp)
		r := send(t, c, sid, "go")
		last, tokenBytes := streamedTurn(t, c, r)
		if last.Type() != "error" || last.Code() != "AGENT_ERROR" || last.Message() != tc.want {
			t.Errorf("%s: ended with %.300s, want AGENT_ERROR %q", tc.name, last.Raw, tc.want)
		}
		if tokenBytes > 131072 {
			t.Errorf("%s: %d bytes of tokens streamed", tc.name, tokenBytes)
		}
		rows := usageRows(t, e)
		if len(rows) != i+1 || rows[i].outcome != "error" || !rows[i].estimated {
			t.Errorf("%s: usage rows %+v, want an estimated error row", tc.name, rows)
		}
	}
	if n := outbound(t, e); n != 0 {
		t.Errorf("%d replies stored", n)
	}
	// Generous: a few event buffers and the race detector's shadow memory. Any of the
	// hostile streams held in memory would take far more.
	peak := procStatusKB(t, "VmHWM")
	if grew := (peak - base) >> 10; grew > 128 {
		t.Errorf("peak RSS grew by %d MiB during the hostile turns", grew)
	}
	t.Logf("peak RSS %d MiB, %d MiB over the start", peak>>10, (peak-base)>>10)

	// The connection and the server go on.
	e.gw.Push(textReply("still here"))
	if last, _ := streamedTurn(t, c, send(t, c, sid, "hello?")); last.Type() != "eventual_response" {
		t.Fatalf("after the hostile turns: %s", last.Raw)
	}
}

// PROTOCOL-1.1 §11, line 64.
func TestCompatibilityLine64ArgumentAndReplyCaps(t *testing.T) {
	// Every call needs approval: an oversized one must still never park.
	e := newEnv(t, fixture.Agent{ConfirmTools: []string{"*"}}, nil)
	ts := newToolServer(t, 200, `{"ok":true}`)
	e.fx.Tool(e.org, e.agent.ID, fixture.Tool{Name: "lookup", URL: ts.URL,
		Parameters: `{"type":"object","properties":{"q":{"type":"string"}}}`})
	c, ack := e.session()
	sid := ack.Str("sessionId")

	over := `{"q":"` + strings.Repeat("a", 65536-7) + `"}` // 65,537 bytes
	e.gw.Push(
		llmtest.ToolCalls(llmtest.Call{ID: "call_1", Name: "lookup", Arguments: over}).WithUsage(10, 5),
		textReply("That did not work."),
	)
	r := send(t, c, sid, "look it up")
	evs := c.Terminal(r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("turn ended with %.300s", last.Raw)
	}
	for _, ev := range evs {
		if ev.Type() == "write_confirmation_required" {
			t.Fatalf("an oversized call parked: %s", ev.Raw)
		}
	}
	want := []wstest.Envelope[wstest.Chunk]{
		wstest.CallChunk(r, wstest.ToolCall{Name: "lookup", Arguments: map[string]any{}}), // oversized arguments are shown as {}
		wstest.ResultChunk(r, wstest.ToolResult{Name: "lookup", IsError: true, Result: "Error: invalid tool arguments: arguments exceed 65536 bytes"}),
	}
	if diff := cmp.Diff(want, chunks(t, evs)); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	if n := len(ts.Calls()); n != 0 {
		t.Errorf("the tool was called %d times", n)
	}
	if n := count(t, e, `SELECT count(*) FROM pending_approvals`); n != 0 {
		t.Errorf("%d approvals written", n)
	}
	// The model was told the same thing, and its call is replayed with the arguments shown.
	msgs := e.gw.Request(1).Chat.Messages
	if got := msgs[len(msgs)-1].Content; got != "Error: invalid tool arguments: arguments exceed 65536 bytes" {
		t.Errorf("the model got %q", got)
	}
	if calls := msgs[len(msgs)-2].ToolCalls; len(calls) != 1 || calls[0].Arguments != "{}" {
		t.Errorf("replayed calls %+v", calls)
	}

	// A reply of exactly 131,072 bytes completes; one byte more ends the turn.
	piece := strings.Repeat("é", 512) // 1 KiB
	at := make([]string, 128)
	for i := range at {
		at[i] = piece
	}
	e.gw.Push(llmtest.Text(at...).WithUsage(10, 5))
	last, n := streamedTurn(t, c, send(t, c, sid, "long answer"))
	if last.Type() != "eventual_response" || n != 131072 {
		t.Fatalf("a reply of 131072 bytes: %d streamed, ended with %.200s", n, last.Type())
	}
	e.gw.Push(llmtest.Text(append(at, "!")...).WithUsage(10, 5))
	r = send(t, c, sid, "longer answer")
	last, n = streamedTurn(t, c, r)
	if last.Type() != "error" || last.Code() != "AGENT_ERROR" || last.Message() != "agent turn failed: reply too long" || last.RequestID() != r {
		t.Fatalf("a reply of 131073 bytes ended with %.300s", last.Raw)
	}
	if n > 131072 {
		t.Errorf("%d bytes of tokens streamed past the cap", n)
	}
	rows := usageRows(t, e)
	if len(rows) != 3 || rows[2].outcome != "error" || rows[2].requestID != r {
		t.Errorf("usage rows %+v, want the last one an error", rows)
	}
	if n := outbound(t, e); n != 2 {
		t.Errorf("%d replies stored, want only the two completed turns'", n)
	}
}

func TestReplyWithNULIsStoredAsStreamed(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	e.gw.Push(llmtest.Text("before\x00", "after").WithUsage(10, 2))
	c, ack := e.session()
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	last := evs[len(evs)-1]
	if last.Type() != "eventual_response" {
		t.Fatalf("turn ended with %s", last.Raw)
	}
	want := "before\uFFFDafter"
	got := reply(t, last)
	if tokens(evs) != want {
		t.Fatalf("tokens %q, want %q", tokens(evs), want)
	}
	if diff := cmp.Diff([]string{want}, got.Response.ResponseParts); diff != "" {
		t.Fatalf("reply parts (-want +got):\n%s", diff)
	}
	if n := count(t, e, `SELECT count(*) FROM messages WHERE id = $1 AND text = $2`, got.MessageID, want); n != 1 {
		t.Fatal("the reply was not stored as streamed")
	}
}

func TestTurnTimeoutDoesNotCountTimeParked(t *testing.T) {
	p := newParked(t, map[string]string{"SWITCHBOARD_TURN_TIMEOUT": "2s"},
		llmtest.Generated(-1, func(int) llmtest.Chunk { return llmtest.Chunk{} }).WithDelay(10*time.Millisecond),
		llmtest.Text("Done."),
	)
	// While the first turn is parked, a turn started later on another socket runs into the
	// same deadline: from then on the parked turn has been parked longer than it.
	b, ack := p.session()
	r := send(t, b, ack.Str("sessionId"), "go on for ever")
	if last, _ := streamedTurn(t, b, r); last.Message() != "agent turn failed: model gateway timed out" {
		t.Fatalf("the endless turn ended with %.300s", last.Raw)
	}
	if ack := p.confirm(true, nil); ack.Message() != "Tool action approved" {
		t.Fatalf("ack %s", ack.Raw)
	}
	evs := p.c.Terminal(p.r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("the parked turn ended with %s after its park", last.Raw)
	}
}
