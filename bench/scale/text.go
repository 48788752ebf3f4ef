package scalebench

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
)

// Text is English-like prose over a made-up vocabulary, so that full-text search sees
// realistic term frequencies: each tenant writes in the language every tenant shares (a
// Zipf law over the whole vocabulary, stop words between) and in words of its own trade (a
// Zipf law over a window of the vocabulary that starts at the tenant's topic offset).
// Windows of different tenants overlap, as trades share words.
const (
	vocabWords  = 20000
	topicWords  = 2000
	topicShare  = 0.35 // of content words drawn from the tenant's own window
	stopShare   = 0.3  // of words that are stop words
	globalZipfS = 1.07
	topicZipfS  = 1.1
)

var stopWords = strings.Fields("the a of and to in is for with on that by it or as at be this from your")

type zipf struct{ cdf []float64 }

func newZipf(n int, s float64) zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+2), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return zipf{cdf}
}

// draw returns a rank from 0 (the most frequent).
func (z zipf) draw(r *rand.Rand) int {
	return min(len(z.cdf)-1, sort.SearchFloat64s(z.cdf, r.Float64()))
}

type language struct {
	words         []string
	global, topic zipf
}

var lang = sync.OnceValue(func() *language {
	r := rand.New(rand.NewPCG(20, 26)) //nolint:gosec // G404: the generator is deterministic by design; nothing here is secret
	syll := strings.Fields("ba be bi bo da de di do fa fe fi ga go ha ka ke ki ko la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo za zu")
	seen := map[string]bool{}
	words := make([]string, 0, vocabWords)
	for len(words) < vocabWords {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return &language{words: words, global: newZipf(vocabWords, globalZipfS), topic: newZipf(topicWords, topicZipfS)}
})

// writer appends a tenant's prose to a buffer.
type writer struct {
	r     *rand.Rand
	topic int
	l     *language
	b     strings.Builder
}

func newWriter(r *rand.Rand, topic int) *writer { return &writer{r: r, topic: topic, l: lang()} }

func (w *writer) word() string {
	switch f := w.r.Float64(); {
	case f < stopShare:
		return stopWords[w.r.IntN(len(stopWords))]
	case f < stopShare+(1-stopShare)*topicShare:
		return w.l.words[(w.topic+w.l.topic.draw(w.r))%vocabWords]
	default:
		return w.l.words[w.l.global.draw(w.r)]
	}
}

// sentence appends n words, capitalised, with a full stop.
func (w *writer) sentence(n int) {
	for i := range n {
		word := w.word()
		if i == 0 {
			w.b.WriteString(strings.ToUpper(word[:1]))
			word = word[1:]
		} else {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(word)
	}
	w.b.WriteByte('.')
}

// prose returns sentences of 6..16 words until about chars characters.
func (w *writer) prose(chars int) string {
	w.b.Reset()
	for w.b.Len() < chars {
		if w.b.Len() > 0 {
			w.b.WriteByte(' ')
		}
		w.sentence(6 + w.r.IntN(11))
	}
	return w.b.String()
}

// title returns 2..6 words without a full stop.
func (w *writer) title() string {
	w.b.Reset()
	w.sentence(2 + w.r.IntN(5))
	s := w.b.String()
	return s[:len(s)-1]
}

var questionForms = []string{"how do I %s?", "what is the %s?", "where can I find %s?", "can you tell me about %s?", "is there a %s?"}

// question is what a visitor asks: two or three words of the tenant's trade (below its 5
// most common ones) and sometimes a word of the common language.
func (w *writer) question() string {
	n := 2 + w.r.IntN(2)
	ws := make([]string, 0, n+1)
	for range n {
		ws = append(ws, w.l.words[(w.topic+5+w.r.IntN(300))%vocabWords])
	}
	if w.r.IntN(2) == 0 {
		ws = append(ws, w.l.words[50+w.r.IntN(2000)])
	}
	return strings.Replace(questionForms[w.r.IntN(len(questionForms))], "%s", strings.Join(ws, " "), 1)
}

// Questions returns n questions a visitor of the probe's org would ask, the same at every
// size.
func Questions(seed uint64, p Probe, n int) []string {
	w := newWriter(rngFor(seed, "questions", p.Label), p.Topic)
	out := make([]string, n)
	for i := range out {
		out[i] = w.question()
	}
	return out
}
