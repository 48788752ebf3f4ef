package testkit

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fatalTB records the first Fatalf and stops the calling goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine, as the testing package runs a test, and waits for it.
func run(fn func()) {
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	<-done
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var polls atomic.Int32
	tb := &fatalTB{TB: t}
	run(func() { Eventually(tb, "three polls", func() bool { return polls.Add(1) == 3 }) })
	if tb.msg != "" || polls.Load() != 3 {
		t.Fatalf("polls %d, failure %q; want 3 polls and no failure", polls.Load(), tb.msg)
	}
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	defer func(b time.Duration) { waitBound = b }(waitBound)
	waitBound = 30 * time.Millisecond
	tb := &fatalTB{TB: t}
	returned := false
	run(func() {
		Eventually(tb, "the run to end", func() bool { return false })
		returned = true
	})
	if returned {
		t.Fatal("Eventually returned for a condition that never held")
	}
	if want := "gave up after 30ms waiting for the run to end"; tb.msg != want {
		t.Fatalf("failure %q, want %q", tb.msg, want)
	}
}
