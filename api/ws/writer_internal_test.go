package ws

import "testing"

func TestHeldEventsWaitForFlushOrTheNextPush(t *testing.T) {
	o := newOutbox(nil, nil, nil)
	wakes := 0
	o.write = func() {
		wakes++
		o.mu.Lock()
		o.writing = false
		o.mu.Unlock()
	}
	woken := func() bool {
		o.wg.Wait()
		w := wakes > 0
		wakes = 0
		return w
	}
	o.flush()
	if woken() {
		t.Fatal("flush of an empty queue woke the writer")
	}
	o.hold([]byte("a"))
	o.hold([]byte("b"))
	if woken() {
		t.Fatal("held events woke the writer")
	}
	o.flush()
	if !woken() {
		t.Fatal("flush did not wake the writer for held events")
	}
	o.hold([]byte("c"))
	o.push([]byte("d"))
	if !woken() {
		t.Fatal("push did not wake the writer")
	}
	if got := string(o.queue[0]) + string(o.queue[1]) + string(o.queue[2]) + string(o.queue[3]); got != "abcd" || len(o.queue) != 4 {
		t.Fatalf("queue %q", o.queue)
	}
}
