package admin_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/testkit"
)

// doc is one document of an ingestion body.
type doc map[string]any

// ingest posts docs to the set and requires the 202.
func (s *server) ingest(t *testing.T, key, set string, docs ...doc) resp {
	t.Helper()
	return s.do(t, "POST", "/admin/document-sets/"+set+"/documents", key, map[string]any{"documents": docs}).want(t, 202)
}

// waitRun polls a run through the API until it has ended and returns its object.
func (s *server) waitRun(t *testing.T, key, id string) admintest.Run {
	t.Helper()
	var run admintest.Run
	testkit.Eventually(t, "run "+id+" to end", func() bool {
		run = decode[admintest.RunAnswer](t, s.do(t, "GET", "/admin/indexing/runs/"+id, key, nil).want(t, 200)).Run
		switch run.Status {
		case "succeeded", "failed", "cancelled":
			return true
		}
		return false
	})
	return run
}

// ingestAndWait ingests and waits for the run, which must succeed.
func (s *server) ingestAndWait(t *testing.T, key, set string, docs ...doc) admintest.Run {
	t.Helper()
	run := s.waitRun(t, key, s.ingest(t, key, set, docs...).str(t, "run.id"))
	if run.Status != "succeeded" {
		t.Fatalf("ingestion run %+v", run)
	}
	return run
}

// counts renders a run's counters as seen/indexed/chunks/skipped.
func counts(run admintest.Run) string {
	return fmt.Sprintf("%d/%d/%d/%d", run.DocumentsSeen, run.DocumentsIndexed, run.ChunksIndexed, run.DocumentsSkipped)
}

// docIDs lists the ids of a document list answer, in order.
func docIDs(t *testing.T, r resp) []string {
	t.Helper()
	var out []string
	for _, d := range decode[admintest.DocumentList](t, r).Documents {
		out = append(out, d.ID)
	}
	return out
}

// pageAll walks a list with limit=1 and returns every page's items under key, failing
// on a repeated item.
func (s *server) pageAll(t *testing.T, key, path, items, idField string) []string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var out []string
	next := ""
	for i := 0; i < 100; i++ {
		q := sep + "limit=1"
		if next != "" {
			q += "&cursor=" + next
		}
		ids, c := listField(t, s.do(t, "GET", path+q, key, nil).want(t, 200), items, idField)
		for _, id := range ids {
			if slices.Contains(out, id) {
				t.Fatalf("%s: %s returned twice", path, id)
			}
			out = append(out, id)
		}
		if c == nil {
			return out
		}
		next = *c
	}
	t.Fatalf("%s: more than 100 pages", path)
	return nil
}

func TestIngestionQueuesARunThatIndexesTheDocuments(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	r := s.ingest(t, a.key, "billing-faq",
		doc{"id": "refund-policy", "title": "Refund policy", "url": "https://www.acme.com/refunds",
			"content": "Refunds are issued within 30 days of purchase."},
		doc{"title": "Staff escalation guide", "content": "Escalate to tier 2 when a refund is disputed.",
			"acl": map[string]any{"users": []string{"ada", "jwt:grace", "ada"}, "groups": []string{"staff"}}},
	)
	accepted := decode[admintest.Ingested](t, r)
	run := accepted.Run
	want := admintest.Run{ID: run.ID, DocumentSet: "billing-faq", Status: "queued", CreatedAt: run.CreatedAt, DocumentsSeen: 2}
	if diff := cmp.Diff(want, run); diff != "" {
		t.Fatalf("queued run (-want +got):\n%s", diff)
	}
	ids := accepted.DocumentIDs
	if len(ids) != 2 || ids[0] != "refund-policy" || uuid.Validate(ids[1]) != nil {
		t.Fatalf("document ids %v", ids)
	}
	generated := ids[1]
	done := s.waitRun(t, a.key, run.ID)
	if done.StartedAt == nil || done.FinishedAt == nil {
		t.Fatalf("finished run %+v without its times", done)
	}
	want = admintest.Run{ID: run.ID, DocumentSet: "billing-faq", Status: "succeeded", CreatedAt: run.CreatedAt,
		StartedAt: done.StartedAt, FinishedAt: done.FinishedAt, DocumentsSeen: 2, DocumentsIndexed: 2, ChunksIndexed: 2}
	if diff := cmp.Diff(want, done); diff != "" {
		t.Fatalf("finished run (-want +got):\n%s", diff)
	}

	sets := decode[admintest.DocumentSetList](t, s.do(t, "GET", "/admin/document-sets", a.key, nil).want(t, 200))
	if len(sets.DocumentSets) != 1 || sets.DocumentSets[0].UpdatedAt == nil {
		t.Fatalf("document sets %+v", sets)
	}
	wantSets := admintest.DocumentSetList{DocumentSets: []admintest.DocumentSet{{Name: "billing-faq", DocumentCount: 2, UpdatedAt: sets.DocumentSets[0].UpdatedAt}}}
	if diff := cmp.Diff(wantSets, sets); diff != "" {
		t.Fatalf("document sets (-want +got):\n%s", diff)
	}
	docs := s.do(t, "GET", "/admin/document-sets/billing-faq/documents", a.key, nil).want(t, 200)
	wantIDs := []string{generated, "refund-policy"}
	slices.Sort(wantIDs)
	if got := docIDs(t, docs); !slices.Equal(got, wantIDs) {
		t.Fatalf("documents %v, want %v", got, wantIDs)
	}
	for _, d := range decode[admintest.DocumentList](t, docs).Documents {
		switch d.ID {
		case "refund-policy":
			url := "https://www.acme.com/refunds"
			want := admintest.Document{ID: d.ID, DocumentSet: "billing-faq", Title: "Refund policy", URL: &url,
				ContentBytes: 46, ChunkCount: 1, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Fatalf("document (-want +got):\n%s", diff)
			}
		default:
			// Bare user entries mean ctx:, duplicates go, lists are never null.
			if d.URL != nil {
				t.Fatalf("document %+v has a URL", d)
			}
			if diff := cmp.Diff(&admintest.ACL{Groups: []string{"staff"}, Users: []string{"ctx:ada", "jwt:grace"}}, d.ACL); diff != "" {
				t.Fatalf("acl (-want +got):\n%s", diff)
			}
		}
	}
	// One audit row, in the caller's org, with the request id and the run.
	var found int
	for _, row := range s.auditRows(t, a) {
		if row.Action != "documents.ingest" {
			continue
		}
		found++
		var details map[string]any
		if err := json.Unmarshal(row.Details, &details); err != nil {
			t.Fatal(err)
		}
		if row.TargetType != "documentSet" || row.TargetID != "billing-faq" || row.RequestID == nil || *row.RequestID != r.header.Get("X-Request-Id") ||
			len(details) != 2 || details["runId"] != run.ID || details["documentCount"] != 2.0 {
			t.Fatalf("audit row %+v details %s", row, row.Details)
		}
	}
	if found != 1 {
		t.Fatalf("%d documents.ingest rows", found)
	}
}

func TestReingestionSkipsUnchangedReplacesChangedAndMovesSets(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	s.ingestAndWait(t, a.key, "kb", doc{"id": "d1", "title": "One", "content": "Otters hold hands while sleeping."},
		doc{"id": "d2", "title": "Two", "content": "Penguins propose with pebbles."})

	// Same content: skipped, but its title and ACL are updated.
	run := s.ingestAndWait(t, a.key, "kb", doc{"id": "d1", "title": "One, renamed", "content": "Otters hold hands while sleeping.", "acl": map[string]any{"public": true}})
	if counts(run) != "1/0/0/1" {
		t.Fatalf("unchanged run %+v", run)
	}
	docs := s.do(t, "GET", "/admin/document-sets/kb/documents", a.key, nil).want(t, 200)
	d1 := decode[admintest.DocumentList](t, docs).Documents[0]
	if d1.Title != "One, renamed" {
		t.Fatalf("skipped document's title not updated: %+v", d1)
	}
	if diff := cmp.Diff(&admintest.ACL{Public: true, Users: []string{}, Groups: []string{}}, d1.ACL); diff != "" {
		t.Fatalf("skipped document's acl not updated (-want +got):\n%s", diff)
	}
	// Changed content: indexed again.
	long := strings.Repeat("Penguins propose to their mates with carefully chosen pebbles. ", 40)
	run = s.ingestAndWait(t, a.key, "kb", doc{"id": "d2", "title": "Two", "content": long})
	if counts(run) != fmt.Sprintf("1/1/%d/0", run.ChunksIndexed) || run.ChunksIndexed == 1 {
		t.Fatalf("changed run %+v (a long document is several chunks)", run)
	}
	docs = s.do(t, "GET", "/admin/document-sets/kb/documents", a.key, nil).want(t, 200)
	if d := decode[admintest.DocumentList](t, docs).Documents[1]; d.ChunkCount != run.ChunksIndexed || d.ContentBytes != len(long) {
		t.Fatalf("replaced document %+v", d)
	}
	// An id posted to another set moves there.
	s.ingestAndWait(t, a.key, "other", doc{"id": "d1", "title": "One", "content": "Otters hold hands while sleeping."})
	if got := docIDs(t, s.do(t, "GET", "/admin/document-sets/kb/documents", a.key, nil).want(t, 200)); !slices.Equal(got, []string{"d2"}) {
		t.Fatalf("kb after the move: %v", got)
	}
	if got := docIDs(t, s.do(t, "GET", "/admin/document-sets/other/documents", a.key, nil).want(t, 200)); !slices.Equal(got, []string{"d1"}) {
		t.Fatalf("other after the move: %v", got)
	}
}

func TestDocumentSetNamesAndDocumentIDsAreCaseSensitiveAndPaged(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	s.ingestAndWait(t, a.key, "faq", doc{"id": "a", "title": "a", "content": "lower a"}, doc{"id": "B", "title": "B", "content": "upper B"},
		doc{"id": "A", "title": "A", "content": "upper A"}, doc{"id": "b", "title": "b", "content": "lower b"})
	s.ingestAndWait(t, a.key, "FAQ", doc{"id": "Z", "title": "Z", "content": "upper Z"})
	s.ingestAndWait(t, a.key, "Zeta", doc{"id": "z", "title": "z", "content": "lower z"})

	if got := s.pageAll(t, a.key, "/admin/document-sets", "documentSets", "name"); !slices.Equal(got, []string{"FAQ", "Zeta", "faq"}) {
		t.Fatalf("sets in byte order: %v", got)
	}
	if got := s.pageAll(t, a.key, "/admin/document-sets/faq/documents", "documents", "id"); !slices.Equal(got, []string{"A", "B", "a", "b"}) {
		t.Fatalf("documents in byte order: %v", got)
	}
	// A cursor is bound to its set.
	c := s.do(t, "GET", "/admin/document-sets/faq/documents?limit=1", a.key, nil).want(t, 200).str(t, "nextCursor")
	s.do(t, "GET", "/admin/document-sets/FAQ/documents?cursor="+c, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
	s.do(t, "GET", "/admin/document-sets?cursor="+c, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
	// Unknown, differently cased and malformed sets are 404s that echo the name.
	for _, name := range []string{"nope", "Faq", "-bad", "a%20b"} {
		r := s.do(t, "GET", "/admin/document-sets/"+name+"/documents", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
		if want := strings.ReplaceAll(name, "%20", " "); r.str(t, "error.message") != "document set '"+want+"' not found" {
			t.Fatalf("message %q", r.str(t, "error.message"))
		}
	}
}

func TestDeleteDocumentTakesAPercentEncodedID(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	s.ingestAndWait(t, a.key, "kb", doc{"id": "guide:v1@2.md", "title": "Guide", "content": "Giraffes sleep standing up."},
		doc{"id": "keep", "title": "Keep", "content": "Keep this one."})
	r := s.do(t, "DELETE", "/admin/documents/guide%3Av1%402.md", a.key, nil).want(t, 204)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %s", r.body)
	}
	if got := docIDs(t, s.do(t, "GET", "/admin/document-sets/kb/documents", a.key, nil).want(t, 200)); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("after delete: %v", got)
	}
	gone := s.do(t, "DELETE", "/admin/documents/guide:v1@2.md", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	if gone.str(t, "error.message") != "document 'guide:v1@2.md' not found" {
		t.Fatalf("message %q", gone.str(t, "error.message"))
	}
	s.do(t, "DELETE", "/admin/documents/bad%2Fid", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "DELETE", "/admin/documents/KEEP", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	var rows int
	for _, row := range s.auditRows(t, a) {
		if row.Action == "document.delete" {
			rows++
			if row.TargetType != "document" || row.TargetID != "guide:v1@2.md" || *row.RequestID != r.header.Get("X-Request-Id") {
				t.Fatalf("audit row %+v", row)
			}
		}
	}
	if rows != 1 {
		t.Fatalf("%d document.delete rows", rows)
	}
}

func TestIngestionValidation(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	ok := func(extra map[string]any) doc {
		d := doc{"title": "T", "content": "C"}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	docs := func(ds ...doc) map[string]any { return map[string]any{"documents": ds} }
	many := make([]doc, 101)
	for i := range many {
		many[i] = ok(nil)
	}
	cases := []struct {
		name, set string
		body      any
		field     string
	}{
		{"malformed set name", "-faq", docs(ok(nil)), "name"},
		{"set name too long", strings.Repeat("s", 65), docs(ok(nil)), "name"},
		{"no documents key", "kb", map[string]any{}, "documents"},
		{"empty documents", "kb", docs(), "documents"},
		{"101 documents", "kb", map[string]any{"documents": many}, "documents"},
		{"documents not an array", "kb", map[string]any{"documents": map[string]any{}}, "documents"},
		{"a document not an object", "kb", map[string]any{"documents": []any{"x"}}, "documents[0]"},
		{"unknown top-level field", "kb", map[string]any{"documents": []doc{ok(nil)}, "colour": 1}, "colour"},
		{"unknown document field", "kb", docs(ok(map[string]any{"colour": "red"})), "documents[0].colour"},
		{"repeated id", "kb", docs(ok(map[string]any{"id": "x"}), ok(map[string]any{"id": "x"})), "documents[1].id"},
		{"empty id", "kb", docs(ok(map[string]any{"id": ""})), "documents[0].id"},
		{"malformed id", "kb", docs(ok(nil), ok(map[string]any{"id": "a/b"})), "documents[1].id"},
		{"missing title", "kb", docs(doc{"content": "C"}), "documents[0].title"},
		{"title too long", "kb", docs(ok(map[string]any{"title": strings.Repeat("t", 513)})), "documents[0].title"},
		{"empty content", "kb", docs(ok(map[string]any{"content": ""})), "documents[0].content"},
		{"content over 1 MiB", "kb", docs(ok(map[string]any{"content": strings.Repeat("c", 1<<20+1)})), "documents[0].content"},
		{"content as a number", "kb", docs(ok(map[string]any{"content": 5})), "documents[0].content"},
		{"url not http", "kb", docs(ok(map[string]any{"url": "ftp://x.example.com/a"})), "documents[0].url"},
		{"unknown acl key", "kb", docs(ok(map[string]any{"acl": map[string]any{"owner": "x"}})), "documents[0].acl.owner"},
		{"acl public as a string", "kb", docs(ok(map[string]any{"acl": map[string]any{"public": "true"}})), "documents[0].acl.public"},
		{"empty acl identity", "kb", docs(ok(map[string]any{"acl": map[string]any{"users": []string{"jwt:"}}})), "documents[0].acl.users[0]"},
		{"acl group too long", "kb", docs(ok(map[string]any{"acl": map[string]any{"groups": []string{strings.Repeat("g", 257)}}})), "documents[0].acl.groups[0]"},
	}
	before := len(s.auditRows(t, a))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.do(t, "POST", "/admin/document-sets/"+c.set+"/documents", a.key, c.body).wantError(t, 400, "VALIDATION_ERROR", c.field)
		})
	}
	// The 2 MiB body limit takes precedence over the per-document limits: two documents
	// each within 1 MiB are a 413 together. The server answers from Content-Length and
	// closes, so the request is written by hand (the client cannot race its upload).
	big, _ := json.Marshal(docs(ok(map[string]any{"content": strings.Repeat("c", 1<<20)}), ok(map[string]any{"content": strings.Repeat("c", 1<<20)})))
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /admin/document-sets/kb/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", a.key, len(big))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("two 1 MiB documents: status %d, want 413", res.StatusCode)
	}
	s.do(t, "POST", "/admin/document-sets/kb/documents", a.key, `{"documents":[]}`, "Content-Type", "text/plain").wantError(t, 400, "VALIDATION_ERROR", "Content-Type")

	if n := len(s.auditRows(t, a)); n != before {
		t.Fatalf("refused ingestions wrote %d audit rows", n-before)
	}
	if l := s.do(t, "GET", "/admin/indexing/runs", a.key, nil).want(t, 200).list(t, "runs"); len(l) != 0 {
		t.Fatalf("refused ingestions queued runs: %v", l)
	}
}

func TestQueuedRunLimitAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS": "2"})
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	conn := s.do(t, "POST", "/admin/connectors", a.key, map[string]any{
		"name": "Docs", "kind": "web", "config": map[string]any{"urls": []string{"https://docs.example.com/a"}}, "documentSet": "docs",
	}).want(t, 201).str(t, "connector.id")
	// Two runs stuck in the queue (rows without a job, so no worker takes them).
	for i := 0; i < 2; i++ {
		if _, err := s.Pool.Exec(t.Context(), `INSERT INTO indexing_runs (org_id, document_set) VALUES ($1, 'kb')`, a.id); err != nil {
			t.Fatal(err)
		}
	}
	before := len(s.auditRows(t, a))
	for _, r := range []resp{
		s.do(t, "POST", "/admin/document-sets/kb/documents", a.key, map[string]any{"documents": []doc{{"title": "T", "content": "C"}}}),
		s.do(t, "POST", "/admin/connectors/"+conn+"/index", a.key, nil),
	} {
		r.wantError(t, 429, "RATE_LIMITED", "-")
		if r.header.Get("Retry-After") != "10" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	if n := len(s.auditRows(t, a)); n != before {
		t.Fatalf("429s wrote %d audit rows", n-before)
	}
	// Validation still comes first, and another org's queue is its own.
	s.do(t, "POST", "/admin/document-sets/kb/documents", a.key, map[string]any{"documents": []doc{}}).wantError(t, 400, "VALIDATION_ERROR", "documents")
	s.ingestAndWait(t, b.key, "kb", doc{"title": "T", "content": "C"})
}

// tourKnowledge calls every knowledge operation once for the schema tour (tour_test.go).
// Its server allows private connector URLs, so the connector reads a local site.
func tourKnowledge(t *testing.T, s *server, key string, call func(method, path, tmpl string, body any, status int) resp) {
	t.Helper()
	web := newSite(t)
	ing := call("POST", "/admin/document-sets/billing-faq/documents", "/admin/document-sets/{name}/documents", map[string]any{"documents": []doc{
		{"id": "refund-policy", "title": "Refund policy", "url": "https://www.acme.com/refunds", "content": "Refunds are issued within 30 days of purchase."},
		{"title": "Staff escalation guide", "content": "Escalate to tier 2 when a refund is disputed.", "acl": map[string]any{"groups": []string{"staff"}}},
	}}, 202)
	run := ing.str(t, "run.id")
	s.waitRun(t, key, run)
	call("GET", "/admin/indexing/runs/"+run, "/admin/indexing/runs/{id}", nil, 200)
	call("GET", "/admin/document-sets", "/admin/document-sets", nil, 200)
	call("GET", "/admin/document-sets/billing-faq/documents", "/admin/document-sets/{name}/documents", nil, 200)

	c := call("POST", "/admin/connectors", "/admin/connectors", map[string]any{
		"name": "Docs site", "kind": "web", "config": map[string]any{"sitemap": web.URL + "/sitemap.xml"}, "documentSet": "docs-site", "schedule": "@daily",
	}, 201)
	connPath := "/admin/connectors/" + c.str(t, "connector.id")
	call("GET", "/admin/connectors", "/admin/connectors", nil, 200)
	call("GET", connPath, "/admin/connectors/{id}", nil, 200)
	call("PUT", connPath, "/admin/connectors/{id}", map[string]any{
		"name": "Docs site", "kind": "web", "documentSet": "docs-site",
		"config": map[string]any{"urls": []string{web.URL + "/a", web.URL + "/b.txt"}, "acl": map[string]any{"public": true}},
	}, 200)
	idx := call("POST", connPath+"/index", "/admin/connectors/{id}/index", nil, 202)
	s.waitRun(t, key, idx.str(t, "run.id"))
	call("GET", "/admin/indexing/runs?connectorId="+c.str(t, "connector.id"), "/admin/indexing/runs", nil, 200)
	call("GET", "/admin/document-sets/docs-site/documents", "/admin/document-sets/{name}/documents", nil, 200)
	call("DELETE", connPath, "/admin/connectors/{id}", nil, 204)
	call("DELETE", "/admin/documents/refund-policy", "/admin/documents/{id}", nil, 204)

	// Sample errors.
	call("GET", connPath, "/admin/connectors/{id}", nil, 404)
	call("POST", "/admin/connectors", "/admin/connectors", map[string]any{"name": "gh", "kind": "github", "config": map[string]any{}, "documentSet": "x"}, 400)
	call("GET", "/admin/document-sets/nope/documents", "/admin/document-sets/{name}/documents", nil, 404)
}
