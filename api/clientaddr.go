package api

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// ClientAddrs decides the client address of a request, by the one rule the admin API and
// /ws share (ADMIN-API §1.8, PROTOCOL-1.1 §1.9): the TCP peer, or, when the peer is a
// trusted proxy, the nearest X-Forwarded-For entry read from the right that is not one.
// It also warns, at most once a minute, when an untrusted peer sends X-Forwarded-For (a
// reverse proxy missing from SWITCHBOARD_TRUSTED_PROXIES makes every visitor look alike).
type ClientAddrs struct {
	trusted []netip.Prefix
	log     *slog.Logger
	now     func() time.Time

	mu         sync.Mutex
	lastWarn   time.Time
	suppressed int
}

// xffWarnEvery bounds the untrusted X-Forwarded-For warning.
const xffWarnEvery = time.Minute

// NewClientAddrs builds the rule for SWITCHBOARD_TRUSTED_PROXIES.
func NewClientAddrs(trusted []netip.Prefix, log *slog.Logger) *ClientAddrs {
	if log == nil {
		log = slog.Default()
	}
	return &ClientAddrs{trusted: trusted, log: log, now: time.Now}
}

// Of returns the client address of c; an IPv4-mapped IPv6 address counts as IPv4. It is the
// zero Addr only when the peer address cannot be read at all.
func (a *ClientAddrs) Of(c *fiber.Ctx) netip.Addr {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	var hops []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), fiber.HeaderXForwardedFor) {
			hops = append(hops, strings.Split(string(v), ",")...)
		}
	})
	if !a.Trusted(peer) {
		if len(hops) > 0 {
			a.warnUntrusted(peer)
		}
		return peer
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed entry: keep the nearest address read so far
		}
		addr = hop.Unmap()
		if !a.Trusted(addr) {
			break
		}
	}
	return addr
}

// Trusted reports whether addr is inside SWITCHBOARD_TRUSTED_PROXIES.
func (a *ClientAddrs) Trusted(addr netip.Addr) bool {
	for _, p := range a.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (a *ClientAddrs) warnUntrusted(peer netip.Addr) {
	now := a.now()
	a.mu.Lock()
	if !a.lastWarn.IsZero() && now.Sub(a.lastWarn) < xffWarnEvery {
		a.suppressed++
		a.mu.Unlock()
		return
	}
	suppressed := a.suppressed
	a.lastWarn, a.suppressed = now, 0
	a.mu.Unlock()
	a.log.Warn("X-Forwarded-For ignored: the peer is not in SWITCHBOARD_TRUSTED_PROXIES; behind a reverse proxy, list it there",
		"peer", peer.String(), "suppressed_since_last_warning", suppressed)
}
