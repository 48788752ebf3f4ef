package backplane

import "time"

// gapSet holds the missing ids below the mark. Ids are added in increasing order, so the
// order slice is sorted by id and by the time each was first missed.
type gapSet struct {
	ids   map[int64]time.Time
	order []int64 // may hold ids already filled; skipped lazily
}

func (g *gapSet) add(id int64, now time.Time) {
	g.ids[id] = now
	g.order = append(g.order, id)
}

func (g *gapSet) has(id int64) bool { _, ok := g.ids[id]; return ok }

func (g *gapSet) fill(id int64) bool {
	if _, ok := g.ids[id]; !ok {
		return false
	}
	delete(g.ids, id)
	if len(g.ids) == 0 {
		g.order = g.order[:0]
	}
	return true
}

func (g *gapSet) list() []int64 {
	out := make([]int64, 0, len(g.ids))
	for id := range g.ids {
		out = append(out, id)
	}
	return out
}

// expire drops the ids first missed before cutoff and returns how many.
func (g *gapSet) expire(cutoff time.Time) int {
	n, i := 0, 0
	for ; i < len(g.order); i++ {
		seen, ok := g.ids[g.order[i]]
		if !ok {
			continue
		}
		if !seen.Before(cutoff) {
			break
		}
		delete(g.ids, g.order[i])
		n++
	}
	g.compact(i)
	return n
}

// trim drops the oldest ids beyond max and returns how many.
func (g *gapSet) trim(limit int) int {
	n, i := 0, 0
	for ; i < len(g.order) && len(g.ids) > limit; i++ {
		if _, ok := g.ids[g.order[i]]; ok {
			delete(g.ids, g.order[i])
			n++
		}
	}
	g.compact(i)
	return n
}

// compact drops the first i entries of order, and the filled ones once it grows large.
func (g *gapSet) compact(i int) {
	g.order = g.order[i:]
	if len(g.order) > 2*len(g.ids)+64 {
		kept := make([]int64, 0, len(g.ids))
		for _, id := range g.order {
			if _, ok := g.ids[id]; ok {
				kept = append(kept, id)
			}
		}
		g.order = kept
	}
}
