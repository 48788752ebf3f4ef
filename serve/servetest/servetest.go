// Package servetest starts real Switchboard servers for end-to-end tests: each on a
// random loopback port, against a fresh database cloned from the migrated template (or a
// database the test shares between several servers), shut down when the test ends.
package servetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// Server is a running test server.
type Server struct {
	*serve.Server
	Config *config.Config
	URL    string // http://127.0.0.1:port
	WSURL  string // ws://127.0.0.1:port/ws
	Pool   *pgxpool.Pool
	Store  *store.Store
}

// Config returns the configuration a test server starts from: loopback, the test key,
// private URLs allowed (test tools and gateways listen on loopback), a short drain, and the
// offline demo model without its pace.
// env overrides or adds variables exactly as the process environment would.
func Config(t testing.TB, databaseURL string, env map[string]string) *config.Config {
	t.Helper()
	base := map[string]string{
		"DATABASE_URL":                           databaseURL,
		"SWITCHBOARD_ADDR":                       "127.0.0.1:0",
		"SWITCHBOARD_ENCRYPTION_KEY":             fixture.EncryptionKey, // the key fixtures seal with
		"SWITCHBOARD_ALLOW_PRIVATE_TOOL_URLS":    "1",
		"SWITCHBOARD_ALLOW_PRIVATE_GATEWAY_URLS": "1",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT":           "5s",
		"SWITCHBOARD_LOG_LEVEL":                  "warn",
		// switchboard-demo answers at once: tests wait for events, never for time.
		"SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY": "0s",
		// Model requests are retried (SWITCHBOARD_GATEWAY_RETRIES) without the backoff's wait.
		"SWITCHBOARD_GATEWAY_RETRY_MAX_DELAY": "1ms",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
	if err != nil {
		t.Fatalf("servetest: config: %v", err)
	}
	return cfg
}

// Start runs a server on a fresh database.
func Start(t testing.TB, env map[string]string, opts ...serve.Option) *Server {
	t.Helper()
	return StartOn(t, dbtest.NewURL(t), env, opts...)
}

// StartOn runs a server on an existing database, so a test can run several instances
// against one database.
func StartOn(t testing.TB, databaseURL string, env map[string]string, opts ...serve.Option) *Server {
	t.Helper()
	cfg := Config(t, databaseURL, env)
	return StartConfig(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
}

// StartConfig runs a server with cfg and logger (tests that scan logs pass their own).
func StartConfig(t testing.TB, cfg *config.Config, log *slog.Logger, opts ...serve.Option) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := serve.Start(ctx, cfg, log, opts...)
	if err != nil {
		t.Fatalf("servetest: start: %v", err)
	}
	t.Cleanup(func() {
		// A drain that overran is logged, not failed: tests that drain on purpose call
		// Shutdown themselves and check what it returns.
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Logf("servetest: shutdown: %v", err)
		}
	})
	pool := dbtest.Pool(t, cfg.DatabaseURL)
	return &Server{
		Server: srv, Config: cfg, Pool: pool, Store: store.New(pool, nil),
		URL: "http://" + srv.Addr(), WSURL: "ws://" + srv.Addr() + "/ws",
	}
}
