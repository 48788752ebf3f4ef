package knowledge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestIngestedDocumentsAreIndexedAndFound(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	run, ids := ingest(t, s, org, "billing-faq",
		DocumentInput{ID: "refund-policy", Title: "Refund policy", URL: strp("https://www.acme.com/refunds"),
			Content: "Refunds are issued within 30 days of purchase to the original card."},
		DocumentInput{Title: "Shipping", Content: "We ship parcels with tracked couriers to most countries."},
	)
	if run.Status != StatusSucceeded || run.DocumentsSeen != 2 || run.DocumentsIndexed != 2 || run.ChunksIndexed != 2 ||
		run.DocumentsSkipped != 0 || run.Error != nil || run.StartedAt == nil || run.FinishedAt == nil {
		t.Fatalf("run = %+v", run)
	}
	if ids[0] != "refund-policy" || uuid.Validate(ids[1]) != nil {
		t.Fatalf("ids = %v", ids)
	}
	hits, err := s.Search(context.Background(), org, nil, Viewer{}, "refunds purchase", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].DocID != "refund-policy" || hits[0].Title != "Refund policy" ||
		*hits[0].URL != "https://www.acme.com/refunds" || !strings.Contains(hits[0].Text, "30 days") || hits[0].Score <= 0 {
		t.Fatalf("hits = %+v", hits)
	}
	docs, more, err := s.ListDocuments(context.Background(), org, "billing-faq", "", 50, 0)
	if err != nil || more || len(docs) != 2 {
		t.Fatalf("docs = %+v, %v, %v", docs, more, err)
	}
	var pending int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM documents WHERE state = 'pending'").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d pending rows outlived their run", pending)
	}
	var action, target, details string
	if err := e.pool.QueryRow(context.Background(),
		"SELECT action, target_id, details::text FROM audit_log WHERE org_id = $1", org).Scan(&action, &target, &details); err != nil {
		t.Fatal(err)
	}
	if action != "documents.ingest" || target != "billing-faq" || !strings.Contains(details, `"documentCount": 2`) ||
		!strings.Contains(details, run.ID.String()) {
		t.Fatalf("audit = %s %s %s", action, target, details)
	}
}

func TestQuestionFindsDocumentSharingOnlySomeWords(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	ingest(t, s, org, "faq",
		DocumentInput{ID: "returns", Title: "Returns", Content: "Returns are accepted within 30 days."},
		DocumentInput{ID: "hours", Title: "Opening hours", Content: "The shop opens at nine and closes at five."},
		DocumentInput{ID: "privacy", Title: "Privacy", Content: "Our privacy policy explains how we use personal data."},
	)
	hits, err := s.Search(context.Background(), org, nil, Viewer{}, "what is the return policy?", 3)
	if err != nil {
		t.Fatal(err)
	}
	got := docIDs(hits)
	if !slices.Contains(got, "returns") || slices.Contains(got, "hours") {
		t.Fatalf("hits = %v", got)
	}
	if got[0] != "returns" && !(got[0] == "privacy" && len(got) > 1) {
		t.Fatalf("hits = %v", got)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("hits are not ranked: %+v", hits)
		}
	}
	if h, _ := s.Search(context.Background(), org, nil, Viewer{}, "the of and?!", 3); len(h) != 0 {
		t.Fatalf("a stop-word query returned %+v", h)
	}
}

func TestSearchIsLimitedToTheRequestedSets(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	ingest(t, s, org, "faq", DocumentInput{ID: "a", Title: "A", Content: "warranty terms for laptops"})
	ingest(t, s, org, "FAQ", DocumentInput{ID: "b", Title: "B", Content: "warranty terms for phones"})
	for _, tc := range []struct {
		sets []string
		want []string
	}{
		{nil, []string{"a", "b"}},
		{[]string{"faq"}, []string{"a"}},
		{[]string{"FAQ"}, []string{"b"}},
		{[]string{"nope"}, []string{}},
	} {
		hits, err := s.Search(context.Background(), org, tc.sets, Viewer{}, "warranty", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := docIDs(hits)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("sets %v: got %v, want %v", tc.sets, got, tc.want)
		}
	}
}

func TestDocumentACLDecidesWhoRetrievesIt(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org, other := e.org("acme"), e.org("other")
	doc := func(id string, acl *ACL) DocumentInput {
		return DocumentInput{ID: id, Title: id, Content: "The secret launch codeword is zebra.", ACL: acl}
	}
	ingest(t, s, org, "kb",
		doc("open", nil),
		doc("public", &ACL{Public: true}),
		doc("staff", &ACL{Groups: []string{"staff"}}),
		doc("jwt-alice", &ACL{Users: []string{"jwt:alice"}}),
		doc("ctx-alice", &ACL{Users: []string{"ctx:alice"}}),
		doc("bare-bob", &ACL{Users: []string{"bob"}}),
		doc("locked", &ACL{}),
	)
	for _, tc := range []struct {
		name string
		v    Viewer
		want []string
	}{
		{"anonymous sees public and unrestricted only", Viewer{}, []string{"open", "public"}},
		{"token group staff", Viewer{Identities: []string{"jwt:carol"}, Groups: []string{"staff"}}, []string{"open", "public", "staff"}},
		{"group match is case-sensitive", Viewer{Groups: []string{"Staff"}}, []string{"open", "public"}},
		{"jwt alice never matches ctx:alice", Viewer{Identities: []string{"jwt:alice"}}, []string{"jwt-alice", "open", "public"}},
		{"ctx alice never matches jwt:alice", Viewer{Identities: []string{"ctx:alice"}}, []string{"ctx-alice", "open", "public"}},
		{"bare entry means ctx", Viewer{Identities: []string{"ctx:bob"}}, []string{"bare-bob", "open", "public"}},
		{"bare entry never matches jwt", Viewer{Identities: []string{"jwt:bob"}}, []string{"open", "public"}},
		{"unprefixed identity is ignored", Viewer{Identities: []string{"alice", "bob"}}, []string{"open", "public"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := search(t, s, org, tc.v, "secret codeword")
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	everything := Viewer{Identities: []string{"jwt:alice", "ctx:alice", "ctx:bob"}, Groups: []string{"staff"}}
	if got := search(t, s, other, everything, "secret codeword"); len(got) != 0 {
		t.Fatalf("another org retrieved %v", got)
	}
	d, err := s.GetDocument(context.Background(), org, "bare-bob")
	if err != nil || d.ACL == nil || !slices.Equal(d.ACL.Users, []string{"ctx:bob"}) || d.ACL.Groups == nil {
		t.Fatalf("stored acl = %+v, %v", d.ACL, err)
	}
}

func TestReingestingSkipsUnchangedAndReplacesChanged(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	ingest(t, s, org, "kb",
		DocumentInput{ID: "a", Title: "A", Content: "Alpacas graze on mountain grass."},
		DocumentInput{ID: "b", Title: "B", Content: "Beavers build dams from branches."})
	before, _ := s.GetDocument(context.Background(), org, "a")

	run, _ := ingest(t, s, org, "other-set",
		DocumentInput{ID: "a", Title: "A renamed", Content: "Alpacas graze on mountain grass.", ACL: &ACL{Public: true}},
		DocumentInput{ID: "b", Title: "B", Content: "Badgers dig burrows under hedges."})
	if run.DocumentsSeen != 2 || run.DocumentsSkipped != 1 || run.DocumentsIndexed != 1 || run.ChunksIndexed != 1 {
		t.Fatalf("run = %+v", run)
	}
	after, _ := s.GetDocument(context.Background(), org, "a")
	if after.Title != "A renamed" || after.DocumentSet != "other-set" || after.ACL == nil || !after.ACL.Public ||
		!after.CreatedAt.Equal(before.CreatedAt) {
		t.Fatalf("skipped document metadata = %+v (before %+v)", after, before)
	}
	if got := search(t, s, org, Viewer{}, "beavers dams"); len(got) != 0 {
		t.Fatalf("old chunks still retrieved: %v", got)
	}
	if got := search(t, s, org, Viewer{}, "badgers burrows"); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("new chunks not retrieved: %v", got)
	}
	var chunks int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM chunks WHERE org_id = $1", org).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if chunks != 2 {
		t.Fatalf("%d chunks, want 2", chunks)
	}
	sets, _, _ := s.ListDocumentSets(context.Background(), org, "", 50, 0)
	if len(sets) != 1 || sets[0].Name != "other-set" || sets[0].DocumentCount != 2 {
		t.Fatalf("sets = %+v (moved documents must leave kb empty and unlisted)", sets)
	}
}

func TestDeletedDocumentLeavesRetrievalAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	ingest(t, s, org, "kb", DocumentInput{ID: "gone", Title: "Gone", Content: "Flamingos stand on one leg."})
	if err := s.DeleteDocument(context.Background(), org, "gone", testMeta); err != nil {
		t.Fatal(err)
	}
	if got := search(t, s, org, Viewer{}, "flamingos"); len(got) != 0 {
		t.Fatalf("deleted document retrieved: %v", got)
	}
	var chunks int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM chunks").Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if chunks != 0 {
		t.Fatalf("%d chunks left", chunks)
	}
	for _, id := range []string{"gone", "never", "bad id"} {
		if err := s.DeleteDocument(context.Background(), org, id, testMeta); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete %q again: %v", id, err)
		}
	}
}

func TestSameDocumentIDInTwoOrgsIsTwoDocuments(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	a, b := e.org("a"), e.org("b")
	ingest(t, s, a, "faq", DocumentInput{ID: "doc-1", Title: "A's", Content: "Apples are red."})
	ingest(t, s, b, "faq", DocumentInput{ID: "doc-1", Title: "B's", Content: "Bananas are yellow."})
	ingest(t, s, a, "faq", DocumentInput{ID: "doc-1", Title: "A's v2", Content: "Apples are green."})
	if got := search(t, s, b, Viewer{}, "bananas"); !slices.Equal(got, []string{"doc-1"}) {
		t.Fatalf("B's document was replaced by A's ingest: %v", got)
	}
	if err := s.DeleteDocument(context.Background(), a, "doc-1", testMeta); err != nil {
		t.Fatal(err)
	}
	d, err := s.GetDocument(context.Background(), b, "doc-1")
	if err != nil || d.Title != "B's" {
		t.Fatalf("B's document after A's delete: %+v, %v", d, err)
	}
	sets, _, _ := s.ListDocumentSets(context.Background(), a, "", 50, 0)
	if len(sets) != 0 {
		t.Fatalf("A lists %+v after deleting its only document", sets)
	}
	if _, _, err := s.ListDocuments(context.Background(), a, "faq", "", 50, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("A lists B's set: %v", err)
	}
}

func TestIngestValidationNamesTheField(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org := e.org("acme")
	ok := DocumentInput{Title: "t", Content: "c"}
	long := strings.Repeat("x", MaxContentBytes+1)
	for _, tc := range []struct {
		set   string
		docs  []DocumentInput
		field string
	}{
		{"bad name!", []DocumentInput{ok}, "name"},
		{"-lead", []DocumentInput{ok}, "name"},
		{"kb", nil, "documents"},
		{"kb", make([]DocumentInput, 101), "documents"},
		{"kb", []DocumentInput{ok, {ID: "a b", Title: "t", Content: "c"}}, "documents[1].id"},
		{"kb", []DocumentInput{{ID: "x", Title: "t", Content: "c"}, {ID: "x", Title: "t", Content: "c"}}, "documents[1].id"},
		{"kb", []DocumentInput{{Title: "", Content: "c"}}, "documents[0].title"},
		{"kb", []DocumentInput{{Title: strings.Repeat("é", 513), Content: "c"}}, "documents[0].title"},
		{"kb", []DocumentInput{{Title: "t", Content: ""}}, "documents[0].content"},
		{"kb", []DocumentInput{{Title: "t", Content: long}}, "documents[0].content"},
		{"kb", []DocumentInput{{Title: "t", Content: "c", URL: strp("ftp://x")}}, "documents[0].url"},
		{"kb", []DocumentInput{{Title: "t", Content: "c", ACL: &ACL{Users: []string{"jwt:"}}}}, "documents[0].acl.users[0]"},
		{"kb", []DocumentInput{{Title: "t", Content: "c", ACL: &ACL{Groups: []string{strings.Repeat("g", 257)}}}}, "documents[0].acl.groups[0]"},
		{"kb", []DocumentInput{{Title: "t", Content: "c", ACL: &ACL{Users: make([]string, 1001)}}}, "documents[0].acl.users"},
	} {
		_, _, err := s.Ingest(context.Background(), org, tc.set, tc.docs, testMeta)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.HasPrefix(fe.Message, tc.field) {
			t.Errorf("%s: got %v (%+v), want field %s", tc.field, err, fe, tc.field)
		}
	}
	var runs int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM indexing_runs").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 0 {
		t.Fatalf("invalid input queued %d runs", runs)
	}
}

func TestQueuedRunLimitRefusesTheNextRun(t *testing.T) {
	e := newEnv(t)
	opts := testOptions()
	opts.MaxQueuedRuns = 2
	s := e.service(opts, false) // no workers: runs stay queued
	org, other := e.org("acme"), e.org("other")
	doc := []DocumentInput{{Title: "t", Content: "c"}}
	for i := 0; i < 2; i++ {
		if _, _, err := s.Ingest(context.Background(), org, "kb", doc, testMeta); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Ingest(context.Background(), org, "kb", doc, testMeta); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third queued run: %v", err)
	}
	if _, _, err := s.Ingest(context.Background(), other, "kb", doc, testMeta); err != nil {
		t.Fatalf("another org is limited by acme's queue: %v", err)
	}
	var pending int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM documents WHERE org_id = $1", org).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 2 {
		t.Fatalf("refused ingest left rows behind: %d pending", pending)
	}
}

func TestCommonWordsOnlyAddToTheScoreOfRarerMatches(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), true)
	org := e.org("acme")
	// 120 chunks: "widget" is in all of them, each kwNNN in one (under 1%).
	var docs []DocumentInput
	for i := 0; i < 120; i++ {
		id := fmt.Sprintf("kw%03d", i)
		docs = append(docs, DocumentInput{ID: id, Title: id, Content: "Every widget manual mentions " + id + " once."})
		if len(docs) == 100 || i == 119 {
			ingest(t, s, org, "kb", docs...)
			docs = nil
		}
	}
	if _, err := e.pool.Exec(context.Background(), "ANALYZE chunks"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string // nil: any 20
	}{
		// "widget" is in every chunk: it selects nothing on its own when a rarer word is asked.
		{"which widget has kw007?", []string{"kw007"}},
		{"widget kw007 or kw042", []string{"kw007", "kw042"}},
		// Only common words: chunks must hold all of them.
		{"widget manual", nil},
		// A rarer word that matches nothing: fall back to any word.
		{"widget unicorn", nil},
	} {
		hits, err := s.Search(context.Background(), org, nil, Viewer{}, tc.q, 20)
		if err != nil {
			t.Fatal(err)
		}
		got := docIDs(hits)
		slices.Sort(got)
		if tc.want == nil {
			if len(got) != 20 {
				t.Errorf("%q: %d hits, want 20", tc.q, len(got))
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.q, got, tc.want)
		}
	}
}
