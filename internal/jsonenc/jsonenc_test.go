package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/internal/jsonenc"
)

// awkward are the cases a hand-built JSON string encoder gets wrong.
var awkward = []string{
	"", "plain", `quote " and backslash \`, `\"`, "line\nbreak\r\ttab\b\f",
	"\x00\x01\x1f\x7f", "<script>&amp;</script>", "Grüße aus 東京 🌍🎉", "\u2028\u2029",
	"a\u2028b\u2029c\u2027\u202a", "bad \xff\xfe utf-8 \xe2\x82", "\xe2\x82", "\xc0\xaf",
	"lone surrogate \xed\xa0\x80", "\U0010FFFF", "\xf4\x90\x80\x80", "é\u0301", "\ufffd",
	strings.Repeat("x", 4096),
}

func encodingJSON(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func check(t *testing.T, s string) {
	t.Helper()
	want := encodingJSON(t, s)
	if got := jsonenc.AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
	}
}

func TestAppendStringIsByteForByteEncodingJSON(t *testing.T) {
	var all strings.Builder
	for b := 0; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	check(t, all.String())
	for _, s := range awkward {
		check(t, s)
	}
}

func TestAppendStringKeepsDst(t *testing.T) {
	if got := string(jsonenc.AppendString([]byte("kept:"), "a\nb")); got != `kept:"a\nb"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzAppendStringIsByteForByteEncodingJSON(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(check)
}
