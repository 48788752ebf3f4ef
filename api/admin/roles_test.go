package admin_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestEveryRouteEnforcesItsDocumentedMinimumRole walks /openapi.json: for each operation
// that is not public, no credentials are 401 UNAUTHENTICATED, every role below x-min-role is
// 403 FORBIDDEN with the spec's message and no side effect, and the minimum role itself
// passes the gate.
func TestEveryRouteEnforcesItsDocumentedMinimumRole(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	creds := map[string][]string{
		"basic":   {s.apiKey(t, a, "basic"), token(t, map[string]any{"org": a.id.String(), "role": "user", "sub": "u-basic"})},
		"curator": {s.apiKey(t, a, "curator"), token(t, map[string]any{"org": a.id.String(), "role": "Curator", "sub": "u-cur"})},
		"admin":   {a.key, token(t, map[string]any{"org": a.id.String(), "role": "admin", "sub": "u-adm"})},
	}
	ranks := []string{"basic", "curator", "admin"}
	doc, _ := fetchDoc(t, s)
	auditBefore := len(s.auditRows(t, a))
	checked := 0
	for _, o := range doc.ops() {
		role := o.op.MinRole
		if role == "public" {
			continue
		}
		checked++
		path := strings.NewReplacer("{id}", uuid.NewString(), "{toolId}", uuid.NewString()).Replace(o.path)
		t.Run(o.method+" "+o.path, func(t *testing.T) {
			s.do(t, o.method, path, "", nil).wantError(t, 401, "UNAUTHENTICATED", "-")
			s.do(t, o.method, path, "", `{"x":1}`, "Authorization", "Basic dXNlcjpwYXNz").wantError(t, 401, "UNAUTHENTICATED", "-")
			min := 0
			for i, r := range ranks {
				if r == role {
					min = i
				}
			}
			for _, lower := range ranks[:min] {
				for _, cred := range creds[lower] {
					r := s.do(t, o.method, path, cred, `{"not":"validated before the role check"}`).wantError(t, 403, "FORBIDDEN", "-")
					if msg := r.str(t, "error.message"); msg != "forbidden: requires "+role+", principal is "+lower {
						t.Fatalf("message %q", msg)
					}
				}
			}
			for _, cred := range creds[role] {
				if r := s.do(t, o.method, path, cred, nil); r.status == 401 || r.status == 403 {
					t.Fatalf("role %s refused with %d: %s", role, r.status, r.body)
				}
			}
		})
	}
	if checked < 25 {
		t.Fatalf("only %d operations checked", checked)
	}
	if n := len(s.auditRows(t, a)); n != auditBefore {
		t.Fatalf("refused requests wrote %d audit rows", n-auditBefore)
	}
}
