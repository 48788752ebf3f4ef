package testkit

import (
	"testing"
	"time"
)

// waitBound is how long Eventually waits before it fails the test: generous, because it
// only decides how long a broken test takes to report, never whether a working one passes.
var waitBound = 60 * time.Second

// Eventually polls cond until it returns true and fails the test, naming what it waited
// for, when it never does. It is a hang guard for asynchronous effects (a row committed by
// another goroutine, an event delivered, a run finished), never a timing assertion.
//
// cond runs on the test's goroutine, so it may itself fail the test (a run that ended in
// the wrong state). The pause between polls starts at a millisecond and doubles up to
// 20 ms: quick conditions are seen at once and slow ones do not flood the database.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitBound)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %s waiting for %s", waitBound, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}
