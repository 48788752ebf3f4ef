package scalebench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// idRNG is the stream of one row's details, named by a kind and the row's id, so that a
// conversation's messages come out the same whichever pass or order draws them.
func idRNG(seed uint64, kind string, id uuid.UUID) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(kind))
	return rand.New(rand.NewPCG(seed^h.Sum64(), binary.LittleEndian.Uint64(id[:8])^binary.LittleEndian.Uint64(id[8:]))) //nolint:gosec // G404: the generator is deterministic by design; nothing here is secret
}

// flat streams the rows that rows(item) makes for each item in turn.
func flat[T any](items []T, rows func(T) [][]any) func() ([]any, error) {
	i := 0
	var pending [][]any
	return func() ([]any, error) {
		for len(pending) == 0 {
			if i == len(items) {
				return nil, nil
			}
			pending = rows(items[i])
			i++
		}
		r := pending[0]
		pending = pending[1:]
		return r, nil
	}
}

// pace is the seconds between two messages of a conversation (20..69).
func pace(c convPlan) time.Duration { return time.Duration(20+int(c.id[15])%50) * time.Second }

func (c convPlan) at(i int) time.Time {
	return time.UnixMilli(c.start).UTC().Add(time.Duration(i) * pace(c))
}

// probeTokenExpiry keeps the measured conversations' resume tokens valid for any run.
var probeTokenExpiry = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *gen) conversations(ctx context.Context) error {
	return g.copyRows(ctx, "conversations", []string{"id", "org_id", "agent_id", "title", "metadata", "message_count",
		"last_message_at", "created_at", "updated_at"}, each(g.convs, func(c convPlan) []any {
		o := g.orgs[c.org]
		r := idRNG(g.seed, "conversation", c.id)
		var title, metadata *string
		if r.IntN(10) == 0 {
			t := newWriter(r, o.topic).title()
			t = t[:min(len(t), 60)] // a stored title is at most 60 characters (ASCII here)
			title = &t
		}
		if r.IntN(5) == 0 {
			m := `{"page": "/pricing", "campaign": "spring"}`
			metadata = &m
		}
		last := c.at(int(c.msgs) - 1)
		return []any{c.id, o.id, o.agents[c.agent].id, title, metadata, int32(c.msgs), last, c.at(0), last}
	}))
}

// participants: the visitor and the agent of each conversation. Three in ten visitors were
// signed in through a verified authContext (an owned conversation); the measured
// conversations are ownerless, so that the runner resumes them with their resume token.
func (g *gen) participants(ctx context.Context) error {
	return g.copyRows(ctx, "participants", []string{"id", "org_id", "conversation_id", "type", "name", "email", "external_id", "created_at"},
		flat(g.convs, func(c convPlan) [][]any {
			o := g.orgs[c.org]
			var email, ext *string
			name := "Visitor"
			if c.external {
				tag := hex.EncodeToString(c.userP[:5])
				e, x := "user-"+tag+"@tenant-"+o.key+".example.com", "ctx:user-"+tag
				email, ext, name = &e, &x, "Customer "+tag[:4]
			}
			return [][]any{
				{c.userP, o.id, c.id, "user", name, email, ext, c.at(0)},
				{c.agentP, o.id, c.id, "ai-agent", o.agents[c.agent].name, nil, nil, c.at(0)},
			}
		}))
}

func (g *gen) sessions(ctx context.Context) error {
	return g.copyRows(ctx, "sessions", []string{"id", "org_id", "conversation_id", "agent_id", "user_participant_id",
		"agent_participant_id", "user_name", "resume_token_hash", "resume_token_expires_at", "created_at"},
		each(g.convs, func(c convPlan) []any {
			o := g.orgs[c.org]
			hash := sha256.Sum256(c.session[:])
			expires := c.at(0).Add(30 * 24 * time.Hour)
			if c.probe {
				hash = sha256.Sum256([]byte(o.probe.ResumeToken))
				expires = probeTokenExpiry
			}
			return []any{c.session, o.id, c.id, o.agents[c.agent].id, c.userP, c.agentP, "Visitor", hash[:], expires, c.at(0)}
		}))
}

// messages: the visitor's questions and the agent's replies, alternating, in the order
// they arrived (the per-table sequence follows the copy order).
func (g *gen) messages(ctx context.Context) error {
	return g.copyRows(ctx, "messages", []string{"id", "org_id", "conversation_id", "participant_id", "direction", "text",
		"request_id", "usage", "created_at"}, flat(g.convs, func(c convPlan) [][]any {
		o := g.orgs[c.org]
		r := idRNG(g.seed, "messages", c.id)
		w := newWriter(r, o.topic)
		rows := make([][]any, c.msgs)
		for i := range rows {
			req := "r-" + strconv.Itoa(i/2)
			if i%2 == 0 {
				text := w.question()
				if r.IntN(5) < 3 {
					text = w.prose(40 + r.IntN(120))
				}
				rows[i] = []any{newID(r), o.id, c.id, c.userP, "inbound", text, req, nil, c.at(i)}
				continue
			}
			text := w.prose(150 + r.IntN(550))
			usage := fmt.Sprintf(`{"promptTokens": %d, "completionTokens": %d, "costUsd": %.6f}`,
				300+r.IntN(1500), len(text)/4, float64(len(text))*2.5e-7)
			rows[i] = []any{newID(r), o.id, c.id, c.agentP, "outbound", text, req, usage, c.at(i)}
		}
		return rows
	}))
}

// usage: as many usage rows as messages, the proportion, each in its
// conversation's time span and paid by the org's own key when it has one.
func (g *gen) usage(ctx context.Context) error {
	return g.copyRows(ctx, "usage_events", []string{"id", "org_id", "agent_id", "conversation_id", "session_id", "request_id",
		"model", "prompt_tokens", "completion_tokens", "tokens_estimated", "cost_usd", "cost_estimated", "gateway_key_id",
		"outcome", "created_at"}, flat(g.convs, func(c convPlan) [][]any {
		o := g.orgs[c.org]
		r := idRNG(g.seed, "usage", c.id)
		rows := make([][]any, c.msgs)
		for i := range rows {
			prompt, completion := int64(300+r.IntN(3000)), int64(20+r.IntN(400))
			outcome := "completed"
			switch n := r.IntN(100); {
			case n < 2:
				outcome = "error"
			case n < 3:
				outcome = "cancelled"
			}
			model := models[r.IntN(len(models))]
			cost := float64(prompt)*1.5e-7 + float64(completion)*6e-7
			rows[i] = []any{newID(r), o.id, o.agents[c.agent].id, c.id, c.session, "r-" + strconv.Itoa(i/2), model,
				prompt, completion, false, cost, true, o.gatewayKey, outcome, c.at(i).Add(2 * time.Second)}
		}
		return rows
	}))
}

// usageMonths writes the month counters the budget checks read, from the usage rows, with
// the shard a turn would have picked (the last byte of its id): every token, and those the
// server's key paid for (no org key).
func (g *gen) usageMonths(ctx context.Context) error {
	_, err := g.conn.Exec(ctx, `
		INSERT INTO org_usage_months (org_id, month, shard, tokens, server_key_tokens)
		SELECT org_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, get_byte(uuid_send(id), 15) % 16,
		       sum(prompt_tokens + completion_tokens),
		       coalesce(sum(prompt_tokens + completion_tokens) FILTER (WHERE gateway_key_id IS NULL), 0)
		FROM usage_events GROUP BY 1, 2, 3`)
	return err
}

// usageDays writes the daily rollup GET /admin/usage reads (migration 00025), from the usage
// rows, as the triggers on usage_events would have kept it (they do not fire during the
// load, under session_replication_role = replica; when they did, this replaces their rows).
func (g *gen) usageDays(ctx context.Context) error {
	_, err := g.conn.Exec(ctx, `
		DELETE FROM usage_days;
		INSERT INTO usage_days (org_id, day, agent_id, model, gateway_key_id, shard, turns, prompt_tokens, completion_tokens, cost_usd)
		SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, agent_id, model,
		       coalesce(gateway_key_id, '00000000-0000-0000-0000-000000000000'), get_byte(uuid_send(id), 15) % 4,
		       count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
		FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6`)
	return err
}
