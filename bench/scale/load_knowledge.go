package scalebench

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// runPlan is one indexing run: a batch of one org's documents into one of its sets. Runs
// are copied in time order, each run's documents and chunks together, as ingestion writes
// them.
type runPlan struct {
	id       uuid.UUID
	org      int32
	set      int8
	at       int64 // unix milliseconds
	firstDoc int32 // org-local number of its first document
	chunks   []uint8
}

// setID is the id of an org's document set.
func setID(seed uint64, o *orgPlan, set int) uuid.UUID {
	return newID(rngFor(seed, "set", o.key, o.sets[set]))
}

// planRuns splits each org's chunks into documents of 1..9 chunks (about 4.6 on average,
// 800 characters each, as the chunker cuts them) and the documents into runs of at most 200.
func planRuns(seed uint64, orgs []*orgPlan) []runPlan {
	var runs []runPlan
	for oi, o := range orgs {
		r := rngFor(seed, "knowledge", o.key)
		var docs []uint8
		for left := o.chunks; left > 0; {
			n := min(left, 1+r.IntN(5)+r.IntN(5))
			docs = append(docs, uint8(n))
			left -= n
		}
		for first := 0; first < len(docs); {
			n := min(len(docs)-first, 1+r.IntN(200))
			runs = append(runs, runPlan{id: newID(r), org: int32(oi), set: int8(r.IntN(len(o.sets))),
				at: traffic(r).UnixMilli(), firstDoc: int32(first), chunks: docs[first : first+n]})
			first += n
		}
	}
	slices.SortFunc(runs, func(a, b runPlan) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	return runs
}

// doc is one generated document with its chunk texts.
type doc struct {
	id     uuid.UUID
	docID  string
	title  string
	acl    *string
	chunks []string
}

// docs regenerates the documents of a run, the same for both the document and the chunk
// pass.
func (g *gen) docs(run runPlan) []doc {
	o := g.orgs[run.org]
	r := idRNG(g.seed, "documents", run.id)
	w := newWriter(r, o.topic)
	out := make([]doc, len(run.chunks))
	for i, n := range run.chunks {
		d := doc{id: newID(r), docID: fmt.Sprintf("doc-%06d", int(run.firstDoc)+i), title: w.title()}
		switch r.IntN(10) {
		case 0:
			s := `{"public": true}`
			d.acl = &s
		case 1:
			s := `{"groups": ["staff"]}`
			d.acl = &s
		}
		for range n {
			d.chunks = append(d.chunks, w.prose(700+r.IntN(200)))
		}
		out[i] = d
	}
	return out
}

// knowledge copies document sets, indexing runs and documents (their chunks follow).
func (g *gen) knowledge(ctx context.Context) error {
	type set struct {
		o *orgPlan
		i int
	}
	var sets []set
	for _, o := range g.orgs {
		for i := range o.sets {
			sets = append(sets, set{o, i})
		}
	}
	if err := g.copyRows(ctx, "document_sets", []string{"id", "org_id", "name", "created_at"}, each(sets, func(s set) []any {
		return []any{setID(g.seed, s.o, s.i), s.o.id, s.o.sets[s.i], s.o.created}
	})); err != nil {
		return err
	}
	if err := g.copyRows(ctx, "indexing_runs", []string{"id", "org_id", "document_set", "status", "attempt", "documents_seen",
		"documents_indexed", "chunks_indexed", "created_at", "started_at", "finished_at"}, each(g.runs, func(run runPlan) []any {
		o := g.orgs[run.org]
		chunks := 0
		for _, n := range run.chunks {
			chunks += int(n)
		}
		at := time.UnixMilli(run.at).UTC()
		return []any{run.id, o.id, o.sets[run.set], "succeeded", int32(1), int32(len(run.chunks)), int32(len(run.chunks)), int32(chunks),
			at, at.Add(time.Second), at.Add(time.Second + time.Duration(chunks)*20*time.Millisecond)}
	})); err != nil {
		return err
	}
	return g.copyRows(ctx, "documents", []string{"id", "org_id", "doc_id", "document_set_id", "title", "url", "acl", "content_hash",
		"content_bytes", "chunk_count", "state", "run_id", "created_at", "updated_at"}, flat(g.runs, func(run runPlan) [][]any {
		o := g.orgs[run.org]
		at := time.UnixMilli(run.at).UTC().Add(time.Second)
		set := setID(g.seed, o, int(run.set))
		var rows [][]any
		for _, d := range g.docs(run) {
			h := sha256.New()
			size := 0
			for _, c := range d.chunks {
				h.Write([]byte(c))
				size += len(c)
			}
			url := fmt.Sprintf("https://www.tenant-%s.example.com/help/%s", o.key, d.docID)
			rows = append(rows, []any{d.id, o.id, d.docID, set, d.title, url, d.acl, h.Sum(nil), int32(size), int32(len(d.chunks)),
				"indexed", run.id, at, at})
		}
		return rows
	}))
}

// chunks copies every document's chunks; Postgres computes their tsv as it stores them.
func (g *gen) chunks(ctx context.Context) error {
	return g.copyRows(ctx, "chunks", []string{"id", "org_id", "document_id", "ordinal", "text", "created_at"},
		flat(g.runs, func(run runPlan) [][]any {
			o := g.orgs[run.org]
			at := time.UnixMilli(run.at).UTC().Add(time.Second)
			r := idRNG(g.seed, "chunks", run.id)
			var rows [][]any
			for _, d := range g.docs(run) {
				for i, c := range d.chunks {
					rows = append(rows, []any{newID(r), o.id, d.id, int32(i), c, at})
				}
			}
			return rows
		}))
}
