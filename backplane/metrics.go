package backplane

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published   prometheus.Counter
	received    prometheus.Counter
	delivered   prometheus.Counter
	reconnects  prometheus.Counter
	up          prometheus.Gauge
	lag         prometheus.Histogram
	gapsExpired prometheus.Counter
	pruned      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "switchboard", "backplane"
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "published_total",
			Help: "Events published by this process (the enclosing transaction may still have rolled back).",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "events_received_total",
			Help: "Committed events read by this process's listener, each counted once.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "delivered_total",
			Help: "Events handed to local sockets (one per socket) and to internal handlers.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "listener_reconnects_total",
			Help: "Times the LISTEN connection was re-established after being lost.",
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "listener_up",
			Help: "1 while the LISTEN connection is connected and caught up.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "delivery_lag_seconds",
			Help:    "From an event's insert to its dispatch on this process (database clock up to the read).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		gapsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "gaps_expired_total",
			Help: "Missing ids given up on (rolled-back publishes, or ones not committed within the gap timeout).",
		}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "pruned_total",
			Help: "Events deleted by this process's pruning.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.received, m.delivered, m.reconnects, m.up, m.lag, m.gapsExpired, m.pruned} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register backplane metrics: %w", err)
		}
	}
	return m, nil
}
