package ws

import (
	"bytes"
	"strings"
	"testing"
)

// tokenStrings are the awkward cases for a hand-built JSON string encoder.
var tokenStrings = []string{
	"", "hello ", `quote " and backslash \`, "line\nbreak\r\ttab\b\f", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "Grüße aus 東京 🌍🎉", "\u2028\u2029", "bad \xff\xfe utf-8 \xe2\x82",
	"lone surrogate \xed\xa0\x80", "\U0010FFFF", "é\u0301", strings.Repeat("x", 4096),
}

func TestTokenEventIsByteForByteEncodingJSON(t *testing.T) {
	var all strings.Builder
	for b := 0; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	cases := append([]string{all.String()}, tokenStrings...)
	for _, typ := range []string{"stream_token", "stream_reasoning"} {
		for _, requestID := range []string{"r-1", "", `r"<\>`, "r\u2028"} {
			for _, tok := range cases {
				checkTokenEvent(t, typ, requestID, tok, 1767225600120)
			}
		}
	}
}

func FuzzTokenEventIsByteForByteEncodingJSON(f *testing.F) {
	for _, s := range tokenStrings {
		f.Add("r-1", s, int64(1767225600120))
	}
	f.Fuzz(func(t *testing.T, requestID, tok string, ts int64) {
		checkTokenEvent(t, "stream_token", requestID, tok, ts)
	})
}

func checkTokenEvent(t *testing.T, typ, requestID, tok string, ts int64) {
	t.Helper()
	want := encode(event{Type: typ, RequestID: requestID, Token: tok, Data: struct {
		RequestID string `json:"requestId"`
		Token     string `json:"token"`
	}{requestID, tok}, Timestamp: ts})
	if got := appendTokenEvent(nil, typ, requestID, tok, ts); !bytes.Equal(got, want) {
		t.Fatalf("%s %q %q:\n got %s\nwant %s", typ, requestID, tok, got, want)
	}
}

func TestTokenEventStampsTheTimeAndAppends(t *testing.T) {
	ev := tokenEvent("stream_token", "r-1", "hi")
	if !bytes.HasPrefix(ev, []byte(`{"type":"stream_token","requestId":"r-1","token":"hi","data":{"requestId":"r-1","token":"hi"},"timestamp":1`)) ||
		!bytes.HasSuffix(ev, []byte("}")) {
		t.Fatalf("token event %s", ev)
	}
	prefix := []byte("kept:")
	if got := appendTokenEvent(prefix, "stream_token", "r", "t", 5); !bytes.HasPrefix(got, []byte("kept:{")) {
		t.Fatalf("append lost dst: %s", got)
	}
}
