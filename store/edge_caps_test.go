package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// The schema backs every cap on a visitor-supplied field (migrations/00017_edge_caps.sql):
// a bug that skips a handler's check still cannot store megabytes.
func TestCheckConstraintsRefuseOversizedVisitorFields(t *testing.T) {
	w := newTurnWorld(t)
	caps := func(n, size int) string { // an array of n strings of size characters
		items := make([]string, n)
		for i := range items {
			items[i] = "'" + strings.Repeat("é", size-1) + string(rune('a'+i%26)) + "'"
		}
		return "ARRAY[" + strings.Join(items, ",") + "]::text[]"
	}
	approval := func(args string) string {
		return `INSERT INTO pending_approvals (org_id, session_id, conversation_id, agent_id, request_id, tool_name, arguments, instance_id, expires_at)
			SELECT s.org_id, s.id, s.conversation_id, s.agent_id, 'r', 't', ` + args + `, i.id, now() FROM sessions s, instances i WHERE s.id = $1`
	}
	w.exec(t, `INSERT INTO instances (id) VALUES ($1)`, uuid.New())
	conv, sess, user := []any{w.conv.ID}, []any{w.sessionID}, []any{w.user}
	for _, tc := range []struct {
		what     string
		ok, over string // statements at the cap and past it
		args     []any
	}{
		{"session user_name", `UPDATE sessions SET user_name = repeat('x', 200) WHERE id = $1`, `UPDATE sessions SET user_name = repeat('x', 201) WHERE id = $1`, sess},
		{"session contact_email", `UPDATE sessions SET contact_email = repeat('x', 320) WHERE id = $1`, `UPDATE sessions SET contact_email = repeat('x', 321) WHERE id = $1`, sess},
		{"session supports count", `UPDATE sessions SET supports = ` + caps(32, 64) + ` WHERE id = $1`, `UPDATE sessions SET supports = ` + caps(33, 1) + ` WHERE id = $1`, sess},
		{"session supports length", `UPDATE sessions SET supports = ARRAY['a']::text[] WHERE id = $1`, `UPDATE sessions SET supports = ` + caps(1, 65) + ` WHERE id = $1`, sess},
		{"session supports empty entry", `UPDATE sessions SET supports = '{}' WHERE id = $1`, `UPDATE sessions SET supports = ARRAY['']::text[] WHERE id = $1`, sess},
		{"conversation client_supports", `UPDATE conversations SET client_supports = ` + caps(32, 64) + ` WHERE id = $1`, `UPDATE conversations SET client_supports = ` + caps(33, 64) + ` WHERE id = $1`, conv},
		{"conversation metadata", `UPDATE conversations SET metadata = jsonb_build_object('k', repeat('x', 32759)) WHERE id = $1`, `UPDATE conversations SET metadata = jsonb_build_object('k', repeat('x', 32760)) WHERE id = $1`, conv},
		{"conversation title", `UPDATE conversations SET title = repeat('t', 60) WHERE id = $1`, `UPDATE conversations SET title = repeat('t', 61) WHERE id = $1`, conv},
		{"participant name", `UPDATE participants SET name = repeat('n', 200) WHERE id = $1`, `UPDATE participants SET name = repeat('n', 201) WHERE id = $1`, user},
		{"participant email", `UPDATE participants SET email = repeat('e', 320) WHERE id = $1`, `UPDATE participants SET email = repeat('e', 321) WHERE id = $1`, user},
		{"participant external_id", `UPDATE participants SET external_id = 'ctx:' || repeat('u', 256) WHERE id = $1`, `UPDATE participants SET external_id = 'ctx:' || repeat('u', 257) WHERE id = $1`, user},
		{"participant fingerprint", `UPDATE participants SET browser_fingerprint = repeat('f', 256) WHERE id = $1`, `UPDATE participants SET browser_fingerprint = repeat('f', 257) WHERE id = $1`, user},
		{"inbound message", `INSERT INTO messages (org_id, conversation_id, direction, text) SELECT org_id, id, 'inbound', repeat('m', 10000) FROM conversations WHERE id = $1`,
			`INSERT INTO messages (org_id, conversation_id, direction, text) SELECT org_id, id, 'inbound', repeat('m', 10001) FROM conversations WHERE id = $1`, conv},
		{"message request_id", `INSERT INTO messages (org_id, conversation_id, direction, text, request_id) SELECT org_id, id, 'outbound', 'x', repeat('r', 256) FROM conversations WHERE id = $1`,
			`INSERT INTO messages (org_id, conversation_id, direction, text, request_id) SELECT org_id, id, 'outbound', 'x', repeat('r', 257) FROM conversations WHERE id = $1`, conv},
		{"approval arguments", approval(`jsonb_build_object('k', repeat('a', 65527))`), approval(`jsonb_build_object('k', repeat('a', 65528))`), sess},
	} {
		if _, err := w.pool.Exec(w.ctx, tc.ok, tc.args...); err != nil {
			t.Errorf("%s at the cap: %v", tc.what, err)
		}
		_, err := w.pool.Exec(w.ctx, tc.over, tc.args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" {
			t.Errorf("%s past the cap: err = %v, want a check violation", tc.what, err)
		}
	}
	// A long reply is not a visitor's field: outbound text is not capped here.
	w.exec(t, `INSERT INTO messages (org_id, conversation_id, direction, text) SELECT org_id, id, 'outbound', repeat('m', 20000) FROM conversations WHERE id = $1`, w.conv.ID)
}

// JSONBSize bounds what PostgreSQL prints for a JSON value stored as jsonb, which is what the
// CHECK constraints measure.
func TestJSONBSizeBoundsWhatPostgreSQLPrints(t *testing.T) {
	w := newTurnWorld(t)
	for _, v := range []string{
		`{}`, `[]`, `{"a":1}`, `{"a":[1,2,3],"b":{"c":null,"d":true}}`, `[1,1,1,1,1,1,1,1]`,
		`{"n":1e5}`, `{"n":-1.5E-7}`, `{"n":1e+20}`, `{"n":123.4500}`, `{"n":0.1e1}`,
		`{"s":"\u00e9\u0001\n\"\\\/"}`, `{"s":"é ünïcode","k":"a,b:c"}`, `{"b":1,"a":2,"b":3}`,
		`[[[[{"x":[1e3,2e-3]}]]]]`,
	} {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(v)); err != nil {
			t.Fatal(err)
		}
		var printed int
		if err := w.pool.QueryRow(w.ctx, `SELECT octet_length($1::jsonb::text)`, compact.String()).Scan(&printed); err != nil {
			t.Fatal(err)
		}
		if bound := store.JSONBSize(compact.Bytes()); bound < printed {
			t.Errorf("%s: JSONBSize %d < printed %d", v, bound, printed)
		}
	}
	if n := store.JSONBSize([]byte(`{"n":1e100000}`)); n < 100000 {
		t.Errorf("a huge exponent measures %d", n)
	}
}

// L9 reads the tokens the server's key paid for this month, kept next to the month's total.
func TestTheMonthCounterKeepsTheServerKeysShare(t *testing.T) {
	w := newTurnWorld(t)
	keyID := uuid.New()
	if _, err := q.GatewayKeyCreate(w.ctx, w.pool, db.GatewayKeyCreateParams{
		ID: keyID, OrgID: w.org, Label: "k", KeyCiphertext: []byte{1}, Last4: "abcd", CreatedBy: "test",
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.TurnRecord{
		{Outcome: "completed", Reply: "a", PromptTokens: 10, CompletionTokens: 2, CalledGateway: true, ServerKeyPaid: true},
		{Outcome: "error", PromptTokens: 5, CompletionTokens: 0, CalledGateway: true, ServerKeyPaid: true},
		{Outcome: "completed", Reply: "b", PromptTokens: 100, CompletionTokens: 20, CalledGateway: true, GatewayKeyID: uuid.NullUUID{UUID: keyID, Valid: true}},
		// The offline model: no key, and nobody paid.
		{Outcome: "completed", Reply: "c", Model: "switchboard-demo", PromptTokens: 1000, CompletionTokens: 200, CalledGateway: true},
	} {
		if _, err := w.record(r); err != nil {
			t.Fatal(err)
		}
	}
	in, err := w.st.LoadTurnInputs(w.ctx, w.org, w.agent.ID, uuid.Nil, w.conv.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if in.MonthTokens != 1337 || in.ServerKeyMonthTokens != 17 {
		t.Fatalf("month %d, server key %d; want 1337 and 17", in.MonthTokens, in.ServerKeyMonthTokens)
	}
}
