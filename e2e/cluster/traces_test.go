package cluster_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/testkit"
)

// What the traced turn says and answers: none of it may reach a span unless
// SWITCHBOARD_TRACE_CONTENT=1.
const (
	tracedQuestion = "Please cancel my pro subscription, thanks."
	tracedArgs     = `{"plan":"pro-traced"}`
	tracedReply    = "Your traced subscription is cancelled."
	tracedResult   = "cancelled; access until 2026-01-31" // the cluster's tool server
)

// recorder is one instance's span sink: the SDK's in-memory recorder behind a real SDK
// provider, handed to the server through its constructor.
type recorder struct {
	*tracetest.SpanRecorder
}

func newRecorder(t *testing.T) (recorder, serve.Option) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(ctx()) })
	return recorder{rec}, serve.WithTracerProvider(tp)
}

func (r recorder) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// one is the only ended span named name.
func (r recorder) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := r.named(name)
	if len(spans) != 1 {
		t.Fatalf("%d ended spans named %q, want 1 (spans: %s)", len(spans), name, r.names())
	}
	return spans[0]
}

// children are the ended spans whose parent is s, in the order they ended.
func (r recorder) children(s sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, c := range r.Ended() {
		if c.Parent().SpanID() == s.SpanContext().SpanID() && c.SpanContext().TraceID() == s.SpanContext().TraceID() {
			out = append(out, c)
		}
	}
	return out
}

func (r recorder) names() string {
	var out []string
	for _, s := range r.Ended() {
		out = append(out, s.Name())
	}
	return strings.Join(out, ", ")
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// genAI is a span's gen_ai.* attributes as strings, for one comparison.
func genAI(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for k, v := range attrs(s) {
		if strings.HasPrefix(k, "gen_ai.") && k != "gen_ai.input.messages" && k != "gen_ai.output.messages" &&
			k != "gen_ai.tool.call.arguments" && k != "gen_ai.tool.call.result" {
			m[k] = v.String()
		}
	}
	return m
}

// tracedTurn runs, with a and b traced into ra and rb, a turn on A that calls the gated
// tool, is approved by the visitor's second tab on B, and completes on A; it returns once
// A's turn span has ended.
func tracedTurn(t *testing.T, vars map[string]string) (c *cluster, ra, rb recorder) {
	t.Helper()
	c = newCluster(t, vars)
	ra, optA := newRecorder(t)
	rb, optB := newRecorder(t)
	a, b := c.start(nil, optA), c.start(nil, optB)
	dana := visitorToken(t, "dana")

	c.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "call-1", Name: "cancel_subscription", Arguments: tracedArgs}).WithUsage(120, 14))
	c.gw.Push(llmtest.Text(tracedReply).WithUsage(150, 9))
	w := openWidget(t, a, dana, c.agent.ID, nil)
	r := w.send(t, tracedQuestion)
	if ev := w.Next(); ev.Type() != "write_confirmation_required" {
		t.Fatalf("expected the park: %s", ev.Raw)
	}
	other := openWidget(t, b, dana, c.agent.ID, nil)
	if ev := other.confirm(true, w.session); ev.Status() != 200 {
		t.Fatalf("confirm on B: %s", ev.Raw)
	}
	if last := lastOf(w.Terminal(r)); last.Type() != "eventual_response" {
		t.Fatalf("terminal on A: %s", last.Raw)
	}
	testkit.Eventually(t, "A's turn span ends", func() bool { return len(ra.named("invoke_agent "+c.agent.Name)) == 1 })
	return c, ra, rb
}

func lastOf(evs []wstest.Event) wstest.Event { return evs[len(evs)-1] }

// TestATurnIsOneTraceLinkedToTheApprovalOnAnotherInstance pins issue 16 point 1: the span
// tree of a turn with a tool call (send_message → invoke_agent → chat, execute_tool →
// await_approval, chat), the GenAI attributes, database spans inside it, the approval decided
// on instance B linked from A's trace through the backplane, and no content by default.
func TestATurnIsOneTraceLinkedToTheApprovalOnAnotherInstance(t *testing.T) {
	t.Parallel()
	c, ra, rb := tracedTurn(t, nil)
	model := c.gw.Request(0).Chat.Model

	send := ra.one(t, "ws send_message")
	turn := ra.one(t, "invoke_agent "+c.agent.Name)
	if turn.Parent().SpanID() != send.SpanContext().SpanID() || turn.SpanContext().TraceID() != send.SpanContext().TraceID() {
		t.Fatalf("the turn's span is not the send_message's child: parent %v, send_message %v", turn.Parent(), send.SpanContext())
	}
	var kids []string // the engine's, without the database's
	for _, k := range ra.children(turn) {
		if k.InstrumentationScope().Name == agent.TracerName {
			kids = append(kids, k.Name())
		}
	}
	wantKids := []string{"chat " + model, "execute_tool cancel_subscription", "chat " + model}
	if diff := cmp.Diff(wantKids, kids); diff != "" {
		t.Fatalf("the turn's child spans (-want +got):\n%s\nall spans: %s", diff, ra.names())
	}

	chats := ra.named("chat " + model)
	wantChat := []map[string]string{{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
		"gen_ai.response.model": model, "gen_ai.usage.input_tokens": "120", "gen_ai.usage.output_tokens": "14",
		"gen_ai.response.finish_reasons": `["tool_calls"]`,
	}, {
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
		"gen_ai.response.model": model, "gen_ai.usage.input_tokens": "150", "gen_ai.usage.output_tokens": "9",
		"gen_ai.response.finish_reasons": `["stop"]`,
	}}
	gotChat := []map[string]string{genAI(chats[0]), genAI(chats[1])}
	if chats[0].StartTime().After(chats[1].StartTime()) {
		gotChat[0], gotChat[1] = gotChat[1], gotChat[0]
	}
	for i := range gotChat {
		delete(gotChat[i], "gen_ai.request.max_tokens")
	}
	if diff := cmp.Diff(wantChat, gotChat); diff != "" {
		t.Fatalf("gen_ai attributes of the model calls (-want +got):\n%s", diff)
	}
	if k := chats[0].SpanKind(); k != trace.SpanKindClient {
		t.Fatalf("chat span kind %v", k)
	}

	turnAttrs := genAI(turn)
	wantTurn := map[string]string{
		"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": c.agent.ID.String(), "gen_ai.agent.name": c.agent.Name,
		"gen_ai.conversation.id": turnAttrs["gen_ai.conversation.id"], "gen_ai.request.model": model,
		"gen_ai.usage.input_tokens": "270", "gen_ai.usage.output_tokens": "23",
	}
	if diff := cmp.Diff(wantTurn, turnAttrs); diff != "" || turnAttrs["gen_ai.conversation.id"] == "" {
		t.Fatalf("gen_ai attributes of the turn (-want +got):\n%s", diff)
	}
	if o := attrs(turn)["switchboard.turn.outcome"].AsString(); o != "completed" {
		t.Fatalf("turn outcome %q", o)
	}

	tool := ra.one(t, "execute_tool cancel_subscription")
	wantTool := map[string]string{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "cancel_subscription",
		"gen_ai.tool.call.id": "call-1", "gen_ai.tool.type": "extension"}
	if diff := cmp.Diff(wantTool, genAI(tool)); diff != "" {
		t.Fatalf("gen_ai attributes of the tool call (-want +got):\n%s", diff)
	}
	park := ra.one(t, "await_approval cancel_subscription")
	if park.Parent().SpanID() != tool.SpanContext().SpanID() {
		t.Fatalf("the park is not the tool call's child")
	}
	if o := attrs(park)["switchboard.approval.outcome"].AsString(); o != "approved" {
		t.Fatalf("park outcome %q", o)
	}

	// The decision on B: its own trace there, linked from A's park through the backplane.
	confirm := rb.one(t, "ws confirm_tool_action")
	if len(park.Links()) != 1 || park.Links()[0].SpanContext.SpanID() != confirm.SpanContext().SpanID() ||
		park.Links()[0].SpanContext.TraceID() != confirm.SpanContext().TraceID() {
		t.Fatalf("A's park links %+v, want B's confirm_tool_action %v", park.Links(), confirm.SpanContext())
	}

	// Database queries inside the turn are spans of its trace.
	dbSpans := 0
	for _, s := range ra.Ended() {
		if s.SpanContext().TraceID() == turn.SpanContext().TraceID() && attrs(s)["db.system.name"].AsString() == "postgresql" {
			dbSpans++
		}
	}
	if dbSpans == 0 {
		t.Fatalf("no database span in the turn's trace: %s", ra.names())
	}

	for _, r := range []recorder{ra, rb} {
		for _, s := range r.Ended() {
			for _, kv := range s.Attributes() {
				v := kv.Value.String()
				for _, secret := range []string{tracedQuestion, tracedReply, "pro-traced", tracedResult} {
					if strings.Contains(v, secret) {
						t.Errorf("span %q attribute %s records content %q", s.Name(), kv.Key, secret)
					}
				}
			}
		}
	}
}

// TestTraceContentIsRecordedOnlyWhenAskedFor: with SWITCHBOARD_TRACE_CONTENT=1 the model
// calls carry their messages and the tool call its arguments and result.
func TestTraceContentIsRecordedOnlyWhenAskedFor(t *testing.T) {
	t.Parallel()
	c, ra, _ := tracedTurn(t, map[string]string{"SWITCHBOARD_TRACE_CONTENT": "1"})
	model := c.gw.Request(0).Chat.Model
	var in, out string
	for _, s := range ra.named("chat " + model) {
		in += attrs(s)["gen_ai.input.messages"].AsString()
		out += attrs(s)["gen_ai.output.messages"].AsString()
	}
	for what, want := range map[string]string{"input": tracedQuestion, "tool result in the input": tracedResult, "output": tracedReply} {
		got := in
		if what == "output" {
			got = out
		}
		if !strings.Contains(got, want) {
			t.Errorf("gen_ai %s messages lack %q: %s", what, want, got)
		}
	}
	tool := attrs(ra.one(t, "execute_tool cancel_subscription"))
	if got := tool["gen_ai.tool.call.arguments"].AsString(); got != tracedArgs {
		t.Errorf("tool arguments %q", got)
	}
	if got := tool["gen_ai.tool.call.result"].AsString(); got != tracedResult {
		t.Errorf("tool result %q", got)
	}
}
