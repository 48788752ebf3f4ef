package admin

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
)

// Field rules shared by several endpoints (ADMIN-API §5).

// name reads a name or label: trimmed, 1..max characters, no control characters.
func name(r *reqjson.Reader, key string, required bool, max int) (string, reqjson.Presence) {
	s, p := r.String(key, required)
	if p != reqjson.Set {
		return "", p
	}
	path := r.Path(key)
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > max {
		r.Fail(path, path+" must be 1.."+strconv.Itoa(max)+" characters")
		return "", reqjson.Absent
	}
	if hasControl(s) {
		r.Fail(path, path+" must not contain control characters")
		return "", reqjson.Absent
	}
	return s, p
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// textBytes reads an optional string of 1..max bytes (prompts); null means not set.
func textBytes(r *reqjson.Reader, key string, required bool, max int) *string {
	s, p := r.String(key, required)
	if p != reqjson.Set {
		return nil
	}
	if len(s) < 1 || len(s) > max {
		path := r.Path(key)
		r.Fail(path, path+" must be 1.."+strconv.Itoa(max)+" bytes")
		return nil
	}
	return &s
}

// textChars reads an optional string of 1..max characters; null means not set.
func textChars(r *reqjson.Reader, key string, required bool, max int) *string {
	s, p := r.String(key, required)
	if p != reqjson.Set {
		return nil
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > max {
		path := r.Path(key)
		r.Fail(path, path+" must be 1.."+strconv.Itoa(max)+" characters")
		return nil
	}
	return &s
}

// secret reads a write-only secret: 16..256 bytes of printable ASCII. Its value is never
// echoed, not even in part.
func secret(r *reqjson.Reader, key string) (string, reqjson.Presence) {
	s, p := r.String(key, reqjson.Optional)
	if p != reqjson.Set {
		return "", p
	}
	if !printableASCII(s) || len(s) < 16 || len(s) > 256 {
		path := r.Path(key)
		r.Fail(path, path+" must be 16..256 bytes of printable ASCII without spaces")
		return "", reqjson.Absent
	}
	return s, p
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// optInt32 reads an optional integer in [min, max]; nil when absent or null.
func optInt32(r *reqjson.Reader, key string, min, max int64) *int32 {
	n, p := r.Int(key, reqjson.Optional, min, max)
	if p != reqjson.Set {
		return nil
	}
	v := int32(n)
	return &v
}

// distinct reads an optional string list whose entries each pass check (which returns the
// stored form and whether it is valid), with at most max distinct entries; a repeated
// entry is an error. It returns [] when absent or null.
func distinct(r *reqjson.Reader, key string, max int, rule string, check func(string) (string, bool)) ([]string, reqjson.Presence) {
	items, p := r.Strings(key, reqjson.Optional)
	if p != reqjson.Set {
		return []string{}, p
	}
	path := r.Path(key)
	if len(items) > max {
		r.Fail(path, path+" must have at most "+strconv.Itoa(max)+" entries")
		return []string{}, reqjson.Absent
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(items))
	for i, it := range items {
		ip := reqjson.Index(path, i)
		v, ok := check(it)
		if !ok {
			r.Fail(ip, ip+" must be "+rule)
			return []string{}, reqjson.Absent
		}
		if seen[v] {
			r.Fail(ip, ip+" repeats an earlier entry")
			return []string{}, reqjson.Absent
		}
		seen[v] = true
		out = append(out, v)
	}
	return out, p
}

// fieldList names the body keys a create set (non-null), nested ones as parent.child, for
// the audit row's details.fields.
func fieldList(v *reqjson.Value, prefix string) []string {
	out := []string{}
	for _, k := range v.Keys {
		f := v.Fields[k]
		switch {
		case f.Kind == reqjson.Null:
		case f.Kind == reqjson.Object && prefix == "" && k == "widget":
			out = append(out, fieldList(f, "widget.")...)
		default:
			out = append(out, prefix+k)
		}
	}
	return out
}
