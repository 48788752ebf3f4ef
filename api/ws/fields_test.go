package ws_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// create sends a create_conversation_session with extra fields and returns its answer.
func create(e *env, c *wstest.Client, extra map[string]any) wstest.Event {
	f := map[string]any{"action": "create_conversation_session", "requestId": "c", "agentId": e.agent.ID.String()}
	for k, v := range extra {
		f[k] = v
	}
	return c.Request(f)
}

// stored reads a session's contact email and capabilities, and its conversation's
// clientSupports.
func stored(t *testing.T, e *env, sessionID string) (email *string, supports, clientSupports []string) {
	t.Helper()
	err := e.srv.Pool.QueryRow(ctx(), `SELECT s.contact_email, s.supports, c.client_supports
		FROM sessions s JOIN conversations c ON c.id = s.conversation_id WHERE s.id = $1`, sessionID).Scan(&email, &supports, &clientSupports)
	if err != nil {
		t.Fatal(err)
	}
	return email, supports, clientSupports
}

// Checklist 63 and PROTOCOL-1.1 §4.2.8: an invalid userEmail is ignored, a valid one stored
// normalized.
func TestUserEmailIsStoredNormalizedOrIgnored(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" // 255 characters
	for _, tc := range []struct {
		in   any
		want string // "" for no contact email
	}{
		{"  Dana@Example.COM ", "Dana@example.com"},
		{"not-an-email", ""},
		{"a@b", ""},
		{"a b@c.com", ""},
		{"a@@c.com", ""},
		{"a@c..com", ""},
		{strings.Repeat("x", 65) + "@c.com", ""},
		{long, ""},
		{long[1:], long[1:]}, // 254 characters
		{"   ", ""},
		{42, ""},
	} {
		ev := create(e, c, map[string]any{"userEmail": tc.in})
		if ev.Status() != 200 {
			t.Fatalf("userEmail %v: the create was refused: %s", tc.in, ev.Raw)
		}
		email, _, _ := stored(t, e, ev.Str("sessionId"))
		got := ""
		if email != nil {
			got = *email
		}
		if got != tc.want {
			t.Errorf("userEmail %v: stored %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSupportsAreCappedDeduplicatedAndInherited(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	many := make([]any, 33)
	for i := range many {
		many[i] = "cap-" + strings.Repeat("x", i)
	}
	rows := func() int {
		return count(t, e, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM conversations)`)
	}
	before := rows()
	for _, bad := range [][]any{many, {"ok", ""}, {strings.Repeat("é", 65)}} {
		wstest.RequireError(t, create(e, c, map[string]any{"supports": bad}), "c", "VALIDATION_ERROR",
			"'supports' must hold at most 32 strings of 1 to 64 characters")
	}
	if rows() != before {
		t.Fatal("a refused create wrote rows")
	}

	// 32 entries of 64 characters are fine; duplicates are dropped, keeping the first.
	ok := many[:32]
	ok[31] = strings.Repeat("é", 64)
	if ev := create(e, c, map[string]any{"supports": ok}); ev.Status() != 200 {
		t.Fatalf("32 entries: %s", ev.Raw)
	}
	ev := create(e, c, map[string]any{"supports": []any{"identity_form", "otp_form", "identity_form"}})
	sid, conv := ev.Str("sessionId"), ev.Str("conversationId")
	_, supports, client := stored(t, e, sid)
	if diff := cmp.Diff([]string{"identity_form", "otp_form"}, supports); diff != "" {
		t.Fatalf("session capabilities (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(supports, client); diff != "" {
		t.Fatalf("clientSupports (-want +got):\n%s", diff)
	}

	// A resume without supports inherits the conversation's list; a non-array counts as absent.
	resume := func(supports any) []string {
		f := map[string]any{"conversationId": conv}
		if supports != nil {
			f["supports"] = supports
		}
		ev := create(e, c, f)
		if ev.Str("conversationId") != conv {
			t.Fatalf("not resumed: %s", ev.Raw)
		}
		_, got, _ := stored(t, e, ev.Str("sessionId"))
		return got
	}
	if diff := cmp.Diff([]string{"identity_form", "otp_form"}, resume(nil)); diff != "" {
		t.Fatalf("resume without supports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"identity_form", "otp_form"}, resume("identity_form")); diff != "" {
		t.Fatalf("resume with a string (-want +got):\n%s", diff)
	}
	// An explicit [] turns them off for the new session and for later resumes.
	if got := resume([]any{}); len(got) != 0 || got == nil {
		t.Fatalf("resume with []: %#v", got)
	}
	_, first, client := stored(t, e, sid)
	if len(first) != 2 || len(client) != 0 || client == nil {
		t.Fatalf("after []: first session %v, clientSupports %#v", first, client)
	}
	if got := resume(nil); len(got) != 0 || got == nil {
		t.Fatalf("resume after []: %#v", got)
	}

	// A fresh conversation without supports: no capabilities, clientSupports left unset.
	ev = create(e, c, nil)
	if _, got, client := stored(t, e, ev.Str("sessionId")); got == nil || len(got) != 0 || client != nil {
		t.Fatalf("fresh without supports: %#v %#v", got, client)
	}
}

func TestMetadataIsMeasuredAsStored(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, nil)
	c := e.dial(nil)
	for _, tc := range []struct {
		name     string
		metadata string
		ok       bool
	}{
		{"16384 bytes", `{"k":"` + strings.Repeat("x", 16384-8) + `"}`, true},
		{"16385 bytes", `{"k":"` + strings.Repeat("x", 16384-7) + `"}`, false},
		// Eight bytes that PostgreSQL would print as 100,001 digits.
		{"a huge exponent", `{"n":1e100000}`, false},
		{"a small exponent", `{"n":1.5e3}`, true},
	} {
		// The case's name is the requestId, so that a failure names the case.
		c.SendRaw(1, []byte(`{"action":"create_conversation_session","requestId":"`+tc.name+`","agentId":"`+e.agent.ID.String()+`","metadata":`+tc.metadata+`}`))
		ev := c.Next()
		if !tc.ok {
			wstest.RequireError(t, ev, tc.name, "VALIDATION_ERROR", "'metadata' must be at most 16384 bytes")
		} else if ev.Type() != "immediate_response" || ev.Status() != 200 {
			t.Fatalf("%s: %s", tc.name, ev.Raw)
		}
	}
}
