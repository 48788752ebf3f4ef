package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// site is a small website for web connector runs.
type site struct {
	*httptest.Server
	slow, dropC, bGone atomic.Bool
	hits               atomic.Int64
}

func newSite(t *testing.T) *site {
	s := &site{}
	mux := http.NewServeMux()
	page := func(title, body string) string {
		return "<!doctype html><html><head><title>" + title + "</title><style>p{}</style></head><body><nav>Menu</nav><p>" +
			body + "</p><script>var secret = 1;</script></body></html>"
	}
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%[1]s/sitemap-pages.xml</loc></sitemap>
  <sitemap><loc>%[1]s/sitemap-more.xml</loc></sitemap>
</sitemapindex>`, s.URL)
	})
	mux.HandleFunc("/sitemap-pages.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		locs := []string{"/a", "/b.txt", "/c.md", "/missing", "/slow", "/image.png", "/a"}
		if s.dropC.Load() {
			locs = slices.DeleteFunc(locs, func(l string) bool { return l == "/c.md" })
		}
		fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for _, l := range locs {
			fmt.Fprintf(w, "<url><loc> %s%s </loc></url>", s.URL, l)
		}
		fmt.Fprint(w, `</urlset>`)
	})
	mux.HandleFunc("/sitemap-more.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<urlset><url><loc>%s/redirect</loc></url></urlset>`, s.URL)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Alpha page", "Aardvarks eat ants at night."))
	})
	mux.HandleFunc("/b.txt", func(w http.ResponseWriter, r *http.Request) {
		if s.bGone.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "Bison roam the prairie.")
	})
	mux.HandleFunc("/c.md", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/markdown")
		fmt.Fprint(w, "# Camels\n\nCamels store fat in their humps.")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if s.slow.Load() {
			<-r.Context().Done() // longer than the page timeout
			return
		}
		fmt.Fprint(w, page("Slow page", "Sloths hang from branches."))
	})
	mux.HandleFunc("/image.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\n"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/a2", http.StatusFound)
	})
	mux.HandleFunc("/a2", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Alpha two", "Antelopes run fast."))
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func indexNow(t *testing.T, s *Service, org, id uuid.UUID) Run {
	t.Helper()
	r, created, err := s.IndexConnector(context.Background(), org, id, testMeta)
	if err != nil || !created {
		t.Fatalf("index: %v (created %v)", err, created)
	}
	return waitRun(t, s, org, r.ID)
}

func listedIDs(t *testing.T, s *Service, org uuid.UUID, set string) []string {
	t.Helper()
	docs, _, err := s.ListDocuments(context.Background(), org, set, "", 200, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out
}

func TestWebConnectorSyncsASitemap(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	web := newSite(t)
	in := webInput("Site", `{"sitemap":"`+web.URL+`/sitemap.xml","acl":{"public":true}}`)
	c, err := s.CreateConnector(context.Background(), org, in, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	id := func(path string) string { return ConnectorDocumentID(c.ID, web.URL+path) }

	// Run 1: /missing is 404, /image.png is not text; every other page is indexed once.
	r := indexNow(t, s, org, c.ID)
	if r.Status != StatusSucceeded || r.DocumentsSeen != 7 || r.DocumentsIndexed != 5 || r.DocumentsSkipped != 0 || r.ChunksIndexed != 5 {
		t.Fatalf("run 1 = %+v", r)
	}
	// The source key is the requested URL: /redirect, not where it led.
	want := []string{id("/a"), id("/redirect"), id("/b.txt"), id("/c.md"), id("/slow")}
	slices.Sort(want)
	if got := listedIDs(t, s, org, "docs-site"); !slices.Equal(got, want) {
		t.Fatalf("documents = %v, want %v", got, want)
	}
	d, err := s.GetDocument(context.Background(), org, id("/a"))
	if err != nil || d.Title != "Alpha page" || *d.URL != web.URL+"/a" || *d.ConnectorID != c.ID || d.ACL == nil || !d.ACL.Public {
		t.Fatalf("page document = %+v, %v", d, err)
	}
	hits, _ := s.Search(context.Background(), org, []string{"docs-site"}, Viewer{}, "aardvarks", 5)
	if len(hits) != 1 || strings.Contains(hits[0].Text, "secret") || strings.Contains(hits[0].Text, "p{}") {
		t.Fatalf("html text = %+v", hits)
	}
	if got := search(t, s, org, Viewer{}, "camels humps"); !slices.Equal(got, []string{id("/c.md")}) {
		t.Fatalf("markdown page not retrievable: %v", got)
	}

	// Run 2: nothing changed, and /slow times out: it keeps its document.
	web.slow.Store(true)
	r = indexNow(t, s, org, c.ID)
	if r.Status != StatusSucceeded || r.DocumentsSeen != 7 || r.DocumentsIndexed != 0 || r.DocumentsSkipped != 4 {
		t.Fatalf("run 2 = %+v", r)
	}
	if got := listedIDs(t, s, org, "docs-site"); !slices.Equal(got, want) {
		t.Fatalf("documents after a slow page = %v", got)
	}

	// Run 3: /c.md left the sitemap and /b.txt is now 404: both documents go.
	web.slow.Store(false)
	web.dropC.Store(true)
	web.bGone.Store(true)
	r = indexNow(t, s, org, c.ID)
	if r.Status != StatusSucceeded || r.DocumentsSeen != 6 || r.DocumentsSkipped != 3 {
		t.Fatalf("run 3 = %+v", r)
	}
	want = []string{id("/a"), id("/redirect"), id("/slow")}
	slices.Sort(want)
	if got := listedIDs(t, s, org, "docs-site"); !slices.Equal(got, want) {
		t.Fatalf("documents after full sync = %v, want %v", got, want)
	}

	// Deleting the connector takes its documents with it.
	if err := s.DeleteConnector(context.Background(), org, c.ID, testMeta); err != nil {
		t.Fatal(err)
	}
	if got := search(t, s, org, Viewer{}, "aardvarks antelopes sloths"); len(got) != 0 {
		t.Fatalf("connector documents survived its deletion: %v", got)
	}
}

func TestWebConnectorRefusesPrivateAddressesUnlessAllowed(t *testing.T) {
	e := newEnv(t)
	org := e.org("acme")
	web := newSite(t)
	// An operator allowed private targets when the connectors were stored, then turned
	// the switch off: the dialer refuses every request, which never reaches the server.
	writer := e.service(testOptions(), false)
	urls, err := writer.CreateConnector(context.Background(), org, webInput("urls", `{"urls":["`+web.URL+`/a"]}`), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	smIn := webInput("sitemap", `{"sitemap":"`+web.URL+`/sitemap.xml"}`)
	smIn.DocumentSet = strp("other")
	sm, err := writer.CreateConnector(context.Background(), org, smIn, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.AllowPrivateURLs = false
	s := e.service(opts, true)

	r := indexNow(t, s, org, urls.ID)
	if r.Status != StatusSucceeded || r.DocumentsSeen != 1 || r.DocumentsIndexed != 0 {
		t.Fatalf("urls run = %+v", r)
	}
	r = indexNow(t, s, org, sm.ID)
	if r.Status != StatusFailed || r.Error == nil || !strings.Contains(*r.Error, "private") {
		t.Fatalf("sitemap run = %+v", r)
	}
	t.Logf("sitemap run error: %s", *r.Error)
	if n := web.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached a loopback server", n)
	}
	// And a new connector naming a private address is refused outright.
	_, err = s.CreateConnector(context.Background(), org, webInput("new", `{"urls":["`+web.URL+`/a"]}`), testMeta)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "config.urls[0]" {
		t.Fatalf("create with a loopback URL: %v", err)
	}
}

func TestStoppingTheWorkerMidRunHandsTheRunToAnotherWorker(t *testing.T) {
	e := newEnv(t)
	org := e.org("acme")
	entered := make(chan struct{}, 1)
	var block atomic.Bool
	block.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block.Load() {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "Walruses have tusks.")
	}))
	defer srv.Close()
	opts := testOptions()
	opts.PageTimeout = 30 * time.Second
	opts.JobTimeout = 40 * time.Second
	opts.SliceBudget = 20 * time.Second
	a := e.serviceRescue(opts, time.Minute, true)
	c, err := a.CreateConnector(context.Background(), org, webInput("w", `{"urls":["`+srv.URL+`/walrus"]}`), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := a.IndexConnector(context.Background(), org, c.ID, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	<-entered // worker A is inside the page fetch
	stopCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := a.jobs.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	mid, _ := a.GetRun(context.Background(), org, run.ID)
	if mid.Status != StatusRunning {
		t.Fatalf("run after the worker stopped = %+v", mid)
	}
	block.Store(false)
	b := e.serviceRescue(opts, time.Minute, true)
	final := waitRun(t, b, org, run.ID)
	if final.Status != StatusSucceeded || final.DocumentsIndexed != 1 || final.Error != nil {
		t.Fatalf("run after another worker took it = %+v", final)
	}
}

// crashWorker makes the run's job look like its worker process died mid-attempt n: River
// shows it running since long ago, claimed by a client that no longer exists.
func crashWorker(t *testing.T, e *env, runID uuid.UUID, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = $2,
		attempted_at = now() - interval '1 hour', attempted_by = ARRAY['dead-worker']
		WHERE kind = 'knowledge_index_run' AND args->>'run_id' = $1`, runID.String(), n); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE indexing_runs SET status = 'running', attempt = $2,
		started_at = now() - interval '1 hour' WHERE id = $1`, runID, n); err != nil {
		t.Fatal(err)
	}
}

func TestCrashedWorkerRunIsRetried(t *testing.T) {
	e := newEnv(t)
	org := e.org("acme")
	idle := e.service(testOptions(), false)
	run, _, err := idle.Ingest(context.Background(), org, "kb", []DocumentInput{{ID: "d", Title: "D", Content: "Dolphins sleep with one eye open."}}, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	crashWorker(t, e, run.ID, 1)
	s := e.service(testOptions(), true) // its leader rescues the stuck job
	final := waitRun(t, s, org, run.ID)
	if final.Status != StatusSucceeded || final.DocumentsIndexed != 1 || time.Since(*final.StartedAt) > 30*time.Second {
		t.Fatalf("run = %+v", final)
	}
	var attempt int
	if err := e.pool.QueryRow(context.Background(), "SELECT attempt FROM indexing_runs WHERE id = $1", run.ID).Scan(&attempt); err != nil {
		t.Fatal(err)
	}
	if attempt != 2 {
		t.Fatalf("run row shows attempt %d, want the latest (2)", attempt)
	}
}

func TestRunWhoseLastWorkerCrashedEndsFailed(t *testing.T) {
	e := newEnv(t)
	org := e.org("acme")
	idle := e.service(testOptions(), false)
	run, _, err := idle.Ingest(context.Background(), org, "kb", []DocumentInput{{ID: "d", Title: "D", Content: "Dolphins sleep."}}, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	crashWorker(t, e, run.ID, 3) // the last of MaxAttempts
	s := e.service(testOptions(), true)
	final := waitRun(t, s, org, run.ID)
	if final.Status != StatusFailed || final.Error == nil || *final.Error != MsgWorkerLost || final.FinishedAt == nil {
		t.Fatalf("run = %+v", final)
	}
	var rows int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM documents").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d pending rows outlived their failed run", rows)
	}
}

func TestConnectorDocumentIDHashesTheSourceKey(t *testing.T) {
	id := uuid.MustParse("8b3d1f7e-2a4c-4d6e-9f8a-1b2c3d4e5f60")
	got := ConnectorDocumentID(id, "https://docs.acme.com/a")
	if !strings.HasPrefix(got, id.String()+":") || len(got) != 36+1+32 || !ValidDocumentID(got) {
		t.Fatalf("id = %s", got)
	}
	b, _ := json.Marshal(got)
	if got == ConnectorDocumentID(id, "https://docs.acme.com/b") || len(b) == 0 {
		t.Fatal("different URLs share an id")
	}
}
