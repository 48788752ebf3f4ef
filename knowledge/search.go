package knowledge

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
)

// Viewer is who is asking, as retrieval's ACL check sees it (ADMIN-API §9.10, PROTOCOL
// §3.1). Identities are namespaced: "jwt:<sub>" for a verified token's subject,
// "ctx:<userId>" for a verified authContext user; an entry without either prefix is
// ignored. Groups must come only from a verified token's groups claim. The zero Viewer is
// an anonymous visitor: it sees documents without an ACL and public ones.
type Viewer struct {
	Identities []string
	Groups     []string
}

// Hit is one retrieved chunk. Text is the whole chunk, what the model should read;
// Snippet is the citation form. Score is comparable only within one Search call; higher
// is more relevant.
type Hit struct {
	DocID string
	Title string
	URL   *string
	Text  string
	Score float64
}

// SnippetChars is the citation snippet length (PROTOCOL §7.6).
const SnippetChars = 280

// Snippet is Text cut to 280 characters with "…" appended when cut.
func (h Hit) Snippet() string {
	if utf8.RuneCountInString(h.Text) <= SnippetChars {
		return h.Text
	}
	return string([]rune(h.Text)[:SnippetChars]) + "…"
}

// Search limits.
const (
	DefaultSearchLimit = 5
	MaxSearchLimit     = 50
	maxQueryTerms      = 32
	// commonFreq: a lexeme in more than this share of all chunks (Postgres's statistics
	// of chunks.tsv) does not select chunks on its own; it only adds to their score.
	commonFreq = 0.01
	// noCommonTerms is a share no lexeme exceeds: every lexeme selects.
	noCommonTerms = 2
)

// Search returns the org's chunks that best match query, best first, at most limit
// (1..50; 0 means 5). sets restricts the search to those document sets (empty: every
// set of the org). Filtering by org, set and ACL happens in SQL before ranking, so a
// hidden document never leaves the database.
//
// A question does not need every word to match: a chunk qualifies when it holds any of
// the question's lexemes (English stemming, stop words dropped), so "what is the return
// policy?" finds "returns are accepted within 30 days". Lexemes so common that they
// would select a large part of the corpus only add to the score of chunks selected by
// rarer ones (Lucene's "common terms" rule); a question made only of common lexemes
// needs all of them, or, failing that, any. Ranking is cover density over every lexeme,
// normalised by chunk length. A query with no searchable word returns no hits.
func (s *Service) Search(ctx context.Context, orgID uuid.UUID, sets []string, v Viewer, query string, limit int) ([]Hit, error) {
	switch {
	case limit <= 0:
		limit = DefaultSearchLimit
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	words := QueryWords(query)
	if words == "" {
		return []Hit{}, nil
	}
	ids := make([]string, 0, len(v.Identities))
	for _, id := range v.Identities {
		if (strings.HasPrefix(id, "jwt:") || strings.HasPrefix(id, "ctx:")) && len(id) > 4 {
			ids = append(ids, id)
		}
	}
	groups := v.Groups
	if groups == nil {
		groups = []string{}
	}
	if sets == nil {
		sets = []string{}
	}
	p := db.ChunkSearchParams{
		Words: words, CommonFreq: commonFreq, AllSets: len(sets) == 0, Sets: sets,
		Identities: ids, Groups: groups, Lim: int32(limit),
	}
	rows, err := s.st.SearchChunks(ctx, orgID, p)
	if err == nil && len(rows) == 0 && strings.Contains(words, " ") {
		// Nothing held the discriminating words (or all of the common ones): settle for
		// chunks holding any word at all.
		p.CommonFreq = noCommonTerms
		rows, err = s.st.SearchChunks(ctx, orgID, p)
	}
	if err != nil {
		return nil, fmt.Errorf("search knowledge: %w", err)
	}
	hits := make([]Hit, len(rows))
	for i, r := range rows {
		hits[i] = Hit{DocID: r.DocID, Title: r.Title, URL: r.Url, Text: r.Text, Score: r.Score}
	}
	return hits, nil
}

// QueryWords reduces free text to the plain words Search looks for: runs of letters,
// digits and combining marks, lowercased, deduplicated, at most 32, joined by spaces.
// Nothing else survives, so the lexemes Postgres derives from them (stemmed, stop words
// dropped) are always valid tsquery operands.
func QueryWords(text string) string {
	seen := map[string]bool{}
	var terms []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) }) {
		w = strings.ToLower(w)
		if seen[w] || utf8.RuneCountInString(w) > 64 {
			continue
		}
		seen[w] = true
		terms = append(terms, w)
		if len(terms) == maxQueryTerms {
			break
		}
	}
	return strings.Join(terms, " ")
}
