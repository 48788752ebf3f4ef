package ws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// The rich interactions of PROTOCOL-1.1 (§4.12, §5.12, §5.13, §7.8–§7.12). Tests named
// TestChecklistNN pin line NN of §11.

const (
	identityArgs = `{"fields":["email",{"key":"phone","required":false}],"reason":"to email you the brochure"}`
	choicesArgs  = `{"questions":[{"question":"What is your question about?","header":"Topic","options":["Billing","Shipping"]}],"reason":"to route you to the right team"}`
	declinedText = `{"status":"declined","message":"The visitor declined. Continue helping them without this and do not ask again this conversation."}`
	noResponse   = `{"status":"no_response","message":"The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant."}`
)

var (
	identitySpec = map[string]any{"fields": []any{
		map[string]any{"key": "email", "required": true}, map[string]any{"key": "phone", "required": false}}}
	choicesSpec = map[string]any{"questions": []any{map[string]any{
		"question": "What is your question about?", "header": "Topic", "multiSelect": false,
		"options": []any{map[string]any{"label": "Billing", "description": ""}, map[string]any{"label": "Shipping", "description": ""}}}}}
)

// card is a session whose turn R raised a card.
type card struct {
	*env
	c      *wstest.Client
	sid, r string
	id     string // the interactionId, on the rich path
}

// cardSession creates a session with supports (nil: absent) on e's agent.
func (e *env) cardSession(supports []string) (*wstest.Client, wstest.Event) {
	e.t.Helper()
	c := e.dial(nil)
	f := map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": e.agent.ID.String()}
	if supports != nil {
		f["supports"] = supports
	}
	ack := c.Request(f)
	if ack.Status() != 200 {
		e.t.Fatalf("create session: %s", ack.Raw)
	}
	return c, ack
}

func raise(tool, args string) llmtest.Response {
	return llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: tool, Arguments: args})
}

// newCard scripts a raise of tool with args, then after, and sends a message in a session
// declaring supports; on the rich path it reads interaction_required and the held-back
// toolCall, checking both and that the row was committed before them.
func newCard(t *testing.T, e *env, supports []string, tool, args string, after ...llmtest.Response) *card {
	t.Helper()
	c, ack := e.cardSession(supports)
	return e.raiseIn(t, c, ack.Str("sessionId"), tool, args, after...)
}

func (e *env) raiseIn(t *testing.T, c *wstest.Client, sid, tool, args string, after ...llmtest.Response) *card {
	t.Helper()
	e.gw.Push(raise(tool, args))
	e.gw.Push(after...)
	k := &card{env: e, c: c, sid: sid}
	k.r = send(t, c, sid, "Can you email me the brochure?")
	return k
}

// required reads the park: interaction_required, then the toolCall chunk (O10).
func (k *card) required(t *testing.T, kind string, spec map[string]any, reason, tool, args string) {
	t.Helper()
	ev := k.c.Next()
	if ev.Type() != "interaction_required" {
		t.Fatalf("expected interaction_required first: %s", ev.Raw)
	}
	got := wstest.Decode[wstest.Wrapped[wstest.InteractionRequired]](t, ev)
	k.id = got.Data.Data.InteractionID
	if _, err := uuid.Parse(k.id); err != nil {
		t.Fatalf("interactionId %q is not a UUID", k.id)
	}
	want := wstest.Envelope[wstest.Wrapped[wstest.InteractionRequired]]{Type: "interaction_required", RequestID: k.r,
		Data: wstest.Wrapped[wstest.InteractionRequired]{RequestID: k.r, Data: wstest.InteractionRequired{
			InteractionID: k.id, Kind: kind, Spec: spec, Reason: reason}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("interaction_required (-want +got):\n%s", diff)
	}
	if n := count(t, k.env, `SELECT count(*) FROM pending_interactions WHERE id = $1 AND status = 'pending' AND request_id = $2 AND kind = $3`, k.id, k.r, kind); n != 1 {
		t.Fatal("the interaction row is missing")
	}
	call := k.c.Next()
	wantCall := wstest.CallChunk(k.r, wstest.ToolCall{Name: tool, Arguments: testkit.DecodeJSON[map[string]any](t, []byte(args))})
	if diff := cmp.Diff(wantCall, wstest.Decode[wstest.Chunk](t, call)); diff != "" {
		t.Fatalf("held-back toolCall (-want +got):\n%s", diff)
	}
}

func (k *card) submit(extra map[string]any) wstest.Event {
	f := map[string]any{"action": "submit_interaction", "requestId": "si", "sessionId": k.sid, "interactionId": k.id}
	for key, v := range extra {
		if v == nil {
			delete(f, key)
			continue
		}
		f[key] = v
	}
	return k.c.Request(f)
}

func (k *card) status(t *testing.T) string {
	t.Helper()
	var s string
	if err := k.srv.Pool.QueryRow(ctx(), `SELECT status FROM pending_interactions WHERE id = $1`, k.id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// resumed reads the rest of the turn and returns its tool result; the turn must complete.
func (k *card) resumed(t *testing.T, tool string) wstest.ToolResult {
	t.Helper()
	evs := k.c.Terminal(k.r)
	if last := evs[len(evs)-1]; last.Type() != "eventual_response" {
		t.Fatalf("resumed turn: %v %s", types(evs), last.Raw)
	}
	if evs[0].Type() != "stream_chunk" {
		t.Fatalf("the resumed stream starts with %s", evs[0].Raw)
	}
	res := toolResult(t, chunks(t, evs)[0])
	if res.Name != tool {
		t.Fatalf("result of %s", res.Name)
	}
	return res
}

func requireAck(t *testing.T, ev wstest.Event, msg string, data wstest.InteractionAck) {
	t.Helper()
	want := wstest.Envelope[wstest.InteractionAck]{Type: "immediate_response", RequestID: "si", Status: 200, Message: msg, Data: data}
	if diff := cmp.Diff(want, wstest.Decode[wstest.InteractionAck](t, ev)); diff != "" {
		t.Fatalf("ack (-want +got):\n%s", diff)
	}
}

func requireInvalid(t *testing.T, ev wstest.Event, requestID, id, kind string, errs ...wstest.FieldError) {
	t.Helper()
	want := wstest.Envelope[wstest.Wrapped[wstest.InteractionInvalid]]{Type: "interaction_invalid", RequestID: requestID,
		Data: wstest.Wrapped[wstest.InteractionInvalid]{RequestID: requestID, Data: wstest.InteractionInvalid{
			InteractionID: id, Kind: kind, Errors: errs, Message: "Some fields need attention."}}}
	if diff := cmp.Diff(want, wstest.Decode[wstest.Wrapped[wstest.InteractionInvalid]](t, ev)); diff != "" {
		t.Fatalf("interaction_invalid (-want +got):\n%s", diff)
	}
}

// stillParked checks that nothing else was sent: the next event answers a ping.
func stillParked(t *testing.T, c *wstest.Client) {
	t.Helper()
	if ev := c.Request(map[string]any{"action": "ping", "requestId": "pp"}); ev.Type() != "pong" {
		t.Fatalf("expected nothing but the pong: %s", ev.Raw)
	}
}

func TestChecklist31RichRaiseSendsInteractionRequiredBeforeItsToolCall(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("Thanks!"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.submit(map[string]any{"declined": true})
	k.resumed(t, "request_identity_intake")

	k = newCard(t, e, []string{"choice_chips"}, "request_choices", choicesArgs, textReply("Routed."))
	k.required(t, "choices", choicesSpec, "to route you to the right team", "request_choices", choicesArgs)
	k.submit(map[string]any{"declined": true})
	k.resumed(t, "request_choices")
}

func TestChecklist32WithoutTheCapabilityARaiseIsConversational(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	for _, supports := range [][]string{nil, {}, {"choice_chips"}} {
		calls := e.gw.RequestCount()
		k := newCard(t, e, supports, "request_identity_intake", identityArgs, textReply("What is your email?"))
		evs := k.c.Terminal(k.r)
		if diff := cmp.Diff([]string{"stream_chunk", "stream_chunk", "stream_token", "eventual_response"}, types(evs)); diff != "" {
			t.Fatalf("supports %v (-want +got):\n%s", supports, diff)
		}
		cs := chunks(t, evs)
		if cs[0].Data.State.RawResponse.ToolCall == nil {
			t.Fatalf("first chunk %+v", cs[0])
		}
		res := toolResult(t, cs[1])
		if res.IsError || !strings.HasPrefix(res.Result, `{"mode":"conversational","kind":"identity_intake","spec":{"fields":[{"key":"email","required":true},{"key":"phone","required":false}]},"reason":"to email you the brochure","instructions":"`) {
			t.Fatalf("result %+v", res)
		}
		if n := e.gw.RequestCount() - calls; n != 2 {
			t.Fatalf("gateway calls %d", n)
		}
	}
	if n := count(t, e, `SELECT count(*) FROM pending_interactions`); n != 0 {
		t.Fatal("the conversational path wrote a row")
	}
}

func TestChecklist33CapabilitiesAreInheritedOnResumeAndFixedPerSession(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	first, ack := e.cardSession([]string{"identity_form", "x-custom"})
	resume := func(supports []string) (*wstest.Client, string) {
		c := e.dial(nil)
		f := map[string]any{"action": "create_conversation_session", "requestId": "c-2", "agentId": e.agent.ID.String(),
			"conversationId": ack.Str("conversationId"), "resumeToken": ack.Str("resumeToken")}
		if supports != nil {
			f["supports"] = supports
		}
		res := c.Request(f)
		if res.Status() != 200 || res.Str("conversationId") != ack.Str("conversationId") {
			t.Fatalf("resume: %s", res.Raw)
		}
		return c, res.Str("sessionId")
	}
	// Inherited: the resumed session parks.
	c, sid := resume(nil)
	k := e.raiseIn(t, c, sid, "request_identity_intake", identityArgs, textReply("ok"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.submit(map[string]any{"declined": true})
	k.resumed(t, "request_identity_intake")
	// [] turns the rich path off for the new session…
	c, sid = resume([]string{})
	k = e.raiseIn(t, c, sid, "request_identity_intake", identityArgs, textReply("ok"))
	if res := toolResult(t, chunks(t, k.c.Terminal(k.r))[1]); !strings.HasPrefix(res.Result, `{"mode":"conversational"`) {
		t.Fatalf("after supports []: %+v", res)
	}
	// …while the first session keeps its capabilities.
	k = e.raiseIn(t, first, ack.Str("sessionId"), "request_identity_intake", identityArgs, textReply("ok"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.submit(map[string]any{"declined": true})
	k.resumed(t, "request_identity_intake")
	// More than 32 entries: VALIDATION_ERROR, nothing written.
	sessions := count(t, e, `SELECT count(*) FROM sessions`)
	many := make([]string, 33)
	for i := range many {
		many[i] = "cap-" + string(rune('a'+i%26)) + strings.Repeat("x", i)
	}
	ev := e.dial(nil).Request(map[string]any{"action": "create_conversation_session", "requestId": "c-3", "agentId": e.agent.ID.String(), "supports": many})
	wstest.RequireError(t, ev, "c-3", "VALIDATION_ERROR", "'supports' must hold at most 32 strings of 1 to 64 characters")
	if count(t, e, `SELECT count(*) FROM sessions`) != sessions {
		t.Fatal("a refused create wrote a session")
	}
}

func TestChecklist34AValidSubmitIsAcknowledgedThenResumesTheTurn(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("Thanks! The brochure is on its way."))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	ack := k.submit(map[string]any{"kind": "identity_intake", "values": map[string]any{"email": "Dana@Example.COM", "phone": "(555) 010-0199"}})
	requireAck(t, ack, "Interaction submitted", wstest.InteractionAck{SessionID: k.sid, InteractionID: k.id, Kind: "identity_intake",
		Values: map[string]any{"email": "Dana@example.com", "phone": "+15550100199"}})
	want := wstest.ToolResult{Name: "request_identity_intake", Result: `{"status":"submitted","values":{"email":"Dana@example.com","phone":"+15550100199"}}`}
	if diff := cmp.Diff(want, k.resumed(t, "request_identity_intake")); diff != "" {
		t.Fatalf("resumed result (-want +got):\n%s", diff)
	}
	if msgs := e.gw.Request(1).Chat.Messages; msgs[len(msgs)-1].Content != want.Result {
		t.Fatal("the model did not see the submitted values")
	}
	if k.status(t) != "submitted" {
		t.Fatal("row not submitted")
	}

	k = newCard(t, e, []string{"choice_chips"}, "request_choices", choicesArgs, textReply("Routed."))
	k.required(t, "choices", choicesSpec, "to route you to the right team", "request_choices", choicesArgs)
	ack = k.submit(map[string]any{"values": map[string]any{"answers": []any{map[string]any{"header": "Topic", "options": []any{" Shipping "}}}}})
	requireAck(t, ack, "Interaction submitted", wstest.InteractionAck{SessionID: k.sid, InteractionID: k.id, Kind: "choices",
		Values: map[string]any{"answers": []any{map[string]any{"header": "Topic", "options": []any{"Shipping"}}}}})
	want = wstest.ToolResult{Name: "request_choices", Result: `{"status":"submitted","values":{"answers":[{"header":"Topic","options":["Shipping"]}]}}`}
	if diff := cmp.Diff(want, k.resumed(t, "request_choices")); diff != "" {
		t.Fatalf("resumed result (-want +got):\n%s", diff)
	}
}

func TestChecklist35ADeclineResumesWithTheDeclinedPayload(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"choice_chips"}, "request_choices", choicesArgs, textReply("No problem."))
	k.required(t, "choices", choicesSpec, "to route you to the right team", "request_choices", choicesArgs)
	requireAck(t, k.submit(map[string]any{"declined": true}), "Interaction declined",
		wstest.InteractionAck{SessionID: k.sid, InteractionID: k.id, Kind: "choices", Declined: true})
	if diff := cmp.Diff(wstest.ToolResult{Name: "request_choices", Result: declinedText}, k.resumed(t, "request_choices")); diff != "" {
		t.Fatalf("resumed result (-want +got):\n%s", diff)
	}
	if k.status(t) != "declined" {
		t.Fatal("row not declined")
	}
}

func TestChecklist36InvalidValuesKeepTheTurnParked(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("Thanks!"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	for _, rid := range []string{"si-1", "si-2"} {
		ev := k.submit(map[string]any{"requestId": rid, "values": map[string]any{"email": "dana@example"}})
		requireInvalid(t, ev, rid, k.id, "identity_intake", wstest.FieldError{Field: "email", Message: "must be a valid email address"})
		stillParked(t, k.c)
	}
	ev := k.submit(map[string]any{"requestId": "si-3", "values": map[string]any{"phone": "+44 20 7946 0958"}})
	requireInvalid(t, ev, "si-3", k.id, "identity_intake", wstest.FieldError{Field: "email", Message: "this field is required"})
	if k.status(t) != "pending" {
		t.Fatal("an invalid submit changed the row")
	}
	if ack := k.submit(map[string]any{"values": map[string]any{"email": "dana@example.com"}}); ack.Status() != 200 {
		t.Fatalf("valid submit: %s", ack.Raw)
	}
	k.resumed(t, "request_identity_intake")
}

func TestChecklist37AMismatchLeavesTheTurnParked(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("Thanks!"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	for _, wrong := range []string{uuid.NewString(), "I0", strings.ToUpper(k.id)} {
		wstest.RequireError(t, k.submit(map[string]any{"interactionId": wrong, "values": map[string]any{"email": "d@x.io"}}),
			"si", "INTERACTION_MISMATCH", "the submitted 'interactionId' does not match the pending interaction")
	}
	wstest.RequireError(t, k.submit(map[string]any{"kind": "choices", "values": map[string]any{"email": "d@x.io"}}),
		"si", "INTERACTION_MISMATCH", "the pending interaction is 'identity_intake', not 'choices'")
	stillParked(t, k.c)
	if ack := k.submit(map[string]any{"kind": "identity_intake", "values": map[string]any{"email": "d@x.io"}}); ack.Status() != 200 {
		t.Fatalf("correct submit: %s", ack.Raw)
	}
	k.resumed(t, "request_identity_intake")
}

func TestChecklist38NothingToAnswerGetsNoPendingInteraction(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_INTERACTION_TIMEOUT": "1s"})
	c, ack := e.cardSession([]string{"identity_form"})
	sid := ack.Str("sessionId")
	noPending := func(s string) string { return "no interaction is awaiting submission for session '" + s + "'" }
	submit := func(c *wstest.Client, s, id string) wstest.Event {
		return c.Request(map[string]any{"action": "submit_interaction", "requestId": "si", "sessionId": s, "interactionId": id, "declined": true})
	}
	// No park; an unknown session; a session of another visitor (unreadable): the same answer.
	wstest.RequireError(t, submit(c, sid, uuid.NewString()), "si", "NO_PENDING_INTERACTION", noPending(sid))
	unknown := uuid.NewString()
	wstest.RequireError(t, submit(c, unknown, uuid.NewString()), "si", "NO_PENDING_INTERACTION", noPending(unknown))
	k := e.raiseIn(t, c, sid, "request_identity_intake", identityArgs, textReply("ok"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	stranger := e.dial(nil)
	wstest.RequireError(t, submit(stranger, sid, k.id), "si", "NO_PENDING_INTERACTION", noPending(sid))
	// Field checks.
	wstest.RequireError(t, k.submit(map[string]any{"requestId": nil}), "", "VALIDATION_ERROR", "submit_interaction requires a 'requestId'")
	wstest.RequireError(t, k.submit(map[string]any{"sessionId": nil}), "si", "VALIDATION_ERROR", "submit_interaction requires a 'sessionId'")
	wstest.RequireError(t, k.submit(map[string]any{"interactionId": nil}), "si", "VALIDATION_ERROR", "submit_interaction requires an 'interactionId'")
	wstest.RequireError(t, k.submit(nil), "si", "VALIDATION_ERROR", "submit_interaction requires 'values' (or 'declined': true)")
	wstest.RequireError(t, k.submit(map[string]any{"values": map[string]any{"name": strings.Repeat("n", 16400)}}),
		"si", "VALIDATION_ERROR", "'values' must be at most 16384 bytes")
	// A second submit.
	if ev := k.submit(map[string]any{"declined": true}); ev.Status() != 200 {
		t.Fatalf("first submit: %s", ev.Raw)
	}
	k.resumed(t, "request_identity_intake")
	wstest.RequireError(t, k.submit(map[string]any{"declined": true}), "si", "NO_PENDING_INTERACTION", noPending(sid))
	// After the deadline.
	k = e.raiseIn(t, c, sid, "request_identity_intake", identityArgs, textReply("ok"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.resumed(t, "request_identity_intake")
	wstest.RequireError(t, k.submit(map[string]any{"declined": true}), "si", "NO_PENDING_INTERACTION", noPending(sid))
	// After a cancel.
	k = e.raiseIn(t, c, sid, "request_identity_intake", identityArgs)
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.c.Send(map[string]any{"action": "cancel", "requestId": k.r})
	if ev := k.c.Next(); ev.Type() != "cancelled" {
		t.Fatalf("cancel: %s", ev.Raw)
	}
	wstest.RequireError(t, k.submit(map[string]any{"declined": true}), "si", "NO_PENDING_INTERACTION", noPending(sid))
}

func TestChecklist39TheDeadlineResumesWithNoResponse(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_INTERACTION_TIMEOUT": "1s"})
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("Let me know if you change your mind."))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	if diff := cmp.Diff(wstest.ToolResult{Name: "request_identity_intake", Result: noResponse}, k.resumed(t, "request_identity_intake")); diff != "" {
		t.Fatalf("resumed result (-want +got):\n%s", diff)
	}
	if k.status(t) != "expired" {
		t.Fatalf("status %s", k.status(t))
	}
}

// contact reads a session's contact and its user participant's name.
func contactOf(t *testing.T, e *env, sid string) (name, email, phone string) {
	t.Helper()
	var em, ph *string
	if err := e.srv.Pool.QueryRow(ctx(), `SELECT p.name, s.contact_email, s.contact_phone FROM sessions s
		JOIN participants p ON p.id = s.user_participant_id WHERE s.id = $1`, sid).Scan(&name, &em, &ph); err != nil {
		t.Fatal(err)
	}
	if em != nil {
		email = *em
	}
	if ph != nil {
		phone = *ph
	}
	return name, email, phone
}

func TestChecklist41ASubmitThatLosesToACancelWritesNothing(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs)
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.c.Send(map[string]any{"action": "cancel", "requestId": k.r})
	if ev := k.c.Next(); ev.Type() != "cancelled" || ev.RequestID() != k.r {
		t.Fatalf("cancel: %s", ev.Raw)
	}
	stillParked(t, k.c) // one cancelled, nothing after it
	if k.status(t) != "cancelled" {
		t.Fatalf("status %s", k.status(t))
	}
	ev := k.submit(map[string]any{"values": map[string]any{"name": "Mallory", "email": "m@x.io", "phone": "+15550100199"}})
	wstest.RequireError(t, ev, "si", "NO_PENDING_INTERACTION", "no interaction is awaiting submission for session '"+k.sid+"'")
	if name, email, phone := contactOf(t, e, k.sid); name == "Mallory" || email != "" || phone != "" {
		t.Fatalf("contact written: %q %q %q", name, email, phone)
	}
}

func TestChecklist42EmailAndPhoneRulesOnSubmit(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", `{"fields":[{"key":"email","required":false},{"key":"phone","required":false}],"reason":"r"}`, textReply("ok"))
	k.c.WaitFor("interaction_required")
	k.c.Next() // the toolCall
	k.id = count2id(t, e, k.r)
	for _, bad := range []string{"not-an-email", "a@b", "a b@c.com"} {
		requireInvalid(t, k.submit(map[string]any{"values": map[string]any{"email": bad}}), "si", k.id, "identity_intake",
			wstest.FieldError{Field: "email", Message: "must be a valid email address"})
	}
	requireInvalid(t, k.submit(map[string]any{"values": map[string]any{"phone": "+0123456789"}}), "si", k.id, "identity_intake",
		wstest.FieldError{Field: "phone", Message: "must be a valid phone number (include your country code, e.g. +1 555 123 4567)"})
	requireAck(t, k.submit(map[string]any{"values": map[string]any{"phone": "(555) 123-4567"}}), "Interaction submitted",
		wstest.InteractionAck{SessionID: k.sid, InteractionID: k.id, Kind: "identity_intake", Values: map[string]any{"phone": "+15551234567"}})
	k.resumed(t, "request_identity_intake")
	if _, _, phone := contactOf(t, e, k.sid); phone != "+15551234567" {
		t.Fatalf("contactPhone %q", phone)
	}
}

// count2id is the interaction id of the turn R's pending row.
func count2id(t *testing.T, e *env, r string) string {
	t.Helper()
	var id string
	if err := e.srv.Pool.QueryRow(ctx(), `SELECT id::text FROM pending_interactions WHERE request_id = $1 AND status = 'pending'`, r).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestChecklist43ChoicesRules(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	args := `{"questions":[{"question":"Topic?","header":"Topic","options":["Billing","Shipping"]},` +
		`{"question":"Size?","header":"Size","options":["S","M"],"multiSelect":true}],"reason":"r"}`
	k := newCard(t, e, []string{"choice_chips"}, "request_choices", args, textReply("ok"))
	k.c.WaitFor("interaction_required")
	k.c.Next()
	k.id = count2id(t, e, k.r)
	answers := func(as ...map[string]any) map[string]any {
		list := make([]any, len(as))
		for i, a := range as {
			list[i] = a
		}
		return map[string]any{"values": map[string]any{"answers": list}}
	}
	size := map[string]any{"header": "Size", "options": []any{"S", "M"}}
	requireInvalid(t, k.submit(answers(map[string]any{"header": "Topic", "options": []any{"Returns"}}, size)), "si", k.id, "choices",
		wstest.FieldError{Field: "Topic", Message: "'Returns' is not one of the offered options"})
	requireInvalid(t, k.submit(answers(map[string]any{"header": "Topic", "options": []any{"Billing", "Shipping"}}, size)), "si", k.id, "choices",
		wstest.FieldError{Field: "Topic", Message: "this question takes a single answer"})
	requireInvalid(t, k.submit(answers(size)), "si", k.id, "choices",
		wstest.FieldError{Field: "Topic", Message: "this question must be answered"})
	requireAck(t, k.submit(answers(size, map[string]any{"header": "Topic", "other": "Returns"})), "Interaction submitted",
		wstest.InteractionAck{SessionID: k.sid, InteractionID: k.id, Kind: "choices", Values: map[string]any{"answers": []any{
			map[string]any{"header": "Topic", "options": []any{}, "other": "Returns"}, map[string]any{"header": "Size", "options": []any{"S", "M"}}}}})
	k.resumed(t, "request_choices")
}

func TestChecklist44InvalidRaiseArgumentsNeverPark(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	for _, tc := range []struct{ tool, args, prefix string }{
		{"request_identity_intake", `{"fields":[],"reason":"r"}`, "Error: invalid tool arguments: "},
		{"request_identity_intake", `{"fields":["email",{"key":"email"}],"reason":"r"}`, "Error: invalid tool arguments: duplicate field 'email'"},
		{"request_choices", `{"questions":[{"question":"q","header":"Thirteen char","options":["a","b"]}],"reason":"r"}`, "Error: invalid tool arguments: "},
		{"request_choices", `{"questions":[{"question":"q","header":"A","options":["a","b"]},{"question":"p","header":"A","options":["a","b"]}],"reason":"r"}`,
			"Error: invalid tool arguments: duplicate question header 'A'"},
	} {
		k := newCard(t, e, []string{"identity_form", "choice_chips"}, tc.tool, tc.args, textReply("ok"))
		evs := k.c.Terminal(k.r)
		if diff := cmp.Diff([]string{"stream_chunk", "stream_chunk", "stream_token", "eventual_response"}, types(evs)); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", tc.args, diff)
		}
		res := toolResult(t, chunks(t, evs)[1])
		if !res.IsError || !strings.HasPrefix(res.Result, tc.prefix) || len(res.Result) == len("Error: invalid tool arguments: ") {
			t.Fatalf("%s: %+v", tc.args, res)
		}
	}
	if n := count(t, e, `SELECT count(*) FROM pending_interactions`); n != 0 {
		t.Fatal("an invalid raise wrote a row")
	}
}

func toolNames(r llmtest.Request) []string {
	var names []string
	for _, tl := range r.Chat.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func TestChecklist45TheSubmitToolOnTheConversationalPath(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	// Both kinds rich: no submit tool.
	c, ack := e.cardSession([]string{"identity_form", "choice_chips"})
	e.gw.Push(textReply("hi"))
	c.Terminal(send(t, c, ack.Str("sessionId"), "hello"))
	if diff := cmp.Diff([]string{"knowledge_search", "request_identity_intake", "request_choices"}, toolNames(e.gw.Request(0))); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}
	// Choices on the conversational path: the submit tool offers that kind only.
	c, ack = e.cardSession([]string{"identity_form"})
	sid := ack.Str("sessionId")
	e.gw.Push(textReply("hi"))
	c.Terminal(send(t, c, sid, "hello"))
	req := e.gw.Request(1)
	if diff := cmp.Diff([]string{"knowledge_search", "request_identity_intake", "request_choices", "submit_interaction"}, toolNames(req)); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}
	if p := string(req.Chat.Tools[3].Parameters); !strings.Contains(p, `"enum":["choices"]`) {
		t.Fatalf("submit tool schema %s", p)
	}

	// Without capabilities: raise, then submit invalid values, then valid ones.
	c, ack = e.cardSession(nil)
	sid = ack.Str("sessionId")
	e.gw.Push(
		raise("request_identity_intake", `{"fields":["name","email"],"reason":"to follow up"}`),
		llmtest.ToolCalls(llmtest.Call{ID: "c2", Name: "submit_interaction", Arguments: `{"kind":"identity_intake","values":{"email":"dana@example"}}`}),
		llmtest.ToolCalls(llmtest.Call{ID: "c3", Name: "submit_interaction", Arguments: `{"kind":"identity_intake","values":{"name":" Dana ","email":"Dana@Example.COM"}}`}),
		textReply("Thanks, Dana."),
	)
	evs := c.Terminal(send(t, c, sid, "Please follow up with me."))
	cs := chunks(t, evs)
	if len(cs) != 6 {
		t.Fatalf("chunks %v", types(evs))
	}
	invalid := toolResult(t, cs[3])
	want := wstest.ToolResult{Name: "submit_interaction", IsError: true,
		Result: "Error: validation failed — name: this field is required; email: must be a valid email address. Re-ask the visitor for the corrected value(s) and submit again."}
	if diff := cmp.Diff(want, invalid); diff != "" {
		t.Fatalf("invalid (-want +got):\n%s", diff)
	}
	want = wstest.ToolResult{Name: "submit_interaction", Result: `{"status":"submitted","values":{"name":"Dana","email":"Dana@example.com"}}`}
	if diff := cmp.Diff(want, toolResult(t, cs[5])); diff != "" {
		t.Fatalf("valid (-want +got):\n%s", diff)
	}
	if name, email, _ := contactOf(t, e, sid); name != "Dana" || email != "Dana@example.com" {
		t.Fatalf("contact %q %q", name, email)
	}
	// Declined through the tool: nothing written.
	e.gw.Push(llmtest.ToolCalls(llmtest.Call{ID: "c4", Name: "submit_interaction", Arguments: `{"kind":"identity_intake","declined":true}`}), textReply("ok"))
	evs = c.Terminal(send(t, c, sid, "No thanks."))
	want = wstest.ToolResult{Name: "submit_interaction", Result: `{"status":"declined","message":"Noted. Continue helping the visitor without this and do not ask again this conversation."}`}
	if diff := cmp.Diff(want, toolResult(t, chunks(t, evs)[1])); diff != "" {
		t.Fatalf("declined (-want +got):\n%s", diff)
	}
}

func TestChecklist46InteractionToolsAreNeverGated(t *testing.T) {
	e := newEnv(t, fixture.Agent{ConfirmTools: []string{"*"}}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs, textReply("ok"))
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	k.submit(map[string]any{"declined": true})
	k.resumed(t, "request_identity_intake")
	c, ack := e.cardSession(nil)
	e.gw.Push(raise("request_choices", choicesArgs),
		llmtest.ToolCalls(llmtest.Call{ID: "c2", Name: "submit_interaction", Arguments: `{"kind":"choices","values":{"answers":[{"header":"Topic","options":["Billing"]}]}}`}),
		textReply("ok"))
	evs := c.Terminal(send(t, c, ack.Str("sessionId"), "hi"))
	for _, ev := range evs {
		if ev.Type() == "write_confirmation_required" {
			t.Fatalf("gated: %s", ev.Raw)
		}
	}
	if res := toolResult(t, chunks(t, evs)[3]); res.IsError || !strings.HasPrefix(res.Result, `{"status":"submitted"`) {
		t.Fatalf("submit tool %+v", res)
	}
	if n := count(t, e, `SELECT count(*) FROM pending_approvals`); n != 0 {
		t.Fatal("an approval was written")
	}
}

func TestDisconnectWhileParkedOnACardRecordsItCancelled(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs)
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	_ = k.c.Conn.Close()
	testkit.Eventually(t, "interaction cancelled", func() bool { return k.status(t) == "cancelled" })
}

func TestCancelWhileParkedOnACardSendsOneCancelled(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs)
	k.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	if ev := k.c.Request(map[string]any{"action": "send_message", "requestId": "r-x", "sessionId": k.sid, "message": "Hello?"}); ev.Code() != "TURN_IN_PROGRESS" {
		t.Fatalf("send while parked: %s", ev.Raw)
	}
	k.c.Send(map[string]any{"action": "cancel", "requestId": k.r})
	want := wstest.Envelope[wstest.Cancelled]{Type: "cancelled", RequestID: k.r, Status: 499, Data: wstest.Cancelled{RequestID: k.r, Status: 499}}
	if diff := cmp.Diff(want, wstest.Decode[wstest.Cancelled](t, k.c.Next())); diff != "" {
		t.Fatalf("cancelled (-want +got):\n%s", diff)
	}
	stillParked(t, k.c) // no toolResult, nothing else for R
	if k.status(t) != "cancelled" {
		t.Fatalf("status %s", k.status(t))
	}
}

func TestChecklist41TheAdminAPIShowsTheCapturedContact(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	k := newCard(t, e, []string{"identity_form"}, "request_identity_intake",
		`{"fields":["name","email",{"key":"phone","required":false}],"reason":"to follow up"}`, textReply("Thanks, Dana."))
	k.c.WaitFor("interaction_required")
	k.c.Next()
	k.id = count2id(t, e, k.r)
	ack := k.submit(map[string]any{"values": map[string]any{"name": " Dana ", "email": "Dana@Example.COM", "phone": "(555) 010-0199"}})
	if ack.Status() != 200 {
		t.Fatalf("submit: %s", ack.Raw)
	}
	k.resumed(t, "request_identity_intake")
	var conv string
	if err := e.srv.Pool.QueryRow(ctx(), `SELECT conversation_id::text FROM sessions WHERE id = $1`, k.sid).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	status, body := e.admin(e.org, "GET", "/admin/conversations/"+conv, nil)
	if status != 200 {
		t.Fatalf("GET conversation: %d %s", status, body)
	}
	parts := testkit.DecodeJSON[struct {
		Conversation admintest.Conversation `json:"conversation"`
	}](t, body).Conversation.Participants
	if len(parts) != 2 {
		t.Fatalf("participants %+v", parts)
	}
	user, bot := parts[0], parts[1]
	if user.Type != "user" {
		user, bot = bot, user
	}
	if user.Type != "user" || user.Name != "Dana" || deref(user.ContactEmail) != "Dana@example.com" ||
		deref(user.ContactPhone) != "+15550100199" || user.ContactEmailVerifiedAt != nil || user.Email != nil {
		t.Fatalf("user participant %+v", user)
	}
	if bot.ContactEmail != nil || bot.ContactPhone != nil || bot.ContactEmailVerifiedAt != nil {
		t.Fatalf("agent participant %+v", bot)
	}
	// The interaction tools are in the org's defaults, and an org can remove them.
	status, body = e.admin(e.org, "GET", "/admin/settings", nil)
	if status != 200 || !strings.Contains(string(body), `"defaultTools":["knowledge_search","request_identity_intake","request_choices"]`) {
		t.Fatalf("settings: %d %s", status, body)
	}
	if status, body := e.admin(e.org, "PUT", "/admin/settings", map[string]any{"model": "gpt-4o-mini", "systemPrompt": "Be brief.", "defaultTools": []string{"request_choices"}}); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	before := e.gw.RequestCount()
	e.gw.Push(textReply("hi"))
	k.c.Terminal(send(t, k.c, k.sid, "hello"))
	if diff := cmp.Diff([]string{"request_choices", "submit_interaction"}, toolNames(e.gw.Request(before))); diff != "" {
		t.Fatalf("tools (-want +got):\n%s", diff)
	}
	// No tenant tool may take an interaction tool's name.
	for _, name := range []string{"request_identity_intake", "Request_Choices", "submit_interaction"} {
		status, body := e.admin(e.org, "POST", "/admin/agents/"+e.agent.ID.String()+"/tools",
			map[string]any{"name": name, "description": "d", "url": "https://tools.example.com/x"})
		if status != 400 || !strings.Contains(string(body), `"field":"name"`) {
			t.Fatalf("tool named %s: %d %s", name, status, body)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestDrainServesSubmitsThenEndsParkedCardsAtTheDeadline pins PROTOCOL-1.1 §1.8: while the
// instance drains, submit_interaction is still served and resumes its turn; a card still
// parked at the deadline is recorded cancelled and its turn ends with AGENT_ERROR.
func TestDrainServesSubmitsThenEndsParkedCardsAtTheDeadline(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "2s"})
	answered := newCard(t, e, []string{"choice_chips"}, "request_choices", choicesArgs)
	answered.required(t, "choices", choicesSpec, "to route you to the right team", "request_choices", choicesArgs)
	left := newCard(t, e, []string{"identity_form"}, "request_identity_intake", identityArgs)
	left.required(t, "identity_intake", identitySpec, "to email you the brochure", "request_identity_intake", identityArgs)
	e.gw.Push(textReply("Routed."))
	other := e.dial(nil)
	shut := make(chan error, 1)
	go func() { shut <- e.srv.Shutdown(context.Background()) }()
	testkit.Eventually(t, "draining", func() bool {
		ev := other.Request(map[string]any{"action": "create_conversation_session", "requestId": "d1", "agentId": e.agent.ID.String()})
		return ev.Code() == "SERVER_SHUTTING_DOWN"
	})
	requireAck(t, answered.submit(map[string]any{"declined": true}), "Interaction declined",
		wstest.InteractionAck{SessionID: answered.sid, InteractionID: answered.id, Kind: "choices", Declined: true})
	answered.resumed(t, "request_choices")
	evs := left.c.Terminal(left.r)
	wstest.RequireError(t, evs[len(evs)-1], left.r, "AGENT_ERROR", "agent turn failed: server is shutting down")
	// The turn's end and the row's update race (both follow the cancellation).
	testkit.Eventually(t, "the card left at the deadline is cancelled", func() bool { return left.status(t) == "cancelled" })
	if err := <-shut; err != nil {
		t.Logf("shutdown: %v (the parked turn outlives the drain on purpose)", err)
	}
}
