package knowledge

import (
	"context"

	"github.com/switchboard-dev/switchboard/agent"
)

// Retriever serves the turn engine's retrieval (agent.Retriever): the pre-turn knowledge
// context and the knowledge_search tool, both through Search, so both filter by org,
// document set and ACL in SQL. The engine never imports this package; the process wires
// the two together.
type Retriever struct{ Service *Service }

var _ agent.Retriever = Retriever{}

// Retrieve searches the query's org for its text as the query's viewer sees it.
func (r Retriever) Retrieve(ctx context.Context, q agent.RetrievalQuery) ([]agent.Passage, error) {
	hits, err := r.Service.Search(ctx, q.OrgID, q.DocumentSets,
		Viewer{Identities: q.Viewer.Identities, Groups: q.Viewer.Groups}, q.Text, q.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]agent.Passage, len(hits))
	for i, h := range hits {
		p := agent.Passage{DocumentID: h.DocID, Title: h.Title, Text: h.Text, Score: h.Score}
		if h.URL != nil {
			p.URL = *h.URL
		}
		out[i] = p
	}
	return out, nil
}
