package llm

import (
	"strings"
	"unicode/utf8"
)

// TokenSplitter turns raw deltas into tokens that PROTOCOL §7.3 allows on
// the wire: never empty, each valid UTF-8 on its own. A gateway that streams
// bytes can cut a multi-byte character between two deltas; the splitter
// holds the incomplete tail back until the next delta completes it.
//
// Each run of bytes that can never become valid UTF-8 is replaced by one
// U+FFFD, and so is each U+0000, which PostgreSQL cannot store in text: a
// reply the visitor saw stream must be storable as it was shown. The
// concatenation of the tokens therefore equals the concatenation of the
// deltas whenever the deltas together are valid UTF-8 without U+0000.
//
// The zero value is ready to use. A TokenSplitter is not safe for
// concurrent use.
type TokenSplitter struct {
	pending []byte
}

// Push adds a delta and returns the next token, or "" when everything
// received so far is still an incomplete character (or the delta was
// empty).
func (s *TokenSplitter) Push(delta string) string {
	if delta == "" {
		return ""
	}
	var buf []byte
	if len(s.pending) == 0 {
		// Fast path: a whole, valid delta is the token as is.
		if utf8.ValidString(delta) && strings.IndexByte(delta, 0) < 0 {
			return delta
		}
		buf = []byte(delta)
	} else {
		buf = append(s.pending, delta...)
	}
	cut := completePrefix(buf)
	s.pending = append(s.pending[:0:0], buf[cut:]...)
	return storable(string(buf[:cut]))
}

// storable replaces invalid UTF-8 and U+0000 with U+FFFD.
func storable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// Flush returns what is held back, with an incomplete character replaced by
// U+FFFD, and empties the splitter. It returns "" when nothing is held.
// Call it once the stream has ended.
func (s *TokenSplitter) Flush() string {
	if len(s.pending) == 0 {
		return ""
	}
	out := storable(string(s.pending))
	s.pending = nil
	return out
}

// completePrefix returns the length of the longest prefix of b that does
// not end inside a character that later bytes could still complete.
func completePrefix(b []byte) int {
	// Only the last utf8.UTFMax-1 bytes can be the start of an incomplete
	// character; find the last byte that starts one.
	for i := len(b) - 1; i >= 0 && i >= len(b)-(utf8.UTFMax-1); i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if utf8.FullRune(b[i:]) {
			return len(b)
		}
		return i
	}
	return len(b)
}

// EstimateTokens estimates the tokens of text when the gateway reported
// none (ADMIN-API §7.2): one token per 4 characters, rounded up, where a
// character is a Unicode code point (so "héllo" is 5 characters, not 6
// bytes). Empty text is 0 tokens; 1 to 4 characters are 1 token.
func EstimateTokens(text string) int64 {
	return ceilQuarter(int64(utf8.RuneCountInString(text)))
}

func ceilQuarter(chars int64) int64 { return (chars + 3) / 4 }

// promptChars counts the characters of everything a request sends to the
// model: message text, the tool calls replayed in assistant messages, and
// the tool definitions.
func (r Request) promptChars() int64 {
	var n int
	for _, m := range r.Messages {
		n += utf8.RuneCountInString(m.Content)
		for _, c := range m.ToolCalls {
			n += utf8.RuneCountInString(c.Name) + utf8.RuneCountInString(c.Arguments)
		}
	}
	for _, t := range r.Tools {
		n += utf8.RuneCountInString(t.Name) + utf8.RuneCountInString(t.Description) + utf8.RuneCount(t.Parameters)
	}
	return int64(n)
}
