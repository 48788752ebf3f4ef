package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

// site is a small website for web connector runs: a sitemap listing an HTML page, a text
// page, a page that is 404 and a slow page that can be held until the test releases it.
type site struct {
	*httptest.Server
	hits    atomic.Int64
	changed atomic.Bool // /a serves new content

	mu      sync.Mutex
	hold    chan struct{} // non-nil: /slow waits until it is closed
	entered chan struct{} // receives when a held /slow request arrives
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{entered: make(chan struct{}, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for _, p := range []string{"/a", "/b.txt", "/missing", "/slow"} {
			fmt.Fprintf(w, "<url><loc>%s%s</loc></url>", s.URL, p)
		}
		fmt.Fprint(w, `</urlset>`)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		body := "Aardvarks eat ants at night."
		if s.changed.Load() {
			body = "Aardvarks also eat termites."
		}
		fmt.Fprintf(w, "<!doctype html><html><head><title>Alpha page</title></head><body><nav>Menu</nav><p>%s</p></body></html>", body)
	})
	mux.HandleFunc("/b.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "Bison roam the prairie.")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		hold := s.hold
		s.mu.Unlock()
		if hold != nil {
			select {
			case s.entered <- struct{}{}:
			default:
			}
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "<html><head><title>Slow page</title></head><body><p>Sloths hang from branches.</p></body></html>")
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		mux.ServeHTTP(w, r) // /missing falls through to the mux's 404
	}))
	t.Cleanup(s.Close)
	t.Cleanup(s.release) // runs first: a held request must end before Close waits for it
	return s
}

// holdSlow makes /slow wait until release.
func (s *site) holdSlow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = make(chan struct{})
}

// waitHeld waits until a held /slow request has arrived (a hang guard bounds it).
func (s *site) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(60 * time.Second):
		t.Fatal("the run never requested the held page")
	}
}

func (s *site) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

func TestWebConnectorRunLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS": "1"})
	a := s.newOrg(t, "A")
	web := newSite(t)
	cr := s.do(t, "POST", "/admin/connectors", a.key, map[string]any{
		"name": "Docs site", "kind": "web", "config": map[string]any{"sitemap": web.URL + "/sitemap.xml"}, "documentSet": "docs-site",
	}).want(t, 201)
	id := cr.str(t, "connector.id")
	if cr.header.Get("Location") != "/admin/connectors/"+id {
		t.Fatalf("Location %q", cr.header.Get("Location"))
	}
	conn := decode[admintest.ConnectorAnswer](t, cr).Connector
	want := admintest.Connector{ID: id, Name: "Docs site", Kind: "web", DocumentSet: "docs-site", Enabled: true,
		Config:    json.RawMessage(`{"acl":null,"maxPages":200,"sitemap":"` + web.URL + `/sitemap.xml","url":null,"urls":null}`),
		CreatedAt: conn.CreatedAt, UpdatedAt: conn.UpdatedAt}
	if diff := cmp.Diff(want, conn, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("connector (-want +got):\n%s", diff)
	}
	// The set exists as soon as a connector targets it.
	sets := decode[admintest.DocumentSetList](t, s.do(t, "GET", "/admin/document-sets", a.key, nil).want(t, 200))
	if diff := cmp.Diff(admintest.DocumentSetList{DocumentSets: []admintest.DocumentSet{{Name: "docs-site"}}}, sets); diff != "" {
		t.Fatalf("sets (-want +got):\n%s", diff)
	}

	// Run 1, held on the slow page: queued, then running; a second /index returns it.
	web.holdSlow()
	queued := decode[admintest.RunAnswer](t, s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).want(t, 202)).Run
	run := queued.ID
	name := "Docs site"
	if diff := cmp.Diff(admintest.Run{ID: run, ConnectorID: &id, ConnectorName: &name, DocumentSet: "docs-site", Status: "queued", CreatedAt: queued.CreatedAt}, queued); diff != "" {
		t.Fatalf("queued run (-want +got):\n%s", diff)
	}
	web.waitHeld(t)
	held := decode[admintest.RunAnswer](t, s.do(t, "GET", "/admin/indexing/runs/"+run, a.key, nil).want(t, 200)).Run
	if held.Status != "running" || held.StartedAt == nil || held.FinishedAt != nil {
		t.Fatalf("held run %+v", held)
	}
	again := s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, map[string]any{}).want(t, 202)
	if again.str(t, "run.id") != run {
		t.Fatalf("a second run was queued: %s", again.body)
	}
	if got := s.pageAll(t, a.key, "/admin/indexing/runs?status=running", "runs", "id"); !slices.Equal(got, []string{run}) {
		t.Fatalf("running runs %v", got)
	}
	web.release()
	done := s.waitRun(t, a.key, run)
	if done.Status != "succeeded" || counts(done) != "4/3/3/0" || done.Error != nil || done.FinishedAt == nil {
		t.Fatalf("run 1 %+v", done)
	}
	indexRows := 0
	for _, row := range s.auditRows(t, a) {
		if row.Action == "connector.index" {
			indexRows++
			var d map[string]any
			if err := json.Unmarshal(row.Details, &d); err != nil || d["runId"] != run || row.TargetID != id || row.TargetType != "connector" {
				t.Fatalf("audit row %+v %s", row, row.Details)
			}
		}
	}
	if indexRows != 1 {
		t.Fatalf("%d connector.index rows for one queued run", indexRows)
	}
	docs := decode[admintest.DocumentList](t, s.do(t, "GET", "/admin/document-sets/docs-site/documents", a.key, nil).want(t, 200)).Documents
	if len(docs) != 3 {
		t.Fatalf("documents %+v", docs)
	}
	urls := []string{}
	for _, d := range docs {
		if d.ConnectorID == nil || *d.ConnectorID != id || !strings.HasPrefix(d.ID, id+":") || d.URL == nil {
			t.Fatalf("connector document %+v", d)
		}
		urls = append(urls, *d.URL)
		if *d.URL == web.URL+"/a" && d.Title != "Alpha page" {
			t.Fatalf("html title %+v", d)
		}
	}
	slices.Sort(urls)
	if !slices.Equal(urls, []string{web.URL + "/a", web.URL + "/b.txt", web.URL + "/slow"}) {
		t.Fatalf("indexed pages %v", urls)
	}

	// Run 2: nothing changed. Run 3: one page changed.
	if r := s.waitRun(t, a.key, s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).want(t, 202).str(t, "run.id")); counts(r) != "4/0/0/3" {
		t.Fatalf("run 2 %+v", r)
	}
	web.changed.Store(true)
	if r := s.waitRun(t, a.key, s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).want(t, 202).str(t, "run.id")); counts(r) != "4/1/1/2" {
		t.Fatalf("run 3 %+v", r)
	}
	if got := s.pageAll(t, a.key, "/admin/indexing/runs?connectorId="+strings.ToUpper(id)+"&status=succeeded", "runs", "id"); len(got) != 3 || got[2] != run {
		t.Fatalf("succeeded runs of the connector, newest first: %v", got)
	}

	// Deleting the connector mid-run cancels the run, keeps the run rows and takes the
	// documents (and with them the set) away.
	web.holdSlow()
	run4 := s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).want(t, 202).str(t, "run.id")
	web.waitHeld(t)
	s.do(t, "DELETE", "/admin/connectors/"+id, a.key, nil).want(t, 204)
	cancelled := s.do(t, "GET", "/admin/indexing/runs/"+run4, a.key, nil).want(t, 200)
	if cancelled.str(t, "run.status") != "cancelled" {
		t.Fatalf("run of a deleted connector %s", cancelled.body)
	}
	web.release()
	if got := s.pageAll(t, a.key, "/admin/indexing/runs?connectorId="+id, "runs", "id"); len(got) != 4 {
		t.Fatalf("run rows after delete: %v", got)
	}
	s.do(t, "GET", "/admin/document-sets/docs-site/documents", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "GET", "/admin/connectors/"+id, a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	if final := s.waitRun(t, a.key, run4); final.Status != "cancelled" {
		t.Fatalf("the worker wrote to a cancelled run: %+v", final)
	}
}

func TestConnectorWritesValidateAndReplace(t *testing.T) {
	t.Parallel()
	s := start(t, nil) // private connector URLs are refused
	a := s.newOrg(t, "A")
	web := newSite(t)
	write := func(changes map[string]any) map[string]any {
		w := map[string]any{"name": "Docs", "kind": "web", "config": map[string]any{"urls": []string{"https://docs.example.com/a"}}, "documentSet": "docs"}
		for k, v := range changes {
			if v == nil {
				delete(w, k)
			} else {
				w[k] = v
			}
		}
		return w
	}
	cases := []struct {
		name    string
		body    map[string]any
		field   string
		message string
	}{
		{"github is reserved", write(map[string]any{"kind": "github", "config": map[string]any{"owner": "acme", "repo": "docs"}}), "kind", "connector kind 'github' is not supported yet"},
		{"file never reads the server's disk", write(map[string]any{"kind": "file", "config": map[string]any{"path": "/etc"}}), "kind",
			"connector kind 'file' is not supported: a connector never reads the server's disk; use kind 'web', or send the documents to POST /admin/document-sets/{name}/documents"},
		{"url and urls", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a"}, "url": "https://docs.example.com/b"}}), "config.url", ""},
		{"loopback url", write(map[string]any{"config": map[string]any{"url": web.URL + "/a"}}), "config.url", ""},
		{"unknown kind", write(map[string]any{"kind": "ftp"}), "kind", ""},
		{"missing kind", write(map[string]any{"kind": nil}), "kind", "kind is required"},
		{"missing name", write(map[string]any{"name": nil}), "name", ""},
		{"blank name", write(map[string]any{"name": "   "}), "name", ""},
		{"config not an object", write(map[string]any{"config": []string{"x"}}), "config", ""},
		{"unknown config key", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a"}, "colour": 1}}), "config.colour", ""},
		{"both urls and sitemap", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a"}, "sitemap": "https://docs.example.com/s.xml"}}), "config.sitemap", ""},
		{"maxPages without sitemap", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a"}, "maxPages": 5}}), "config.maxPages", ""},
		{"loopback URL", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a", web.URL + "/a"}}}), "config.urls[1]", ""},
		{"localhost sitemap", write(map[string]any{"config": map[string]any{"sitemap": "http://localhost:8080/sitemap.xml"}}), "config.sitemap", ""},
		{"private address", write(map[string]any{"config": map[string]any{"urls": []string{"http://10.1.2.3/"}}}), "config.urls[0]", ""},
		{"unknown acl key", write(map[string]any{"config": map[string]any{"urls": []string{"https://docs.example.com/a"}, "acl": map[string]any{"role": "x"}}}), "config.acl.role", ""},
		{"bad set name", write(map[string]any{"documentSet": "docs site"}), "documentSet", ""},
		{"bad schedule", write(map[string]any{"schedule": "@every 1m"}), "schedule", ""},
		{"enabled as a string", write(map[string]any{"enabled": "true"}), "enabled", ""},
		{"unknown field", write(map[string]any{"colour": "red"}), "colour", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "POST", "/admin/connectors", a.key, c.body).wantError(t, 400, "VALIDATION_ERROR", c.field)
			if c.message != "" && r.str(t, "error.message") != c.message {
				t.Fatalf("message %q", r.str(t, "error.message"))
			}
		})
	}
	if n := web.hits.Load(); n != 0 {
		t.Fatalf("validation made %d requests to the site", n)
	}

	created := s.do(t, "POST", "/admin/connectors", a.key, write(map[string]any{"enabled": false, "schedule": "@every 30m",
		"config": map[string]any{"urls": []string{"https://docs.example.com/a", "https://docs.example.com/a"}, "acl": map[string]any{"users": []string{"u1"}}}})).want(t, 201)
	first := decode[admintest.ConnectorAnswer](t, created).Connector
	id := first.ID
	every := "@every 30m"
	want := admintest.Connector{ID: id, Name: first.Name, Kind: "web", DocumentSet: first.DocumentSet, Enabled: false, Schedule: &every,
		Config:    json.RawMessage(`{"acl":{"groups":[],"public":false,"users":["ctx:u1"]},"maxPages":null,"sitemap":null,"url":"https://docs.example.com/a","urls":["https://docs.example.com/a"]}`),
		CreatedAt: first.CreatedAt, UpdatedAt: first.UpdatedAt}
	if diff := cmp.Diff(want, first, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	s.do(t, "POST", "/admin/connectors", a.key, write(map[string]any{"name": "DOCS"})).wantError(t, 409, "CONFLICT", "-")
	// PUT replaces: omitted optional fields take their defaults; the kind cannot change.
	put := s.do(t, "PUT", "/admin/connectors/"+id, a.key, write(map[string]any{"name": "Docs v2", "config": map[string]any{"sitemap": "https://docs.example.com/sitemap.xml", "maxPages": 5}})).want(t, 200)
	replaced := decode[admintest.ConnectorAnswer](t, put).Connector
	want = admintest.Connector{ID: id, Name: "Docs v2", Kind: "web", DocumentSet: first.DocumentSet, Enabled: true,
		Config:    json.RawMessage(`{"acl":null,"maxPages":5,"sitemap":"https://docs.example.com/sitemap.xml","url":null,"urls":null}`),
		CreatedAt: first.CreatedAt, UpdatedAt: replaced.UpdatedAt}
	if diff := cmp.Diff(want, replaced, cmp.Transformer("json", jsonValue)); diff != "" {
		t.Fatalf("after PUT (-want +got):\n%s", diff)
	}
	s.do(t, "PUT", "/admin/connectors/"+id, a.key, write(map[string]any{"kind": "github"})).wantError(t, 400, "VALIDATION_ERROR", "kind")
	other := s.do(t, "POST", "/admin/connectors", a.key, write(map[string]any{"name": "Other"})).want(t, 201).str(t, "connector.id")
	s.do(t, "PUT", "/admin/connectors/"+other, a.key, write(map[string]any{"name": "docs V2"})).wantError(t, 409, "CONFLICT", "-")
	// 400 comes before 404: the same bad body gets the same answer for any id.
	s.do(t, "PUT", "/admin/connectors/"+uuid.NewString(), a.key, write(map[string]any{"kind": "github"})).wantError(t, 400, "VALIDATION_ERROR", "kind")
	s.do(t, "PUT", "/admin/connectors/"+uuid.NewString(), a.key, write(nil)).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "PUT", "/admin/connectors/not-a-uuid", a.key, write(nil)).wantError(t, 404, "NOT_FOUND", "-")

	var actions []string
	var updateFields any
	for _, row := range s.auditRows(t, a) {
		if strings.HasPrefix(row.Action, "connector.") {
			actions = append(actions, row.Action)
			if row.Action == "connector.update" {
				var d map[string]any
				_ = json.Unmarshal(row.Details, &d)
				updateFields = d["fields"]
			}
		}
	}
	if !slices.Equal(actions, []string{"connector.create", "connector.update", "connector.create"}) ||
		fmt.Sprint(updateFields) != "[name config enabled schedule]" {
		t.Fatalf("audit %v, update fields %v", actions, updateFields)
	}
	// Listed by name case-insensitively, page by page.
	s.do(t, "POST", "/admin/connectors", a.key, write(map[string]any{"name": "alpha"})).want(t, 201)
	var names []string
	for _, cid := range s.pageAll(t, a.key, "/admin/connectors", "connectors", "id") {
		names = append(names, s.do(t, "GET", "/admin/connectors/"+cid, a.key, nil).want(t, 200).str(t, "connector.name"))
	}
	if !slices.Equal(names, []string{"alpha", "Docs v2", "Other"}) {
		t.Fatalf("connector order %v", names)
	}
}
