package admin_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

func TestRunListFiltersPagesAndValidates(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	var want []string // newest first
	for i := 0; i < 3; i++ {
		r := s.ingestAndWait(t, a.key, "kb", doc{"id": "d", "title": "D", "content": "Dolphins sleep with one eye open."})
		want = append([]string{r.ID}, want...)
	}
	failed := uuid.New()
	if _, err := s.Pool.Exec(t.Context(), `INSERT INTO indexing_runs (id, org_id, document_set, status, error, created_at, finished_at)
		VALUES ($1, $2, 'kb', 'failed', 'indexing worker lost', now(), now())`, failed, a.id); err != nil {
		t.Fatal(err)
	}
	want = append([]string{failed.String()}, want...)

	if got := s.pageAll(t, a.key, "/admin/indexing/runs", "runs", "id"); !slices.Equal(got, want) {
		t.Fatalf("runs %v, want newest first %v", got, want)
	}
	if got := s.pageAll(t, a.key, "/admin/indexing/runs?status=succeeded", "runs", "id"); !slices.Equal(got, want[1:]) {
		t.Fatalf("succeeded runs %v", got)
	}
	f := s.do(t, "GET", "/admin/indexing/runs?status=failed", a.key, nil).want(t, 200)
	if f.str(t, "runs.0.id") != failed.String() || f.str(t, "runs.0.error") != "indexing worker lost" || len(f.list(t, "runs")) != 1 {
		t.Fatalf("failed runs %s", f.body)
	}
	for _, q := range []string{"?status=cancelled", "?connectorId=" + uuid.NewString(), "?connectorId=" + uuid.NewString() + "&status=succeeded"} {
		r := s.do(t, "GET", "/admin/indexing/runs"+q, a.key, nil).want(t, 200)
		if len(r.list(t, "runs")) != 0 || r.get(t, "nextCursor") != nil {
			t.Fatalf("%s: %s", q, r.body)
		}
	}
	c := s.do(t, "GET", "/admin/indexing/runs?limit=1", a.key, nil).want(t, 200).str(t, "nextCursor")
	for _, tc := range []struct{ query, field string }{
		{"?connectorId=nope", "connectorId"},
		{"?connectorId=", "connectorId"},
		{"?status=done", "status"},
		{"?status=Succeeded", "status"},
		{"?limit=0", "limit"},
		{"?after=x", "after"},
		{"?status=failed&cursor=" + c, "cursor"}, // a cursor is bound to its filters
		{"?status=failed&status=failed", "status"},
	} {
		s.do(t, "GET", "/admin/indexing/runs"+tc.query, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", tc.field)
	}

	one := decode[admintest.RunAnswer](t, s.do(t, "GET", "/admin/indexing/runs/"+want[1], a.key, nil).want(t, 200)).Run
	if one.ID != want[1] || one.Status != "succeeded" || one.ConnectorID != nil || one.ConnectorName != nil {
		t.Fatalf("run %+v", one)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
		r := s.do(t, "GET", "/admin/indexing/runs/"+id, a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
		if r.str(t, "error.message") != "indexing run '"+id+"' not found" {
			t.Fatalf("message %q", r.str(t, "error.message"))
		}
	}
}
