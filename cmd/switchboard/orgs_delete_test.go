package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// rowsOfOrg counts the rows of an org in a few tables that orgs delete must empty.
func rowsOfOrg(t *testing.T, url, org string) int64 {
	t.Helper()
	return scalar[int64](t, url, `SELECT (SELECT count(*) FROM agents WHERE org_id = $1) + (SELECT count(*) FROM conversations WHERE org_id = $1)
		+ (SELECT count(*) FROM messages WHERE org_id = $1) + (SELECT count(*) FROM api_keys WHERE org_id = $1)
		+ (SELECT count(*) FROM audit_log WHERE org_id = $1) + (SELECT count(*) FROM orgs WHERE id = $1)`, org)
}

func TestOrgsDeleteDryRunThenConfirm(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t)
	env := map[string]string{"DATABASE_URL": url}
	ids := map[string]string{}
	for _, name := range []string{"Doomed", "Kept"} {
		code, out, errOut := cli(t, ctx, env, "orgs", "create", "--name", name)
		if code != 0 {
			t.Fatalf("orgs create = %d %s", code, errOut)
		}
		ids[name] = strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "orgId=")
	}
	pool := dbtest.Pool(t, url)
	fx := fixture.New(t, pool)
	for _, name := range []string{"Doomed", "Kept"} {
		org := uuid.MustParse(ids[name])
		agent := fx.Agent(org, fixture.Agent{Name: "Support"})
		fx.Conversation(org, agent.ID, fixture.Conversation{UserIdentity: "jwt:visitor", Messages: 3})
	}
	doomed, kept := rowsOfOrg(t, url, ids["Doomed"]), rowsOfOrg(t, url, ids["Kept"])

	code, out, errOut := cli(t, ctx, env, "orgs", "delete", "--org", "doomed")
	if code != 0 || !strings.Contains(out, "dry run: nothing was deleted") || !strings.Contains(out, "messages") ||
		!regexp.MustCompile(`(?m)^messages\s+3$`).MatchString(out) || !regexp.MustCompile(`(?m)^conversations\s+1$`).MatchString(out) {
		t.Fatalf("dry run = %d %q\n%s", code, errOut, out)
	}
	if n := rowsOfOrg(t, url, ids["Doomed"]); n != doomed {
		t.Fatalf("the dry run changed rows: %d -> %d", doomed, n)
	}

	code, out, errOut = cli(t, ctx, env, "orgs", "delete", "--org", ids["Doomed"], "--confirm")
	if code != 0 || !strings.Contains(out, "deleted org "+ids["Doomed"]) || strings.Contains(out, "dry run") {
		t.Fatalf("delete = %d %q\n%s", code, errOut, out)
	}
	if n := rowsOfOrg(t, url, ids["Doomed"]); n != 0 {
		t.Fatalf("%d rows of the deleted org left", n)
	}
	if n := rowsOfOrg(t, url, ids["Kept"]); n != kept {
		t.Fatalf("the other org's rows: %d -> %d", kept, n)
	}
	// Recorded in the operator's log, by id and counts, without the org's content.
	if !strings.Contains(errOut, `"msg":"org deleted"`) || !strings.Contains(errOut, ids["Doomed"]) ||
		strings.Contains(errOut, "Doomed") || strings.Contains(errOut, "visitor") {
		t.Fatalf("log: %s", errOut)
	}
	for _, bad := range [][]string{
		{"orgs", "delete"},
		{"orgs", "delete", "--org", ids["Doomed"]},
		{"orgs", "delete", "--org", "Kept", "extra"},
	} {
		if code, _, errOut := cli(t, ctx, env, bad...); code != 1 || errOut == "" {
			t.Errorf("%v = %d %q", bad, code, errOut)
		}
	}
}
