// Package knowledgebench measures knowledge ingestion and retrieval on a real Postgres:
// one org holding BENCH_CHUNKS chunks among BENCH_ORGS orgs (the others hold
// BENCH_OTHER_CHUNKS each), ingested through knowledge.Service.Ingest and indexed by its
// River workers; then BENCH_QUESTIONS natural-language questions through Service.Search,
// each also run as the bare SQL full-text query with the same filters (the floor). Run it
// with bench/knowledge/run.sh.
package knowledgebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// corpus makes deterministic English-like text over a Zipf-distributed vocabulary of
// made-up words, with the usual stop words between them.
type corpus struct {
	rnd   *rand.Rand
	vocab []string
	zipf  *rand.Zipf
}

// vocabWords is the size of the made-up vocabulary: about what 100k chunks of real
// English prose use, so that a content word is about as selective as in real text.
const vocabWords = 20000

var stop = []string{"the", "a", "of", "and", "to", "in", "is", "for", "with", "on", "that", "by"}

// newVocabulary makes n distinct made-up words of 2..4 syllables.
func newVocabulary(n int) []string {
	rnd := rand.New(rand.NewPCG(1, 2))
	syll := strings.Fields("ka lo mi ren tu sa vel dor pi qua ne bri sto fan gul hex ima jo ko lum mar nor ost pra rin sel tav ul wen yor zed")
	seen := map[string]bool{}
	var vocab []string
	for len(vocab) < n {
		k := 2 + rnd.IntN(3)
		var b strings.Builder
		for i := 0; i < k; i++ {
			b.WriteString(syll[rnd.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return vocab
}

func newCorpus(seed uint64, vocab []string) *corpus {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &corpus{rnd: rnd, vocab: vocab, zipf: rand.NewZipf(rnd, 1.07, 2, uint64(len(vocab)-1))}
}

func (c *corpus) word() string { return c.vocab[c.zipf.Uint64()] }

func (c *corpus) sentence() string {
	n := 8 + c.rnd.IntN(9)
	ws := make([]string, n)
	for i := range ws {
		if c.rnd.IntN(10) < 3 {
			ws[i] = stop[c.rnd.IntN(len(stop))]
		} else {
			ws[i] = c.word()
		}
	}
	s := strings.Join(ws, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// document is about `chars` characters in paragraphs of 3..6 sentences.
func (c *corpus) document(chars int) string {
	var b strings.Builder
	for b.Len() < chars {
		for i, n := 0, 3+c.rnd.IntN(4); i < n; i++ {
			b.WriteString(c.sentence())
			b.WriteByte(' ')
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// question picks 2..4 content words below the 50 most common (ranks 50..8000 of the
// vocabulary), the way a visitor names specific things, wrapped in a question.
func (c *corpus) question() string {
	n := 2 + c.rnd.IntN(3)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = c.vocab[50+c.rnd.IntN(min(8000, len(c.vocab))-50)]
	}
	forms := []string{"what is the %s?", "how do I %s", "where can I find %s?", "tell me about %s"}
	return fmt.Sprintf(forms[c.rnd.IntN(len(forms))], strings.Join(ws, " "))
}

// acl gives 80% of documents no ACL, 10% public, 10% a group only staff may see.
func (c *corpus) acl() *knowledge.ACL {
	switch c.rnd.IntN(10) {
	case 0:
		return &knowledge.ACL{Public: true}
	case 1:
		return &knowledge.ACL{Groups: []string{"staff"}}
	}
	return nil
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(float64(len(s))*p))-1)]
}

// ingestOrg pushes documents until `chunks` chunks are queued and returns the run ids
// and the chunk count.
func ingestOrg(ctx context.Context, b *testing.B, s *knowledge.Service, org uuid.UUID, c *corpus, chunks int) ([]uuid.UUID, int) {
	var runs []uuid.UUID
	total := 0
	for total < chunks {
		docs := make([]knowledge.DocumentInput, 0, 100)
		for len(docs) < 100 && total < chunks {
			text := c.document(6000)
			total += len(knowledge.Chunk(text))
			docs = append(docs, knowledge.DocumentInput{Title: c.sentence(), Content: text, ACL: c.acl()})
		}
		run, _, err := s.Ingest(ctx, org, "bench", docs, store.Meta{Actor: store.Actor{Type: "system", ID: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, run.ID)
	}
	return runs, total
}

func waitRuns(ctx context.Context, b *testing.B, s *knowledge.Service, org uuid.UUID, runs []uuid.UUID) {
	for _, id := range runs {
		testkit.Eventually(b, "run "+id.String()+" to succeed", func() bool {
			r, err := s.GetRun(ctx, org, id)
			if err != nil {
				b.Fatal(err)
			}
			if r.Status != knowledge.StatusSucceeded && r.Status != knowledge.StatusQueued && r.Status != knowledge.StatusRunning {
				b.Fatalf("run %s ended %s: %v", id, r.Status, r.Error)
			}
			return r.Status == knowledge.StatusSucceeded
		})
	}
}

// floorSQL is the query Search runs (queries/documents.sql, ChunkSearch), bare:
// the same filters (org, indexed documents, ACL for an anonymous viewer, every set) and
// the same common-terms matching, sent straight to pgx with nothing around it. Keep it in
// step with ChunkSearch.
const floorSQL = `WITH lex AS (
    SELECT DISTINCT t.lexeme FROM unnest(tsvector_to_array(to_tsvector('english', $2::text))) AS t(lexeme)
), stats AS MATERIALIZED (
    SELECT st.most_common_elems::text::text[] AS elems, st.most_common_elem_freqs::float4[] AS freqs
    FROM pg_catalog.pg_stats st
    WHERE st.schemaname = current_schema() AND st.tablename = 'chunks' AND st.attname = 'tsv'
), common AS (
    SELECT l.lexeme FROM lex l, stats
    WHERE stats.freqs[array_position(stats.elems, l.lexeme)] > $3::float4
), q AS (
    SELECT (SELECT to_tsquery('simple', string_agg(lexeme, ' | ')) FROM lex) AS rank_q,
           coalesce((SELECT to_tsquery('simple', string_agg(lexeme, ' | ')) FROM lex
                     WHERE lexeme NOT IN (SELECT lexeme FROM common)),
                    (SELECT to_tsquery('simple', string_agg(lexeme, ' & ')) FROM lex)) AS match_q
)
SELECT d.doc_id, d.title, d.url, c.text, ts_rank_cd(c.tsv, q.rank_q, 1)::float8 AS score
FROM q, chunks c
CROSS JOIN LATERAL (
    SELECT d.doc_id, d.title, d.url FROM documents d
    WHERE d.id = c.document_id AND d.org_id = $1 AND d.state = 'indexed'
      AND (d.acl IS NULL OR d.acl @> '{"public": true}'::jsonb
           OR (d.acl -> 'users') ?| $4::text[] OR (d.acl -> 'groups') ?| $5::text[])
    OFFSET 0
) d
WHERE c.org_id = $1 AND c.tsv @@ q.match_q
ORDER BY score DESC, c.id LIMIT $6`

// naiveSQL is plain OR retrieval, every lexeme selecting, for reference: what the common-
// terms rule saves.
const naiveSQL = `SELECT d.doc_id, d.title, d.url, c.text, ts_rank_cd(c.tsv, q, 1) AS score
FROM chunks c JOIN documents d ON d.id = c.document_id,
     to_tsquery('english', replace($2::text, ' ', ' | ')) q
WHERE c.org_id = $1 AND d.org_id = $1 AND d.state = 'indexed' AND c.tsv @@ q
  AND (d.acl IS NULL OR d.acl @> '{"public": true}'::jsonb
       OR (d.acl -> 'users') ?| $3::text[] OR (d.acl -> 'groups') ?| $4::text[])
ORDER BY score DESC, c.id LIMIT $5`

func floor(ctx context.Context, pool *pgxpool.Pool, org uuid.UUID, words string, limit int) (int, error) {
	// Planned with its actual parameters, as Search runs it.
	return count(pool.Query(ctx, floorSQL, pgx.QueryExecModeDescribeExec, org, words, float32(0.01), []string{}, []string{}, limit))
}

func naive(ctx context.Context, pool *pgxpool.Pool, org uuid.UUID, words string, limit int) (int, error) {
	return count(pool.Query(ctx, naiveSQL, org, words, []string{}, []string{}, limit))
}

func count(rows pgx.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// explain prints the plan of the floor query for one question (BENCH_EXPLAIN=1).
func explain(ctx context.Context, b *testing.B, pool *pgxpool.Pool, org uuid.UUID, tsq string, limit int) {
	rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+floorSQL, org, tsq, float32(0.01), []string{}, []string{}, limit)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	fmt.Println("plan of the slowest floor query:", tsq)
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		fmt.Println("  " + line)
	}
}

func BenchmarkKnowledge(b *testing.B) {
	ctx := context.Background()
	orgs := envInt("BENCH_ORGS", 10)
	chunks := envInt("BENCH_CHUNKS", 100_000)
	others := envInt("BENCH_OTHER_CHUNKS", 10_000)
	questions := envInt("BENCH_QUESTIONS", 1000)
	workers := envInt("BENCH_WORKERS", 2)
	withNaive := os.Getenv("BENCH_PLAIN_OR") != ""
	limit := 5

	url := dbtest.NewURL(b)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	pcfg.MaxConns = int32(workers + 6)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool, nil)
	runner := jobs.New(st, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s, err := knowledge.New(st, runner, knowledge.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: workers,
	})
	if err != nil {
		b.Fatal(err)
	}
	var ids []uuid.UUID
	fx := fixture.New(b, pool)
	for i := 0; i < orgs; i++ {
		ids = append(ids, fx.Org(fixture.Org{Name: fmt.Sprintf("org-%d", i)}).ID)
	}
	target := ids[0]
	vocab := newVocabulary(vocabWords) // one language for every org
	fmt.Printf("orgs=%d chunks(target org)=%d chunks(each other org)=%d questions=%d workers=%d GOMAXPROCS=%s\n",
		orgs, chunks, others, questions, workers, os.Getenv("GOMAXPROCS"))

	// The other orgs' documents first, so the target org's retrieval shares the indexes.
	if err := runner.Start(ctx); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, org := range ids[1:] {
		runs, _ := ingestOrg(ctx, b, s, org, newCorpus(uint64(100+i), vocab), others)
		wg.Add(1)
		go func(org uuid.UUID, runs []uuid.UUID) { defer wg.Done(); waitRuns(ctx, b, s, org, runs) }(org, runs)
	}
	wg.Wait()

	c := newCorpus(1, vocab)
	start := time.Now()
	runs, total := ingestOrg(ctx, b, s, target, c, chunks)
	queued := time.Since(start)
	waitRuns(ctx, b, s, target, runs)
	elapsed := time.Since(start)
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := runner.Stop(stopCtx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("ingest     chunks=%d runs=%d elapsed=%s (queued in %s) chunks/s=%.0f\n",
		total, len(runs), elapsed.Round(time.Millisecond), queued.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	q := newCorpus(7, vocab)
	var svc, bare, plain []time.Duration
	hits, bareHits, plainHits := 0, 0, 0
	var slowest string
	var slowestD time.Duration
	for i := 0; i < questions; i++ {
		question := q.question()
		runSvc := func() {
			t0 := time.Now()
			h, err := s.Search(ctx, target, nil, knowledge.Viewer{}, question, limit)
			svc = append(svc, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			hits += len(h)
		}
		runFloor := func() {
			t0 := time.Now()
			n, err := floor(ctx, pool, target, knowledge.QueryWords(question), limit)
			d := time.Since(t0)
			bare = append(bare, d)
			if d > slowestD {
				slowest, slowestD = question, d
			}
			if err != nil {
				b.Fatal(err)
			}
			bareHits += n
		}
		if i%2 == 0 { // alternate, so neither always runs on a warmer cache
			runSvc()
			runFloor()
		} else {
			runFloor()
			runSvc()
		}
		if withNaive {
			t0 := time.Now()
			n, err := naive(ctx, pool, target, knowledge.QueryWords(question), limit)
			plain = append(plain, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			plainHits += n
		}
	}
	if os.Getenv("BENCH_EXPLAIN") != "" {
		explain(ctx, b, pool, target, knowledge.QueryWords(slowest), limit)
	}
	if withNaive {
		fmt.Printf("plain OR   questions=%d hits=%d p50=%s p99=%s (reference: every lexeme selects)\n", questions, plainHits,
			pct(plain, 0.5).Round(10*time.Microsecond), pct(plain, 0.99).Round(10*time.Microsecond))
	}
	fmt.Printf("floor      questions=%d hits=%d p50=%s p99=%s\n", questions, bareHits, pct(bare, 0.5).Round(10*time.Microsecond), pct(bare, 0.99).Round(10*time.Microsecond))
	fmt.Printf("search     questions=%d hits=%d p50=%s p99=%s\n", questions, hits, pct(svc, 0.5).Round(10*time.Microsecond), pct(svc, 0.99).Round(10*time.Microsecond))
	fmt.Printf("search/floor p50=%.2fx p99=%.2fx\n",
		float64(pct(svc, 0.5))/float64(pct(bare, 0.5)), float64(pct(svc, 0.99))/float64(pct(bare, 0.99)))
}
