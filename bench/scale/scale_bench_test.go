package scalebench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// BenchmarkScale generates (or reuses) each size of BENCH_SCALE_SIZES, then, BENCH_SCALE_RUNS
// times, measures every row at every size against a fresh server process, and prints the
// tables. Run it with bench/scale/run.sh; bench/README.md ("Scale") lists the knobs.
func BenchmarkScale(b *testing.B) {
	ctx := context.Background()
	seed := uint64(envInt("BENCH_SCALE_SEED", 1))
	base := envStr("DATABASE_URL", config.DefaultDatabaseURL)
	var sizes []Size
	var names []string
	for _, n := range strings.Split(envStr("BENCH_SCALE_SIZES", "S,M,L"), ",") {
		sz, ok := SizeNamed(strings.TrimSpace(n))
		if !ok {
			b.Fatalf("BENCH_SCALE_SIZES: unknown size %q (S, M or L)", n)
		}
		sizes, names = append(sizes, sz), append(names, sz.Name)
	}
	urls := map[string]string{}
	metas := map[string]Meta{}
	for _, sz := range sizes {
		u, meta, err := Ensure(ctx, base, sz, seed, os.Getenv("BENCH_SCALE_REGENERATE") == "1", logf)
		if err != nil {
			b.Fatal(err)
		}
		urls[sz.Name], metas[sz.Name] = u, meta
	}
	for _, sz := range sizes {
		m := metas[sz.Name]
		fmt.Printf("%s: %s, generated in %s (%s on disk, %s): orgs %d, conversations %d, messages %d, chunks %d, usage rows %d, audit rows %d\n",
			sz.Name, DatabaseName(sz), time.Duration(m.Seconds*float64(time.Second)).Round(time.Second), humanBytes(m.Bytes),
			m.GeneratedAt.Format("2006-01-02"), m.Rows["orgs"], m.Rows["conversations"], m.Rows["messages"], m.Rows["chunks"],
			m.Rows["usage_events"], m.Rows["audit_log"])
	}
	if os.Getenv("BENCH_SCALE_ONLY") == "generate" {
		return
	}

	bin, err := BuildServer(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k := envInt("BENCH_TOKENS", 50)
	parts := make([]string, k)
	for i := range parts {
		parts[i] = "tok" + strconv.Itoa(i) + " "
	}
	gw := llmtest.New(b, llmtest.WithDefault(llmtest.Text(parts...).WithUsage(900, int64(k))), llmtest.WithoutRequestLog())
	o := Options{
		Seed: seed, Warmup: envInt("BENCH_SCALE_WARMUP", 20), Iterations: envInt("BENCH_SCALE_ITERATIONS", 200),
		RowBudget: time.Duration(envInt("BENCH_SCALE_ROW_SECONDS", 30)) * time.Second,
		Bin:       bin, GatewayURL: gw.BaseURL(), Logs: os.Stderr, Logf: logf,
	}
	runs := envInt("BENCH_SCALE_RUNS", 1)
	fmt.Printf("seed %d; %d run(s); per row and size %d warm-up and up to %d timed iterations (at least %d, %s budget); one client; %d tokens per turn; GOMAXPROCS %d; load average %s\n",
		seed, runs, o.Warmup, o.Iterations, minIterations, o.RowBudget, k, runtime.GOMAXPROCS(0), loadavg())
	var res Results
	for run := range runs {
		logf("run %d/%d", run+1, runs)
		byName, err := Run(ctx, urls, sizes, o)
		if err != nil {
			b.Fatal(err)
		}
		res = append(res, byName)
	}
	if err := res.Print(os.Stdout, names); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("\nload average after the run: %s\n", loadavg())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
