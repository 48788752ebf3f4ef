package ws

import "testing"

func TestHeldEventsWaitForFlushOrTheNextPush(t *testing.T) {
	woken := func(o *outbox) bool {
		select {
		case <-o.wake:
			return true
		default:
			return false
		}
	}
	o := newOutbox(nil, nil, nil)
	o.flush()
	if woken(o) {
		t.Fatal("flush of an empty queue woke the writer")
	}
	o.hold([]byte("a"))
	o.hold([]byte("b"))
	if woken(o) {
		t.Fatal("held events woke the writer")
	}
	o.flush()
	if !woken(o) {
		t.Fatal("flush did not wake the writer for held events")
	}
	o.hold([]byte("c"))
	o.push([]byte("d"))
	if !woken(o) {
		t.Fatal("push did not wake the writer")
	}
	if got := string(o.queue[0]) + string(o.queue[1]) + string(o.queue[2]) + string(o.queue[3]); got != "abcd" || len(o.queue) != 4 {
		t.Fatalf("queue %q", o.queue)
	}
}
