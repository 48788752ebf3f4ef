// Package wsbench measures the /ws turn path against a zero-latency scripted gateway, next
// to a floor: a bare Fiber WebSocket that relays the same gateway stream with no
// persistence, no access checks and no turn engine. Run it with bench/ws/run.sh.
package wsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// envInts reads a comma-separated list of positive integers.
func envInts(name string, def []int) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return def
	}
	return out
}

// result accumulates the timed turns of one side (floor or switchboard) at one concurrency,
// over every round.
type result struct {
	name            string
	turns           int
	elapsed         time.Duration
	first, eventual []time.Duration
	cpu, pgCPU      time.Duration
	tokensPerTurn   int
}

func (r *result) add(o result) {
	r.turns += o.turns
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.pgCPU += o.pgCPU
	r.first = append(r.first, o.first...)
	r.eventual = append(r.eventual, o.eventual...)
}

func (r *result) tokensPerSec() float64 {
	return float64(r.turns*r.tokensPerTurn) / r.elapsed.Seconds()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgBackends returns the CPU time so far of each PostgreSQL backend serving the bench
// database for the server's pool (application_name switchboard), read from
// /proc/<pid>/schedstat (the server runs on this machine; the first field is the time on CPU
// in nanoseconds). Backends it cannot read are left out.
func pgBackends(pool *pgxpool.Pool) map[int]time.Duration {
	rows, err := pool.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'switchboard'`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[pid] = time.Duration(ns)
		}
	}
	return out
}

func pgCPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// drive runs clients × turns turns: each client dials, prepares (create a session) and runs
// one untimed warm-up turn, then sends its turns one after the other, timing send → first
// token and send → final event.
//
// With pg set, the result also carries the CPU time its PostgreSQL backends spent during the
// timed turns.
func drive(b *testing.B, url string, clients, turns, k int, prepare func(c *fws.Conn) string, pg *pgxpool.Pool) result {
	var mu sync.Mutex
	res := result{tokensPerTurn: k}
	conns := make([]*fws.Conn, clients)
	sessions := make([]string, clients)
	for i := range conns {
		c, _, err := fws.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i], sessions[i] = c, prepare(c)
		if _, _, err := turn(c, sessions[i], fmt.Sprintf("w-%d", i)); err != nil {
			b.Fatalf("warm-up turn: %v", err)
		}
	}
	var wg sync.WaitGroup
	var pg0 map[int]time.Duration
	if pg != nil {
		pg0 = pgBackends(pg)
	}
	cpu0, t0 := cpuTime(), time.Now()
	for i := range conns {
		wg.Add(1)
		go func(c *fws.Conn, sid string, i int) {
			defer wg.Done()
			var first, eventual []time.Duration
			for j := 0; j < turns; j++ {
				f, e, err := turn(c, sid, fmt.Sprintf("r-%d-%d", i, j))
				if err != nil {
					b.Error(err)
					return
				}
				first, eventual = append(first, f), append(eventual, e)
			}
			mu.Lock()
			res.first, res.eventual = append(res.first, first...), append(res.eventual, eventual...)
			mu.Unlock()
		}(conns[i], sessions[i], i)
	}
	wg.Wait()
	res.elapsed, res.cpu, res.turns = time.Since(t0), cpuTime()-cpu0, len(res.eventual)
	if pg != nil {
		res.pgCPU = pgCPUSince(pg0, pgBackends(pg))
	}
	return res
}

// turn sends one send_message and reads its events up to the eventual_response.
func turn(c *fws.Conn, sid, r string) (first, eventual time.Duration, err error) {
	start := time.Now()
	if err := c.WriteJSON(map[string]any{"action": "send_message", "requestId": r, "sessionId": sid, "message": "benchmark question"}); err != nil {
		return 0, 0, err
	}
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return 0, 0, err
		}
		var ev struct{ Type string }
		_ = json.Unmarshal(data, &ev)
		switch ev.Type {
		case "stream_token":
			if first == 0 {
				first = time.Since(start)
			}
		case "eventual_response":
			return first, time.Since(start), nil
		case "error":
			return 0, 0, fmt.Errorf("turn failed: %s", data)
		}
	}
}

func report(r result) {
	fmt.Printf("%-11s turns=%d tokens/s=%.0f first_token_p50=%v p99=%v eventual_p50=%v p99=%v cpu/turn=%v",
		r.name, r.turns, r.tokensPerSec(), pct(r.first, .5).Round(10*time.Microsecond), pct(r.first, .99).Round(10*time.Microsecond),
		pct(r.eventual, .5).Round(10*time.Microsecond), pct(r.eventual, .99).Round(10*time.Microsecond),
		(r.cpu / time.Duration(max(r.turns, 1))).Round(time.Microsecond))
	if r.pgCPU > 0 {
		fmt.Printf(" pg_cpu/turn=%v", (r.pgCPU / time.Duration(max(r.turns, 1))).Round(10*time.Microsecond))
	}
	fmt.Println()
}

// BenchmarkTurns runs, for each concurrency of BENCH_CLIENTS, BENCH_ROUNDS rounds that each
// time the floor and then Switchboard, so that both see about the same machine load. Each
// side's figures pool every round; the comparison is given over all rounds and as the median
// of the per-round comparisons, which a load spike during one round moves less.
func BenchmarkTurns(b *testing.B) {
	sweep := envInts("BENCH_CLIENTS", []int{1, 2, 4, 16})
	turns, k, rounds := envInt("BENCH_TURNS", 20), envInt("BENCH_TOKENS", 50), envInt("BENCH_ROUNDS", 5)
	// BENCH_ONLY=floor or =switchboard runs one side only, so that a -cpuprofile shows that
	// side alone; its figures then have nothing to compare with.
	only := os.Getenv("BENCH_ONLY")
	gw, srv, off, createSession := startSwitchboards(b, k)
	// The floor: relay the gateway stream over a bare Fiber WebSocket.
	floorURL := startFloor(b, gw.BaseURL())

	fmt.Printf("turns/client/round=%d tokens/turn=%d rounds=%d GOMAXPROCS=%s\n", turns, k, rounds, os.Getenv("GOMAXPROCS"))
	for _, clients := range sweep {
		floor, sb := result{name: "floor", tokensPerTurn: k}, result{name: "switchboard", tokensPerTurn: k}
		sbOff := result{name: "sb-limits-off", tokensPerTurn: k}
		var ratios, limitRatios []float64
		var overheads []time.Duration
		for round := range rounds {
			var f, r, o result
			if only != "switchboard" {
				f = drive(b, floorURL, clients, turns, k, func(*fws.Conn) string { return "floor" }, nil)
				floor.add(f)
			}
			if only != "floor" {
				// On and off alternate which goes first, so that neither always follows the floor.
				if round%2 == 0 {
					r = drive(b, srv.WSURL, clients, turns, k, createSession, srv.Pool)
					o = drive(b, off.WSURL, clients, turns, k, createSession, off.Pool)
				} else {
					o = drive(b, off.WSURL, clients, turns, k, createSession, off.Pool)
					r = drive(b, srv.WSURL, clients, turns, k, createSession, srv.Pool)
				}
				sb.add(r)
				sbOff.add(o)
				limitRatios = append(limitRatios, r.tokensPerSec()/o.tokensPerSec())
			}
			if only == "" {
				ratios = append(ratios, r.tokensPerSec()/f.tokensPerSec())
				overheads = append(overheads, pct(r.eventual, .5)-pct(f.eventual, .5))
			}
		}
		fmt.Printf("clients=%d\n", clients)
		if only != "" {
			report(map[string]result{"floor": floor, "switchboard": sb}[only])
			if only == "switchboard" {
				report(sbOff)
				reportLimits(sb, sbOff, limitRatios)
			}
			continue
		}
		report(floor)
		report(sb)
		report(sbOff)
		reportLimits(sb, sbOff, limitRatios)
		slices.Sort(ratios)
		slices.Sort(overheads)
		fmt.Printf("  all rounds: server overhead p50 per turn (eventual) %v; tokens/s vs floor %.0f%%\n",
			(pct(sb.eventual, .5) - pct(floor.eventual, .5)).Round(10*time.Microsecond), 100*sb.tokensPerSec()/floor.tokensPerSec())
		fmt.Printf("  per round: overhead median %v (%v … %v); tokens/s vs floor median %.0f%% (%.0f%% … %.0f%%)\n",
			overheads[len(overheads)/2].Round(10*time.Microsecond), overheads[0].Round(10*time.Microsecond),
			overheads[len(overheads)-1].Round(10*time.Microsecond),
			100*ratios[len(ratios)/2], 100*ratios[0], 100*ratios[len(ratios)-1])
	}
}

// limitsOnNotTripping keeps the defaults of PROTOCOL-1.1 §1.10 except the five limits the
// benchmark's own traffic would trip (one address, many upgrades, frames and turns per
// session), and evaluates every limit for loopback too.
var limitsOnNotTripping = map[string]string{
	"SWITCHBOARD_WS_RATE_LIMIT_EXEMPT":            "",
	"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE":   "1000000",
	"SWITCHBOARD_WS_FRAME_BURST":                  "1000000",
	"SWITCHBOARD_WS_FRAMES_PER_SECOND":            "1000000",
	"SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR":     "1000000",
	"SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE":      "1000000",
	"SWITCHBOARD_WS_TURN_BURST_PER_SESSION":       "1000000",
	"SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE": "1000000",
}

// limitsOff disables every limit of PROTOCOL-1.1 §1.10.
var limitsOff = map[string]string{
	"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE":       "0",
	"SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP":           "0",
	"SWITCHBOARD_WS_FRAME_BURST":                      "0",
	"SWITCHBOARD_WS_FRAMES_PER_SECOND":                "0",
	"SWITCHBOARD_WS_SESSIONS_PER_CONNECTION_PER_HOUR": "0",
	"SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR":         "0",
	"SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE":          "0",
	"SWITCHBOARD_WS_TURN_BURST_PER_SESSION":           "0",
	"SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE":     "0",
	"SWITCHBOARD_ORG_MAX_CONCURRENT_TURNS":            "0",
	"SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG":   "0",
}

func with(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// reportLimits compares Switchboard with the limits on and off: over all rounds, and as the
// median and range of the per-round ratios.
func reportLimits(on, off result, ratios []float64) {
	if len(ratios) == 0 {
		return
	}
	slices.Sort(ratios)
	fmt.Printf("  limits on vs off: tokens/s all rounds %.1f%%; per round median %.1f%% (%.1f%% … %.1f%%)\n",
		100*on.tokensPerSec()/off.tokensPerSec(), 100*ratios[len(ratios)/2], 100*ratios[0], 100*ratios[len(ratios)-1])
}

// startSwitchboards starts the scripted gateway answering K tokens, and Switchboard twice on
// one database, with one org and agent: with the public-edge limits on, and with all of them
// off (PROTOCOL-1.1 §1.10). The benchmark drives many turns per session and many upgrades
// and frames from one loopback address, which the defaults of L1, L3, L5, L6 and L7 would
// throttle (they are meant to), so "on" sets those five high enough never to trip and keeps
// every other default; it also empties the exempt list, so that every limit is evaluated for
// every upgrade, frame, session and turn, as for a visitor in production.
func startSwitchboards(b *testing.B, k int) (gw *llmtest.Gateway, on, off *servetest.Server, createSession func(*fws.Conn) string) {
	parts := make([]string, k)
	for i := range parts {
		parts[i] = "tok" + strconv.Itoa(i) + " "
	}
	gw = llmtest.New(b, llmtest.WithDefault(llmtest.Text(parts...).WithUsage(100, int64(k))), llmtest.WithoutRequestLog())
	base := map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-bench",
		"SWITCHBOARD_DB_MAX_CONNS": "32", "SWITCHBOARD_LOG_LEVEL": "error",
	}
	on = servetest.Start(b, with(base, limitsOnNotTripping))
	off = servetest.StartOn(b, on.Config.DatabaseURL, with(base, limitsOff))
	fx := fixture.New(b, on.Pool)
	ag := fx.Agent(fx.Org(fixture.Org{Name: "Bench"}).ID, fixture.Agent{})
	return gw, on, off, sessionCreator(b, ag.ID.String())
}

// sessionCreator creates a session on agentID for each client.
func sessionCreator(b *testing.B, agentID string) func(*fws.Conn) string {
	return func(c *fws.Conn) string {
		_ = c.WriteJSON(map[string]any{"action": "create_conversation_session", "agentId": agentID})
		var ack struct{ Data struct{ SessionID string } }
		if err := c.ReadJSON(&ack); err != nil || ack.Data.SessionID == "" {
			b.Fatalf("create session: %v", err)
		}
		return ack.Data.SessionID
	}
}

// BenchmarkLimits compares Switchboard with the public-edge limits on and off at one
// concurrency (BENCH_CLIENTS, default 16), both under the same machine load: each of
// BENCH_ROUNDS rounds (default 9) runs the two servers at the same time, N clients each, so
// that a load spike from outside touches both sides of a round alike. Each side then gets
// about half the machine, so compare the two rows with each other, not with BenchmarkTurns.
func BenchmarkLimits(b *testing.B) {
	clients := envInts("BENCH_CLIENTS", []int{16})[0]
	turns, k, rounds := envInt("BENCH_TURNS", 20), envInt("BENCH_TOKENS", 50), envInt("BENCH_ROUNDS", 9)
	_, on, off, createSession := startSwitchboards(b, k)
	fmt.Printf("limits on vs off, at the same time: clients=%d each turns/client/round=%d tokens/turn=%d rounds=%d GOMAXPROCS=%s\n",
		clients, turns, k, rounds, os.Getenv("GOMAXPROCS"))
	sbOn, sbOff := result{name: "sb-limits-on", tokensPerTurn: k}, result{name: "sb-limits-off", tokensPerTurn: k}
	var ratios []float64
	for range rounds {
		var r, o result
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); r = drive(b, on.WSURL, clients, turns, k, createSession, nil) }()
		go func() { defer wg.Done(); o = drive(b, off.WSURL, clients, turns, k, createSession, nil) }()
		wg.Wait()
		sbOn.add(r)
		sbOff.add(o)
		ratios = append(ratios, r.tokensPerSec()/o.tokensPerSec())
	}
	report(sbOn)
	report(sbOff)
	reportLimits(sbOn, sbOff, ratios)
}

// startFloor serves the baseline: per send_message, a 202, the gateway's tokens as
// stream_token events, and an eventual_response; nothing is stored or checked.
func startFloor(b *testing.B, gatewayURL string) string {
	client, err := llm.New(llm.Config{BaseURL: gatewayURL, APIKey: "sk-bench"})
	if err != nil {
		b.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ws", websocket.New(func(c *websocket.Conn) {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			var f struct{ RequestID string }
			_ = json.Unmarshal(data, &f)
			send := func(v any) { bs, _ := json.Marshal(v); _ = c.WriteMessage(fws.TextMessage, bs) }
			send(map[string]any{"type": "immediate_response", "requestId": f.RequestID, "status": 202, "data": map[string]any{}})
			res, err := client.Stream(context.Background(), llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{llm.User("benchmark question")}},
				llm.Handler{OnText: func(tok string) {
					send(map[string]any{"type": "stream_token", "requestId": f.RequestID, "token": tok, "data": map[string]any{"requestId": f.RequestID, "token": tok}})
				}})
			if err != nil {
				return
			}
			send(map[string]any{"type": "eventual_response", "requestId": f.RequestID, "status": 200, "data": map[string]any{"data": map[string]any{"response": map[string]any{"responseParts": []string{res.Text}}}}})
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.Shutdown() })
	return "ws://" + ln.Addr().String() + "/ws"
}
