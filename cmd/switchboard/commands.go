package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/migrations"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/version"
	"github.com/switchboard-dev/switchboard/web"
)

func cmdVersion(stdout io.Writer) error {
	_, err := fmt.Fprintln(stdout, version.Version)
	return err
}

func cmdServe(ctx context.Context, args []string, logOut io.Writer, env func(string) (string, bool)) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	cfg, err := config.LoadFrom(env)
	if err != nil {
		return err
	}
	log := newLogger(cfg, logOut)
	srv, err := serve.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "drain_deadline", cfg.ShutdownTimeout.String())
	case err := <-srv.Done():
		log.Error("server stopped", "err", err)
	}
	return srv.Shutdown(context.Background())
}

func newLogger(cfg *config.Config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

func cmdMigrate(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 {
		return errors.New("want up, down or status")
	}
	cfg, err := config.LoadFrom(env)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("migrate "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.Int64("to", -1, "roll back to this version")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	m, err := migrations.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()
	out := &output{w: stdout}
	switch args[0] {
	case "up":
		if *to != -1 {
			return errors.New("--to goes with down")
		}
		res, err := m.Up(ctx)
		if err != nil {
			return err
		}
		for _, r := range res {
			out.printf("applied %s\n", r.Source.Path)
		}
		v, err := m.Version(ctx)
		if err != nil {
			return err
		}
		out.printf("database at version %d\n", v)
	case "down":
		if *to >= 0 {
			res, err := m.DownTo(ctx, *to)
			if err != nil {
				return err
			}
			for _, r := range res {
				out.printf("rolled back %s\n", r.Source.Path)
			}
		} else {
			r, err := m.Down(ctx)
			if err != nil {
				return err
			}
			out.printf("rolled back %s\n", r.Source.Path)
		}
		v, err := m.Version(ctx)
		if err != nil {
			return err
		}
		out.printf("database at version %d\n", v)
	case "status":
		if *to != -1 {
			return errors.New("--to goes with down")
		}
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			applied := "pending"
			if s.State == "applied" {
				applied = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			out.printf("%05d  %-60s %s\n", s.Source.Version, s.Source.Path, applied)
		}
	default:
		return fmt.Errorf("unknown migrate command %q: want up, down or status", args[0])
	}
	return out.err
}

// openStore connects for a one-shot command and checks the schema is current.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, func(), error) {
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	if err := migrations.CheckCurrent(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store.New(pool, nil), pool.Close, nil
}

func cmdOrgs(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("want: orgs create --name NAME [--external-id REF]")
	}
	fs := flag.NewFlagSet("orgs create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "org name")
	externalID := fs.String("external-id", "", "the identity provider's name for the org")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	n := strings.TrimSpace(*name)
	if c := utf8.RuneCountInString(n); c < 1 || c > 128 {
		return errors.New("--name must be 1..128 characters")
	}
	var ext *string
	if e := strings.TrimSpace(*externalID); e != "" {
		if utf8.RuneCountInString(e) > 128 {
			return errors.New("--external-id must be at most 128 characters")
		}
		ext = &e
	}
	cfg, err := config.LoadFrom(env)
	if err != nil {
		return err
	}
	st, closeFn, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	org, _, err := st.CreateOrgWithKey(ctx, n, ext, store.NewAPIKeyRow{
		Name: "bootstrap", Role: string(auth.RoleAdmin), Hash: key.Hash, Prefix: key.Prefix, Last4: key.Last4,
	}, store.Meta{Actor: store.SystemCLI})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("--external-id %q is already used by another org", *ext)
	}
	if err != nil {
		return err
	}
	// The key is shown only here: if it cannot be written, the command must fail.
	_, err = fmt.Fprintf(stdout, "orgId=%s\napiKey=%s\n", org.ID, key.Plaintext)
	return err
}

func cmdDemo(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	cfg, err := config.LoadFrom(env)
	if err != nil {
		return err
	}
	st, closeFn, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	origins := web.DemoOrigins(cfg)
	demo, err := st.EnsureDemo(ctx, store.NewAPIKeyRow{
		Name: "bootstrap", Role: string(auth.RoleAdmin), Hash: key.Hash, Prefix: key.Prefix, Last4: key.Last4,
	}, origins)
	if err != nil {
		return err
	}
	out := &output{w: stdout}
	out.printf("demo orgId=%s\ndemo agentId=%s\n", demo.OrgID, demo.AgentID)
	if demo.Created {
		out.printf("demo agent may be embedded from %s\n", strings.Join(origins, ", "))
		out.printf("demo admin apiKey=%s   (shown once; stored only as a hash)\n", key.Plaintext)
	} else {
		out.printf("demo admin apiKey: shown when the demo org was first created; mint another with POST /admin/api-keys\n")
	}
	return out.err
}

// output writes a command's report and keeps the first write error, so that a command
// whose report was lost (a key shown only once among it) fails instead of succeeding.
type output struct {
	w   io.Writer
	err error
}

func (o *output) printf(format string, args ...any) {
	if o.err == nil {
		_, o.err = fmt.Fprintf(o.w, format, args...)
	}
}
