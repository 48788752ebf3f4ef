package admin_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

// Knowledge isolation invariants of ADMIN-API §4.2 (16–23) beyond the route and list
// tables of isolation_test.go: counts, shared names and ids, and connector runs.
func TestKnowledgeOfTwoOrgsNeverMixes(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS": "1"})
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	s.ingestAndWait(t, a.key, "faq", doc{"id": "shared", "title": "A's shared", "content": "Alpacas hum."})
	s.ingestAndWait(t, b.key, "faq", doc{"id": "shared", "title": "B's shared", "content": "Bonobos laugh."},
		doc{"id": "b-only", "title": "B only", "content": "Beavers build dams."})
	s.ingestAndWait(t, b.key, "b-set", doc{"id": "b-set-doc", "title": "B set", "content": "Badgers dig."})

	t.Run("16: a set name both use counts each org's documents only", func(t *testing.T) {
		// name and documentCount of each set, in order.
		counted := func(key string) []admintest.DocumentSet {
			sets := decode[admintest.DocumentSetList](t, s.do(t, "GET", "/admin/document-sets", key, nil).want(t, 200)).DocumentSets
			for i := range sets {
				sets[i].UpdatedAt = nil
			}
			return sets
		}
		if diff := cmp.Diff([]admintest.DocumentSet{{Name: "faq", DocumentCount: 1}}, counted(a.key)); diff != "" {
			t.Fatalf("A's sets (-want +got):\n%s", diff)
		}
		if got := counted(b.key); len(got) != 2 || got[1].DocumentCount != 2 {
			t.Fatalf("B's sets %+v", got)
		}
	})
	t.Run("17: a set only B uses is 404 for A", func(t *testing.T) {
		s.do(t, "GET", "/admin/document-sets/b-set/documents", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	})
	t.Run("18: the same document id is two documents", func(t *testing.T) {
		s.ingestAndWait(t, a.key, "faq", doc{"id": "shared", "title": "A's shared, v2", "content": "Alpacas hum softly."})
		var got []string
		for _, d := range decode[admintest.DocumentList](t, s.do(t, "GET", "/admin/document-sets/faq/documents", b.key, nil).want(t, 200)).Documents {
			got = append(got, d.ID+": "+d.Title)
		}
		if diff := cmp.Diff([]string{"b-only: B only", "shared: B's shared"}, got); diff != "" {
			t.Fatalf("B's documents after A re-posted the id (-want +got):\n%s", diff)
		}
		s.do(t, "DELETE", "/admin/documents/shared", a.key, nil).want(t, 204)
		s.do(t, "DELETE", "/admin/documents/b-only", a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
		if got := docIDs(t, s.do(t, "GET", "/admin/document-sets/faq/documents", b.key, nil).want(t, 200)); !slices.Equal(got, []string{"b-only", "shared"}) {
			t.Fatalf("A's delete reached B: %v", got)
		}
	})
	t.Run("22: A's connector runs write A's rows and never delete B's", func(t *testing.T) {
		web := newSite(t)
		conn := s.do(t, "POST", "/admin/connectors", a.key, map[string]any{
			"name": "Site", "kind": "web", "config": map[string]any{"urls": []string{web.URL + "/a", web.URL + "/b.txt"}}, "documentSet": "faq",
		}).want(t, 201).str(t, "connector.id")
		run := s.waitRun(t, a.key, s.do(t, "POST", "/admin/connectors/"+conn+"/index", a.key, nil).want(t, 202).str(t, "run.id"))
		if counts(run) != "2/2/2/0" {
			t.Fatalf("run %v", run)
		}
		// A full sync that no longer sees a page deletes only this connector's document.
		s.do(t, "PUT", "/admin/connectors/"+conn, a.key, map[string]any{
			"name": "Site", "kind": "web", "config": map[string]any{"urls": []string{web.URL + "/a"}}, "documentSet": "faq",
		}).want(t, 200)
		if run := s.waitRun(t, a.key, s.do(t, "POST", "/admin/connectors/"+conn+"/index", a.key, nil).want(t, 202).str(t, "run.id")); counts(run) != "1/0/0/1" {
			t.Fatalf("second run %v", run)
		}
		if got := docIDs(t, s.do(t, "GET", "/admin/document-sets/faq/documents", b.key, nil).want(t, 200)); !slices.Equal(got, []string{"b-only", "shared"}) {
			t.Fatalf("B's documents after A's sync: %v", got)
		}
		var foreign int
		if err := s.Pool.QueryRow(t.Context(), `SELECT
			(SELECT count(*) FROM documents WHERE connector_id = $1 AND org_id <> $2) +
			(SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.connector_id = $1 AND c.org_id <> $2)`,
			conn, a.id).Scan(&foreign); err != nil {
			t.Fatal(err)
		}
		if foreign != 0 {
			t.Fatalf("%d rows of A's connector carry another org id", foreign)
		}
		// 23: B filtering by A's connector sees nothing.
		r := s.do(t, "GET", "/admin/indexing/runs?connectorId="+conn, b.key, nil).want(t, 200)
		if len(r.list(t, "runs")) != 0 {
			t.Fatalf("B sees A's connector runs: %s", r.body)
		}
	})
}
