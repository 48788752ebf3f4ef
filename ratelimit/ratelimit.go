// Package ratelimit holds the in-memory limits of the public edge (PROTOCOL-1.1 §1.10): token
// buckets, alone or one per key (a client address, a session), and concurrency caps per key.
//
// It must never let memory grow with the number of keys it has seen: a bucket that has
// refilled completely behaves exactly like a new one, so it is dropped, and a cap's key
// leaves with its last holder. It holds no limit that must hold across instances (those are
// counted in PostgreSQL).
package ratelimit

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket's shape: it holds at most Burst tokens, starts full and refills
// at Rate tokens per second. A zero Burst or Rate disables it: every event is allowed.
type Limit struct {
	Burst int
	Rate  float64
}

// Per is the limit "n, refilled n per period" (capacity equal to the count per period).
func Per(n int, period time.Duration) Limit {
	return Limit{Burst: n, Rate: float64(n) / period.Seconds()}
}

// Off reports whether the limit is disabled.
func (l Limit) Off() bool { return l.Burst <= 0 || l.Rate <= 0 }

// RetryAfterMs is the wait until one token is available, rounded up to a whole millisecond
// and at least 1 (PROTOCOL-1.1 §1.10).
func RetryAfterMs(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	return max(ms, 1)
}

// Bucket is one token bucket (a connection's frames, its sessions). It is safe for
// concurrent use.
type Bucket struct {
	lim *rate.Limiter // nil when the limit is off
	now func() time.Time
}

// NewBucket builds a full bucket; now is its clock (nil: time.Now).
func NewBucket(l Limit, now func() time.Time) *Bucket {
	b := &Bucket{now: clock(now)}
	if !l.Off() {
		b.lim = rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
	}
	return b
}

// Take takes one token; when there is less than one it takes nothing and returns the wait
// until one is there.
func (b *Bucket) Take() (time.Duration, bool) {
	if b.lim == nil {
		return 0, true
	}
	return take(b.lim, b.now())
}

func take(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// sweepEvery is how often a keyed limit looks for full buckets to drop.
const sweepEvery = time.Minute

// DefaultMaxKeys bounds the keys a Keyed limit holds at once. Past it, full buckets are
// dropped at once and, if that is not enough, the fullest of the rest: a key whose bucket is
// dropped early gets a fresh (full) one, which errs towards the client, never against it.
const DefaultMaxKeys = 100_000

// Keyed is one token bucket per key (a client address, a session). It is safe for
// concurrent use.
type Keyed[K comparable] struct {
	limit   Limit
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[K]*rate.Limiter
	lastSweep time.Time
}

// NewKeyed builds a keyed limit; now is its clock (nil: time.Now), maxKeys its bound (0:
// DefaultMaxKeys).
func NewKeyed[K comparable](l Limit, now func() time.Time, maxKeys int) *Keyed[K] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Keyed[K]{limit: l, now: clock(now), maxKeys: maxKeys, buckets: map[K]*rate.Limiter{}}
}

// Off reports whether the limit is disabled.
func (k *Keyed[K]) Off() bool { return k.limit.Off() }

// Take takes one token from key's bucket; when there is less than one it takes nothing and
// returns the wait until one is there.
func (k *Keyed[K]) Take(key K) (time.Duration, bool) {
	if k.limit.Off() {
		return 0, true
	}
	now := k.now()
	k.mu.Lock()
	k.sweepLocked(now)
	lim := k.buckets[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(k.limit.Rate), k.limit.Burst)
		k.buckets[key] = lim
	}
	// Under the lock, so that a sweep never drops a bucket between its lookup and its use.
	d, ok := take(lim, now)
	k.mu.Unlock()
	return d, ok
}

// Len is how many buckets are held (for tests and the bound).
func (k *Keyed[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

func (k *Keyed[K]) sweepLocked(now time.Time) {
	full := len(k.buckets) >= k.maxKeys
	if !full && now.Sub(k.lastSweep) < sweepEvery {
		return
	}
	k.lastSweep = now
	burst := float64(k.limit.Burst)
	for key, lim := range k.buckets {
		if lim.TokensAt(now) >= burst {
			delete(k.buckets, key)
		}
	}
	if len(k.buckets) < k.maxKeys {
		return
	}
	// Still full of buckets in use: drop those closest to full until a tenth is free.
	type held struct {
		key    K
		tokens float64
	}
	all := make([]held, 0, len(k.buckets))
	for key, lim := range k.buckets {
		all = append(all, held{key, lim.TokensAt(now)})
	}
	slices.SortFunc(all, func(a, b held) int { return cmp.Compare(b.tokens, a.tokens) })
	for _, h := range all[:len(all)-(k.maxKeys-k.maxKeys/10)] {
		delete(k.buckets, h.key)
	}
}

// Cap counts what each key holds open (sockets per address, running turns per org) against
// a fixed maximum. It is safe for concurrent use; a key is forgotten when its count returns
// to zero, so memory follows what is open, not what was seen.
type Cap[K comparable] struct {
	max int

	mu   sync.Mutex
	held map[K]int
}

// CapRetryAfter is the fixed retryAfterMs of a concurrency cap (PROTOCOL-1.1 §1.10).
const CapRetryAfter = time.Second

// NewCap builds a cap of max per key; 0 disables it.
func NewCap[K comparable](max int) *Cap[K] {
	return &Cap[K]{max: max, held: map[K]int{}}
}

// Acquire takes one slot for key, or reports that key holds max already. Every successful
// Acquire must be paired with one Release.
func (c *Cap[K]) Acquire(key K) bool {
	if c.max <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] >= c.max {
		return false
	}
	c.held[key]++
	return true
}

// Release frees one slot of key.
func (c *Cap[K]) Release(key K) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.held[key]; n > 1 {
		c.held[key] = n - 1
	} else {
		delete(c.held, key)
	}
}

// Held is how many slots key holds.
func (c *Cap[K]) Held(key K) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[key]
}

// AddrKey is the key of a client address for the limits (PROTOCOL-1.1 §1.9): the address
// itself for IPv4, its /64 prefix for IPv6 (one subscriber holds at least a /64).
func AddrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	p, _ := a.Prefix(a.BitLen())
	return p
}
