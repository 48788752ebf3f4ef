package backplane_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/backplane"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/internal/panics"
	"github.com/switchboard-dev/switchboard/testkit"
)

// panicker is a socket whose delivery panics.
type panicker struct{}

func (panicker) Deliver(backplane.Event) { panic("injected: a socket's delivery panicked") }

func TestPanickingDeliveryIsSkippedAndCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter, err := panics.NewCounter(reg)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := startHub(t, dbtest.NewURL(t), backplane.Options{Panics: counter, Logger: quiet})
	org := newOrg(t, h.pool, "acme")
	ctx := context.Background()

	// Two sockets of the org, one of them broken.
	bad := h.Register(panicker{})
	bad.Bind(backplane.Org, org.String())
	good := &recorder{name: "good"}
	h.Register(good).Bind(backplane.Org, org.String())
	// An internal handler that panics, then one that works, for the instance's own events.
	h.Handle("test.broken", func(context.Context, backplane.Event) { panic("injected: a handler panicked") })
	handled := make(chan int64, 1)
	h.Handle("test.fine", func(_ context.Context, ev backplane.Event) { handled <- ev.ID })

	var ids []int64
	for i := range 2 {
		id, err := h.Publish(ctx, h.pool, org, backplane.Target{Type: backplane.Org, ID: org.String()}, payload("notice", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	instance := backplane.Target{Type: backplane.Instance, ID: h.id.String()}
	if _, err := h.Publish(ctx, h.pool, org, instance, payload("test.broken", 0)); err != nil {
		t.Fatal(err)
	}
	fine, err := h.Publish(ctx, h.pool, org, instance, payload("test.fine", 0))
	if err != nil {
		t.Fatal(err)
	}
	// The dispatcher outlived every panic: the working socket and handler got everything.
	testkit.Eventually(t, "both events on the working socket", func() bool { return good.has(ids[0]) && good.has(ids[1]) })
	if got := <-handled; got != fine {
		t.Errorf("handler got event %d, want %d", got, fine)
	}
	if n := dispatcherPanics(t, reg); n != 3 {
		t.Errorf("switchboard_panics_total{where=\"dispatcher\"} = %v, want 3 (two socket deliveries, one handler)", n)
	}
}

// dispatcherPanics reads switchboard_panics_total{where="dispatcher"} from reg.
func dispatcherPanics(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_panics_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == "dispatcher" {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatal("no dispatcher series")
	return 0
}
