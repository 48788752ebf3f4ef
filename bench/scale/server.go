package scalebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BuildServer builds the switchboard binary into dir and returns its path.
func BuildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "switchboard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/cmd/switchboard") //nolint:gosec // G204: fixed arguments; bin is a path in the caller's temporary directory
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the server: %w", err)
	}
	return bin, nil
}

// server is a `switchboard serve` child process; its CPU time is read from /proc, apart
// from the runner's own (which holds the clients and the scripted gateway).
type server struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	ws     string // ws://127.0.0.1:port/ws
	exited chan error
}

// serverEnv is the child's whole environment: the bench database, the scripted gateway
// (the server's fallback key; the measured orgs pay with their own sealed keys), admin API
// keys, and every rate limit off, as one client sends the whole load.
func serverEnv(dbURL, gatewayURL, addr string) []string {
	env := map[string]string{
		"DATABASE_URL":                              dbURL,
		"SWITCHBOARD_ADDR":                          addr,
		"SWITCHBOARD_ENCRYPTION_KEY":                EncryptionKey,
		"SWITCHBOARD_LOG_LEVEL":                     "error",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT":              "5s",
		"AUTH_MODE":                                 "apikey",
		"SWITCHBOARD_GATEWAY_URL":                   gatewayURL,
		"SWITCHBOARD_GATEWAY_KEY":                   "sk-scale-server",
		"SWITCHBOARD_ALLOW_PRIVATE_GATEWAY_URLS":    "1",
		"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE":   "0",
		"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE": "0",
		// The public edge's limits (PROTOCOL-1.1 §1.10), for versions that have them.
		"SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE":       "0",
		"SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP":           "0",
		"SWITCHBOARD_WS_FRAME_BURST":                      "0",
		"SWITCHBOARD_WS_FRAMES_PER_SECOND":                "0",
		"SWITCHBOARD_WS_SESSIONS_PER_CONNECTION_PER_HOUR": "0",
		"SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR":         "0",
		"SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE":          "0",
		"SWITCHBOARD_WS_TURN_BURST_PER_SESSION":           "0",
		"SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE":     "0",
		"SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG":   "0",
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		out = append(out, "GOMAXPROCS="+v)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func freeAddr(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// startServer runs bin serve on dbURL and waits until /readyz answers 200.
func startServer(ctx context.Context, bin, dbURL, gatewayURL string, logs io.Writer) (*server, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = serverEnv(dbURL, gatewayURL, addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, ws: "ws://" + addr + "/ws", exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("server exited at start: %w", err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("server not ready after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop drains the server (SIGTERM) and waits for it; a drained server's exit status tells
// nothing the benchmark uses, so stop returns none.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case err := <-s.exited:
		_ = err
	case <-t.C:
		_ = s.cmd.Process.Kill()
		err := <-s.exited
		_ = err
	}
}

// cpu is the server process's CPU time so far: the sum over its threads of their time on
// CPU in nanoseconds (/proc/<pid>/task/<tid>/schedstat). The Go runtime keeps its threads
// for the life of the process, so no thread's time is lost with it.
func (s *server) cpu() time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		total += schedstat(filepath.Join(dir, t.Name(), "schedstat"))
	}
	return total
}

// schedstat reads the time on CPU from a schedstat file, 0 when it cannot.
func schedstat(path string) time.Duration {
	b, err := os.ReadFile(path) //nolint:gosec // G304: a /proc schedstat path built from our child's pid
	if err != nil {
		return 0
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			return time.Duration(ns)
		}
	}
	return 0
}

// pgCPU is the CPU time so far of the PostgreSQL backends serving the database for the
// named applications, from /proc/<pid>/schedstat (PostgreSQL runs on this machine; the
// first field is the time on CPU in nanoseconds), keyed by backend pid. Backends it
// cannot read are left out.
func pgCPU(ctx context.Context, pool *pgxpool.Pool, apps ...string) map[int]time.Duration {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = ANY($1)`, apps)
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
		if d := schedstat(filepath.Join("/proc", strconv.Itoa(pid), "schedstat")); d > 0 {
			out[pid] = d
		}
	}
	return out
}

// pgCPUSince sums the CPU each backend spent since before; a backend that appeared since
// counts whole.
func pgCPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}
