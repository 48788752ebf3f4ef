package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/migrations"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func cli(t *testing.T, ctx context.Context, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	return code, out.String(), errOut.String()
}

func scalar[T any](t *testing.T, url, sql string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

const appTables = `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`

// migrationVersions are the embedded migrations' versions, ascending; numbers may have gaps.
func migrationVersions(t *testing.T) []int64 {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	out := make([]int64, len(files))
	for i, f := range files {
		if out[i], err = goose.NumericComponent(f); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestMigrateUpDownAndDownToZero(t *testing.T) {
	ctx := context.Background()
	versions := migrationVersions(t)
	env := map[string]string{"DATABASE_URL": dbtest.NewEmptyURL(t)}
	if code, out, errOut := cli(t, ctx, env, "migrate", "up"); code != 0 || !strings.Contains(out, "database at version") {
		t.Fatalf("migrate up = %d\n%s%s", code, out, errOut)
	}
	if v := scalar[int64](t, env["DATABASE_URL"], migrations.VersionQuery); v != migrations.Latest() {
		t.Fatalf("version after up = %d", v)
	}
	if code, out, _ := cli(t, ctx, env, "migrate", "status"); code != 0 || strings.Count(out, " applied ") != len(versions) {
		t.Fatalf("status after up = %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, ctx, env, "migrate", "down"); code != 0 {
		t.Fatalf("migrate down = %d %s", code, errOut)
	}
	if v := scalar[int64](t, env["DATABASE_URL"], migrations.VersionQuery); v != versions[len(versions)-2] {
		t.Fatalf("version after one down = %d, want %d", v, versions[len(versions)-2])
	}
	if code, _, errOut := cli(t, ctx, env, "migrate", "down", "--to", "0"); code != 0 {
		t.Fatalf("migrate down --to 0 = %d %s", code, errOut)
	}
	if n := scalar[int64](t, env["DATABASE_URL"], appTables); n != 0 {
		t.Fatalf("%d tables left after down --to 0", n)
	}
}

func TestOrgsCreatePrintsAKeyStoredOnlyAsAHash(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t)
	env := map[string]string{"DATABASE_URL": url}
	code, out, errOut := cli(t, ctx, env, "orgs", "create", "--name", "Acme", "--external-id", "acme-idp")
	if code != 0 {
		t.Fatalf("orgs create = %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`^orgId=([0-9a-f-]{36})\napiKey=(sbk_[A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output is not exactly two lines orgId=…, apiKey=…:\n%q", out)
	}
	orgID, key := m[1], m[2]
	sum := sha256.Sum256([]byte(key))
	if n := scalar[int64](t, url, `SELECT count(*) FROM api_keys WHERE org_id = $1 AND key_hash = $2 AND role = 'admin' AND name = 'bootstrap' AND prefix = $3 AND last4 = $4`,
		orgID, sum[:], key[:8], key[len(key)-4:]); n != 1 {
		t.Fatalf("api key row by hash: %d", n)
	}
	// The plaintext appears in no column of any row.
	if n := scalar[int64](t, url, `SELECT count(*) FROM api_keys k WHERE position($1 in k::text) > 0`, key); n != 0 {
		t.Fatal("the plaintext key is stored")
	}
	if n := scalar[int64](t, url, `SELECT count(*) FROM audit_log a WHERE position($1 in a::text) > 0`, key); n != 0 {
		t.Fatal("the plaintext key is in the audit log")
	}
	if n := scalar[int64](t, url, `SELECT count(*) FROM audit_log WHERE org_id = $1 AND actor_type = 'system' AND action IN ('org.create', 'apiKey.create')`, orgID); n != 2 {
		t.Fatalf("audit rows = %d, want org.create and apiKey.create", n)
	}
	// The external id is taken now.
	if code, _, errOut := cli(t, ctx, env, "orgs", "create", "--name", "Other", "--external-id", "acme-idp"); code != 1 || !strings.Contains(errOut, "already used") {
		t.Fatalf("second org with the same external id = %d %q", code, errOut)
	}
	if code, _, _ := cli(t, ctx, env, "orgs", "create", "--name", "   "); code != 1 {
		t.Fatalf("blank name accepted")
	}
}

func TestServeRefusesABehindSchemaUnlessAutoMigrate(t *testing.T) {
	url := dbtest.NewEmptyURL(t)
	env := map[string]string{"DATABASE_URL": url, "SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_ENCRYPTION_KEY": fixture.EncryptionKey, "SWITCHBOARD_LOG_LEVEL": "error"}
	code, _, errOut := cli(t, context.Background(), env, "serve")
	if code != 1 || !strings.Contains(errOut, "switchboard migrate up") {
		t.Fatalf("serve on an empty database = %d %q", code, errOut)
	}

	env["SWITCHBOARD_AUTO_MIGRATE"] = "1"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { c, _, _ := cli(t, ctx, env, "serve"); done <- c }()
	testkit.Eventually(t, "serve with SWITCHBOARD_AUTO_MIGRATE=1 to register its instance", func() bool {
		return scalar[int64](t, url, `SELECT count(*) FROM pg_tables WHERE tablename = 'instances'`) != 0 &&
			scalar[int64](t, url, `SELECT count(*) FROM instances`) != 0
	})
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("serve exited %d after SIGTERM-like cancel", c)
	}
	if v := scalar[int64](t, url, migrations.VersionQuery); v != migrations.Latest() {
		t.Fatalf("auto-migrate left version %d", v)
	}
}

func TestServeFailsFastOnBadConfiguration(t *testing.T) {
	cases := map[string]map[string]string{
		"no encryption key":     {},
		"bad duration":          {"SWITCHBOARD_ENCRYPTION_KEY": fixture.EncryptionKey, "SWITCHBOARD_SHUTDOWN_TIMEOUT": "soon"},
		"none in production":    {"SWITCHBOARD_ENCRYPTION_KEY": fixture.EncryptionKey, "AUTH_MODE": "none", "SWITCHBOARD_ENV": "production"},
		"strict ws without key": {"SWITCHBOARD_ENCRYPTION_KEY": fixture.EncryptionKey, "SWITCHBOARD_WS_AUTH": "strict"},
	}
	url := dbtest.NewURL(t)
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			env["DATABASE_URL"] = url
			env["SWITCHBOARD_ADDR"] = "127.0.0.1:0"
			if code, _, errOut := cli(t, context.Background(), env, "serve"); code != 1 || errOut == "" {
				t.Fatalf("serve = %d %q, want a startup error", code, errOut)
			}
		})
	}
}

func TestServeRefusesAnotherEncryptionKey(t *testing.T) {
	url := dbtest.NewURL(t)
	servetest.StartOn(t, url, nil) // seals the key check value with the test key
	other := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	env := map[string]string{"DATABASE_URL": url, "SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_ENCRYPTION_KEY": other}
	code, _, errOut := cli(t, context.Background(), env, "serve")
	if code != 1 || !strings.Contains(errOut, "SWITCHBOARD_ENCRYPTION_KEY does not match the key this database was encrypted with") {
		t.Fatalf("serve with another key = %d %q", code, errOut)
	}
}

func TestUsageAndVersion(t *testing.T) {
	if code, _, _ := cli(t, context.Background(), nil); code != 2 {
		t.Fatalf("no command = %d", code)
	}
	if code, _, _ := cli(t, context.Background(), nil, "frobnicate"); code != 2 {
		t.Fatalf("unknown command = %d", code)
	}
	if code, out, _ := cli(t, context.Background(), nil, "version"); code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("version = %d %q", code, out)
	}
}

func TestDemoCreatesOnceAndPrintsTheSameIDsAfter(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t)}
	code, first, errOut := cli(t, ctx, env, "demo")
	if code != 0 || !strings.Contains(first, "demo admin apiKey=sbk_") {
		t.Fatalf("first demo = %d %q %q", code, first, errOut)
	}
	code, second, _ := cli(t, ctx, env, "demo")
	if code != 0 || strings.Contains(second, "sbk_") {
		t.Fatalf("second demo = %d %q", code, second)
	}
	ids := regexp.MustCompile(`demo orgId=\S+\ndemo agentId=\S+\n`)
	if ids.FindString(first) == "" || ids.FindString(first) != ids.FindString(second) {
		t.Fatalf("ids differ between runs:\n%s\n%s", first, second)
	}
	// The demo agent may be embedded from the page at / only (the default listen address).
	if !strings.Contains(first, "demo agent may be embedded from http://127.0.0.1:8787, http://localhost:8787\n") {
		t.Fatalf("first demo does not name the allowed origins:\n%s", first)
	}
	var origins []string
	if err := dbtest.Pool(t, env["DATABASE_URL"]).QueryRow(ctx, `SELECT allowed_origins FROM agents`).Scan(&origins); err != nil {
		t.Fatal(err)
	}
	if strings.Join(origins, " ") != "http://127.0.0.1:8787 http://localhost:8787" {
		t.Fatalf("demo agent origins %v", origins)
	}
}

func TestKeysCreateMintsAKeyThatWorksOnAdminAndIsStoredOnlyAsAHash(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t)
	env := map[string]string{"DATABASE_URL": url}
	if code, _, errOut := cli(t, ctx, env, "demo"); code != 0 {
		t.Fatalf("demo = %d %s", code, errOut)
	}
	// A re-run of the demo names the command that gets a key back.
	if _, again, _ := cli(t, ctx, env, "demo"); !strings.Contains(again, "switchboard keys create --org demo") {
		t.Fatalf("second demo does not name keys create:\n%s", again)
	}
	code, out, errOut := cli(t, ctx, env, "keys", "create", "--org", "demo", "--role", "curator", "--name", "laptop")
	if code != 0 {
		t.Fatalf("keys create = %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`^orgId=([0-9a-f-]{36})\nkeyId=([0-9a-f-]{36})\nrole=curator\napiKey=(sbk_[A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output:\n%q", out)
	}
	orgID, keyID, key := m[1], m[2], m[3]
	sum := sha256.Sum256([]byte(key))
	if n := scalar[int64](t, url, `SELECT count(*) FROM api_keys WHERE org_id = $1 AND key_hash = $2 AND role = 'curator' AND name = 'laptop'`, orgID, sum[:]); n != 1 {
		t.Fatalf("key row by hash: %d", n)
	}
	if n := scalar[int64](t, url, `SELECT count(*) FROM api_keys k WHERE position($1 in k::text) > 0`, key); n != 0 {
		t.Fatal("the plaintext key is stored")
	}
	if n := scalar[int64](t, url, `SELECT count(*) FROM audit_log a WHERE org_id = $1 AND actor_type = 'system' AND actor_id = 'cli'
		AND action = 'apiKey.create' AND details->>'role' = 'curator' AND position($2 in a::text) = 0`, orgID, key); n != 1 {
		t.Fatalf("apiKey.create audit rows = %d", n)
	}

	// The key authenticates /admin as a curator of the demo org.
	srv := servetest.StartOn(t, url, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/admin/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /admin/me = %d %v %s", res.StatusCode, err, body)
	}
	want := admintest.Me{UserID: "apikey:" + keyID, OrgID: orgID, Role: "curator", DisplayName: "laptop", AuthMethod: "apiKey"}
	if diff := cmp.Diff(want, testkit.DecodeJSON[admintest.Me](t, body)); diff != "" {
		t.Fatalf("GET /admin/me (-want +got):\n%s", diff)
	}

	for _, bad := range [][]string{
		{"keys", "create"},
		{"keys", "create", "--org", "nobody"},
		{"keys", "create", "--org", "demo", "--role", "root"},
		{"keys", "create", "--org", "demo", "--name", "laptop"},
	} {
		if code, _, errOut := cli(t, ctx, env, bad...); code != 1 || errOut == "" {
			t.Errorf("%v = %d %q", bad, code, errOut)
		}
	}
}

func TestOrgsListShowsEveryOrg(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t)}
	for _, args := range [][]string{{"orgs", "create", "--name", "Acme"}, {"orgs", "create", "--name", "Globex", "--external-id", "globex-idp"}} {
		if code, _, errOut := cli(t, ctx, env, args...); code != 0 {
			t.Fatalf("%v = %d %s", args, code, errOut)
		}
	}
	code, out, errOut := cli(t, ctx, env, "orgs", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], " - ") || !strings.HasSuffix(strings.Fields(lines[1])[2], "Acme") ||
		!strings.Contains(lines[2], "globex-idp") || !strings.Contains(lines[2], "Globex") {
		t.Fatalf("orgs list = %d %q\n%s", code, errOut, out)
	}
	// The name finds an org for keys create, case-insensitively.
	if code, _, errOut := cli(t, ctx, env, "keys", "create", "--org", "acme"); code != 0 {
		t.Fatalf("keys create --org acme = %d %s", code, errOut)
	}
}
