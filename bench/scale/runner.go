package scalebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
)

// Options of a runner pass.
type Options struct {
	Seed       uint64
	Warmup     int           // untimed iterations before each row
	Iterations int           // timed iterations of each row
	RowBudget  time.Duration // a row stops early after this, with at least minIterations
	Bin        string        // the switchboard binary
	GatewayURL string        // the scripted gateway
	Logs       io.Writer     // the server's output
	Logf       Logf
}

const minIterations = 50

// Sample is one row measured at one size.
type Sample struct {
	Lat     []time.Duration
	Server  time.Duration // server process CPU per operation; 0 when the row runs in the runner
	PG      time.Duration // PostgreSQL backend CPU per operation
	HasProc bool          // Server was measured
}

// Row is one line of the table: what is measured, and, for a row that must grow with the
// tenant's own data, why.
type Row struct {
	Name    string
	OwnData string
}

// Rows in the order of the table.
var Rows = []Row{
	{Name: "ws turn, small org"},
	{Name: "ws turn, big org", OwnData: "its pre-turn knowledge search ranks every chunk of the org that matches"},
	{Name: "session resume, small org"},
	{Name: "session resume, big org"},
	{Name: "GET /admin/conversations, first page, small org"},
	{Name: "GET /admin/conversations, first page, big org"},
	{Name: "GET /admin/conversations, deep page (90%), big org"},
	{Name: "GET /admin/conversations/{id}/messages, small org"},
	{Name: "GET /admin/conversations/{id}/messages, big org"},
	{Name: "GET /admin/usage month by day, small org"},
	{Name: "GET /admin/usage month by day, big org", OwnData: "sums every usage row of the org's month"},
	{Name: "GET /admin/usage month by agent, small org"},
	{Name: "GET /admin/usage month by agent, big org", OwnData: "sums every usage row of the org's month"},
	{Name: "GET /admin/audit, small org"},
	{Name: "GET /admin/audit, big org"},
	{Name: "knowledge search, small org"},
	{Name: "knowledge search, big org", OwnData: "ranks every chunk of the org that matches"},
	{Name: "backplane publish → delivery"},
}

// reset removes what earlier runs wrote (everything newer than the generated year, all of
// it in the measured orgs) so that every run starts from the generated data, and vacuums
// what it removed (the cluster may run without autovacuum).
func reset(ctx context.Context, pool *pgxpool.Pool, small, big Probe) error {
	orgs := []uuid.UUID{small.OrgID, big.OrgID}
	convs := []uuid.UUID{small.ConversationID, big.ConversationID}
	for _, t := range []struct{ table, column string }{
		{"messages", "created_at"}, {"usage_events", "created_at"}, {"org_usage_months", "month"}, {"sessions", "created_at"},
		{"participants", "created_at"}, {"conversations", "created_at"}, {"audit_log", "at"}, {"backplane_events", "created_at"},
	} {
		if _, err := pool.Exec(ctx, "DELETE FROM "+t.table+" WHERE org_id = ANY($1) AND "+t.column+" >= $2", orgs, Anchor); err != nil {
			return fmt.Errorf("reset %s: %w", t.table, err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE conversations c SET message_count = m.n, last_message_at = m.last, updated_at = m.last
		FROM (SELECT org_id, conversation_id, count(*)::int AS n, max(created_at) AS last FROM messages
		      WHERE org_id = ANY($1) AND conversation_id = ANY($2) GROUP BY 1, 2) m
		WHERE c.org_id = m.org_id AND c.id = m.conversation_id AND c.message_count <> m.n`, orgs, convs); err != nil {
		return fmt.Errorf("reset conversations: %w", err)
	}
	_, err := pool.Exec(ctx, `VACUUM messages, usage_events, org_usage_months, sessions, participants, conversations, audit_log, backplane_events`)
	return err
}

// meter times operations and reads the CPU the server and PostgreSQL spent on them.
type meter struct {
	ctx  context.Context
	srv  *server
	pool *pgxpool.Pool
	o    Options
}

func (m *meter) measure(apps []string, proc bool, op func(i int) error) (Sample, error) {
	for i := range m.o.Warmup {
		if err := op(-1 - i); err != nil {
			return Sample{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	pg0, cpu0 := pgCPU(m.ctx, m.pool, apps...), m.srv.cpu()
	start := time.Now()
	var s Sample
	for i := 0; i < m.o.Iterations && (i < minIterations || time.Since(start) < m.o.RowBudget); i++ {
		t := time.Now()
		if err := op(i); err != nil {
			return Sample{}, err
		}
		s.Lat = append(s.Lat, time.Since(t))
	}
	n := time.Duration(len(s.Lat))
	s.PG = pgCPUSince(pg0, pgCPU(m.ctx, m.pool, apps...)) / n
	if proc {
		s.Server, s.HasProc = (m.srv.cpu()-cpu0)/n, true
	}
	return s, nil
}

// RunSize measures every row on the size's database, against a fresh server process.
func RunSize(ctx context.Context, dbURL string, sz Size, o Options) (map[string]Sample, error) {
	small, big := Probes(o.Seed)
	pool, err := openPool(ctx, dbURL, "switchboard-scale-runner", 2)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := reset(ctx, pool, small, big); err != nil {
		return nil, err
	}
	srv, err := startServer(o.Bin, dbURL, o.GatewayURL, o.Logs)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	m := &meter{ctx: ctx, srv: srv, pool: pool, o: o}
	out := map[string]Sample{}
	row := func(name string, apps []string, proc bool, op func(i int) error) error {
		s, err := m.measure(apps, proc, op)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", sz.Name, name, err)
		}
		out[name] = s
		o.Logf("%s: %-52s p50 %8s  pg %8s/op", sz.Name, name, pct(s.Lat, .5).Round(10*time.Microsecond), s.PG.Round(time.Microsecond))
		return nil
	}
	server := []string{"switchboard"}
	probes := []struct {
		label string
		p     Probe
		a     *admin
		qs    []string
	}{
		{"small org", small, newAdmin(srv.base, small.APIKey), Questions(o.Seed, small, 64)},
		{"big org", big, newAdmin(srv.base, big.APIKey), Questions(o.Seed, big, 64)},
	}
	month := "from=" + UsageMonth.Format("2006-01-02") + "&to=" + Anchor.Format("2006-01-02")

	// Reads first, on the generated data.
	for _, p := range probes {
		if err := row("GET /admin/conversations, first page, "+p.label, server, true, func(int) error { return p.a.get("/admin/conversations") }); err != nil {
			return nil, err
		}
	}
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM conversations WHERE org_id = $1`, big.OrgID).Scan(&total); err != nil {
		return nil, err
	}
	deep, err := probes[1].a.deepCursor(total * 9 / 10)
	if err != nil {
		return nil, fmt.Errorf("%s: deep page: %w", sz.Name, err)
	}
	deepPath := "/admin/conversations?cursor=" + url.QueryEscape(deep)
	if err := row("GET /admin/conversations, deep page (90%), big org", server, true, func(int) error { return probes[1].a.get(deepPath) }); err != nil {
		return nil, err
	}
	for _, p := range probes {
		path := "/admin/conversations/" + p.p.ConversationID.String() + "/messages"
		if err := row("GET /admin/conversations/{id}/messages, "+p.label, server, true, func(int) error { return p.a.get(path) }); err != nil {
			return nil, err
		}
	}
	for _, by := range []string{"day", "agent"} {
		for _, p := range probes {
			path := "/admin/usage?" + month + "&groupBy=" + by
			if err := row("GET /admin/usage month by "+by+", "+p.label, server, true, func(int) error { return p.a.get(path) }); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range probes {
		if err := row("GET /admin/audit, "+p.label, server, true, func(int) error { return p.a.get("/admin/audit") }); err != nil {
			return nil, err
		}
	}
	if err := searchRows(ctx, dbURL, probes[0].p, probes[1].p, probes[0].qs, probes[1].qs, row); err != nil {
		return nil, err
	}

	// Then the writes: resumes, turns, publishes.
	for _, p := range probes {
		ws, err := dial(srv.ws)
		if err != nil {
			return nil, err
		}
		err = row("session resume, "+p.label, server, true, func(i int) error {
			_, err := ws.resume("resume-"+strconv.Itoa(i), p.p)
			return err
		})
		ws.close()
		if err != nil {
			return nil, err
		}
	}
	for _, p := range probes {
		ws, err := dial(srv.ws)
		if err != nil {
			return nil, err
		}
		sid, err := ws.resume("turn-session", p.p)
		if err == nil {
			err = row("ws turn, "+p.label, server, true, func(i int) error {
				return ws.turn("turn-"+strconv.Itoa(i), sid, p.qs[(i+len(p.qs))%len(p.qs)])
			})
		}
		ws.close()
		if err != nil {
			return nil, err
		}
	}
	if err := publishRow(srv, probes[0].p, probes[0].a, server, row); err != nil {
		return nil, err
	}
	return out, nil
}

func openPool(ctx context.Context, dbURL, app string, conns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = conns
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	return pgxpool.NewWithConfig(ctx, cfg)
}

type rowFunc func(name string, apps []string, proc bool, op func(i int) error) error

// searchRows times knowledge.Service.Search, the code the turn's retrieval and the
// knowledge_search tool run, in the runner on a pool of its own (the admin API has no
// search endpoint): an anonymous visitor, every set, the top 5.
func searchRows(ctx context.Context, dbURL string, small, big Probe, smallQs, bigQs []string, row rowFunc) error {
	const app = "switchboard-scale-search"
	pool, err := openPool(ctx, dbURL, app, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := knowledge.New(store.New(pool), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		label string
		p     Probe
		qs    []string
	}{{"small org", small, smallQs}, {"big org", big, bigQs}} {
		err := row("knowledge search, "+c.label, []string{app}, false, func(i int) error {
			hits, err := svc.Search(ctx, c.p.OrgID, nil, knowledge.Viewer{}, c.qs[(i+len(c.qs))%len(c.qs)], knowledge.DefaultSearchLimit)
			if err == nil && len(hits) == 0 && i == 0 {
				return fmt.Errorf("no hits for %q", c.qs[0])
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// publishRow times POST /admin/publish to a conversation until the event reaches a socket
// bound to it (through the instance's LISTEN connection).
func publishRow(srv *server, p Probe, a *admin, apps []string, row rowFunc) error {
	ws, err := dial(srv.ws)
	if err != nil {
		return err
	}
	defer ws.close()
	if _, err := ws.resume("publish-session", p); err != nil {
		return err
	}
	return row("backplane publish → delivery", apps, true, func(i int) error {
		body := map[string]any{"target": map[string]any{"type": "conversation", "id": p.ConversationID.String()},
			"event": map[string]any{"type": "scale_probe", "n": i}}
		if err := a.do(http.MethodPost, "/admin/publish", body, http.StatusAccepted, nil); err != nil {
			return err
		}
		_, err := ws.until("", func(e event) bool { return e.Type == "scale_probe" && e.N == i })
		return err
	})
}
