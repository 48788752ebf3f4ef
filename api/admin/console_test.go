package admin_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

// The smooth-operator console's connector pages (ADMIN-API §9.11): its form sends
// {name, kind, config: {url}, enabled} without documentSet, its list reads config.url.
func TestAConnectorInTheConsoleShapeIndexes(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS": "1"})
	a := s.newOrg(t, "A")
	web := newSite(t)

	created := s.do(t, "POST", "/admin/connectors", a.key, map[string]any{
		"name": "Help site", "kind": "web", "config": map[string]any{"url": web.URL + "/a"}, "enabled": true,
	}).want(t, 201)
	id := created.str(t, "connector.id")
	if created.str(t, "connector.documentSet") != "Help-site" || created.str(t, "connector.config.url") != web.URL+"/a" ||
		!slices.Equal(created.list(t, "connector.config.urls"), []any{web.URL + "/a"}) {
		t.Fatalf("created %s", created.body)
	}
	list := s.do(t, "GET", "/admin/connectors", a.key, nil).want(t, 200)
	if list.str(t, "connectors.0.config.url") != web.URL+"/a" || list.str(t, "connectors.0.kind") != "web" {
		t.Fatalf("list %s", list.body)
	}

	// Index now: a curator may start a run (the console offers it to curators).
	curator := s.apiKey(t, a, "curator")
	queued := s.do(t, "POST", "/admin/connectors/"+id+"/index", curator, map[string]any{}).want(t, 202)
	if queued.str(t, "run.connectorName") != "Help site" {
		t.Fatalf("queued run %s", queued.body)
	}
	run := s.waitRun(t, a.key, queued.str(t, "run.id"))
	if run.Status != "succeeded" || counts(run) != "1/1/1/0" || run.DocumentSet != "Help-site" || run.ConnectorName == nil || *run.ConnectorName != "Help site" {
		t.Fatalf("run %+v", run)
	}
	rows := s.auditRows(t, a)
	if last := rows[len(rows)-1]; last.Action != "connector.index" || last.ActorType != "apiKey" || last.ActorName == nil || !strings.HasPrefix(*last.ActorName, "curator-") {
		t.Fatalf("audit row of the curator's run: %+v", last)
	}
	// Writing connectors stays admin.
	s.do(t, "PUT", "/admin/connectors/"+id, curator, map[string]any{"name": "x", "kind": "web", "config": map[string]any{"url": web.URL + "/a"}}).
		wantError(t, 403, "FORBIDDEN", "-")
	docs := s.do(t, "GET", "/admin/document-sets/Help-site/documents", a.key, nil).want(t, 200)
	if docs.str(t, "documents.0.url") != web.URL+"/a" || docs.str(t, "documents.0.title") != "Alpha page" {
		t.Fatalf("documents %s", docs.body)
	}

	// The edit form sends the same shape: the new URL replaces the old, the set stays.
	edited := s.do(t, "PUT", "/admin/connectors/"+id, a.key, map[string]any{
		"name": "Help centre", "kind": "web", "config": map[string]any{"url": web.URL + "/b.txt"}, "enabled": false,
	}).want(t, 200)
	if edited.str(t, "connector.name") != "Help centre" || edited.str(t, "connector.documentSet") != "Help-site" ||
		edited.str(t, "connector.config.url") != web.URL+"/b.txt" || edited.get(t, "connector.enabled") != false {
		t.Fatalf("edited %s", edited.body)
	}
	run = s.waitRun(t, a.key, s.do(t, "POST", "/admin/connectors/"+id+"/index", a.key, nil).want(t, 202).str(t, "run.id"))
	if run.Status != "succeeded" || counts(run) != "1/1/1/0" {
		t.Fatalf("second run %+v", run)
	}
	docs = s.do(t, "GET", "/admin/document-sets/Help-site/documents", a.key, nil).want(t, 200)
	if l := docs.list(t, "documents"); len(l) != 1 || docs.str(t, "documents.0.url") != web.URL+"/b.txt" {
		t.Fatalf("documents after the edit %s", docs.body)
	}

	// The indexing page's Connector column: the connector's current name on all its runs,
	// null for ingestion runs and once the connector is gone.
	s.ingestAndWait(t, a.key, "faq", doc{"title": "Hours", "content": "Open 9 to 5."})
	names := func() []*string {
		var out []*string
		for _, r := range decode[admintest.RunList](t, s.do(t, "GET", "/admin/indexing/runs", a.key, nil).want(t, 200)).Runs {
			out = append(out, r.ConnectorName)
		}
		return out
	}
	centre := "Help centre"
	if diff := cmp.Diff([]*string{nil, &centre, &centre}, names()); diff != "" {
		t.Fatalf("connector names of the runs, newest first (-want +got):\n%s", diff)
	}
	s.do(t, "DELETE", "/admin/connectors/"+id, a.key, nil).want(t, 204)
	if diff := cmp.Diff([]*string{nil, nil, nil}, names()); diff != "" {
		t.Fatalf("connector names after the delete (-want +got):\n%s", diff)
	}
	one := decode[admintest.RunAnswer](t, s.do(t, "GET", "/admin/indexing/runs/"+run.ID, a.key, nil).want(t, 200)).Run
	if one.ConnectorName != nil || one.ConnectorID == nil || *one.ConnectorID != id {
		t.Fatalf("a run of a deleted connector %+v", one)
	}
}
