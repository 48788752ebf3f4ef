package demomodel

import (
	"encoding/json"
	"strings"
)

// hit is one knowledge_search result as the engine hands it to a model: a JSON array of
// {docId, title, url?, snippet, score}, best first, snippet being the whole chunk.
type hit struct {
	DocID   string  `json:"docId"`
	Title   string  `json:"title"`
	URL     string  `json:"url"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

// quoteChars bounds the quote (more when its best sentence alone is longer).
const quoteChars = 280

// answerFromKnowledge composes an extractive answer to query from knowledge_search's result:
// one quote, from the passage that holds the most words of the question (the search's best
// among equals). The turn's citations list every document the search found.
func answerFromKnowledge(query, result string) string {
	var hits []hit
	if err := json.Unmarshal([]byte(result), &hits); err != nil {
		// The search failed (its result is an error text) or returned something unreadable.
		return "I could not search the knowledge base:\n\n> " + oneLine(result)
	}
	qt := terms(query)
	var best hit
	bestQuote, bestMatched := "", -1
	for _, h := range hits {
		if strings.TrimSpace(h.Snippet) == "" {
			continue
		}
		if quote, matched := bestPassage(h.Snippet, qt); matched > bestMatched {
			best, bestQuote, bestMatched = h, quote, matched
		}
	}
	if bestMatched < 0 {
		return nothingFound()
	}
	return "From " + titleOf(best) + ":\n\n" + blockquote(bestQuote) +
		"\n\n_Quoted by " + Name + ", the offline demo model; a real model would answer in its own words._"
}

func nothingFound() string {
	return "I found nothing about that in this organization's knowledge base, so I cannot answer it.\n\n" +
		"I am " + Name + ", the offline demo model: I only quote the knowledge base, and call a tool when you write " +
		ToolCommand + ". " + connectHint()
}

// titleOf is the hit's title in bold, linked when it has a web URL.
func titleOf(h hit) string {
	title := strings.TrimSpace(h.Title)
	if title == "" {
		title = h.DocID
	}
	title = strings.NewReplacer("*", "\\*", "[", "\\[", "]", "\\]").Replace(oneLine(title))
	if strings.HasPrefix(h.URL, "https://") || strings.HasPrefix(h.URL, "http://") {
		return "**[" + title + "](" + strings.ReplaceAll(h.URL, ")", "%29") + ")**"
	}
	return "**" + title + "**"
}

func blockquote(text string) string {
	return "> " + oneLine(text)
}

// bestPassage picks from a chunk the sentence that holds the most query terms (the first of
// equals), with the sentences after it while the quote stays within quoteChars. It returns
// the quote and how many terms the chosen sentence holds; with none, the chunk's opening.
func bestPassage(chunk string, qt []string) (string, int) {
	ss := sentences(chunk)
	best, bestScore := 0, 0
	for i, s := range ss {
		if n := matches(s, qt); n > bestScore {
			best, bestScore = i, n
		}
	}
	quote := ss[best]
	for _, next := range ss[best+1:] {
		if len([]rune(quote))+1+len([]rune(next)) > quoteChars {
			break
		}
		quote += " " + next
	}
	return quote, bestScore
}

// matches counts the query terms a sentence holds, a term matching a word that it starts
// (or that starts it) when both have 4 letters or more: "embed" matches "embedding".
func matches(sentence string, qt []string) int {
	ws := words(sentence)
	n := 0
	for _, t := range qt {
		for _, w := range ws {
			if w == t || (len(t) >= 4 && len(w) >= 4 && (strings.HasPrefix(w, t) || strings.HasPrefix(t, w))) {
				n++
				break
			}
		}
	}
	return n
}

// sentences splits a chunk at sentence ends (". ", "? ", "! ", ": " before a line break) and
// line breaks, never inside `code`.
func sentences(chunk string) []string {
	var out []string
	var cur strings.Builder
	inCode := false
	rs := []rune(chunk)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i, r := range rs {
		if r == '`' {
			inCode = !inCode
		}
		if r == '\n' && !inCode {
			flush()
			continue
		}
		cur.WriteRune(r)
		if !inCode && (r == '.' || r == '?' || r == '!') && i+1 < len(rs) && (rs[i+1] == ' ' || rs[i+1] == '\n') {
			flush()
		}
	}
	flush()
	if len(out) == 0 {
		return []string{strings.TrimSpace(chunk)}
	}
	return out
}
