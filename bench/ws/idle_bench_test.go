package wsbench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// BenchmarkIdle measures what an idle widget socket costs the server: for each server binary
// of IDLE_SERVERS ("label=path,label=path", built by bench/ws/idle.sh; by default this tree's
// bench/ws/idleserver), in each of BENCH_IDLE_RUNS runs (3, the binaries taking turns to go
// first), it starts the server as a child process, opens BENCH_IDLE_SOCKETS sockets (10,000)
// from this process, each creating one conversation session and then idling, and reports the
// growth of the server's resident set (VmRSS of /proc/<pid>/status) per socket after the
// garbage collector has settled, with the Go runtime's memory classes and goroutines per
// socket beside it. BENCH_IDLE_PROFILE=dir writes each server's heap and goroutine profiles,
// taken while it holds the sockets in the first run, into dir.
func BenchmarkIdle(b *testing.B) {
	sockets, runs := envInt("BENCH_IDLE_SOCKETS", 10000), envInt("BENCH_IDLE_RUNS", 3)
	dialers := envInt("BENCH_IDLE_DIALERS", 16)
	raiseFileLimit(b, sockets)
	servers := idleServers(b)
	url := dbtest.NewURL(b)
	pool := dbtest.Pool(b, url)
	fx := fixture.New(b, pool)
	ag := fx.Agent(fx.Org(fixture.Org{Name: "Idle"}).ID, fixture.Agent{})
	profileDir := os.Getenv("BENCH_IDLE_PROFILE")
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			b.Fatal(err)
		}
	}

	fmt.Printf("idle sockets=%d runs=%d GOMAXPROCS=%s load average %s\n", sockets, runs, os.Getenv("GOMAXPROCS"), loadAverage())
	results := map[string][]idleResult{}
	for run := range runs {
		order := slices.Clone(servers)
		if run%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			prof := ""
			if run == 0 && profileDir != "" {
				prof = filepath.Join(profileDir, s.label)
			}
			r := measureIdle(b, s.path, url, ag.ID.String(), sockets, dialers, prof)
			r.label = s.label
			results[s.label] = append(results[s.label], r)
			fmt.Println(r)
		}
	}
	fmt.Println("per socket, median (range) over the runs:")
	for _, s := range servers {
		rs := results[s.label]
		fmt.Printf("%-8s settled %s  released %s  goroutines %.2f\n", s.label,
			medianRange(rs, func(r idleResult) float64 { return r.perSocket(r.rss) }),
			medianRange(rs, func(r idleResult) float64 { return r.perSocket(r.released) }),
			rs[0].perSocket(rs[0].classes["/sched/goroutines:goroutines"]))
	}
}

type idleServer struct{ label, path string }

// idleServers reads IDLE_SERVERS, or builds this tree's idle server.
func idleServers(b *testing.B) []idleServer {
	var out []idleServer
	for _, f := range strings.Split(os.Getenv("IDLE_SERVERS"), ",") {
		if label, path, ok := strings.Cut(strings.TrimSpace(f), "="); ok {
			out = append(out, idleServer{label, path})
		}
	}
	if len(out) > 0 {
		return out
	}
	bin := filepath.Join(b.TempDir(), "idleserver")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/bench/ws/idleserver")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build the idle server: %v", err)
	}
	return []idleServer{{"this", bin}}
}

// raiseFileLimit lifts this process's open-file limit to its hard limit (the server child
// inherits it) and fails when that cannot hold the sockets.
func raiseFileLimit(b *testing.B, sockets int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if need := uint64(sockets) + 1000; lim.Cur < need {
		b.Fatalf("open-file limit %d is below the %d the sockets need (ulimit -Hn)", lim.Cur, need)
	}
}

// idleResult is one server's figures in one run. Every figure is a growth: holding the
// sockets minus the baseline before them, in bytes (goroutines in goroutines).
type idleResult struct {
	label    string
	sockets  int
	rss      float64 // VmRSS after the collector settled
	released float64 // VmRSS after it also returned every free page to the OS
	classes  map[string]float64
	setup    time.Duration
}

func (r idleResult) perSocket(v float64) float64 { return v / float64(r.sockets) }

func (r idleResult) String() string {
	kib := func(v float64) string { return fmt.Sprintf("%.1fKiB", r.perSocket(v)/1024) }
	c := r.classes
	return fmt.Sprintf("%-8s sockets=%d setup=%v rss/socket=%s released/socket=%s | heap objects %s, heap free %s, stacks %s, runtime metadata %s, goroutines/socket %.2f",
		r.label, r.sockets, r.setup.Round(time.Second), kib(r.rss), kib(r.released),
		kib(c["/memory/classes/heap/objects:bytes"]),
		kib(c["/memory/classes/heap/free:bytes"]+c["/memory/classes/heap/unused:bytes"]),
		kib(c["/memory/classes/heap/stacks:bytes"]+c["/memory/classes/os-stacks:bytes"]),
		kib(c["/memory/classes/metadata/mspan/inuse:bytes"]+c["/memory/classes/metadata/mcache/inuse:bytes"]+c["/memory/classes/metadata/other:bytes"]),
		r.perSocket(c["/sched/goroutines:goroutines"]))
}

func medianRange(rs []idleResult, f func(idleResult) float64) string {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r) / 1024
	}
	slices.Sort(vs)
	return fmt.Sprintf("%.1f KiB (%.1f … %.1f)", vs[len(vs)/2], vs[0], vs[len(vs)-1])
}

// idleProc is a running idle server.
type idleProc struct {
	cmd       *exec.Cmd
	ws, debug string
	exited    chan struct{} // closed when the process has exited
	err       error         // how it exited, once exited is closed
}

func startIdleServer(b *testing.B, bin, dbURL string) *idleProc {
	addr, dbg := freeLoopback(b), freeLoopback(b)
	env := map[string]string{
		"DATABASE_URL":                 dbURL,
		"SWITCHBOARD_ADDR":             addr,
		"SWITCHBOARD_ENCRYPTION_KEY":   fixture.EncryptionKey,
		"SWITCHBOARD_LOG_LEVEL":        "error",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT": "5s",
		"IDLE_DEBUG_ADDR":              dbg,
	}
	for k, v := range limitsOff {
		env[k] = v
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+v)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", bin, err)
	}
	p := &idleProc{cmd: cmd, ws: "ws://" + addr + "/ws", debug: "http://" + dbg, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.exited:
			b.Fatalf("%s exited at start: %v", bin, p.err)
		default:
		}
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			b.Fatalf("%s not ready after 60s", bin)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *idleProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func freeLoopback(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// memory is one reading of the server: its resident set and the runtime's memory classes.
type memory struct {
	rss     float64
	classes map[string]float64
}

// settle collects garbage in the server (and, with release, returns its free pages), then
// waits until its resident set stops moving (the runtime's background scavenger returns
// pages for a while after a collection) and reads it.
func (p *idleProc) settle(b *testing.B, release bool) memory {
	u := p.debug + "/debug/settle"
	if release {
		u += "?release=1"
	}
	res, err := http.Get(u)
	if err != nil {
		b.Fatalf("settle: %v", err)
	}
	defer res.Body.Close()
	var raw map[string]float64
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		b.Fatalf("settle: %v", err)
	}
	last := p.rss(b)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		now := p.rss(b)
		if abs(now-last) < last/500 {
			return memory{rss: now, classes: raw}
		}
		last = now
	}
	return memory{rss: last, classes: raw}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// rss reads VmRSS, in bytes.
func (p *idleProc) rss(b *testing.B) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// profile saves the server's heap and goroutine profiles as prefix-heap.pb.gz and
// prefix-goroutine.pb.gz.
func (p *idleProc) profile(b *testing.B, prefix string) {
	for _, kind := range []string{"heap", "goroutine"} {
		res, err := http.Get(p.debug + "/debug/pprof/" + kind)
		if err != nil {
			b.Fatalf("profile: %v", err)
		}
		f, err := os.Create(prefix + "-" + kind + ".pb.gz")
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(f, res.Body)
		res.Body.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// measureIdle runs one server through one measurement: a warm-up (a few sockets opened, each
// creating a session, and closed again, so that the pools and code paths the sockets use
// exist before the baseline), the baseline, then the sockets held idle.
func measureIdle(b *testing.B, bin, dbURL, agentID string, sockets, dialers int, profile string) idleResult {
	p := startIdleServer(b, bin, dbURL)
	defer p.stop()
	warm := openIdle(b, p.ws, agentID, min(200, sockets), dialers)
	warm.close()

	base := p.settle(b, false)
	baseReleased := p.settle(b, true)
	start := time.Now()
	held := openIdle(b, p.ws, agentID, sockets, dialers)
	defer held.close()
	setup := time.Since(start)
	idle := p.settle(b, false)
	if profile != "" {
		p.profile(b, profile)
	}
	idleReleased := p.settle(b, true)

	r := idleResult{sockets: sockets, setup: setup, rss: idle.rss - base.rss, released: idleReleased.rss - baseReleased.rss, classes: map[string]float64{}}
	for k, v := range idleReleased.classes {
		r.classes[k] = v - baseReleased.classes[k]
	}
	return r
}

// idleClients are the client ends of idle sockets; each has a reader, so that the server's
// pings are answered (the default ping handler runs while reading).
type idleClients struct {
	conns []*fws.Conn
	wg    sync.WaitGroup
}

func (c *idleClients) close() {
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.wg.Wait()
}

// openIdle opens n sockets, dialers at a time, each creating one conversation session.
func openIdle(b *testing.B, url, agentID string, n, dialers int) *idleClients {
	out := &idleClients{conns: make([]*fws.Conn, n)}
	next := make(chan int)
	errs := make(chan error, dialers)
	var wg sync.WaitGroup
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := openSession(url, agentID)
				if err != nil {
					errs <- err
					return
				}
				out.conns[i] = c
				out.wg.Add(1)
				go func() {
					defer out.wg.Done()
					for {
						if _, _, err := c.NextReader(); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	var failed error
	for i := 0; i < n && failed == nil; i++ {
		select {
		case next <- i:
		case failed = <-errs:
		}
	}
	close(next)
	wg.Wait()
	if failed == nil && len(errs) > 0 {
		failed = <-errs
	}
	if failed != nil {
		for _, c := range out.conns {
			if c != nil {
				_ = c.Close()
			}
		}
		b.Fatalf("open idle sockets: %v", failed)
	}
	return out
}

func openSession(url, agentID string) (*fws.Conn, error) {
	d := fws.Dialer{HandshakeTimeout: 30 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := c.WriteJSON(map[string]any{"action": "create_conversation_session", "requestId": "s", "agentId": agentID}); err != nil {
		c.Close()
		return nil, err
	}
	var ack struct {
		Type string
		Data struct{ SessionID string }
	}
	if err := c.ReadJSON(&ack); err != nil || ack.Data.SessionID == "" {
		c.Close()
		return nil, errors.Join(errors.New("create_conversation_session: no session"), err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
