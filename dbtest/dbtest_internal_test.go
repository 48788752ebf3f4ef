package dbtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// serverNow is the server's clock, which stamps are written and judged by.
func serverNow(t *testing.T, conn *pgx.Conn) time.Time {
	t.Helper()
	var now time.Time
	if err := conn.QueryRow(t.Context(), "SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

// comments returns the comment of every database named prefix….
func comments(t *testing.T, conn *pgx.Conn, prefix string) map[string]string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE starts_with(datname, $1)`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(name, prefix)] = comment
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func stampAt(at time.Time) string { return stampPrefix + at.UTC().Format(time.RFC3339) }

// Only templates unused for a day, and half-built ones, go; the one kept and the fresh ones
// stay; a template without a stamp gets one and a day to live.
func TestSweepDropsOnlyStaleAndHalfBuiltTemplates(t *testing.T) {
	ctx := t.Context()
	conn, err := adminConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	prefix := randomName("switchboard_sweeptest_") + "_"
	now := serverNow(t, conn)
	stamps := map[string]string{
		"stale":         stampAt(now.Add(-25 * time.Hour)),
		"fresh":         stampAt(now.Add(-23 * time.Hour)),
		"unstamped":     "",
		"other_comment": "not a stamp",
		"dead_building": "",
		"kept":          stampAt(now.Add(-48 * time.Hour)), // this run's own: never swept
	}
	for name, comment := range stamps {
		db := pgx.Identifier{prefix + name}.Sanitize()
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropDatabase(prefix + name) })
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+db+" IS_TEMPLATE true"); err != nil {
			t.Fatal(err)
		}
		if comment != "" {
			if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+db+" IS '"+comment+"'"); err != nil {
				t.Fatal(err)
			}
		}
	}

	if err := sweepTemplates(ctx, conn, prefix, prefix+"kept"); err != nil {
		t.Fatal(err)
	}
	after := serverNow(t, conn)
	got := comments(t, conn, prefix)
	for _, name := range []string{"unstamped", "other_comment"} {
		used, ok := strings.CutPrefix(got[name], stampPrefix)
		at, err := time.Parse(time.RFC3339, used)
		if !ok || err != nil || at.Before(now.Truncate(time.Second)) || at.After(after) {
			t.Errorf("%s: comment %q, want a stamp between %s and %s", name, got[name], now, after)
		}
		got[name] = "stamped"
	}
	want := map[string]string{"fresh": stamps["fresh"], "kept": stamps["kept"], "unstamped": "stamped", "other_comment": "stamped"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("databases left (-want +got):\n%s", diff)
	}
}

// A run stamps the template it clones from, so no other run drops it for a day.
func TestTheTemplateInUseIsStamped(t *testing.T) {
	NewURL(t)
	conn, err := adminConn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tmpl, err := ensureTemplate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	used, ok := strings.CutPrefix(comments(t, conn, tmpl)[""], stampPrefix)
	at, err := time.Parse(time.RFC3339, used)
	if !ok || err != nil || serverNow(t, conn).Sub(at) > restampAfter+time.Minute {
		t.Fatalf("template %s: comment %q, want a recent stamp", tmpl, used)
	}
}

// A template that went away under a run (an older dbtest dropped it) is built again by the
// next clone, which then succeeds.
func TestACloneWhoseTemplateWentAwayBuildsItAgain(t *testing.T) {
	ctx := t.Context()
	tmpl := randomName(templatePrefix + "gone_")
	t.Cleanup(func() { dropTemplate(tmpl) })
	clone := randomName("switchboard_test_")
	t.Cleanup(func() { dropDatabase(clone) })
	if err := createFromTemplate(ctx, clone, tmpl); err != nil {
		t.Fatal(err)
	}
	u, err := withDatabase(BaseURL(), clone)
	if err != nil {
		t.Fatal(err)
	}
	var agents int
	if err := Pool(t, u).QueryRow(ctx, "SELECT count(*) FROM agents").Scan(&agents); err != nil || agents != 0 {
		t.Fatalf("the clone is not a migrated database: %d agents, %v", agents, err)
	}
}

// dropTemplate drops a template this test made.
func dropTemplate(name string) {
	conn, err := adminConn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	_, _ = conn.Exec(context.Background(), "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE false")
	dropDatabase(name)
}
