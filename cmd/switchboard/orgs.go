package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/store"
)

func cmdOrgs(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	switch {
	case len(args) > 0 && args[0] == "create":
		return cmdOrgsCreate(ctx, args, stdout, env)
	case len(args) > 0 && args[0] == "list":
		return cmdOrgsList(ctx, args[1:], stdout, env)
	case len(args) > 0 && args[0] == "delete":
		return cmdOrgsDelete(ctx, args[1:], stdout, stderr, env)
	}
	return errors.New("want: orgs create --name NAME [--external-id REF], orgs list, or orgs delete --org ORG [--confirm]")
}

// cmdOrgsDelete is `orgs delete --org ORG [--confirm]`: it prints how many rows of the org
// each table holds and, only with --confirm, deletes the org and every one of them
// (store.DeleteOrg). The org's audit log goes with it, so the deletion is recorded in the
// operator's log instead: one line naming the org id and the counts, nothing of the content.
func cmdOrgsDelete(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	fs := flag.NewFlagSet("orgs delete", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	orgRef := fs.String("org", "", "the org's id, external id or name")
	confirm := fs.Bool("confirm", false, "delete; without it nothing changes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ref := strings.TrimSpace(*orgRef)
	if ref == "" {
		return errors.New("--org is required: the org's id, external id or name (switchboard orgs list shows them)")
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
	org, err := st.FindOrg(ctx, ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no org has the id, external id or name %q (switchboard orgs list shows them)", ref)
	case errors.Is(err, store.ErrAmbiguous):
		return fmt.Errorf("several orgs are named %q: pass the id (switchboard orgs list shows them)", ref)
	case err != nil:
		return err
	}
	counts, err := st.OrgRows(ctx, org.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	out := &output{w: tw}
	out.printf("org %s (%s)\n", org.ID, oneLine(org.Name))
	out.printf("TABLE\tROWS\n")
	var total int64
	fields := []any{"org_id", org.ID.String(), "actor", "cli"}
	for _, c := range counts {
		out.printf("%s\t%d\n", c.Table, c.Rows)
		total += c.Rows
		fields = append(fields, c.Table, c.Rows)
	}
	if !*confirm {
		out.printf("dry run: nothing was deleted; run again with --confirm to delete the org and these %d rows\n", total)
	}
	if out.err != nil {
		return out.err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !*confirm {
		return nil
	}
	if err := st.DeleteOrg(ctx, org.ID); err != nil {
		return err
	}
	newLogger(cfg, stderr).Info("org deleted", fields...)
	_, err = fmt.Fprintf(stdout, "deleted org %s and %d rows\n", org.ID, total)
	return err
}

func cmdOrgsCreate(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
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

// cmdOrgsList prints every org: id, external id, name and creation time, oldest first.
func cmdOrgsList(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
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
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	out := &output{w: tw}
	out.printf("ID\tEXTERNAL ID\tNAME\tCREATED\n")
	after := uuid.Nil
	for {
		orgs, err := st.ListOrgs(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			ext := "-"
			if o.ExternalID != nil {
				ext = *o.ExternalID
			}
			out.printf("%s\t%s\t%s\t%s\n", o.ID, oneLine(ext), oneLine(o.Name), o.CreatedAt.UTC().Format(time.RFC3339))
		}
		if len(orgs) < 500 {
			break
		}
		after = orgs[len(orgs)-1].ID
	}
	if out.err != nil {
		return out.err
	}
	return tw.Flush()
}

// oneLine keeps a name on its row: control characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// cmdKeys is `keys create --org ORG [--role admin|curator|basic] [--name NAME]`: it mints an
// API key with database access instead of an admin key (the way back in for an operator who
// lost the demo's key), prints it once, and audits it like POST /admin/api-keys.
func cmdKeys(ctx context.Context, args []string, stdout io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("want: keys create --org ORG [--role admin|curator|basic] [--name NAME]")
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	orgRef := fs.String("org", "", "the org's id, external id or name")
	role := fs.String("role", string(auth.RoleAdmin), "admin, curator or basic")
	name := fs.String("name", "", "the key's name, unique in the org (default cli-<UTC time>)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ref := strings.TrimSpace(*orgRef)
	if ref == "" {
		return errors.New("--org is required: the org's id, external id or name (switchboard orgs list shows them)")
	}
	switch auth.Role(*role) {
	case auth.RoleAdmin, auth.RoleCurator, auth.RoleBasic:
	default:
		return fmt.Errorf("--role must be admin, curator or basic, got %q", *role)
	}
	n := strings.TrimSpace(*name)
	if n == "" {
		n = "cli-" + time.Now().UTC().Format("20060102T150405Z")
	}
	if c := utf8.RuneCountInString(n); c > 128 {
		return errors.New("--name must be at most 128 characters")
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
	org, err := st.FindOrg(ctx, ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no org has the id, external id or name %q (switchboard orgs list shows them)", ref)
	case errors.Is(err, store.ErrAmbiguous):
		return fmt.Errorf("several orgs are named %q: pass the id (switchboard orgs list shows them)", ref)
	case err != nil:
		return err
	}
	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	row, err := st.CreateAPIKey(ctx, org.ID, store.NewAPIKeyRow{
		Name: n, Role: *role, Hash: key.Hash, Prefix: key.Prefix, Last4: key.Last4,
	}, store.Meta{Actor: store.SystemCLI})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("the org already has a key named %q: pass another --name", n)
	}
	if err != nil {
		return err
	}
	// The key is shown only here: if it cannot be written, the command must fail.
	_, err = fmt.Fprintf(stdout, "orgId=%s\nkeyId=%s\nrole=%s\napiKey=%s\n", org.ID, row.ID, row.Role, key.Plaintext)
	return err
}
