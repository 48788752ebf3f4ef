package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// DecodeJSON decodes raw into a value of type T, exactly: a key T does not declare, a key
// T declares without omitempty that raw lacks (at any depth), or anything after the value
// fails the test. Compare the result with cmp.Diff: a type that declares an answer's
// fields then pins its whole shape, absent keys and null ones included, and a failure
// prints what differs.
func DecodeJSON[T any](tb testing.TB, raw []byte) T {
	tb.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("testkit: decode %T: %v\n%s", v, err, raw)
	}
	if _, err := dec.Token(); err != io.EOF {
		tb.Fatalf("testkit: decode %T: data after the value\n%s", v, raw)
	}
	if err := requireKeys(reflect.TypeFor[T](), raw, "$"); err != nil {
		tb.Fatalf("testkit: decode %T: %v\n%s", v, err, raw)
	}
	return v
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// requireKeys reports the first key that t declares without omitempty and raw (already
// decoded into t without error) lacks.
func requireKeys(t reflect.Type, raw json.RawMessage, path string) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return requireKeys(t.Elem(), raw, path)
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil // a []byte as base64, say
		}
		for i, it := range items {
			if err := requireKeys(t.Elem(), it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		var items map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil
		}
		for k, it := range items {
			if err := requireKeys(t.Elem(), it, path+"."+k); err != nil {
				return err
			}
		}
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil
		}
		return requireFields(t, obj, path)
	}
	return nil
}

func requireFields(t reflect.Type, obj map[string]json.RawMessage, path string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := requireFields(ft, obj, path); err != nil {
					return err
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		v, ok := obj[name]
		if !ok {
			if strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,") {
				continue
			}
			return fmt.Errorf("%s lacks the key %q", path, name)
		}
		if err := requireKeys(f.Type, v, path+"."+name); err != nil {
			return err
		}
	}
	return nil
}
