package serve

import (
	"context"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/knowledge"
)

// retriever serves the turn engine's retrieval port (agent.Retriever) with the knowledge
// service: the pre-turn knowledge context and the knowledge_search tool, both through
// Search, so both filter by org, document set and ACL in SQL. Neither package imports the
// other; the process wires them together here.
type retriever struct{ kn *knowledge.Service }

var _ agent.Retriever = retriever{}

// Retrieve searches the query's org for its text as the query's viewer sees it.
func (r retriever) Retrieve(ctx context.Context, q agent.RetrievalQuery) ([]agent.Passage, error) {
	hits, err := r.kn.Search(ctx, q.OrgID, q.DocumentSets,
		knowledge.Viewer{Identities: q.Viewer.Identities, Groups: q.Viewer.Groups}, q.Text, q.Limit)
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
