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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
)

// sizeEnv is one size ready to measure: its database reset, a fresh server on it, and the
// runner's clients.
type sizeEnv struct {
	sz       Size
	srv      *server
	pool     *pgxpool.Pool // the runner's, for resets and CPU readings
	probes   [2]*probeEnv  // small, big
	deepPath string        // a conversations page 90 % into the big org's list
	search   *knowledge.Service
	sPool    *pgxpool.Pool
}

type probeEnv struct {
	label string // "small org", "big org"
	p     Probe
	a     *admin
	qs    []string
}

// Application names the runner tells its own connections by; the server's pool is
// "switchboard".
const (
	runnerApp = "switchboard-scale-runner"
	searchApp = "switchboard-scale-search"
	serverApp = "switchboard"
)

func openSize(ctx context.Context, dbURL string, sz Size, o Options) (e *sizeEnv, err error) {
	e = &sizeEnv{sz: sz}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	small, big := Probes(o.Seed)
	if e.pool, err = openPool(ctx, dbURL, runnerApp, 2); err != nil {
		return e, err
	}
	if err = reset(ctx, e.pool, small, big); err != nil {
		return e, err
	}
	if e.srv, err = startServer(ctx, o.Bin, dbURL, o.GatewayURL, o.Logs); err != nil {
		return e, err
	}
	for i, p := range []Probe{small, big} {
		e.probes[i] = &probeEnv{label: p.Label + " org", p: p, a: newAdmin(ctx, e.srv.base, p.APIKey), qs: Questions(o.Seed, p, 64)}
	}
	var total int
	if err = e.pool.QueryRow(ctx, `SELECT count(*) FROM conversations WHERE org_id = $1`, big.OrgID).Scan(&total); err != nil {
		return e, err
	}
	deep, err := e.probes[1].a.deepCursor(total * 9 / 10)
	if err != nil {
		return e, fmt.Errorf("%s: deep page: %w", sz.Name, err)
	}
	e.deepPath = "/admin/conversations?cursor=" + url.QueryEscape(deep)
	// Search runs in the runner, on a pool of its own (the admin API has no search
	// endpoint): the code the turn's retrieval and the knowledge_search tool run.
	if e.sPool, err = openPool(ctx, dbURL, searchApp, 1); err != nil {
		return e, err
	}
	st := store.New(e.sPool, nil)
	e.search, err = knowledge.New(st, jobs.New(st, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return e, err
}

func (e *sizeEnv) close() {
	if e.srv != nil {
		e.srv.stop()
	}
	if e.sPool != nil {
		e.sPool.Close()
	}
	if e.pool != nil {
		e.pool.Close()
	}
}

// Row is one line of the table: what is measured, how, and, for a row that must grow with
// its tenant's own data, why.
type Row struct {
	Name    string
	OwnData string
	open    func(ctx context.Context, e *sizeEnv) (*op, error)
}

// op is a row's operation prepared at one size: what one iteration does, and whose CPU it
// costs.
type op struct {
	do    func(i int) error
	apps  []string // application names of the PostgreSQL backends that serve it
	proc  bool     // whether the server process serves it (else the runner does)
	close func()
}

func serverOp(do func(i int) error) *op {
	return &op{do: do, apps: []string{serverApp}, proc: true, close: func() {}}
}

// get times one admin GET of a probe org.
func get(probe int, path func(e *sizeEnv) string) func(context.Context, *sizeEnv) (*op, error) {
	return func(_ context.Context, e *sizeEnv) (*op, error) {
		a, p := e.probes[probe].a, path(e)
		return serverOp(func(int) error { return a.get(p) }), nil
	}
}

func fixed(p string) func(*sizeEnv) string { return func(*sizeEnv) string { return p } }

func messagesPath(probe int) func(*sizeEnv) string {
	return func(e *sizeEnv) string {
		return "/admin/conversations/" + e.probes[probe].p.ConversationID.String() + "/messages"
	}
}

func usagePath(by string) func(*sizeEnv) string {
	return fixed("/admin/usage?from=" + UsageMonth.Format("2006-01-02") + "&to=" + Anchor.Format("2006-01-02") + "&groupBy=" + by)
}

// search times knowledge.Service.Search: an anonymous visitor, every set, the top 5.
func search(probe int) func(context.Context, *sizeEnv) (*op, error) {
	return func(ctx context.Context, e *sizeEnv) (*op, error) {
		pe := e.probes[probe]
		return &op{apps: []string{searchApp}, close: func() {}, do: func(i int) error {
			q := pe.qs[(i+len(pe.qs))%len(pe.qs)]
			hits, err := e.search.Search(ctx, pe.p.OrgID, nil, knowledge.Viewer{}, q, knowledge.DefaultSearchLimit)
			if err == nil && len(hits) == 0 && i == 0 {
				return fmt.Errorf("no hits for %q", q)
			}
			return err
		}}, nil
	}
}

// resume times create_conversation_session resuming the probe's conversation with its
// resume token, on one connection.
func resume(probe int) func(context.Context, *sizeEnv) (*op, error) {
	return func(ctx context.Context, e *sizeEnv) (*op, error) {
		ws, err := dial(ctx, e.srv.ws)
		if err != nil {
			return nil, err
		}
		o := serverOp(func(i int) error {
			_, err := ws.resume("resume-"+strconv.Itoa(i), e.probes[probe].p)
			return err
		})
		o.close = ws.close
		return o, nil
	}
}

// turn times send_message to eventual_response on a resumed session of the probe's
// conversation: the turn replays the newest 50 messages of its history, retrieves the
// org's knowledge for the question and streams the scripted gateway's reply.
func turn(probe int) func(context.Context, *sizeEnv) (*op, error) {
	return func(ctx context.Context, e *sizeEnv) (*op, error) {
		pe := e.probes[probe]
		ws, err := dial(ctx, e.srv.ws)
		if err != nil {
			return nil, err
		}
		sid, err := ws.resume("turn-session", pe.p)
		if err != nil {
			ws.close()
			return nil, err
		}
		o := serverOp(func(i int) error {
			return ws.turn("turn-"+strconv.Itoa(i), sid, pe.qs[(i+len(pe.qs))%len(pe.qs)])
		})
		o.close = ws.close
		return o, nil
	}
}

// publish times POST /admin/publish to the small org's conversation until the event
// reaches a socket bound to it, through the instance's LISTEN connection.
func publish(ctx context.Context, e *sizeEnv) (*op, error) {
	pe := e.probes[0]
	ws, err := dial(ctx, e.srv.ws)
	if err != nil {
		return nil, err
	}
	if _, err := ws.resume("publish-session", pe.p); err != nil {
		ws.close()
		return nil, err
	}
	o := serverOp(func(i int) error {
		body := map[string]any{"target": map[string]any{"type": "conversation", "id": pe.p.ConversationID.String()},
			"event": map[string]any{"type": "scale_probe", "n": i}}
		if err := pe.a.do(http.MethodPost, "/admin/publish", body, http.StatusAccepted, nil); err != nil {
			return err
		}
		_, err := ws.until("", func(ev event) bool { return ev.Type == "scale_probe" && ev.N == i })
		return err
	})
	o.close = ws.close
	return o, nil
}

// Indexes of the probes.
const (
	smallOrg = 0
	bigOrg   = 1
)

// Rows in the order they are measured: reads on the generated data first, then the
// writes (resumes, turns, publishes), which the next run's reset removes.
var Rows = []Row{
	{Name: "GET /admin/conversations, first page, small org", open: get(smallOrg, fixed("/admin/conversations"))},
	{Name: "GET /admin/conversations, first page, big org", open: get(bigOrg, fixed("/admin/conversations"))},
	{Name: "GET /admin/conversations, deep page (90%), big org", open: get(bigOrg, func(e *sizeEnv) string { return e.deepPath })},
	{Name: "GET /admin/conversations/{id}/messages, small org", open: get(smallOrg, messagesPath(smallOrg))},
	{Name: "GET /admin/conversations/{id}/messages, big org", open: get(bigOrg, messagesPath(bigOrg))},
	{Name: "GET /admin/usage month by day, small org", open: get(smallOrg, usagePath("day"))},
	{Name: "GET /admin/usage month by day, big org", open: get(bigOrg, usagePath("day")),
		OwnData: "sums every usage row of the org's month"},
	{Name: "GET /admin/usage month by agent, small org", open: get(smallOrg, usagePath("agent"))},
	{Name: "GET /admin/usage month by agent, big org", open: get(bigOrg, usagePath("agent")),
		OwnData: "sums every usage row of the org's month"},
	{Name: "GET /admin/audit, small org", open: get(smallOrg, fixed("/admin/audit"))},
	{Name: "GET /admin/audit, big org", open: get(bigOrg, fixed("/admin/audit"))},
	{Name: "knowledge search, small org", open: search(smallOrg)},
	{Name: "knowledge search, big org", open: search(bigOrg), OwnData: "ranks every chunk of the org that matches"},
	{Name: "session resume, small org", open: resume(smallOrg)},
	{Name: "session resume, big org", open: resume(bigOrg)},
	{Name: "ws turn, small org", open: turn(smallOrg)},
	{Name: "ws turn, big org", open: turn(bigOrg), OwnData: "its pre-turn knowledge search ranks every chunk of the org that matches"},
	{Name: "backplane publish → delivery", open: publish},
}

// blocks is how many times the sizes take turns within a row.
const blocks = 4

// minIterations is the fewest timed iterations a row runs at each size, whatever its budget.
const minIterations = 50

// Run measures every row at every size. Within a row the sizes take turns, in blocks of a
// quarter of the iterations, so that a change of the machine's load (other work on its 2
// cores) hits every size alike; each size has its own freshly reset database and server
// process.
func Run(ctx context.Context, urls map[string]string, sizes []Size, o Options) (map[string]map[string]Sample, error) {
	var envs []*sizeEnv
	defer func() {
		for _, e := range envs {
			e.close()
		}
	}()
	for _, sz := range sizes {
		e, err := openSize(ctx, urls[sz.Name], sz, o)
		if err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	out := map[string]map[string]Sample{}
	for _, e := range envs {
		out[e.sz.Name] = map[string]Sample{}
	}
	for _, r := range Rows {
		samples, err := measureRow(ctx, r, envs, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		for i, e := range envs {
			s := samples[i]
			out[e.sz.Name][r.Name] = s
			o.Logf("%s: %-52s p50 %8s  pg %8s/op", e.sz.Name, r.Name, pct(s.Lat, .5).Round(10*time.Microsecond), s.PG.Round(time.Microsecond))
		}
	}
	return out, nil
}

// measureRow warms the row up at each size, then times it in blocks, the sizes taking
// turns, and reads the CPU the server process and the PostgreSQL backends spent around
// each block.
func measureRow(ctx context.Context, r Row, envs []*sizeEnv, o Options) ([]Sample, error) {
	ops := make([]*op, len(envs))
	defer func() {
		for _, p := range ops {
			if p != nil {
				p.close()
			}
		}
	}()
	for i, e := range envs {
		p, err := r.open(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.sz.Name, err)
		}
		ops[i] = p
		for w := range o.Warmup {
			if err := p.do(-1 - w); err != nil {
				return nil, fmt.Errorf("%s: warm-up: %w", e.sz.Name, err)
			}
		}
	}
	samples := make([]Sample, len(envs))
	srv, pg := make([][]float64, len(envs)), make([][]float64, len(envs))
	per := max(1, o.Iterations/blocks)
	start := time.Now()
	for b, n := 0, 0; b < blocks; b++ {
		for i, e := range envs {
			pg0, cpu0 := pgCPU(ctx, e.pool, ops[i].apps...), e.srv.cpu()
			for j := range per {
				t := time.Now()
				if err := ops[i].do(n + j); err != nil {
					return nil, fmt.Errorf("%s: %w", e.sz.Name, err)
				}
				samples[i].Lat = append(samples[i].Lat, time.Since(t))
			}
			pg[i] = append(pg[i], float64(pgCPUSince(pg0, pgCPU(ctx, e.pool, ops[i].apps...)))/float64(per))
			srv[i] = append(srv[i], float64(e.srv.cpu()-cpu0)/float64(per))
		}
		n += per
		if n >= minIterations && time.Since(start) > o.RowBudget*time.Duration(len(envs)) {
			break
		}
	}
	// CPU per operation is the median over the blocks: the server's background work (the
	// knowledge maintenance pass walks every org once a minute) lands in one block, not in
	// the figure.
	for i := range samples {
		samples[i].PG = time.Duration(median(pg[i]))
		if ops[i].proc {
			samples[i].Server, samples[i].HasProc = time.Duration(median(srv[i])), true
		}
	}
	return samples, nil
}
