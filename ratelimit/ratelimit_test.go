package ratelimit

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestBucketRefusesPastItsBurstThenRecoversAtItsRate(t *testing.T) {
	clk := newClock()
	b := NewBucket(Limit{Burst: 3, Rate: 2}, clk.now) // 3 tokens, 2 per second
	for i := range 3 {
		if _, ok := b.Take(); !ok {
			t.Fatalf("take %d refused inside the burst", i+1)
		}
	}
	wait, ok := b.Take()
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th take: ok=%v wait=%v, want refused with 500ms", ok, wait)
	}
	clk.advance(499 * time.Millisecond)
	if wait, ok := b.Take(); ok || RetryAfterMs(wait) != 1 {
		t.Fatalf("1ms early: ok=%v wait=%v", ok, wait)
	}
	clk.advance(time.Millisecond)
	if _, ok := b.Take(); !ok {
		t.Fatal("refused once a token refilled")
	}
	if _, ok := b.Take(); ok {
		t.Fatal("a refused take must not have consumed or created tokens")
	}
}

func TestRetryAfterMsRoundsUpToAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 1, time.Nanosecond: 1, time.Millisecond: 1, 1001 * time.Microsecond: 2, 4380100 * time.Microsecond: 4381} {
		if got := RetryAfterMs(d); got != want {
			t.Errorf("RetryAfterMs(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestZeroDisablesALimit(t *testing.T) {
	for _, l := range []Limit{{}, {Burst: 5}, {Rate: 5}, Per(0, time.Minute)} {
		b := NewBucket(l, nil)
		k := NewKeyed[string](l, nil, 0)
		for range 1000 {
			if _, ok := b.Take(); !ok {
				t.Fatalf("%+v: bucket refused", l)
			}
			if _, ok := k.Take("x"); !ok {
				t.Fatalf("%+v: keyed refused", l)
			}
		}
		if k.Len() != 0 {
			t.Fatalf("a disabled keyed limit holds %d buckets", k.Len())
		}
	}
	c := NewCap[string](0)
	for range 1000 {
		if !c.Acquire("x") {
			t.Fatal("a disabled cap refused")
		}
	}
}

func TestKeyedBucketsAreIndependentAndFullOnesAreDropped(t *testing.T) {
	clk := newClock()
	k := NewKeyed[string](Per(2, time.Hour), clk.now, 0)
	for _, key := range []string{"a", "a"} {
		if _, ok := k.Take(key); !ok {
			t.Fatal("refused inside the burst")
		}
	}
	if wait, ok := k.Take("a"); ok || wait != 30*time.Minute {
		t.Fatalf("3rd take of a: ok=%v wait=%v", ok, wait)
	}
	if _, ok := k.Take("b"); !ok {
		t.Fatal("b is limited by a's bucket")
	}
	clk.advance(30 * time.Minute)
	if _, ok := k.Take("a"); !ok {
		t.Fatal("a did not recover after its refill time")
	}
	// Two hours on, both buckets are full again: the next take sweeps them out.
	clk.advance(2 * time.Hour)
	k.Take("c")
	if k.Len() != 1 {
		t.Fatalf("held %d buckets after the sweep, want only c's", k.Len())
	}
}

func TestKeyedHoldsAtMostMaxKeys(t *testing.T) {
	clk := newClock()
	k := NewKeyed[int](Per(10, time.Hour), clk.now, 100)
	for i := range 1000 {
		k.Take(i) // each bucket is in use (not full), so only the bound can drop it
		if k.Len() > 100 {
			t.Fatalf("held %d buckets after %d keys", k.Len(), i+1)
		}
	}
}

func TestCapCountsHoldersPerKeyAndForgetsEmptyKeys(t *testing.T) {
	c := NewCap[string](2)
	for range 2 {
		if !c.Acquire("org") {
			t.Fatal("refused under the cap")
		}
	}
	if c.Acquire("org") {
		t.Fatal("a third holder was admitted")
	}
	if !c.Acquire("other") {
		t.Fatal("another key was refused")
	}
	c.Release("org")
	if !c.Acquire("org") {
		t.Fatal("a released slot was not reusable")
	}
	c.Release("org")
	c.Release("org")
	c.Release("other")
	if len(c.held) != 0 {
		t.Fatalf("empty keys kept: %v", c.held)
	}
}

func TestAddrKeyIsTheAddressForIPv4AndItsSlash64ForIPv6(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":              "203.0.113.7/32",
		"::ffff:203.0.113.7":       "203.0.113.7/32",
		"2001:db8:1:2:3:4:5:6":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":     "2001:db8:1:2::/64",
		"::1":                      "::/64",
		"2001:db8:1:3:0:0:0:1":     "2001:db8:1:3::/64",
		"fe80::1%eth0":             "fe80::/64",
		"2001:db8:aaaa:bbbb::cccc": "2001:db8:aaaa:bbbb::/64",
	} {
		if got := AddrKey(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("AddrKey(%s) = %s, want %s", in, got, want)
		}
	}
}

// What a limit costs per event: a turn takes about four (a frame, L6, L7, L8).
func BenchmarkKeyedTake(b *testing.B) {
	k := NewKeyed[netip.Prefix](Per(1_000_000, time.Minute), nil, 0)
	key := AddrKey(netip.MustParseAddr("203.0.113.7"))
	for b.Loop() {
		k.Take(key)
	}
}

func BenchmarkBucketTake(b *testing.B) {
	bk := NewBucket(Limit{Burst: 1_000_000, Rate: 1_000_000}, nil)
	for b.Loop() {
		bk.Take()
	}
}

func BenchmarkCapAcquireRelease(b *testing.B) {
	c := NewCap[string](256)
	for b.Loop() {
		c.Acquire("org")
		c.Release("org")
	}
}
