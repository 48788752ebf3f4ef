package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/web"
)

// cmdDemo creates whatever of the seeded demo is missing (package demo) and says what there is.
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
	// Only to queue the indexing of the demo's documents: the server's workers index them.
	kn, err := knowledge.New(st, jobs.New(st, jobs.Options{Logger: slog.New(slog.DiscardHandler)}), knowledge.Options{Logger: slog.New(slog.DiscardHandler), MaxQueuedRuns: cfg.MaxQueuedRuns})
	if err != nil {
		return err
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	origins := web.DemoOrigins(cfg)
	seeded, err := demo.Ensure(ctx, st, kn, store.NewAPIKeyRow{
		Name: "bootstrap", Role: string(auth.RoleAdmin), Hash: key.Hash, Prefix: key.Prefix, Last4: key.Last4,
	}, origins)
	if err != nil {
		return err
	}
	out := &output{w: stdout}
	out.printf("demo orgId=%s\ndemo agentId=%s\n", seeded.OrgID, seeded.AgentID)
	if seeded.Created {
		out.printf("demo agent may be embedded from %s\n", strings.Join(origins, ", "))
	}
	if seeded.ToolCreated {
		out.printf("demo tool %s added (requires approval; served by this binary)\n", demo.TicketTool)
	}
	if seeded.Run != nil {
		out.printf("demo knowledge: %d documents queued for indexing (run %s); the server indexes them within seconds\n", seeded.Queued, seeded.Run.ID)
	}
	if seeded.Created {
		out.printf("demo admin apiKey=%s   (shown once; stored only as a hash)\n", key.Plaintext)
	} else {
		out.printf("demo admin apiKey: shown when the demo org was first created; mint another with: switchboard keys create --org demo\n")
	}
	return out.err
}
