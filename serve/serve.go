// Package serve assembles and runs one `switchboard serve` process: it checks the schema
// and the encryption key, opens the pool, registers the instance, serves HTTP and
// WebSocket, and drains in a fixed order on shutdown. It holds wiring, not behaviour.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin"
	"github.com/switchboard-dev/switchboard/api/ws"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/instance"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/llm/demomodel"
	"github.com/switchboard-dev/switchboard/migrations"
	"github.com/switchboard-dev/switchboard/retention"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tracing"
	"github.com/switchboard-dev/switchboard/version"
	"github.com/switchboard-dev/switchboard/web"
	"github.com/switchboard-dev/switchboard/webhooks"
)

// Server is a started process.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	api      *api.Server
	instance *instance.Instance
	verifier *auth.Verifier
	ws       *ws.Handler
	engine   *agent.Engine
	ln       net.Listener
	// jobs is the process's River client: knowledge's indexing jobs, webhook deliveries.
	jobs *jobs.Runner
	// hub is the backplane (cluster.go); metrics is what GET /metrics exposes.
	hub              *backplane.Hub
	metrics          *prometheus.Registry
	approvalsExpired prometheus.Counter
	// interactionsExpired counts the pending interactions the sweeper recorded expired.
	interactionsExpired prometheus.Counter
	panics              *panics.Counter // switchboard_panics_total, for every component
	stopHeartbeat       context.CancelFunc
	opts                options

	cancel context.CancelFunc
	wg     sync.WaitGroup
	served chan error

	shutdownOnce sync.Once
	shutdownErr  error
}

// Option changes how Start assembles the process, through a seam the environment does not
// offer. The binary passes none; tests use them to put a misbehaving gateway client or
// retriever under a real server.
type Option func(*options)

type options struct {
	gatewayHTTP *http.Client
	retriever   agent.Retriever
	tracing     *tracing.Provider
}

// WithGatewayClient makes turns reach SWITCHBOARD_GATEWAY_URL through c (a gateway key's own
// baseUrl still goes through the guarded client).
func WithGatewayClient(c *http.Client) Option { return func(o *options) { o.gatewayHTTP = c } }

// WithRetriever replaces the knowledge retrieval of turns: the pre-turn context and the
// knowledge_search tool.
func WithRetriever(r agent.Retriever) Option { return func(o *options) { o.retriever = r } }

// WithTracerProvider makes the server trace to tp instead of what the OTEL_* environment
// variables ask for; the caller shuts tp down.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracing = tracing.Use(tp) }
}

// Start prepares everything and begins serving on cfg.Addr (port 0 picks a free port).
// It fails fast on a bad configuration, an unreachable database, a schema older than
// the binary (unless AutoMigrate) and a wrong encryption key.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.RequireEncryptionKey(); err != nil {
		return nil, err
	}
	box, err := seal.New(cfg.EncryptionKey)
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if err := migrateUp(ctx, cfg.DatabaseURL, log); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: log, served: make(chan error, 1)}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.tracing == nil {
		if s.opts.tracing, err = tracing.FromEnv(ctx, os.LookupEnv); err != nil {
			return nil, err
		}
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	poolCfg.MaxConns = cfg.DBMaxConns
	poolCfg.ConnConfig.RuntimeParams["application_name"] = "switchboard"
	traceQueries(poolCfg.ConnConfig, s.opts.tracing)
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		s.stopTracing()
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	s.pool = pool
	if err := s.start(ctx, box); err != nil {
		pool.Close()
		s.stopTracing()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, box *seal.Box) error {
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.pool.Ping(pingCtx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	if err := migrations.CheckCurrent(ctx, s.pool); err != nil {
		return err
	}
	// The instance row is written before the hub exists (the hub needs the instance's id, and
	// the serving store the hub); that first store only checks the key and beats.
	boot := store.New(s.pool, nil)
	if err := boot.CheckEncryptionKey(ctx, box); err != nil {
		return err
	}
	verifier, mode, err := s.authSetup(ctx)
	if err != nil {
		return err
	}
	s.verifier = verifier
	if mode == auth.ModeNone {
		s.log.Warn(auth.DevModeWarning(s.cfg.Auth.DevOrg))
	}
	in, err := instance.Register(ctx, boot, version.Version, s.log)
	if err != nil {
		return err
	}
	s.instance = in
	if err := s.newBackplane(in.ID); err != nil {
		return err
	}
	st := store.New(s.pool, s.hub)
	s.warnReservedToolNames(ctx, st)

	s.jobs = jobs.New(st, jobs.Options{Logger: s.log, InstanceID: in.ID.String(), Middleware: riverMiddleware(s.opts.tracing)})
	if err := errors.Join(
		s.jobs.Queue(retention.Queue, 1),
		jobs.Periodic(s.jobs, retention.Interval, &retention.Worker{Sweeper: retention.New(st, s.log, 0)}),
	); err != nil {
		return err
	}
	kn, err := knowledge.New(st, s.jobs, knowledge.Options{
		Logger: s.log, MaxQueuedRuns: s.cfg.MaxQueuedRuns, AllowPrivateURLs: s.cfg.AllowPrivateConnectors,
	})
	if err != nil {
		return err
	}
	if _, err := webhooks.New(st, s.jobs, box, webhooks.Options{Logger: s.log, AllowPrivateURLs: s.cfg.AllowPrivateWebhooks}); err != nil {
		return err
	}

	var r agent.Retriever = retriever{kn: kn}
	if s.opts.retriever != nil {
		r = s.opts.retriever
	}
	deps := agent.Deps{
		Config: s.cfg, Store: st, Box: box, Log: s.log, InstanceID: in.ID, Retriever: r,
		GatewayHTTP: s.opts.gatewayHTTP, Panics: s.panics, Registerer: s.metrics, Tracing: s.opts.tracing,
		Offline: agent.OfflineModel{Name: demomodel.Name, Model: demomodel.New(demomodel.Config{
			TokenDelay: s.cfg.DemoTokenDelay, ArgumentBytes: s.cfg.ToolArgumentBytes,
		})},
	}
	if !s.cfg.Production {
		// The seeded demo's create_ticket: served in development only, in-process.
		deps.Builtins = demo.Builtins()
	}
	engine, err := agent.New(deps)
	if err != nil {
		return err
	}
	s.engine = engine
	s.hub.DeliverDecisions(engine)
	s.hub.DeliverInteractions(engine)
	addrs := api.NewClientAddrs(s.cfg.TrustedProxies, s.log)
	s.ws = ws.New(ws.Deps{
		Config: s.cfg, Store: st, Box: box, Verifier: verifier, Log: s.log, Instance: in, Engine: engine, Hub: s.hub,
		Addrs: addrs, Registerer: s.metrics, Panics: s.panics, Tracing: s.opts.tracing,
	})
	s.api = api.New(api.Deps{Pool: s.pool, Logger: s.log, ListenerUp: s.hub.Up, Metrics: s.metrics, Timeouts: s.cfg.HTTP,
		Tracing: s.opts.tracing},
		admin.Mount(admin.Deps{
			Config: s.cfg, Store: st, Box: box, Verifier: verifier, AuthMode: mode,
			Log: s.log, InstanceID: in.ID, Knowledge: kn, Addrs: addrs, Registerer: s.metrics,
		}),
		s.ws.Mount,
		web.Mount(web.Deps{Config: s.cfg, DemoAgent: st.DemoAgent}),
	)
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	if err := s.jobs.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}

	bg, cancelBG := context.WithCancel(context.Background())
	s.cancel = cancelBG
	heartbeat, stopHeartbeat := context.WithCancel(bg)
	s.stopHeartbeat = stopHeartbeat
	s.wg.Add(1)
	go func() { defer s.wg.Done(); in.Run(heartbeat) }()
	s.runCluster(ctx, bg)
	go func() { s.served <- s.api.App().Listener(ln) }()
	s.log.Info("switchboard serving", "addr", ln.Addr().String(), "instance_id", in.ID, "version", version.Version)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done is closed with the serve loop's error when the listener stops unexpectedly.
func (s *Server) Done() <-chan error { return s.served }

// Shutdown drains (PROTOCOL §1.8), in this order: readiness fails and /ws refuses upgrades,
// new sessions and new turns, while the HTTP listener and the backplane keep serving, so that
// running turns finish and parked ones stay decidable here, on another instance or through
// the admin API; at the drain deadline (SWITCHBOARD_SHUTDOWN_TIMEOUT) the remaining turns end
// with AGENT_ERROR and their approvals are recorded cancelled; sockets close with 1001; then
// the HTTP server shuts down, the job workers stop, the LISTEN connection closes, the
// heartbeat and the sweeper stop, the instance is marked stopped, the pool closes, and last
// the spans still buffered are exported (bounded by afterDrain). It returns an error when
// turns had to be ended at the deadline. Calling it again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

// afterDrain bounds each step that follows the drain (HTTP requests in flight, indexing
// slices, the last writes): the drain deadline has already been spent on turns.
const afterDrain = 5 * time.Second

func (s *Server) shutdown(ctx context.Context) error {
	s.api.SetDraining()
	s.ws.SetDraining()
	deadline, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	if werr := s.ws.Close(deadline); werr != nil {
		s.log.Warn("close websocket connections", "err", werr)
	}
	var err error
	if deadline.Err() != nil {
		err = fmt.Errorf("drain deadline passed: %w", deadline.Err())
	}
	// Turns not tied to a socket; those still running were ended above, so this waits only
	// for their records to be written.
	engineCtx, cancelEngine := context.WithTimeout(context.WithoutCancel(ctx), afterDrain)
	defer cancelEngine()
	if eerr := s.engine.Close(engineCtx); eerr != nil {
		s.log.Warn("stop turns", "err", eerr)
	}
	appCtx, cancelApp := context.WithTimeout(context.WithoutCancel(ctx), afterDrain)
	defer cancelApp()
	if aerr := s.api.App().ShutdownWithContext(appCtx); aerr != nil {
		s.log.Warn("stop the HTTP server", "err", aerr)
	}
	// Jobs still running after the grace (indexing slices, webhook deliveries) are
	// interrupted; River hands them to another instance without counting an attempt.
	jobsCtx, cancelJobs := context.WithTimeout(context.WithoutCancel(ctx), afterDrain)
	defer cancelJobs()
	if jerr := s.jobs.Stop(jobsCtx); jerr != nil {
		s.log.Warn("stop job workers", "err", jerr)
	}
	s.hub.Close()
	s.cancel()
	s.wg.Wait()
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), afterDrain)
	defer cancelStop()
	if serr := s.instance.Stop(stopCtx); serr != nil {
		s.log.Warn("mark instance stopped", "err", serr)
	}
	if s.verifier != nil {
		s.verifier.Close()
	}
	s.pool.Close()
	s.stopTracing()
	return err
}

// authSetup resolves AUTH_MODE and builds the JWT verifier shared by /admin and /ws; every
// inconsistent combination is a startup error (ADMIN-API §2.4, PROTOCOL §1.2).
func (s *Server) authSetup(ctx context.Context) (*auth.Verifier, auth.Mode, error) {
	jwtCfg := auth.JWTConfig{
		Secret: s.cfg.Auth.JWTSecret, PublicKeyPEM: s.cfg.Auth.JWTPublicKey, JWKSURL: s.cfg.Auth.JWKSURL,
		Issuer: s.cfg.Auth.Issuer, Audience: s.cfg.Auth.Audience, WSAudience: s.cfg.Auth.WSAudience,
		Production: s.cfg.Production, Logger: s.log,
	}
	mode, err := auth.ResolveMode(s.cfg.Auth.Mode, auth.HasKeyMaterial(jwtCfg), s.cfg.Production)
	if err != nil {
		return nil, "", err
	}
	if !auth.HasKeyMaterial(jwtCfg) {
		if s.cfg.WSAuthStrict {
			return nil, "", errors.New("SWITCHBOARD_WS_AUTH=strict requires JWT key material (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL)")
		}
		return nil, mode, nil
	}
	v, err := auth.NewVerifier(ctx, jwtCfg)
	if err != nil {
		return nil, "", err
	}
	return v, mode, nil
}

func migrateUp(ctx context.Context, url string, log *slog.Logger) error {
	m, err := migrations.Open(url)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()
	res, err := m.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	log.Info("migrations applied", "count", len(res), "version", migrations.Latest())
	return nil
}

// warnReservedToolNames logs, once at start, every HTTP tool stored under a name that
// PROTOCOL-1.1 reserved (Appendix C.3): such a tool is never offered to the model until it is
// renamed with PUT.
func (s *Server) warnReservedToolNames(ctx context.Context, st *store.Store) {
	rows, err := st.ReservedNamedTools(ctx, agent.ReservedToolNames())
	if err != nil {
		s.log.Warn("could not check tool names against the reserved names", "err", err)
		return
	}
	for _, r := range rows {
		s.log.Warn("tool is stored under a reserved name and is never offered to the model; rename it with PUT",
			"org_id", r.OrgID, "agent_id", r.AgentID, "tool_id", r.ID, "tool", r.Name)
	}
}
