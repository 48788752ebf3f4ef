package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/tools"
)

// KnowledgeSearch is the built-in retrieval tool (ADMIN-API §9.6 defaultTools).
const KnowledgeSearch = "knowledge_search"

// Retriever finds the org's knowledge for a turn. Retrieval itself lives elsewhere; the
// engine only calls it when the org's defaultTools include knowledge_search.
type Retriever interface {
	Retrieve(ctx context.Context, q RetrievalQuery) ([]Passage, error)
}

// RetrievalQuery scopes one search.
type RetrievalQuery struct {
	OrgID        uuid.UUID
	DocumentSets []string // empty: every set of the org
	Viewer       Viewer
	Text         string
	Limit        int
}

// Passage is one retrieved chunk and the document it comes from.
type Passage struct {
	DocumentID string
	Title      string
	URL        string
	Text       string
	Score      float64
}

// contextPassages is how many chunks the pre-turn knowledge context holds (PROTOCOL §7.1);
// searchPassages how many a knowledge_search call returns.
const (
	contextPassages = 3
	searchPassages  = 5
	maxCitations    = 8
	snippetChars    = 280
)

// maxSearchLimit bounds knowledge_search's limit argument.
const maxSearchLimit = 10

var knowledgeSearchSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"query":{"type":"string","minLength":1,"description":"What to look up in the organization's knowledge base"},` +
	`"limit":{"type":"integer","minimum":1,"maximum":` + strconv.Itoa(maxSearchLimit) +
	`,"description":"How many passages to return (default ` + strconv.Itoa(searchPassages) + `)"}},"required":["query"]}`)

// knowledgeSearchCompiled compiles the built-in's fixed schema once per process: it is code,
// not configuration.
var knowledgeSearchCompiled = sync.OnceValues(func() (*tools.Schema, error) {
	return tools.CompileSchema(knowledgeSearchSchema)
})

const knowledgeSearchDescription = "Search the organization's knowledge base for passages relevant to a query."

// citations collects the documents that grounded a turn, deduplicated by document id in
// first-seen order and capped (PROTOCOL §7.6).
type citations struct {
	seen map[string]bool
	list []Citation
}

func (c *citations) add(ps []Passage) {
	for _, p := range ps {
		if len(c.list) == maxCitations {
			return
		}
		if c.seen == nil {
			c.seen = map[string]bool{}
		}
		if c.seen[p.DocumentID] {
			continue
		}
		c.seen[p.DocumentID] = true
		c.list = append(c.list, Citation{ID: p.DocumentID, Title: p.Title, URL: webURL(p.URL), Snippet: cutChars(p.Text, snippetChars), Score: p.Score})
	}
}

// cutChars cuts s to n characters, appending "…" when it was cut.
func cutChars(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// searchHit is one knowledge_search result as the model receives it. Snippet is the whole
// retrieved chunk (the model answers from it); citations carry the 280-character cut.
type searchHit struct {
	DocID   string  `json:"docId"`
	Title   string  `json:"title"`
	URL     string  `json:"url,omitempty"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

// searchResult renders knowledge_search's result: a JSON array of hits, best first.
func searchResult(ps []Passage) string {
	hits := make([]searchHit, len(ps))
	for i, p := range ps {
		hits[i] = searchHit{DocID: p.DocumentID, Title: p.Title, URL: webURL(p.URL), Snippet: p.Text, Score: p.Score}
	}
	b, err := json.Marshal(hits)
	if err != nil { // strings and finite floats always encode
		return "[]"
	}
	return string(b)
}

// webURL is u when it is an http or https URL, else "" (PROTOCOL §7.6).
func webURL(u string) string {
	if p, err := url.Parse(u); err == nil && (p.Scheme == "http" || p.Scheme == "https") {
		return u
	}
	return ""
}

// formatPassages renders passages for the model.
func formatPassages(ps []Passage) string {
	if len(ps) == 0 {
		return "No relevant documents were found."
	}
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "[%d] %s", i+1, p.Title)
		if p.URL != "" {
			fmt.Fprintf(&b, " (%s)", p.URL)
		}
		b.WriteString("\n")
		b.WriteString(p.Text)
	}
	return b.String()
}
