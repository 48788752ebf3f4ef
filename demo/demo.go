// Package demo is the seeded demo that `switchboard demo` (and so `make run`) creates: an org
// with external id "demo", its first admin API key, an agent "Demo assistant" allowed on the
// try-it page's origins, a small knowledge base written for a newcomer's first questions, and
// an approval-gated tool create_ticket that the binary serves itself (kind builtin) instead of
// a URL, so that the guard on tenants' tool URLs stays as strict as ever.
//
// Ensure is idempotent: run again, it creates only what is missing (and re-ingests a seeded
// document only when its text changed), so every `make run` leaves the same rows. It never
// changes what a person changed: a tool named create_ticket of any kind is left alone.
package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
)

// Seeded is what Ensure found or created.
type Seeded struct {
	store.Demo
	// ToolCreated: create_ticket was added by this run.
	ToolCreated bool
	// Run is the indexing run of the documents this run queued; nil when every seeded
	// document was already there.
	Run *knowledge.Run
	// Queued counts the documents of Run.
	Queued int
}

// Ensure creates whatever of the demo is missing. key is the admin API key to give a new
// demo org (unused when the org exists); origins are the try-it page's, normalised.
func Ensure(ctx context.Context, st *store.Store, kn *knowledge.Service, key store.NewAPIKeyRow, origins []string) (Seeded, error) {
	d, err := st.EnsureDemo(ctx, key, origins)
	if err != nil {
		return Seeded{}, err
	}
	out := Seeded{Demo: d}
	m := store.Meta{Actor: store.SystemCLI}
	out.ToolCreated, err = st.EnsureBuiltinTool(ctx, d.OrgID, db.ToolCreateBuiltinParams{
		AgentID: d.AgentID, Name: TicketTool, Description: ticketDescription, Parameters: ticketParameters,
		RequiresApproval: true, TimeoutMs: 5000,
	}, m)
	if err != nil {
		return Seeded{}, err
	}
	docs, err := missing(ctx, st, d.OrgID, Documents())
	if err != nil {
		return Seeded{}, err
	}
	if len(docs) > 0 {
		run, _, err := kn.Ingest(ctx, d.OrgID, DocumentSet, docs, m)
		if err != nil {
			return Seeded{}, fmt.Errorf("seed the demo's knowledge: %w", err)
		}
		out.Run, out.Queued = &run, len(docs)
	}
	return out, nil
}

// missing returns the documents of docs that the org holds neither indexed nor pending with
// the same title, URL and text.
func missing(ctx context.Context, st *store.Store, orgID uuid.UUID, docs []knowledge.DocumentInput) ([]knowledge.DocumentInput, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	have, err := st.DocumentVersions(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	var out []knowledge.DocumentInput
	for _, d := range docs {
		sum := sha256.Sum256([]byte(d.Content))
		found := false
		for _, v := range have {
			if v.DocID == d.ID && v.Title == d.Title && v.URL == deref(d.URL) && bytes.Equal(v.ContentHash, sum[:]) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, d)
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
