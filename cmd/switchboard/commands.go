package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/migrations"
	"github.com/switchboard-dev/switchboard/serve"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/version"
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
