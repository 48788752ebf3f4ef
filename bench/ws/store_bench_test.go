package wsbench

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// BenchmarkTurnRoundTrips times, one at a time on a single connection, each database round
// trip of a plain turn (send_message's session read, its input read and the user message;
// the end-of-turn record), reporting the PostgreSQL backend's CPU per call (pg-ns/op) next to
// the wall time. Run it with
//
//	go test ./bench/ws -run '^$' -bench BenchmarkTurnRoundTrips -benchtime 2000x
func BenchmarkTurnRoundTrips(b *testing.B) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.NewURL(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["application_name"] = "switchboard" // what pgBackends reads
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	var pid int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	st := store.New(pool, nil)
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	fx := fixture.New(b, pool)
	org := fx.Org(fixture.Org{Name: "Bench"})
	ag := fx.Agent(org.ID, fixture.Agent{Name: "a"})
	chat := fx.Conversation(org.ID, ag.ID, fixture.Conversation{UserName: "u"})
	conv, user, bot, sess := chat.Conversation, chat.User, chat.Agent, chat.Session
	// A conversation at the history cap, as in a long session.
	for i := 0; i < 50; i++ {
		must(st.InsertUserMessage(ctx, org.ID, conv.ID, user.ID, "benchmark question", "r"))
	}
	reply := strings.Repeat("tok ", 50)
	calls := []struct {
		name string
		call func() error
	}{
		{"session", func() error { _, err := st.SessionForWS(ctx, sess.ID); return err }},
		{"inputs", func() error { _, err := st.LoadTurnInputs(ctx, org.ID, ag.ID, uuid.Nil, conv.ID, 50); return err }},
		{"user_message", func() error { return st.InsertUserMessage(ctx, org.ID, conv.ID, user.ID, "benchmark question", "r") }},
		{"record_turn", func() error {
			_, err := st.RecordTurn(ctx, store.TurnRecord{TurnID: uuid.New(), OrgID: org.ID, AgentID: ag.ID,
				ConversationID: conv.ID, SessionID: sess.ID, AgentParticipantID: bot.ID, RequestID: "r", Model: "gpt-4o-mini",
				Outcome: "completed", Reply: reply, ReplyUsage: []byte(`{"promptTokens":100,"completionTokens":50,"costUsd":0}`),
				PromptTokens: 100, CompletionTokens: 50, CalledGateway: true})
			return err
		}},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			must(c.call()) // prepared on the connection before timing
			b.ResetTimer()
			pg0 := pgBackends(pool)[pid]
			for range b.N {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pgBackends(pool)[pid]-pg0)/float64(b.N), "pg-ns/op")
		})
	}
}
