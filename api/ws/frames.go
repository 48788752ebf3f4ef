package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fixed limits of PROTOCOL §10.
const (
	maxFrameBytes     = 1 << 20
	maxRequestIDChars = 256
)

// frame is one parsed action frame: its action, its usable requestId ("" when absent), and
// every top-level field as raw JSON.
type frame struct {
	action    string
	requestID string
	fields    map[string]json.RawMessage
}

// parseFrame applies the bad-frame checks of PROTOCOL §4.11 (after the size and binary
// checks, which the reader makes) in their order. The frame is never nil: on an error it
// holds the requestId the error may echo.
func parseFrame(data []byte) (*frame, error) {
	f := &frame{}
	if !utf8.Valid(data) {
		return f, unechoedError(codeValidation, "invalid JSON frame: invalid UTF-8")
	}
	if err := json.Unmarshal(data, &f.fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return f, unechoedError(codeValidation, "invalid JSON frame: "+jsonDetail(err))
		}
		// Valid JSON, not an object.
		return f, errMissingAction
	}
	if f.fields == nil { // the literal null
		return f, errMissingAction
	}
	if id, ok := f.str("requestId"); ok {
		if utf8.RuneCountInString(id) > maxRequestIDChars {
			return f, unechoedError(codeValidation, "'requestId' must be at most 256 characters")
		}
		f.requestID = id
	}
	action, ok := f.str("action")
	if !ok {
		return f, errMissingAction
	}
	f.action = action
	return f, nil
}

var errMissingAction = newError(codeValidation, "missing 'action' field")

func jsonDetail(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	return err.Error()
}

// str returns a string field; a field of another type counts as absent (PROTOCOL §2.1).
func (f *frame) str(key string) (string, bool) {
	raw, ok := f.fields[key]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func (f *frame) boolean(key string) (bool, bool) {
	switch string(f.fields[key]) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// integer returns an integer field: a JSON number without fraction or exponent.
func (f *frame) integer(key string) (int64, bool) {
	raw, ok := f.fields[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// object returns an object field, compacted.
func (f *frame) object(key string) (json.RawMessage, bool) {
	raw, ok := f.fields[key]
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// stringList returns an array-of-strings field; an array holding anything else counts as absent.
func (f *frame) stringList(key string) ([]string, bool) {
	raw, ok := f.fields[key]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &s) != nil {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// clampLimit reads `limit`: default 50, clamped to 1..100.
func (f *frame) clampLimit() int {
	n, ok := f.integer("limit")
	if !ok {
		return 50
	}
	return int(max(1, min(n, 100)))
}

// maxEchoChars caps a client value echoed inside an error message (PROTOCOL-1.1 §1.11).
const maxEchoChars = 256

// echo is a client value as an error message echoes it: cut to 256 characters with "…"
// appended when longer (PROTOCOL-1.1 §1.11), the same for every id, known or not.
func echo(s string) string {
	if cut := cutRunes(s, maxEchoChars); cut != s {
		return cut + "…"
	}
	return s
}

// cutRunes cuts s to n characters (no ellipsis).
func cutRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
