// Command admin benchmarks GET /admin/agents and GET /admin/conversations on a real server
// at 32 concurrent connections, against a floor measured in the same run: a bare Fiber
// handler running the same single pgx query on the same database and pool size. It creates
// its own database (dropped at the end) on the PostgreSQL server of DATABASE_URL.
//
// It measures; it asserts nothing. bench/admin/run.sh runs it; bench/README.md records the
// figures.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/migrations"
	"github.com/switchboard-dev/switchboard/serve"
)

const jwtSecret = "bench-admin-secret-of-at-least-32-bytes!!" //nolint:gosec // G101: signs tokens for a throwaway bench server

func main() {
	conns := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "measured duration per target")
	warm := flag.Duration("warmup", time.Second, "warm-up per target")
	rounds := flag.Int("rounds", 3, "alternations of floor and admin per endpoint (the duration is split among them)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/admin:", err)
			os.Exit(1)
		}
		defer func() {
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "bench/admin: cpu profile:", err)
			}
		}()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench/admin:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*conns, *dur, *warm, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/admin:", err)
		os.Exit(1)
	}
}

func run(conns int, dur, warm time.Duration, rounds int) error {
	ctx := context.Background()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = config.DefaultDatabaseURL
	}
	dbURL, drop, err := createDatabase(ctx, base)
	if err != nil {
		return err
	}
	defer drop()
	m, err := migrations.Open(dbURL)
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx); err != nil {
		_ = m.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	_ = m.Close()

	env := map[string]string{
		"DATABASE_URL":                              dbURL,
		"SWITCHBOARD_ADDR":                          "127.0.0.1:0",
		"SWITCHBOARD_ENCRYPTION_KEY":                base64.StdEncoding.EncodeToString([]byte("bench-admin-encryption-key-32by!")),
		"AUTH_JWT_SECRET":                           jwtSecret,
		"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE":   "0", // 600/min per org would throttle the load
		"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "0",
		"SWITCHBOARD_LOG_LEVEL":                     "warn",
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := serve.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Shutdown(context.Background()) }() // after the figures; it changes none

	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns="+fmt.Sprint(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	orgID, err := seed(ctx, pool)
	if err != nil {
		return err
	}
	floor, stopFloor, err := startFloor(ctx, pool, orgID)
	if err != nil {
		return err
	}
	defer stopFloor()

	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "bench", "org": orgID.String(), "role": "admin", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		return err
	}
	admin := "http://" + srv.Addr()
	fmt.Printf("%d connections, %s per target in %d alternating rounds after %s warm-up each, pool %d, GOMAXPROCS %d\n",
		conns, dur, rounds, warm, cfg.DBMaxConns, runtime.GOMAXPROCS(0))
	fmt.Printf("%-34s %10s %9s %9s\n", "target", "req/s", "p50", "p99")
	for _, ep := range []string{"/admin/agents", "/admin/conversations"} {
		// Floor and admin alternate, so load from outside the benchmark hits both alike.
		var fs, as samples
		for i := 0; i < rounds; i++ {
			fs.add(load(floor+ep, "", conns, dur/time.Duration(rounds), warm))
			as.add(load(admin+ep, tok, conns, dur/time.Duration(rounds), warm))
		}
		fl, ad := fs.result(), as.result()
		fmt.Printf("%-34s %10.0f %9s %9s\n", "floor "+ep, fl.rps, fl.p50, fl.p99)
		fmt.Printf("%-34s %10.0f %9s %9s\n", "admin "+ep+" (JWT)", ad.rps, ad.p50, ad.p99)
		fmt.Printf("%-34s %9.0f%% of floor (target ≥ 80%%), p99 %s (target < 10ms), errors %d/%d\n", "",
			100*ad.rps/fl.rps, ad.p99, ad.errors, fl.errors)
	}
	return nil
}

func createDatabase(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", redact(base), err)
	}
	defer conn.Close(ctx)
	name := "switchboard_bench_admin_" + uuid.NewString()[:8]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") // best effort
	}
	return u.String(), drop, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "DATABASE_URL"
	}
	return u.Redacted()
}

// seed makes an org with 60 agents and 200 conversations, so both lists fill a page of 50.
func seed(ctx context.Context, pool *pgxpool.Pool) (uuid.UUID, error) {
	q := db.New()
	org, err := q.OrgCreate(ctx, pool, db.OrgCreateParams{Name: "bench"})
	if err != nil {
		return uuid.Nil, err
	}
	var agents []uuid.UUID
	for i := 0; i < 60; i++ {
		a, err := q.AgentCreate(ctx, pool, db.AgentCreateParams{
			ID: uuid.New(), OrgID: org.ID, Name: fmt.Sprintf("Agent %03d", i), ConfirmTools: []string{"refund_*"},
			DocumentSets: []string{}, AllowedOrigins: []string{"https://www.example.com"}, Enabled: true,
		})
		if err != nil {
			return uuid.Nil, err
		}
		agents = append(agents, a.ID)
	}
	for i := 0; i < 200; i++ {
		if _, err := q.ConversationCreate(ctx, pool, db.ConversationCreateParams{ID: uuid.New(), OrgID: org.ID, AgentID: agents[i%len(agents)]}); err != nil {
			return uuid.Nil, err
		}
	}
	return org.ID, nil
}

// startFloor serves the two lists with nothing but the query and its JSON encoding.
func startFloor(ctx context.Context, pool *pgxpool.Pool, org uuid.UUID) (string, func(), error) {
	q := db.New()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/admin/agents", func(c *fiber.Ctx) error {
		rows, err := q.AgentList(c.UserContext(), pool, db.AgentListParams{OrgID: org, Lim: 51})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"agents": rows, "nextCursor": nil})
	})
	app.Get("/admin/conversations", func(c *fiber.Ctx) error {
		rows, err := q.ConversationList(c.UserContext(), pool, db.ConversationListParams{OrgID: org, AllVisible: true, Lim: 51})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"conversations": rows, "nextCursor": nil})
	})
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	// A floor that stops serving shows in its figures as errors.
	go func() { defer close(done); _ = app.Listener(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = app.Shutdown(); <-done }, nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// samples merges the rounds of one target.
type samples struct {
	lat     []time.Duration
	elapsed time.Duration
	errors  int
}

func (s *samples) add(lat []time.Duration, elapsed time.Duration, errors int) {
	s.lat = append(s.lat, lat...)
	s.elapsed += elapsed
	s.errors += errors
}

func (s *samples) result() result {
	if len(s.lat) == 0 {
		return result{}
	}
	slices.Sort(s.lat)
	pct := func(p float64) time.Duration { return s.lat[int(p*float64(len(s.lat)-1))].Round(10 * time.Microsecond) }
	return result{rps: float64(len(s.lat)) / s.elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), errors: s.errors}
}

// load runs conns workers, each on its own keep-alive connection, for warm then dur, and
// returns the latencies of the measured part.
func load(target, tok string, conns int, dur, warm time.Duration) ([]time.Duration, time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	start := time.Now().Add(warm)
	stop := start.Add(dur)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for {
				t0 := time.Now()
				if t0.After(stop) {
					break
				}
				req, _ := http.NewRequestWithContext(context.Background(), "GET", target, nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				res, err := client.Do(req)
				ok := err == nil && res.StatusCode == 200
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body) // drained for keep-alive; the status alone decides ok
					_ = res.Body.Close()
				}
				if t0.After(start) {
					mine = append(mine, time.Since(t0))
					if !ok {
						bad++
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, dur, errs
}
