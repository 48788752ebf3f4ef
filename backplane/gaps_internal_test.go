package backplane

import (
	"slices"
	"testing"
	"time"
)

func TestGapSetExpiresOldestFirstAndForgetsFilledIDs(t *testing.T) {
	t0 := time.Unix(1000, 0)
	g := gapSet{ids: map[int64]time.Time{}}
	for id := int64(1); id <= 6; id++ {
		g.add(id, t0.Add(time.Duration(id)*time.Second))
	}
	if !g.fill(2) || g.fill(2) || g.fill(99) {
		t.Fatal("fill should report true once for a present id and false otherwise")
	}
	if n := g.expire(t0.Add(4 * time.Second)); n != 2 { // ids 1 and 3; 2 was filled
		t.Fatalf("expired %d, want 2", n)
	}
	if n := g.trim(2); n != 1 { // keeps the newest two of 4, 5, 6
		t.Fatalf("trimmed %d, want 1", n)
	}
	got := g.list()
	slices.Sort(got)
	if !slices.Equal(got, []int64{5, 6}) || g.has(4) || !g.has(5) {
		t.Fatalf("left %v", got)
	}
	g.fill(5)
	g.fill(6)
	if len(g.order) != 0 || len(g.list()) != 0 {
		t.Fatalf("an empty set keeps %v", g.order)
	}
}

func TestNewRequiresAnInstanceID(t *testing.T) {
	if h, err := New(nil, Options{}); err == nil || h != nil {
		t.Fatal("New without an instance id should fail")
	}
}

func TestNoteGapsTracksAtMostMaxGapsOfTheNewestMissingIDs(t *testing.T) {
	h := &Hub{opts: Options{MaxGaps: 3}, gaps: gapSet{ids: map[int64]time.Time{}}}
	h.opts.defaults()
	h.m, _ = newMetrics(nil)
	h.log = h.opts.Logger
	h.mark = 10
	h.noteGaps(20, time.Now()) // 11..19 missing: only 17, 18, 19 are kept
	got := h.gaps.list()
	slices.Sort(got)
	if !slices.Equal(got, []int64{17, 18, 19}) {
		t.Fatalf("tracked %v", got)
	}
}
