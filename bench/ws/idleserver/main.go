// Command idleserver is the server process of the idle-socket benchmark (bench/ws/run-idle.sh):
// `switchboard serve` exactly (config from the environment, serve.Start, drain on SIGTERM),
// plus a debug listener on IDLE_DEBUG_ADDR that the benchmark alone uses:
//
//   - GET /debug/settle runs the garbage collector twice (with ?release=1, it also returns
//     every free page to the OS) and answers the Go runtime's memory classes, in bytes, and
//     the number of goroutines, as JSON;
//   - /debug/pprof/ serves net/http/pprof (heap and goroutine profiles, for attribution).
//
// The file depends only on config.LoadFrom and serve.Start, so the benchmark script copies it
// into a worktree of an older commit and builds the "before" server the same way.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "idleserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.LoadFrom(os.LookupEnv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if addr := os.Getenv("IDLE_DEBUG_ADDR"); addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/settle", settle)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = dbg.ListenAndServe() }()
		defer func() { _ = dbg.Close() }()
	}
	srv, err := serve.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-srv.Done():
		log.Error("server stopped", "err", err)
	}
	return srv.Shutdown(context.Background())
}

// settle collects garbage several times, as the hours of a long-running server would: the
// second cycle frees what the first one's finalizers and sweeps left, and each cycle halves
// the stack of a goroutine that uses less than a quarter of it, so an idle goroutine's stack
// is back to what its idle depth needs only after a few. It optionally returns every free
// page to the OS, and answers the memory classes.
func settle(w http.ResponseWriter, r *http.Request) {
	for range 6 {
		runtime.GC()
	}
	if r.URL.Query().Get("release") == "1" {
		debug.FreeOSMemory()
	}
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") || d.Name == "/sched/goroutines:goroutines" {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	out := map[string]uint64{}
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			out[s.Name] = s.Value.Uint64()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
