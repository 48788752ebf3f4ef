package knowledge

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortTextIsOneChunk(t *testing.T) {
	got := Chunk("  Returns are accepted\nwithin 30 days.  ")
	if len(got) != 1 || got[0] != "Returns are accepted within 30 days." {
		t.Fatalf("chunks = %q", got)
	}
	if got := Chunk(" \n\n\t "); len(got) != 0 {
		t.Fatalf("whitespace gave chunks %q", got)
	}
}

func TestLongTextChunksKeepEverySentenceWithOverlap(t *testing.T) {
	var b strings.Builder
	var sentences []string
	for p := 0; p < 12; p++ {
		for s := 0; s < 6; s++ {
			sent := fmt.Sprintf("Paragraph %d sentence %d talks about topic number %d in some detail.", p, s, p*10+s)
			sentences = append(sentences, sent)
			b.WriteString(sent + " ")
		}
		b.WriteString("\n\n")
	}
	chunks := Chunk(b.String())
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for i, c := range chunks {
		if n := utf8.RuneCountInString(c); n > chunkTarget {
			t.Errorf("chunk %d has %d characters", i, n)
		}
		if i > 0 {
			// The next chunk starts with the previous chunk's last sentence(s).
			first := c[:strings.Index(c, ". ")+1]
			if !strings.HasSuffix(chunks[i-1], first) && !strings.Contains(chunks[i-1], first+" ") {
				t.Errorf("chunk %d does not overlap the previous one:\n%q\n%q", i, chunks[i-1], c)
			}
		}
	}
	all := strings.Join(chunks, " ")
	for _, s := range sentences {
		if !strings.Contains(all, s) {
			t.Fatalf("sentence lost: %s", s)
		}
	}
	// Paragraph boundaries survive inside a chunk.
	if !strings.Contains(chunks[0], "detail.\n\nParagraph 1") {
		t.Errorf("paragraph break lost: %q", chunks[0])
	}
}

func TestUnbrokenTextIsCutIntoBoundedPieces(t *testing.T) {
	text := strings.Repeat("x", 5000) + " " + strings.Repeat("word ", 400)
	chunks := Chunk(text)
	for i, c := range chunks {
		if n := utf8.RuneCountInString(c); n > pieceMax+chunkOverlap+1 {
			t.Errorf("chunk %d has %d characters", i, n)
		}
	}
	if got := strings.Count(strings.Join(chunks, ""), "x"); got < 5000 {
		t.Fatalf("lost characters: %d x left", got)
	}
}
