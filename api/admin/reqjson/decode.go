package reqjson

import (
	"math/big"
	"regexp"
	"strconv"
)

// Presence says whether an optional field was given.
type Presence uint8

// A field is absent, explicitly null, or set.
const (
	Absent Presence = iota
	IsNull
	Set
)

// Reader reads the fields of one object. Readers of nested objects share the first error
// with their parent: after it, every read returns zero values, so a handler reads all its
// fields in order and checks Err once. Unknown keys are reported when the Reader is made,
// before any of its fields is read.
type Reader struct {
	path  string
	v     *Value
	state *state
}

type state struct{ err *Error }

// Required and Optional mark a field for the readers.
const (
	Required = true
	Optional = false
)

// NewReader reads v, which must be an object with no key outside allowed.
func NewReader(v *Value, allowed ...string) *Reader {
	r := &Reader{v: v, state: &state{}}
	r.checkKeys(allowed)
	return r
}

// Err is the first error met so far, or nil.
func (r *Reader) Err() *Error { return r.state.err }

// Fail records a validation error at field unless an earlier one exists.
func (r *Reader) Fail(field, message string) {
	if r.state.err == nil {
		r.state.err = &Error{Field: field, Message: message}
	}
}

// Path is the JSON path of key in this object.
func (r *Reader) Path(key string) string { return Join(r.path, key) }

func (r *Reader) checkKeys(allowed []string) {
	if r.state.err != nil {
		return
	}
	for _, k := range r.v.Keys {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			p := r.Path(k)
			r.Fail(p, "unknown field "+Quote(p))
			return
		}
	}
}

// get returns the field's value when it is present and non-null, and handles the absent
// and null cases for required fields.
func (r *Reader) get(key string, required bool, want Kind) (*Value, Presence) {
	if r.state.err != nil {
		return nil, Absent
	}
	v, ok := r.v.Fields[key]
	switch {
	case !ok:
		if required {
			r.Fail(r.Path(key), r.Path(key)+" is required")
		}
		return nil, Absent
	case v.Kind == Null:
		if required {
			r.typeError(r.Path(key), want)
		}
		return nil, IsNull
	case v.Kind != want:
		r.typeError(r.Path(key), want)
		return nil, Absent
	}
	return v, Set
}

func (r *Reader) typeError(path string, want Kind) {
	r.Fail(path, path+" must be "+want.String())
}

// String reads a string field.
func (r *Reader) String(key string, required bool) (string, Presence) {
	v, p := r.get(key, required, String)
	if v == nil {
		return "", p
	}
	return v.Text, p
}

// Bool reads a boolean field.
func (r *Reader) Bool(key string, required bool) (bool, Presence) {
	v, p := r.get(key, required, Bool)
	if v == nil {
		return false, p
	}
	return v.Bool, p
}

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// Int reads an integer field within [min, max]. A number written with a fraction or an
// exponent (1.0, 1e2) is not an integer.
func (r *Reader) Int(key string, required bool, min, max int64) (int64, Presence) {
	v, p := r.get(key, required, Number)
	if v == nil {
		return 0, p
	}
	path := r.Path(key)
	if !integerLiteral.MatchString(v.Text) {
		r.Fail(path, path+" must be an integer")
		return 0, Absent
	}
	n, ok := new(big.Int).SetString(v.Text, 10)
	if !ok || !n.IsInt64() || n.Int64() < min || n.Int64() > max {
		r.Fail(path, path+" must be an integer from "+strconv.FormatInt(min, 10)+" to "+strconv.FormatInt(max, 10))
		return 0, Absent
	}
	return n.Int64(), p
}

// Strings reads an array of strings.
func (r *Reader) Strings(key string, required bool) ([]string, Presence) {
	v, p := r.get(key, required, Array)
	if v == nil {
		return nil, p
	}
	out := make([]string, 0, len(v.Items))
	for i, it := range v.Items {
		if it.Kind != String {
			r.typeError(Index(r.Path(key), i), String)
			return nil, Absent
		}
		out = append(out, it.Text)
	}
	return out, p
}

// Object reads a nested object whose keys must be among allowed.
func (r *Reader) Object(key string, required bool, allowed ...string) (*Reader, Presence) {
	v, p := r.get(key, required, Object)
	if v == nil {
		return nil, p
	}
	sub := &Reader{path: r.Path(key), v: v, state: r.state}
	sub.checkKeys(allowed)
	return sub, p
}

// Each reads an array of objects whose keys must be among allowed, calling fn with a
// Reader for each item in order; it stops at the first error.
func (r *Reader) Each(key string, required bool, allowed []string, fn func(i int, item *Reader)) Presence {
	v, p := r.get(key, required, Array)
	if v == nil {
		return p
	}
	for i, it := range v.Items {
		path := Index(r.Path(key), i)
		if it.Kind != Object {
			r.typeError(path, Object)
			return Absent
		}
		sub := &Reader{path: path, v: it, state: r.state}
		sub.checkKeys(allowed)
		fn(i, sub)
		if r.state.err != nil {
			return Absent
		}
	}
	return p
}

// Raw reads a free-form field that must be a JSON object (tool parameters, publish event).
func (r *Reader) Raw(key string, required bool) (*Value, Presence) {
	return r.get(key, required, Object)
}
