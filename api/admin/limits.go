package admin

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboard-dev/switchboard/api"
)

// limiters are the in-memory, per-instance limits of ADMIN-API §1.8: a token bucket per org
// for authenticated requests and one per client IP for failed authentications. Buckets
// that have refilled completely behave like new ones and are dropped by a sweep that runs
// at most once a minute on the request path (no goroutine).
type limiters struct {
	orgRate, orgBurst   float64
	failRate, failBurst float64

	mu        sync.Mutex
	orgs      map[uuid.UUID]*rate.Limiter
	ips       map[string]*rate.Limiter
	lastSweep time.Time
	now       func() time.Time

	// refused counts the 429s of these limits, by limit (org_requests, auth_failures).
	refused *prometheus.CounterVec
}

const orgBurst = 100

func newLimiters(orgPerMinute, failuresPerMinute int) *limiters {
	l := &limiters{orgs: map[uuid.UUID]*rate.Limiter{}, ips: map[string]*rate.Limiter{}, now: time.Now,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Name: "admin_rate_limited_total",
			Help: "/admin requests refused with RATE_LIMITED by this instance, by limit (org_requests, auth_failures).",
		}, []string{"limit"}),
	}
	l.refused.WithLabelValues(limitOrgRequests)
	l.refused.WithLabelValues(limitAuthFailures)
	if orgPerMinute > 0 {
		l.orgRate, l.orgBurst = float64(orgPerMinute)/60, float64(min(orgBurst, orgPerMinute))
	}
	if failuresPerMinute > 0 {
		l.failRate, l.failBurst = float64(failuresPerMinute)/60, float64(failuresPerMinute)
	}
	return l
}

// orgAllow takes one token from the org's bucket, or says how long until one is there.
func (l *limiters) orgAllow(org uuid.UUID) (time.Duration, bool) {
	if l.orgRate == 0 {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	l.sweepLocked(now)
	lim := l.orgs[org]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.orgRate), int(l.orgBurst))
		l.orgs[org] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// ipBlocked reports whether ip has used up its failed-authentication bucket; such an IP
// gets 429 without any credential check until a token is back.
func (l *limiters) ipBlocked(ip string) (time.Duration, bool) {
	if l.failRate == 0 {
		return 0, false
	}
	now := l.now()
	l.mu.Lock()
	lim := l.ips[ip]
	l.mu.Unlock()
	if lim == nil {
		return 0, false
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / l.failRate * float64(time.Second)), true
}

// authFailed takes a token from ip's failure bucket.
func (l *limiters) authFailed(ip string) {
	if l.failRate == 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	l.sweepLocked(now)
	lim := l.ips[ip]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.failRate), int(l.failBurst))
		l.ips[ip] = lim
	}
	l.mu.Unlock()
	lim.AllowN(now, 1)
}

func (l *limiters) sweepLocked(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, lim := range l.orgs {
		if lim.TokensAt(now) >= l.orgBurst {
			delete(l.orgs, k)
		}
	}
	for k, lim := range l.ips {
		if lim.TokensAt(now) >= l.failBurst {
			delete(l.ips, k)
		}
	}
}

// Label values of switchboard_admin_rate_limited_total.
const (
	limitOrgRequests  = "org_requests"
	limitAuthFailures = "auth_failures"
)

// rateLimited counts a refusal by limit and answers 429 with Retry-After in whole seconds,
// at least 1.
func (l *limiters) rateLimited(c *fiber.Ctx, limit string, wait time.Duration) error {
	l.refused.WithLabelValues(limit).Inc()
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return &api.Error{Status: 429, Code: "RATE_LIMITED", Message: "too many requests: retry after " + strconv.Itoa(secs) + " s"}
}

// clientIP is the request's client address (ADMIN-API §1.8, the rule /ws shares).
func (h *handlers) clientIP(c *fiber.Ctx) string {
	addr := h.addrs.Of(c)
	if !addr.IsValid() {
		return "unknown"
	}
	return addr.String()
}
