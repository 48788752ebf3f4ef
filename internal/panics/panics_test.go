package panics_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-dev/switchboard/internal/panics"
)

func TestRecordCountsByWhereAndLogsTheStack(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := panics.NewCounter(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Every label exists at 0 before the first panic.
	if n := testutil.CollectAndCount(reg, "switchboard_panics_total"); n != 4 {
		t.Fatalf("%d series, want one per where", n)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.Record(log, panics.Tool, v, "tool", "lookup")
			}
		}()
		explode()
	}()
	want := `
# HELP switchboard_panics_total Panics recovered and contained, by where they happened (turn, tool, dispatcher, socket_writer).
# TYPE switchboard_panics_total counter
switchboard_panics_total{where="dispatcher"} 0
switchboard_panics_total{where="socket_writer"} 0
switchboard_panics_total{where="tool"} 1
switchboard_panics_total{where="turn"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_panics_total"); err != nil {
		t.Error(err)
	}
	out := logs.String()
	for _, s := range []string{"panic contained", "where=tool", "boom", "tool=lookup", "explode"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, out)
		}
	}
}

func explode() { panic("boom") }

func TestNilCounterOnlyLogs(t *testing.T) {
	var c *panics.Counter
	var logs bytes.Buffer
	c.Record(slog.New(slog.NewTextHandler(&logs, nil)), panics.Turn, "boom")
	if !strings.Contains(logs.String(), "where=turn") {
		t.Errorf("log = %q", logs.String())
	}
}

func TestNewCounterRefusesASecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := panics.NewCounter(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := panics.NewCounter(reg); err == nil {
		t.Error("a second switchboard_panics_total registered")
	}
}
