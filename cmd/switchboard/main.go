// Command switchboard is the one Switchboard binary: serve, migrate, orgs, keys, demo,
// version. It parses configuration and wires packages together; behaviour lives in them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: switchboard <command>

commands:
  serve                                   run the HTTP and WebSocket server
  migrate up                              apply every pending migration
  migrate down [--to VERSION]             roll back one migration (--to 0: all of them)
  migrate status                          list migrations and whether each is applied
  orgs create --name NAME [--external-id REF]
                                          create an org and print its first admin API key
  orgs list                               list every org: id, external id, name, creation time
  orgs delete --org ORG [--confirm]       print every row of an org, by table (id, external id or
                                          name); with --confirm, delete the org and all of them
  keys create --org ORG [--role ROLE] [--name NAME]
                                          mint an API key for an org (id, external id or name;
                                          role admin, curator or basic; default admin), print it once
  demo                                    create what is missing of the seeded demo (org, agent,
                                          knowledge, create_ticket tool), print its ids
  version                                 print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stderr, env)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, env)
	case "orgs":
		err = cmdOrgs(ctx, args[1:], stdout, stderr, env)
	case "keys":
		err = cmdKeys(ctx, args[1:], stdout, env)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, env)
	case "version":
		err = cmdVersion(stdout)
	case "help", "-h", "--help":
		_, _ = fmt.Fprint(stdout, usage)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "switchboard %s: %v\n", args[0], err) // nowhere left to report to
		return 1
	}
	return 0
}
