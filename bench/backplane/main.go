// Command backplane measures the LISTEN/NOTIFY backplane between two instances in one
// process (two hubs, each with its own pool and LISTEN connection, on one fresh database):
// publish→deliver latency at a fixed rate, the highest sustained rate, zero loss across a
// forced listener reconnect, and the floor: one pgx connection NOTIFYing another with a
// payload the size of the event. It creates and drops its own database and never touches
// another. Run it through run.sh; it is a benchmark, not a test.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/migrations"
)

var (
	flagStep       = flag.Duration("step", 5*time.Second, "length of each measured step")
	flagLatencyAt  = flag.Int("latency-rate", 1000, "events/s of the latency step")
	flagRates      = flag.String("rates", "2000,3000,4000,5000,6000,8000,10000", "events/s tried after the latency step for the sustained rate, in order, until one is not")
	flagPublishers = flag.Int("publishers", 32, "concurrent publishers")
	flagConns      = flag.Int("conns", 10, "pool size of each instance (SWITCHBOARD_DB_MAX_CONNS default)")
	flagPayload    = flag.Int("payload", 256, "bytes of each event's JSON, and of each floor NOTIFY payload")
	flagSustainP99 = flag.Duration("sustain-p99", 100*time.Millisecond, "a rate is sustained when every event arrives, the publishers keep the pace, and p99 stays under this")
)

func main() {
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "backplane bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = config.DefaultDatabaseURL
	}
	dbURL, drop, err := freshDatabase(ctx, base)
	if err != nil {
		return err
	}
	defer drop()

	server, err := describeServer(ctx, dbURL)
	if err != nil {
		return err
	}
	fmt.Printf("backplane bench: %s; step %s, %d publishers, pools of %d, %d-byte events\n\n",
		server, *flagStep, *flagPublishers, *flagConns, *flagPayload)

	org, err := createOrg(ctx, dbURL)
	if err != nil {
		return err
	}
	pad := strings.Repeat("x", max(0, *flagPayload-40))
	type floorRow struct {
		name string
		lat  latencies
		max  float64
	}
	var floors []floorRow
	for _, f := range []struct {
		name string
		send floor
	}{
		{"NOTIFY→LISTEN", notifyFloor},
		{"INSERT+NOTIFY→LISTEN", commitFloor(org, string(event(0, pad)))},
	} {
		lat, err := floorLatency(ctx, dbURL, f.send, *flagLatencyAt, *flagStep)
		if err != nil {
			return fmt.Errorf("floor %s latency: %w", f.name, err)
		}
		most, err := floorThroughput(ctx, dbURL, f.send, *flagStep)
		if err != nil {
			return fmt.Errorf("floor %s throughput: %w", f.name, err)
		}
		floors = append(floors, floorRow{f.name, lat, most})
	}

	// The hubs start after the floors, so that nothing else runs while those are measured.
	env, err := newTwoInstances(ctx, dbURL, org, pad)
	if err != nil {
		return err
	}
	defer env.close()

	env.step(ctx, *flagLatencyAt, time.Second, nil) // warm-up: pools fill, statements get prepared
	lat := env.step(ctx, *flagLatencyAt, *flagStep, nil)
	var sustained []stepResult
	best := 0
	if lat.sustained() {
		best = *flagLatencyAt
	}
	for _, f := range strings.Split(*flagRates, ",") {
		if best < *flagLatencyAt {
			break
		}
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-rates: %w", err)
		}
		r := env.step(ctx, rate, *flagStep, nil)
		sustained = append(sustained, r)
		if !r.sustained() {
			break
		}
		best = rate
	}
	reconnect := env.step(ctx, *flagLatencyAt, 2**flagStep, env.killListeners)

	fmt.Printf("%-44s %8s %8s %8s %9s %6s %5s\n", "", "p50", "p99", "max", "events/s", "lost", "dup")
	for _, f := range floors {
		fmt.Printf("%-44s %8s %8s %8s %9.0f %6s %5s\n", fmt.Sprintf("floor: %s, 1 conn, %d/s", f.name, *flagLatencyAt),
			ms(f.lat.p50), ms(f.lat.p99), ms(f.lat.max), f.lat.rate, "-", "-")
		fmt.Printf("%-44s %8s %8s %8s %9.0f %6s %5s\n", fmt.Sprintf("floor: %s, 1 conn, flat out", f.name), "-", "-", "-", f.max, "-", "-")
	}
	for _, r := range append([]stepResult{lat}, sustained...) {
		verdict := "sustained"
		if !r.sustained() {
			verdict = "NOT sustained"
		}
		fmt.Printf("%-44s %8s %8s %8s %9.0f %6d %5d\n", fmt.Sprintf("backplane A→B, %d/s (%s)", r.target, verdict),
			ms(r.p50), ms(r.p99), ms(r.max), r.rate, r.lost, r.dup)
	}
	fmt.Printf("%-44s %8s %8s %8s %9.0f %6d %5d\n", fmt.Sprintf("backplane A→B, %d/s, listeners killed", *flagLatencyAt),
		ms(reconnect.p50), ms(reconnect.p99), ms(reconnect.max), reconnect.rate, reconnect.lost, reconnect.dup)
	fmt.Printf("\nhighest sustained rate: %d events/s (p99 < %s, publishers at pace, nothing lost)\n", best, *flagSustainP99)
	fmt.Printf("forced listener reconnect: %d lost, %d duplicated of %d events\n", reconnect.lost, reconnect.dup, reconnect.sent)
	if reconnect.lost > 0 || reconnect.dup > 0 || lat.lost > 0 || lat.dup > 0 {
		return errors.New("events were lost or duplicated")
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// freshDatabase creates and migrates a database of its own and returns a func dropping it.
func freshDatabase(ctx context.Context, base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := "switchboard_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	u.Path = "/postgres"
	adminURL := u.String()
	u.Path = "/" + name
	dbURL := u.String()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") // best effort
	}
	m, err := migrations.Open(dbURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	_, err = m.Up(ctx)
	_ = m.Close()
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("migrate: %w", err)
	}
	return dbURL, drop, nil
}

// describeServer names the PostgreSQL version and its commit durability, which bound
// every figure here.
func describeServer(ctx context.Context, dbURL string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var version, syncCommit, fsync string
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('fsync')").
		Scan(&version, &syncCommit, &fsync)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL %s (synchronous_commit=%s, fsync=%s), %d CPUs", version, syncCommit, fsync, runtime.NumCPU()), nil
}

type latencies struct {
	p50, p99, max time.Duration
	rate          float64
}

func summarise(ds []time.Duration, elapsed time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(math.Ceil(q*float64(len(ds))))-1)] }
	return latencies{p50: at(0.50), p99: at(0.99), max: ds[len(ds)-1], rate: float64(len(ds)) / elapsed.Seconds()}
}

// pace calls send(n) for n = 0.. at rate per second until d has passed, from one
// goroutine, and returns how many it scheduled. Timers here tick about every
// millisecond, so sends go out in small bursts of the ones that fell due.
func pace(rate int, d time.Duration, send func(n int)) int {
	start := time.Now()
	total := int(float64(rate) * d.Seconds())
	n := 0
	for n < total {
		due := int(float64(rate) * time.Since(start).Seconds())
		for ; n < min(due, total); n++ {
			send(n)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return total
}

// sink is the socket on instance B: it records when each numbered event arrived.
type sink struct {
	mu    sync.Mutex
	recv  map[int64]time.Time
	dups  int
	count atomic.Int64
}

func (s *sink) Deliver(ev backplane.Event) {
	now := time.Now()
	var body struct {
		N int64 `json:"n"`
	}
	if json.Unmarshal(ev.Payload, &body) != nil {
		return
	}
	s.mu.Lock()
	if _, ok := s.recv[body.N]; ok {
		s.dups++
	} else {
		s.recv[body.N] = now
	}
	s.mu.Unlock()
	s.count.Add(1)
}

type twoInstances struct {
	a, b     *backplane.Hub
	poolA    *pgxpool.Pool
	poolB    *pgxpool.Pool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	org      uuid.UUID
	target   backplane.Target
	sink     *sink
	binding  *backplane.Binding
	seq      int64 // event numbers are unique across steps
	adminURL string
	dbName   string
	pad      string
}

func newTwoInstances(ctx context.Context, dbURL string, org uuid.UUID, pad string) (*twoInstances, error) {
	e := &twoInstances{sink: &sink{recv: map[int64]time.Time{}}, org: org, pad: pad}
	open := func() (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = int32(*flagConns)
		cfg.ConnConfig.RuntimeParams["application_name"] = "switchboard"
		return pgxpool.NewWithConfig(ctx, cfg)
	}
	var err error
	if e.poolA, err = open(); err != nil {
		return nil, err
	}
	if e.poolB, err = open(); err != nil {
		return nil, err
	}
	if e.a, err = backplane.New(e.poolA, backplane.Options{InstanceID: uuid.New()}); err != nil {
		return nil, err
	}
	if e.b, err = backplane.New(e.poolB, backplane.Options{InstanceID: uuid.New()}); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	for _, h := range []*backplane.Hub{e.a, e.b} {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); _ = h.Run(runCtx) }() // nil when cancelled; errors only on misuse (Run twice, after Close)
	}
	e.target = backplane.Target{Type: backplane.Conversation, ID: uuid.NewString()}
	e.binding = e.b.Register(e.sink)
	e.binding.Bind(backplane.Conversation, e.target.ID)
	u, _ := url.Parse(dbURL)
	e.dbName = u.Path[1:]
	u.Path = "/postgres"
	e.adminURL = u.String()
	for !e.a.Up() || !e.b.Up() {
		time.Sleep(time.Millisecond)
	}
	return e, nil
}

// event is bench event n: {"n":…,"pad":"…","type":"bench"}, about -payload bytes.
func event(n int64, pad string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q,"type":"bench"}`, n, pad))
}

func createOrg(ctx context.Context, dbURL string) (uuid.UUID, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return uuid.Nil, err
	}
	defer conn.Close(ctx)
	org, err := db.New().OrgCreate(ctx, conn, db.OrgCreateParams{Name: "bench"})
	return org.ID, err
}

func (e *twoInstances) close() {
	e.binding.Close()
	e.cancel()
	e.wg.Wait()
	e.poolA.Close()
	e.poolB.Close()
}

// killListeners terminates every backplane LISTEN connection of the bench database.
func (e *twoInstances) killListeners(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, e.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
		e.dbName, backplane.ApplicationName)
	return err
}

type stepResult struct {
	latencies
	target          int
	sent, lost, dup int
	paceKept        bool
}

func (r stepResult) sustained() bool {
	return r.paceKept && r.lost == 0 && r.dup == 0 && r.p99 < *flagSustainP99
}

// step publishes on A at rate for d (calling disrupt, if any, a third of the way in),
// waits for B to receive everything or for a quiet 5 s, and times each event from the
// Publish call (its first attempt) to its arrival in B's subscriber. Publishers that
// cannot keep the pace show as a step that overran, which is not sustained.
func (e *twoInstances) step(ctx context.Context, rate int, d time.Duration, disrupt func(context.Context) error) stepResult {
	first := e.seq
	total := int(float64(rate) * d.Seconds())
	e.seq += int64(total)
	sent := make([]time.Time, total) // each written by one publisher, read after wg.Wait
	jobs := make(chan int, total)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range *flagPublishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ev := event(first+int64(i), e.pad)
				sent[i] = time.Now()
				for {
					_, err := e.a.Publish(ctx, e.poolA, e.org, e.target, ev)
					if err == nil {
						break
					}
					failed.Add(1)
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	if disrupt != nil {
		go func() {
			time.Sleep(d / 3)
			if err := disrupt(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "disrupt:", err)
			}
		}()
	}
	start := time.Now()
	pace(rate, d, func(n int) { jobs <- n })
	close(jobs)
	wg.Wait()
	published := time.Since(start)
	// Wait for the tail: until everything arrived, or nothing arrived for 5 s.
	lastCount, lastChange := e.sink.count.Load(), time.Now()
	for {
		e.sink.mu.Lock()
		got := 0
		for i := range total {
			if _, ok := e.sink.recv[first+int64(i)]; ok {
				got++
			}
		}
		e.sink.mu.Unlock()
		if got == total {
			break
		}
		if c := e.sink.count.Load(); c != lastCount {
			lastCount, lastChange = c, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.sink.mu.Lock()
	defer e.sink.mu.Unlock()
	ds := make([]time.Duration, 0, total)
	lost := 0
	for i := range total {
		at, ok := e.sink.recv[first+int64(i)]
		if !ok {
			lost++
			continue
		}
		ds = append(ds, at.Sub(sent[i]))
	}
	dup := e.sink.dups
	e.sink.dups = 0
	r := stepResult{latencies: summarise(ds, d), target: rate, sent: total, lost: lost, dup: dup}
	// The publishers kept the pace when the step took at most 5 % longer than planned.
	r.paceKept = published <= d+d/20
	r.rate = float64(total-lost) / max(published, d).Seconds()
	return r
}
