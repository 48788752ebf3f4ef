package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/store"
)

// origins are the try-it page's, as `switchboard demo` passes them.
var origins = []string{"http://127.0.0.1:8787", "http://localhost:8787"}

func demoKey() store.NewAPIKeyRow {
	return store.NewAPIKeyRow{Name: "demo", Role: "admin", Hash: []byte("demo-key-hash"), Prefix: "sb_demo", Last4: "abcd"}
}

// A failure to create the demo agent used to leave the demo org behind without one, and
// every later `switchboard demo` then failed.
func TestEnsureDemoWritesNothingWhenItFails(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	st := store.New(pool, nil)
	if _, err := pool.Exec(ctx, `
		CREATE FUNCTION refuse_agents() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'agents refused'; END $$;
		CREATE TRIGGER refuse_agents BEFORE INSERT ON agents FOR EACH ROW EXECUTE FUNCTION refuse_agents();`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DemoAgent(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DemoAgent without a demo: %v, want ErrNotFound", err)
	}
	if _, err := st.EnsureDemo(ctx, demoKey(), origins); err == nil {
		t.Fatal("EnsureDemo succeeded although agents cannot be inserted")
	}
	for table, sql := range map[string]string{
		"orgs":      `SELECT count(*) FROM orgs`,
		"api_keys":  `SELECT count(*) FROM api_keys`,
		"audit_log": `SELECT count(*) FROM audit_log`,
	} {
		var n int
		if err := pool.QueryRow(ctx, sql).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d %s rows after a failed EnsureDemo (%v), want 0", n, table, err)
		}
	}

	if _, err := pool.Exec(ctx, `DROP TRIGGER refuse_agents ON agents`); err != nil {
		t.Fatal(err)
	}
	first, err := st.EnsureDemo(ctx, demoKey(), origins)
	if err != nil || !first.Created {
		t.Fatalf("EnsureDemo after the failure = %+v, %v; want a created demo", first, err)
	}
	again, err := st.EnsureDemo(ctx, demoKey(), []string{"https://elsewhere.example"})
	if err != nil || again.Created || again.OrgID != first.OrgID || again.AgentID != first.AgentID {
		t.Fatalf("second EnsureDemo = %+v, %v; want the first demo (%+v), not created", again, err, first)
	}
	if id, err := st.DemoAgent(ctx); err != nil || id != first.AgentID {
		t.Fatalf("DemoAgent = %v, %v; want %v", id, err, first.AgentID)
	}
	var stored []string
	if err := pool.QueryRow(ctx, `SELECT allowed_origins FROM agents WHERE id = $1`, first.AgentID).Scan(&stored); err != nil ||
		strings.Join(stored, " ") != strings.Join(origins, " ") {
		t.Fatalf("demo agent origins %v (%v), want %v: the first call's, kept", stored, err, origins)
	}
	var audits int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE org_id = $1`, first.OrgID).Scan(&audits); err != nil || audits != 3 {
		t.Fatalf("%d audit rows for the demo (%v), want 3 (org, key, agent)", audits, err)
	}
}
