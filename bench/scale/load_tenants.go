package scalebench

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/seal"
)

// EncryptionKey seals the generated gateway keys; the runner starts the server with it.
var EncryptionKey = base64.StdEncoding.EncodeToString([]byte("switchboard-scale-bench-key-32b!"))

// gen holds one generation: the plan and the connection it copies into.
type gen struct {
	conn  *pgx.Conn
	seed  uint64
	sz    Size
	orgs  []*orgPlan
	convs []convPlan
	runs  []runPlan
}

func (g *gen) plan() error {
	g.orgs = planOrgs(g.seed, g.sz)
	g.convs = planConversations(g.seed, g.orgs)
	g.runs = planRuns(g.seed, g.orgs)
	return nil
}

// copyRows streams rows from next (nil row: done) into table through COPY.
func (g *gen) copyRows(ctx context.Context, table string, cols []string, next func() ([]any, error)) error {
	_, err := g.conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(next))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

// each turns a slice walk into a COPY source.
func each[T any](items []T, row func(T) []any) func() ([]any, error) {
	i := 0
	return func() ([]any, error) {
		if i == len(items) {
			return nil, nil
		}
		i++
		return row(items[i-1]), nil
	}
}

var models = []string{"gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"}

// tenants copies orgs, their API keys, agents, tools, settings and gateway keys.
func (g *gen) tenants(ctx context.Context) error {
	box, err := seal.New(mustKey())
	if err != nil {
		return err
	}
	if err := g.copyRows(ctx, "orgs", []string{"id", "name", "created_at"}, each(g.orgs, func(o *orgPlan) []any {
		return []any{o.id, o.name, o.created}
	})); err != nil {
		return err
	}
	if err := g.copyRows(ctx, "api_keys", []string{"id", "org_id", "name", "role", "key_hash", "prefix", "last4", "created_by", "created_at"},
		each(g.orgs, func(o *orgPlan) []any {
			tok := "sbk_" + secretFor(g.seed, "apikey/"+o.key)
			if o.probe != nil {
				tok = o.probe.APIKey
			}
			sum := sha256.Sum256([]byte(tok))
			return []any{o.apiKeyID, o.id, "Admin key", "admin", sum[:], tok[:8], tok[len(tok)-4:], "cli", o.created}
		})); err != nil {
		return err
	}
	type agentRow struct {
		o *orgPlan
		a agentPlan
		i int
	}
	var agents []agentRow
	for _, o := range g.orgs {
		for i, a := range o.agents {
			agents = append(agents, agentRow{o, a, i})
		}
	}
	if err := g.copyRows(ctx, "agents", []string{"id", "org_id", "name", "model", "system_prompt", "confirm_tools", "document_sets",
		"allowed_origins", "created_at", "updated_at"}, each(agents, func(a agentRow) []any {
		r := rngFor(g.seed, "agent", a.a.id.String())
		var model, prompt *string
		if r.IntN(3) == 0 {
			model = &models[r.IntN(len(models))]
		}
		if r.IntN(2) == 0 {
			p := "You are the assistant of " + a.o.name + ". " + newWriter(r, a.o.topic).prose(300)
			prompt = &p
		}
		at := a.o.created.Add(time.Duration(a.i) * time.Hour)
		return []any{a.a.id, a.o.id, a.a.name, model, prompt, []string{}, []string{}, []string{}, at, at}
	})); err != nil {
		return err
	}
	// Two HTTP tools on every probe agent and on a third of the others.
	var tools [][]any
	for _, a := range agents {
		r := rngFor(g.seed, "tools", a.a.id.String())
		if a.o.probe == nil && r.IntN(3) != 0 {
			continue
		}
		for _, name := range []string{"lookup_order", "open_ticket"} {
			tools = append(tools, []any{newID(r), a.o.id, a.a.id, name, "Calls the tenant's " + name + " webhook.",
				fmt.Sprintf("https://hooks.tenant-%s.example.com/%s", a.o.key, name), a.o.created})
		}
	}
	if err := g.copyRows(ctx, "agent_tools", []string{"id", "org_id", "agent_id", "name", "description", "url", "created_at"},
		each(tools, func(r []any) []any { return r })); err != nil {
		return err
	}
	var settings, keys []*orgPlan
	for _, o := range g.orgs {
		if o.settings {
			settings = append(settings, o)
		}
		if o.gatewayKey.Valid {
			keys = append(keys, o)
		}
	}
	if err := g.copyRows(ctx, "org_settings", []string{"org_id", "model", "system_prompt", "default_tools", "updated_at"},
		each(settings, func(o *orgPlan) []any {
			return []any{o.id, "gpt-4o-mini", "You are a helpful assistant on " + o.name + "'s website.", []string{"knowledge_search"}, o.created}
		})); err != nil {
		return err
	}
	return g.copyRows(ctx, "gateway_keys", []string{"id", "org_id", "label", "key_ciphertext", "last4", "created_by", "created_at"},
		each(keys, func(o *orgPlan) []any {
			secret := "sk-scale-" + secretFor(g.seed, "gateway/"+o.key)
			sealed := box.Seal([]byte(secret), seal.AAD("gateway_keys", "key_ciphertext", o.id, o.gatewayKey.UUID))
			return []any{o.gatewayKey.UUID, o.id, "Production", sealed, secret[len(secret)-4:], "cli", o.created}
		}))
}

func mustKey() []byte {
	b, err := base64.StdEncoding.DecodeString(EncryptionKey)
	if err != nil {
		panic(err)
	}
	return b
}

// auditActions are the admin writes a tenant makes over a year, with their target types.
var auditActions = []struct{ action, target, details string }{
	{"agent.update", "agent", `{"fields": ["systemPrompt"]}`},
	{"agent.update", "agent", `{"fields": ["name", "persona"]}`},
	{"documents.ingest", "documentSet", `{"documentCount": 12}`},
	{"documents.ingest", "documentSet", `{"documentCount": 3}`},
	{"settings.update", "settings", `{"fields": ["defaultTools"]}`},
	{"tool.update", "tool", `{"fields": ["url"]}`},
	{"approval.decide", "approval", `{"approved": true}`},
	{"publish.send", "conversation", `{"eventType": "notice"}`},
	{"apiKey.create", "apiKey", `{"role": "curator"}`},
	{"document.delete", "document", `{}`},
}

type auditRow struct {
	id, target uuid.UUID
	at         int64
	org        int32
	action     uint8
}

// audit copies every tenant's admin writes of the year, in time order across tenants.
func (g *gen) audit(ctx context.Context) error {
	var rows []auditRow
	for oi, o := range g.orgs {
		r := rngFor(g.seed, "audit", o.key)
		for range o.audit {
			rows = append(rows, auditRow{id: newID(r), target: newID(r), at: YearStart.Add(time.Duration(r.Int64N(int64(Anchor.Sub(YearStart))))).UnixMicro(),
				org: int32(oi), action: uint8(r.IntN(len(auditActions)))})
		}
	}
	slices.SortFunc(rows, func(a, b auditRow) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	return g.copyRows(ctx, "audit_log", []string{"id", "org_id", "at", "actor_type", "actor_id", "actor_name", "action",
		"target_type", "target_id", "request_id", "ip", "details"}, each(rows, func(a auditRow) []any {
		o := g.orgs[a.org]
		act := auditActions[a.action]
		return []any{a.id, o.id, time.UnixMicro(a.at).UTC(), "apiKey", o.apiKeyID.String(), "Admin key", act.action, act.target,
			a.target.String(), a.id.String(), fmt.Sprintf("203.0.113.%d", 1+int(a.id[15])%254), act.details}
	}))
}
