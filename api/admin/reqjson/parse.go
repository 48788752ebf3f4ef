// Package reqjson is the strict JSON reader of the admin API (ADMIN-API §5.1): it parses a
// request body into an ordered tree, refusing anything but one JSON object, duplicate keys,
// invalid UTF-8 and U+0000, and then reads fields with exact types (1.0 is not an integer,
// "true" is not a boolean) while rejecting unknown fields at every depth. Every failure
// names the JSON path at fault (widget.allowedOrigins[2]).
//
// It must never echo more than 64 characters of a value in a message, and never echo a
// value at all for fields its caller marks secret (it only ever quotes keys it did not
// expect, which are not values).
package reqjson

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds how deeply objects and arrays nest in a body.
const MaxDepth = 256

// Error is a validation failure. Field is the JSON path at fault, "" for the body as a whole.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Kind is a JSON value's type.
type Kind uint8

// The JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// Value is one parsed JSON value. Numbers keep their literal text; objects keep key order.
type Value struct {
	Kind   Kind
	Bool   bool
	Text   string // the string value, or the number literal
	Items  []*Value
	Keys   []string
	Fields map[string]*Value
}

// Parse reads body as exactly one JSON object. An empty body is an error: callers that
// accept an absent body check for emptiness first.
func Parse(body []byte) (*Value, *Error) {
	if !utf8.Valid(body) {
		return nil, &Error{Message: "request body must be valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &Error{Message: "request body must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	p := parser{dec: dec}
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{Message: "request body is not valid JSON"}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Message: "request body must be a JSON object"}
	}
	v, perr := p.object("", 1)
	if perr != nil {
		return nil, perr
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Message: "request body must hold a single JSON object with nothing after it"}
	}
	return v, nil
}

type parser struct {
	dec *json.Decoder
}

var errSyntax = &Error{Message: "request body is not valid JSON"}

func (p *parser) value(tok json.Token, path string, depth int) (*Value, *Error) {
	switch t := tok.(type) {
	case json.Delim:
		if depth > MaxDepth {
			return nil, &Error{Field: path, Message: "request body nests objects and arrays more than " + strconv.Itoa(MaxDepth) + " levels deep"}
		}
		switch t {
		case '{':
			return p.object(path, depth)
		case '[':
			return p.array(path, depth)
		}
		return nil, errSyntax
	case string:
		if strings.ContainsRune(t, 0) {
			return nil, &Error{Field: path, Message: nameOf(path) + " must not contain U+0000"}
		}
		return &Value{Kind: String, Text: t}, nil
	case json.Number:
		return &Value{Kind: Number, Text: string(t)}, nil
	case bool:
		return &Value{Kind: Bool, Bool: t}, nil
	case nil:
		return &Value{Kind: Null}, nil
	}
	return nil, errSyntax
}

func (p *parser) object(path string, depth int) (*Value, *Error) {
	v := &Value{Kind: Object, Fields: map[string]*Value{}}
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, errSyntax
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return v, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errSyntax
		}
		kp := Join(path, key)
		if strings.ContainsRune(key, 0) {
			return nil, &Error{Field: path, Message: "request body has a key that contains U+0000"}
		}
		if _, dup := v.Fields[key]; dup {
			return nil, &Error{Field: kp, Message: "duplicate field " + Quote(kp)}
		}
		tok, err = p.dec.Token()
		if err != nil {
			return nil, errSyntax
		}
		item, perr := p.value(tok, kp, depth+1)
		if perr != nil {
			return nil, perr
		}
		v.Keys = append(v.Keys, key)
		v.Fields[key] = item
	}
}

func (p *parser) array(path string, depth int) (*Value, *Error) {
	v := &Value{Kind: Array, Items: []*Value{}}
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, errSyntax
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			return v, nil
		}
		item, perr := p.value(tok, Index(path, len(v.Items)), depth+1)
		if perr != nil {
			return nil, perr
		}
		v.Items = append(v.Items, item)
	}
}

// Join is the path of key inside the object at path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index is the path of item i of the array at path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func nameOf(path string) string {
	if path == "" {
		return "request body"
	}
	return path
}

// MaxEcho is how many characters of a value a message may repeat (ADMIN-API §5.1).
const MaxEcho = 64

// Quote renders s for a message: single-quoted, control characters escaped, cut to 64
// characters with an ellipsis.
func Quote(s string) string {
	if utf8.RuneCountInString(s) > MaxEcho {
		s = string([]rune(s)[:MaxEcho]) + "…"
	}
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return "'" + strings.ReplaceAll(q, "'", `\'`) + "'"
}

// Compact serialises v as compact JSON, keys in their original order and numbers as written.
func (v *Value) Compact() []byte {
	var buf bytes.Buffer
	v.write(&buf)
	return buf.Bytes()
}

// MarshalJSON makes a Value embeddable in responses and stored documents.
func (v *Value) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	return v.Compact(), nil
}

func (v *Value) write(buf *bytes.Buffer) {
	switch v.Kind {
	case Null:
		buf.WriteString("null")
	case Bool:
		buf.WriteString(strconv.FormatBool(v.Bool))
	case Number:
		buf.WriteString(v.Text)
	case String:
		writeString(buf, v.Text)
	case Array:
		buf.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				buf.WriteByte(',')
			}
			it.write(buf)
		}
		buf.WriteByte(']')
	case Object:
		buf.WriteByte('{')
		for i, k := range v.Keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			v.Fields[k].write(buf)
		}
		buf.WriteByte('}')
	}
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		// A Go string always encodes; keep the output valid JSON regardless.
		buf.WriteString(`""`)
		return
	}
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
}
