package llm_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/llm"
)

// pushAll feeds deltas through a splitter, then flushes, and checks the
// PROTOCOL §7.3 rules on every token.
func pushAll(t *testing.T, deltas []string) []string {
	t.Helper()
	var s llm.TokenSplitter
	var tokens []string
	emit := func(tok string) {
		if tok == "" {
			return
		}
		if !utf8.ValidString(tok) {
			t.Fatalf("token %q is not valid UTF-8 (deltas %q)", tok, deltas)
		}
		tokens = append(tokens, tok)
	}
	for _, d := range deltas {
		emit(s.Push(d))
	}
	emit(s.Flush())
	return tokens
}

func TestTokenSplitterNeverSplitsACharacter(t *testing.T) {
	// Every way of cutting this text in two or three byte-level pieces must
	// give valid tokens that concatenate back to the text.
	text := "aé€👋🏽日本—z"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			deltas := []string{text[:i], text[i:j], text[j:]}
			if got := strings.Join(pushAll(t, deltas), ""); got != text {
				t.Fatalf("cuts at %d,%d: got %q, want %q", i, j, got, text)
			}
		}
	}
}

func TestTokenSplitterOneByteAtATime(t *testing.T) {
	text := "€👋"
	var deltas []string
	for i := range len(text) {
		deltas = append(deltas, text[i:i+1])
	}
	tokens := pushAll(t, deltas)
	if strings.Join(tokens, "") != text || len(tokens) != 2 {
		t.Fatalf("tokens = %q, want one token per character", tokens)
	}
}

func TestTokenSplitterEdgeCases(t *testing.T) {
	cases := []struct {
		name   string
		deltas []string
		want   []string
	}{
		{"whole deltas pass through unchanged", []string{"Hello ", "world"}, []string{"Hello ", "world"}},
		{"empty deltas give no token", []string{"", "a", ""}, []string{"a"}},
		{"held-back bytes join the next delta", []string{"price \xe2\x82", "\xac5"}, []string{"price ", "€5"}},
		{"a delta that completes nothing yields nothing", []string{"\xf0\x9f", "\x91", "\x8b!"}, []string{"👋!"}},
		{"stream ending mid-character flushes U+FFFD", []string{"ok\xe2\x82"}, []string{"ok", "\uFFFD"}},
		{"bytes that can never be valid become U+FFFD", []string{"a\xffb"}, []string{"a\uFFFDb"}},
		{"a broken lead byte does not hold text back", []string{"\xe2A", "B"}, []string{"\uFFFDA", "B"}},
		{"stray continuation bytes", []string{"\x80\x80\x80\x80x"}, []string{"\uFFFDx"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := pushAll(t, tc.deltas)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("tokens = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		text string
		want int64
	}{
		{"", 0},
		{"a", 1},
		{"abcd", 1},
		{"abcde", 2},
		{"héllo", 2}, // 5 characters, 6 bytes
		{"日本語", 1},   // 3 characters, 9 bytes
		{"👋🏽👋🏽", 1},  // 4 code points
		{strings.Repeat("x", 4000), 1000},
	}
	for _, tc := range cases {
		if got := llm.EstimateTokens(tc.text); got != tc.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func TestErrorMessagesAreTheProtocolTexts(t *testing.T) {
	cases := []struct {
		err  *llm.Error
		want string
	}{
		{&llm.Error{Kind: llm.KindStatus, Status: 503}, "model gateway error (HTTP 503)"},
		{&llm.Error{Kind: llm.KindUnreachable}, "model gateway unreachable"},
		{&llm.Error{Kind: llm.KindTimeout}, "model gateway timed out"},
		{&llm.Error{Kind: llm.KindInterrupted}, "model stream interrupted"},
	}
	for _, tc := range cases {
		if got := tc.err.Message(); got != tc.want {
			t.Errorf("Message() = %q, want %q", got, tc.want)
		}
		if got := tc.err.Error(); got != "llm: "+tc.want {
			t.Errorf("Error() = %q", got)
		}
		if errors.Unwrap(tc.err) != nil {
			t.Errorf("%q has a cause", tc.want)
		}
	}
}

func TestTokenSplitterReplacesNUL(t *testing.T) {
	// PostgreSQL cannot store U+0000 in text: a reply that streamed with one could not be
	// stored as the visitor saw it. Every path of the splitter replaces it.
	cases := [][]string{
		{"a\x00b"},               // fast path
		{"\xe2\x82", "\xac\x00"}, // with a held-back character
		{"x", "\x00"},
	}
	for _, deltas := range cases {
		got := strings.Join(pushAll(t, deltas), "")
		if strings.ContainsRune(got, 0) || !strings.ContainsRune(got, utf8.RuneError) {
			t.Errorf("deltas %q gave %q", deltas, got)
		}
	}
	var s llm.TokenSplitter
	s.Push("\xe2\x82")
	if got := s.Push("\x00"); strings.ContainsRune(got, 0) {
		t.Errorf("Push = %q", got)
	}
	if got := s.Flush(); strings.ContainsRune(got, 0) {
		t.Errorf("Flush = %q", got)
	}
}
