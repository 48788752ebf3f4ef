package cluster_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit"
)

func TestAnInstanceWhoseListenerIsTerminatedReceivesEveryMissedEventExactlyOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a := c.start(nil)
	// Started after A is listening, so A's LISTEN connection is the older of the two.
	b := c.start(nil)
	tok := adminToken(t, acme)
	onA, onB := openWidget(t, a, "", c.agent.ID, nil), openWidget(t, b, "", c.agent.ID, nil)
	cols := []*collector{collect(onA), collect(onB)}

	var want []string
	pub := func(from, to int) {
		for i := from; i < to; i++ {
			seq := fmt.Sprint(i)
			want = append(want, seq)
			mustPublish(t, []*servetest.Server{a, b}[i%2], tok, "org", c.org.String(), map[string]any{"type": "notice", "seq": seq})
		}
	}
	pub(0, 20)
	var killed int
	if err := c.pool.QueryRow(ctx(), `
		SELECT count(pg_terminate_backend(pid)) FROM (
			SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1
			ORDER BY backend_start LIMIT 1) l`, backplane.ApplicationName).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate A's listener: %d %v", killed, err)
	}
	pub(20, 40) // while A reconnects
	testkit.Eventually(t, "A's listener reconnected", func() bool {
		return metric(t, a, "switchboard_backplane_listener_reconnects_total") >= 1
	})
	pub(40, 50)
	mustPublish(t, b, tok, "org", c.org.String(), map[string]any{"type": "end"})
	for i, col := range cols {
		col.check(t, []string{"socket on A", "socket on B"}[i], want)
	}
	if n := metric(t, b, "switchboard_backplane_listener_reconnects_total"); n != 0 {
		t.Fatalf("B's listener reconnected %v times; the terminated one was not A's", n)
	}
}

func TestBothInstancesRecoverWhenEveryDatabaseConnectionIsTerminated(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	a, b := c.start(nil), c.start(nil)
	tok := adminToken(t, acme)
	onA, onB := openWidget(t, a, "", c.agent.ID, nil), openWidget(t, b, "", c.agent.ID, nil)

	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	name := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	maint := dbtest.Pool(t, withPath(t, c.url, "/postgres"))
	allow := func(on bool) {
		t.Helper()
		if _, err := maint.Exec(ctx(), fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", name, on)); err != nil {
			t.Fatal(err)
		}
	}
	// The outage: no connection may be made to the test database, and every one is cut.
	allow(false)
	t.Cleanup(func() { _, _ = maint.Exec(ctx(), fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS true", name)) })
	if _, err := maint.Exec(ctx(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, strings.TrimPrefix(u.Path, "/")); err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*servetest.Server{a, b} {
		testkit.Eventually(t, "/readyz shows the outage", func() bool {
			code, r := readyz(t, srv)
			return code == 503 && r.Status == "unavailable" && r.Checks["database"] == "down" && r.Checks["listener"] == "down" && !r.Draining
		})
	}
	allow(true)
	for _, srv := range []*servetest.Server{a, b} {
		testkit.Eventually(t, "/readyz shows the recovery", func() bool {
			code, r := readyz(t, srv)
			return code == 200 && r.Status == "ready" && r.Checks["database"] == "ok" && r.Checks["listener"] == "ok"
		})
	}
	// Both serve again end to end: a publish through A reaches the sockets of both.
	mustPublish(t, a, tok, "org", c.org.String(), map[string]any{"type": "notice", "seq": "after"})
	for _, w := range []*widget{onA, onB} {
		if ev := w.Next(); ev.Fields["seq"] != "after" {
			t.Fatalf("after the recovery: %s", ev.Raw)
		}
	}
}

// withPath returns the URL raw with its path (the database name) replaced.
func withPath(t *testing.T, raw, path string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = path
	return u.String()
}
