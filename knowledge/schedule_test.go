package knowledge

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/testkit"
)

func TestScheduleGrammar(t *testing.T) {
	base := time.Date(2025, 6, 1, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		next time.Time // zero: refused
	}{
		{"@every 15m", base.Add(15 * time.Minute)},
		{"@every 720h", base.Add(720 * time.Hour)},
		{"@every 1h30m", base.Add(90 * time.Minute)},
		{"@hourly", time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
		{"@weekly", time.Date(2025, 6, 8, 0, 0, 0, 0, time.UTC)}, // 2025-06-01 is a Sunday
		{"0 3 * * *", time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC)},
		{"*/20 * * * *", time.Date(2025, 6, 1, 10, 40, 0, 0, time.UTC)},
		{"0 9-17/4 * * 1-5", time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)},
		{"15,45 * 1 6 *", time.Date(2025, 6, 1, 10, 45, 0, 0, time.UTC)},
		{"@every 14m59s", time.Time{}},
		{"@every 721h", time.Time{}},
		{"@every soon", time.Time{}},
		{"@monthly", time.Time{}},
		{"@midnight", time.Time{}},
		{"0 0 * * * *", time.Time{}},
		{"0 0 * *", time.Time{}},
		{"0 0 * JAN *", time.Time{}},
		{"0 0 ? * *", time.Time{}},
		{"61 * * * *", time.Time{}},
		{"CRON_TZ=UTC 0 0 * * *", time.Time{}},
		{"", time.Time{}},
		// Cron has the same 15-minute floor as @every.
		{"*/15 * * * *", time.Date(2025, 6, 1, 10, 45, 0, 0, time.UTC)},
		{"59 23 * * *", time.Date(2025, 6, 1, 23, 59, 0, 0, time.UTC)},
		{"0,50 0,23 * * 1", time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)}, // Mondays only: 23:50 is never followed by 00:00
		{"0,50 0,23 1,15 * *", time.Date(2025, 6, 1, 23, 0, 0, 0, time.UTC)},
		{"* * * * *", time.Time{}},
		{"*/14 * * * *", time.Time{}},
		{"0,10 * * * *", time.Time{}},
		{"0,59 * * * *", time.Time{}}, // 59 to the next hour's 0
		{"0,50 0,23 * * *", time.Time{}},
		{"0,50 0,23 1,2 * *", time.Time{}},
		{"0,50 0,23 * * 0,1", time.Time{}},
	} {
		s, err := ParseSchedule(tc.in)
		if tc.next.IsZero() {
			if err == nil {
				t.Errorf("%q accepted", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q refused: %v", tc.in, err)
			continue
		}
		if got := s.Next(base); !got.Equal(tc.next) {
			t.Errorf("%q: next after %s = %s, want %s", tc.in, base, got, tc.next)
		}
	}
	// Cron is evaluated in UTC whatever the zone of the time asked about.
	s, _ := ParseSchedule("0 3 * * *")
	tokyo := time.FixedZone("JST", 9*3600)
	if got := s.Next(base.In(tokyo)); !got.Equal(time.Date(2025, 6, 2, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("next in another zone = %s", got)
	}
}

func TestFloorRefusalNamesTheGap(t *testing.T) {
	_, err := ParseSchedule("*/5 * * * *")
	if err == nil || err.Error() != "must not fire more often than every 15m; '*/5 * * * *' can fire 5m0s apart" {
		t.Fatalf("err = %v", err)
	}
	// A schedule stored before the floor existed still runs (the scheduler's guard spaces it).
	if _, err := parseStoredSchedule("* * * * *"); err != nil {
		t.Fatalf("stored schedule: %v", err)
	}
}

func TestScheduledRunsAreQueuedOnceAndOnlyWhenDue(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org := e.org("acme")
	ctx := context.Background()
	mk := func(name, schedule string, enabled bool, updatedAgo time.Duration) uuid.UUID {
		in := webInput(name, `{"urls":["https://example.com/`+name+`"]}`)
		if schedule != "" {
			in.Schedule = &schedule
		}
		in.Enabled = &enabled
		c, err := s.CreateConnector(ctx, org, in, testMeta)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pool.Exec(ctx, "UPDATE connectors SET updated_at = now() - $2::interval WHERE id = $1",
			c.ID, fmt.Sprintf("%d seconds", int(updatedAgo.Seconds()))); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	due15 := mk("due", "@every 15m", true, 20*time.Minute)
	disabled := mk("disabled", "@every 15m", false, 20*time.Minute)
	fresh := mk("fresh", "@every 15m", true, time.Minute)
	manual := mk("manual", "", true, 48*time.Hour)
	cron := mk("cron", "*/15 * * * *", true, 20*time.Minute)
	// Stored before cron had the 15-minute floor: it still runs.
	legacy := mk("legacy", "@every 15m", true, 10*time.Minute)
	if _, err := e.pool.Exec(ctx, "UPDATE connectors SET schedule = '*/5 * * * *' WHERE id = $1", legacy); err != nil {
		t.Fatal(err)
	}
	recent := mk("recent", "@hourly", true, 3*time.Hour)
	// recent ran 10 minutes ago: its schedule fired since, but the guard holds.
	r, _, err := s.IndexConnector(ctx, org, recent, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE indexing_runs SET status = 'succeeded', created_at = now() - interval '10 minutes' WHERE id = $1", r.ID); err != nil {
		t.Fatal(err)
	}
	other := e.org("other")

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // as if several instances fired at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.QueueScheduledRuns(ctx, time.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := func(id uuid.UUID) int {
		runs, _, err := s.ListRuns(ctx, org, RunFilter{ConnectorID: &id}, nil, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	for _, tc := range []struct {
		name string
		id   uuid.UUID
		want int
	}{{"due", due15, 1}, {"disabled", disabled, 0}, {"fresh", fresh, 0}, {"manual", manual, 0}, {"cron", cron, 1}, {"legacy", legacy, 1}, {"recent", recent, 1}} {
		if got := count(tc.id); got != tc.want {
			t.Errorf("%s: %d runs, want %d", tc.name, got, tc.want)
		}
	}
	if runs, _, _ := s.ListRuns(ctx, other, RunFilter{}, nil, 50, 0); len(runs) != 0 {
		t.Errorf("another org got runs: %+v", runs)
	}
	var audits int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'connector.index'").Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 { // the manual IndexConnector above only
		t.Errorf("%d connector.index audit rows; scheduled runs write none", audits)
	}
	// Firing again while the runs are queued queues nothing more.
	if err := s.QueueScheduledRuns(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := count(due15); got != 1 {
		t.Errorf("due: %d runs after a second firing with one queued", got)
	}
}

func TestTheLeaderQueuesScheduledRunsByItself(t *testing.T) {
	e := newEnv(t)
	org := e.org("acme")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "Hedgehogs hibernate in winter.")
	}))
	defer srv.Close()
	writer := e.service(testOptions(), false)
	in := webInput("hourly", `{"urls":["`+srv.URL+`/h"]}`)
	in.Schedule = strp("@hourly")
	c, err := writer.CreateConnector(context.Background(), org, in, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(context.Background(), "UPDATE connectors SET updated_at = now() - interval '2 hours' WHERE id = $1", c.ID); err != nil {
		t.Fatal(err)
	}
	s := e.service(testOptions(), true)
	var runs []Run
	testkit.Eventually(t, "the scheduler to start a run", func() bool {
		var err error
		if runs, _, err = s.ListRuns(context.Background(), org, RunFilter{ConnectorID: &c.ID}, nil, 50, 0); err != nil {
			t.Fatal(err)
		}
		if len(runs) > 1 {
			t.Fatalf("runs = %+v", runs)
		}
		return len(runs) == 1
	})
	if final := waitRun(t, s, org, runs[0].ID); final.Status != StatusSucceeded {
		t.Fatalf("scheduled run = %+v", final)
	}
	if got := search(t, s, org, Viewer{}, "hedgehogs"); len(got) != 1 {
		t.Fatalf("scheduled run's page not retrievable: %v", got)
	}
}
