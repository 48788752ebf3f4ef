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
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

type result struct {
	name            string
	turns           int
	elapsed         time.Duration
	first, eventual []time.Duration
	cpu             time.Duration
	tokensPerTurn   int
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// drive runs clients × turns turns: each client dials, prepares (create a session), then
// sends its turns one after the other, timing send → first token and send → final event.
func drive(b *testing.B, url string, clients, turns, k int, prepare func(c *fws.Conn) string) result {
	var mu sync.Mutex
	res := result{tokensPerTurn: k}
	var wg sync.WaitGroup
	conns := make([]*fws.Conn, clients)
	sessions := make([]string, clients)
	for i := range conns {
		c, _, err := fws.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i], sessions[i] = c, prepare(c)
	}
	cpu0, t0 := cpuTime(), time.Now()
	for i := range conns {
		wg.Add(1)
		go func(c *fws.Conn, sid string, i int) {
			defer wg.Done()
			var first, eventual []time.Duration
			for j := 0; j < turns; j++ {
				r := fmt.Sprintf("r-%d-%d", i, j)
				start := time.Now()
				_ = c.WriteJSON(map[string]any{"action": "send_message", "requestId": r, "sessionId": sid, "message": "benchmark question"})
				gotFirst := false
				for {
					_, data, err := c.ReadMessage()
					if err != nil {
						b.Error(err)
						return
					}
					var ev struct{ Type string }
					_ = json.Unmarshal(data, &ev)
					if ev.Type == "stream_token" && !gotFirst {
						gotFirst = true
						first = append(first, time.Since(start))
					}
					if ev.Type == "eventual_response" {
						eventual = append(eventual, time.Since(start))
						break
					}
					if ev.Type == "error" {
						b.Errorf("turn failed: %s", data)
						return
					}
				}
			}
			mu.Lock()
			res.first, res.eventual = append(res.first, first...), append(res.eventual, eventual...)
			mu.Unlock()
		}(conns[i], sessions[i], i)
	}
	wg.Wait()
	res.elapsed, res.cpu, res.turns = time.Since(t0), cpuTime()-cpu0, len(res.eventual)
	return res
}

func report(b *testing.B, r result) {
	tps := float64(r.turns) / r.elapsed.Seconds()
	fmt.Printf("%-10s turns=%d turns/s=%.0f tokens/s=%.0f first_token_p50=%v p99=%v eventual_p50=%v p99=%v cpu/turn=%v\n",
		r.name, r.turns, tps, tps*float64(r.tokensPerTurn), pct(r.first, .5), pct(r.first, .99),
		pct(r.eventual, .5), pct(r.eventual, .99), r.cpu/time.Duration(max(r.turns, 1)))
}

func BenchmarkTurns(b *testing.B) {
	clients, turns, k := envInt("BENCH_CLIENTS", 16), envInt("BENCH_TURNS", 25), envInt("BENCH_TOKENS", 50)
	parts := make([]string, k)
	for i := range parts {
		parts[i] = "tok" + strconv.Itoa(i) + " "
	}
	gw := llmtest.New(b, llmtest.WithDefault(llmtest.Text(parts...).WithUsage(100, int64(k))), llmtest.WithoutRequestLog())

	// The floor: relay the gateway stream over a bare Fiber WebSocket.
	floorURL := startFloor(b, gw.BaseURL())
	floor := drive(b, floorURL, clients, turns, k, func(*fws.Conn) string { return "floor" })
	floor.name = "floor"

	srv := servetest.Start(b, map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(), "SWITCHBOARD_GATEWAY_KEY": "sk-bench",
		"SWITCHBOARD_DB_MAX_CONNS": "32", "SWITCHBOARD_LOG_LEVEL": "error",
	})
	box := wstest.Box(b, servetest.TestEncryptionKey)
	org := wstest.CreateOrg(b, srv.Store, "Bench", "")
	ag := wstest.CreateAgent(b, srv.Store, box, org, wstest.Agent{})
	sb := drive(b, srv.WSURL, clients, turns, k, func(c *fws.Conn) string {
		_ = c.WriteJSON(map[string]any{"action": "create_conversation_session", "agentId": ag.ID.String()})
		var ack struct{ Data struct{ SessionID string } }
		if err := c.ReadJSON(&ack); err != nil || ack.Data.SessionID == "" {
			b.Fatalf("create session: %v", err)
		}
		return ack.Data.SessionID
	})
	sb.name = "switchboard"

	fmt.Printf("clients=%d turns/client=%d tokens/turn=%d GOMAXPROCS=%s\n", clients, turns, k, os.Getenv("GOMAXPROCS"))
	report(b, floor)
	report(b, sb)
	fmt.Printf("server overhead p50 per turn: %v; tokens/s vs floor: %.0f%%\n",
		pct(sb.eventual, .5)-pct(floor.eventual, .5),
		100*float64(sb.turns)/sb.elapsed.Seconds()/(float64(floor.turns)/floor.elapsed.Seconds()))
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
