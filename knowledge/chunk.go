package knowledge

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunking targets. Sizes are in characters (code points).
const (
	chunkTarget  = 800  // a chunk closes once adding the next piece would pass this
	chunkOverlap = 150  // trailing sentences carried into the next chunk, at most this long
	pieceMax     = 1000 // no piece (sentence or fragment) is longer than this
)

// Chunk splits text into retrieval chunks of about chunkTarget characters. It respects
// paragraph boundaries first and sentence boundaries second, splitting a sentence only
// when it alone is too long (at whitespace, or anywhere for unbroken text). Consecutive
// chunks overlap by the last sentences of the previous chunk (up to chunkOverlap
// characters), so that a fact straddling a boundary is still found whole. Whitespace-only
// text has no chunks.
func Chunk(text string) []string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var ps []piece
	for _, para := range paragraphs(text) {
		for i, s := range sentences(para) {
			ps = append(ps, piece{text: s, n: utf8.RuneCountInString(s), paraStart: i == 0})
		}
	}
	var chunks []string
	start, covered := 0, 0 // covered: pieces [0, covered) are in some chunk already
	for start < len(ps) {
		end, length := start, 0
		for end < len(ps) {
			l := ps[end].n
			if end > start {
				l++
			}
			// Always take at least one piece no earlier chunk holds.
			if end > covered && length+l > chunkTarget {
				break
			}
			length += l
			end++
		}
		chunks = append(chunks, joinPieces(ps[start:end]))
		covered = end
		if end == len(ps) {
			break
		}
		next, ov := end, 0
		for next-1 > start && ov+ps[next-1].n+1 <= chunkOverlap {
			next--
			ov += ps[next].n + 1
		}
		start = next
	}
	return chunks
}

// piece is one sentence (or fragment of a long one) with its length in characters.
type piece struct {
	text      string
	n         int
	paraStart bool // first piece of a paragraph: joined with a blank line
}

func joinPieces(ps []piece) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			if p.paraStart {
				b.WriteString("\n\n")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(p.text)
	}
	return b.String()
}

var blankLine = regexp.MustCompile(`\n[ \t\f\v]*\n`)

// paragraphs splits on blank lines and collapses the whitespace inside each paragraph.
func paragraphs(text string) []string {
	var out []string
	for _, block := range blankLine.Split(text, -1) {
		p := strings.Join(strings.Fields(block), " ")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sentences splits a paragraph after '.', '!', '?' (and their CJK forms) followed by a
// space, then cuts any sentence longer than pieceMax.
func sentences(para string) []string {
	var out []string
	start := 0
	rs := []rune(para)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		end := false
		switch r {
		case '.', '!', '?':
			end = i+1 < len(rs) && rs[i+1] == ' '
		case '。', '！', '？':
			end = true
		}
		if end {
			out = append(out, cut(strings.TrimSpace(string(rs[start:i+1])))...)
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(string(rs[start:])); rest != "" {
		out = append(out, cut(rest)...)
	}
	return out
}

// cut splits s into fragments of at most pieceMax characters, at the last whitespace
// before the limit when there is one.
func cut(s string) []string {
	var out []string
	for utf8.RuneCountInString(s) > pieceMax {
		rs := []rune(s)
		at := pieceMax
		for i := pieceMax; i > pieceMax/2; i-- {
			if unicode.IsSpace(rs[i]) {
				at = i
				break
			}
		}
		out = append(out, strings.TrimSpace(string(rs[:at])))
		s = strings.TrimSpace(string(rs[at:]))
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
