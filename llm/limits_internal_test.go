package llm

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// pieces is a body that returns one piece per Read.
type pieces struct{ parts []string }

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.parts[0])
	if p.parts[0] = p.parts[0][n:]; p.parts[0] == "" {
		p.parts = p.parts[1:]
	}
	return n, nil
}

func (p *pieces) Close() error { return nil }

// splitEvery cuts s into pieces of n bytes.
func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func readBounded(parts []string, l Limits) error {
	_, err := io.ReadAll(newBoundedBody(&pieces{parts: parts}, l.withDefaults()))
	return err
}

func TestBoundedBodyFollowsTheDecodersFraming(t *testing.T) {
	// Events of 12 bytes ("data: 012345"), with every line ending the decoder accepts,
	// fit a 12-byte event limit however the body is cut into reads.
	for _, nl := range []string{"\n", "\r\n"} {
		stream := strings.Repeat("data: 012345"+nl+nl+": keep-alive"+nl+nl, 50)
		for size := 1; size <= 40; size++ {
			if err := readBounded(splitEvery(stream, size), Limits{EventBytes: 12}); err != nil {
				t.Fatalf("line end %q, reads of %d: %v", nl, size, err)
			}
		}
	}
	cases := []struct {
		name   string
		stream string
		want   error
	}{
		{"one line over the limit", "data: 0123456\n\n", ErrEventTooLarge},
		{"a line over the limit without its end", "data: 0123456789", ErrEventTooLarge},
		{"two lines of one event over it together", "data: 01\ndata: 23\n\n", ErrEventTooLarge},
		{"a '\\r' inside a line counts", "data: 01234\r5\n\n", ErrEventTooLarge},
		{"a line of '\\r\\r' is not blank", "data: 0\n\r\r\ndata: 1\n\n", ErrEventTooLarge},
		{"a line of one '\\r' is blank", "data: 0123\n\r\ndata: 0123\n\n", nil},
		{"the body over the response limit", strings.Repeat("data: 0\n\n", 20), ErrResponseTooLarge},
	}
	for _, tc := range cases {
		for size := 1; size <= len(tc.stream); size++ {
			err := readBounded(splitEvery(tc.stream, size), Limits{EventBytes: 12, ResponseBytes: 100})
			if !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Errorf("%s, reads of %d: err %v, want %v", tc.name, size, err, tc.want)
			}
		}
	}
}
