package ws

import (
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/ratelimit"
)

// The limits of PROTOCOL-1.1 §1.10 that live in this instance's memory: L1, L2, L5–L8 here,
// L3 and L4 on each connection. L9 is read from PostgreSQL with a turn's inputs.

// limitMessages are the refusal messages of PROTOCOL-1.1 §1.10.
var limitMessages = map[string]string{
	"L1": "too many connection attempts from this address; retry later",
	"L2": "too many open connections from this address",
	"L3": "too many frames; slow down",
	"L4": "too many sessions created on this connection; retry later",
	"L5": "too many sessions created from this address; retry later",
	"L6": "too many messages from this address; retry later",
	"L7": "too many messages in this session; retry later",
	"L8": "too many turns are running for this organization; retry shortly",
}

const codeRateLimited = "RATE_LIMITED"

// edgeLimits are the instance-wide buckets and caps. Keys are client addresses as
// ratelimit.AddrKey makes them (an IPv6 /64), session ids and org ids.
type edgeLimits struct {
	cfg    config.Limits
	now    func() time.Time
	exempt []netip.Prefix

	upgrades     *ratelimit.Keyed[netip.Prefix] // L1
	sockets      *ratelimit.Cap[netip.Prefix]   // L2
	sessionsIP   *ratelimit.Keyed[netip.Prefix] // L5
	turnsIP      *ratelimit.Keyed[netip.Prefix] // L6
	turnsSession *ratelimit.Keyed[uuid.UUID]    // L7
	orgTurns     *ratelimit.Cap[uuid.UUID]      // L8

	refused *prometheus.CounterVec
}

func newEdgeLimits(cfg config.Limits, now func() time.Time) *edgeLimits {
	if now == nil {
		now = time.Now
	}
	return &edgeLimits{
		cfg: cfg, now: now, exempt: cfg.Exempt,
		upgrades:     ratelimit.NewKeyed[netip.Prefix](ratelimit.Per(cfg.UpgradesPerIPPerMinute, time.Minute), now, 0),
		sockets:      ratelimit.NewCap[netip.Prefix](cfg.MaxConnectionsPerIP),
		sessionsIP:   ratelimit.NewKeyed[netip.Prefix](ratelimit.Per(cfg.SessionsPerIPPerHour, time.Hour), now, 0),
		turnsIP:      ratelimit.NewKeyed[netip.Prefix](ratelimit.Per(cfg.TurnsPerIPPerMinute, time.Minute), now, 0),
		turnsSession: ratelimit.NewKeyed[uuid.UUID](ratelimit.Limit{Burst: cfg.TurnBurstPerSession, Rate: float64(cfg.TurnsPerSessionPerMinute) / 60}, now, 0),
		orgTurns:     ratelimit.NewCap[uuid.UUID](cfg.OrgMaxConcurrentTurns),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Name: "ws_rate_limited_total",
			Help: "Requests and frames refused with RATE_LIMITED, by limit (L1–L8 of PROTOCOL-1.1 §1.10).",
		}, []string{"limit"}),
	}
}

// client is a connection's client address (PROTOCOL-1.1 §1.9) as the limits see it.
type client struct {
	addr   netip.Addr
	key    netip.Prefix
	exempt bool // from L1, L2, L5 and L6
}

func (l *edgeLimits) client(addr netip.Addr) client {
	c := client{addr: addr, key: ratelimit.AddrKey(addr)}
	for _, p := range l.exempt {
		if p.Contains(addr) {
			c.exempt = true
		}
	}
	return c
}

// connLimits are a connection's own buckets: L3 (frames) and L4 (sessions).
type connLimits struct {
	frames   *ratelimit.Bucket
	sessions *ratelimit.Bucket
}

func (l *edgeLimits) forConn() connLimits {
	return connLimits{
		frames:   ratelimit.NewBucket(ratelimit.Limit{Burst: l.cfg.FrameBurst, Rate: float64(l.cfg.FramesPerSecond)}, l.now),
		sessions: ratelimit.NewBucket(ratelimit.Per(l.cfg.SessionsPerConnectionPerHour, time.Hour), l.now),
	}
}

// rateLimited is the error of a refusal by limit: RATE_LIMITED with its message and
// retryAfterMs (PROTOCOL-1.1 §1.10, §5.9).
func (l *edgeLimits) rateLimited(limit string, wait time.Duration) *protocolError {
	l.refused.WithLabelValues(limit).Inc()
	return &protocolError{Code: codeRateLimited, Message: limitMessages[limit], RetryAfterMs: ratelimit.RetryAfterMs(wait)}
}

// take applies one keyed bucket: nil when allowed, else the refusal.
func take[K comparable](l *edgeLimits, limit string, b *ratelimit.Keyed[K], key K) *protocolError {
	if wait, ok := b.Take(key); !ok {
		return l.rateLimited(limit, wait)
	}
	return nil
}

// takeConn applies one of a connection's buckets.
func (l *edgeLimits) takeConn(limit string, b *ratelimit.Bucket) *protocolError {
	if wait, ok := b.Take(); !ok {
		return l.rateLimited(limit, wait)
	}
	return nil
}
