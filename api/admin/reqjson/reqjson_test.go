package reqjson

import (
	"strings"
	"testing"
)

func TestParseRefusesWhatIsNotOneObject(t *testing.T) {
	cases := []struct {
		name, body, field, msg string
	}{
		{"empty", "", "", "request body must be a JSON object"},
		{"whitespace", " \n", "", "request body must be a JSON object"},
		{"array", "[1]", "", "request body must be a JSON object"},
		{"string", `"x"`, "", "request body must be a JSON object"},
		{"null", "null", "", "request body must be a JSON object"},
		{"not json", "name=x", "", "request body is not valid JSON"},
		{"truncated", `{"a":1`, "", "request body is not valid JSON"},
		{"trailing object", `{"a":1}{"b":2}`, "", "request body must hold a single JSON object with nothing after it"},
		{"trailing garbage", `{"a":1} x`, "", "request body must hold a single JSON object with nothing after it"},
		{"missing colon", `{"a" 1}`, "", "request body is not valid JSON"},
		{"invalid utf8", "{\"a\":\"\xff\"}", "", "request body must be valid UTF-8"},
		{"duplicate key", `{"a":1,"a":2}`, "a", "duplicate field 'a'"},
		{"nested duplicate", `{"widget":{"x":1,"x":1}}`, "widget.x", "duplicate field 'widget.x'"},
		{"duplicate in array item", `{"d":[{},{"k":1,"k":1}]}`, "d[1].k", "duplicate field 'd[1].k'"},
		{"nul in value", `{"name":"a\u0000b"}`, "name", "name must not contain U+0000"},
		{"nul deep in free-form", `{"event":{"data":["ok","\u0000"]}}`, "event.data[1]", "event.data[1] must not contain U+0000"},
		{"nul in key", `{"a\u0000":1}`, "", "request body has a key that contains U+0000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if err.Field != c.field || err.Message != c.msg {
				t.Fatalf("got (%q, %q), want (%q, %q)", err.Field, err.Message, c.field, c.msg)
			}
		})
	}
}

func TestParseDepthLimit(t *testing.T) {
	ok := "{\"a\":" + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + "}"
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
	deep := "{\"a\":" + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}"
	if _, err := Parse([]byte(deep)); err == nil || !strings.Contains(err.Message, "levels deep") {
		t.Fatalf("depth %d: %v", MaxDepth+1, err)
	}
}

func TestCompactKeepsOrderAndLiterals(t *testing.T) {
	v, err := Parse([]byte(` { "z" : 1.50, "a":[true,null,"<&>"], "m":{"y":-0,"x":1e3} } `))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(v.Compact()), `{"z":1.50,"a":[true,null,"<&>"],"m":{"y":-0,"x":1e3}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func read(t *testing.T, body string, allowed ...string) *Reader {
	t.Helper()
	v, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return NewReader(v, allowed...)
}

func TestReaderTypesAndPaths(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		read  func(r *Reader)
		field string
		msg   string
	}{
		{"unknown top-level", `{"name":"x","colour":"red"}`, func(r *Reader) {}, "colour", "unknown field 'colour'"},
		{"string for number", `{"n":"5"}`, func(r *Reader) { r.Int("n", Optional, 1, 9) }, "n", "n must be a number"},
		{"1.0 is not an integer", `{"n":1.0}`, func(r *Reader) { r.Int("n", Optional, 1, 9) }, "n", "n must be an integer"},
		{"1.5 is not an integer", `{"n":1.5}`, func(r *Reader) { r.Int("n", Optional, 1, 9) }, "n", "n must be an integer"},
		{"exponent is not an integer", `{"n":1e2}`, func(r *Reader) { r.Int("n", Optional, 1, 900) }, "n", "n must be an integer"},
		{"out of range", `{"n":65}`, func(r *Reader) { r.Int("n", Optional, 1, 64) }, "n", "n must be an integer from 1 to 64"},
		{"beyond int64", `{"n":99999999999999999999999}`, func(r *Reader) { r.Int("n", Optional, 0, 10) }, "n", "n must be an integer from 0 to 10"},
		{"string true for bool", `{"b":"true"}`, func(r *Reader) { r.Bool("b", Optional) }, "b", "b must be a boolean"},
		{"object for array", `{"a":{}}`, func(r *Reader) { r.Strings("a", Optional) }, "a", "a must be an array"},
		{"number in string array", `{"a":["x",2]}`, func(r *Reader) { r.Strings("a", Optional) }, "a[1]", "a[1] must be a string"},
		{"required absent", `{}`, func(r *Reader) { r.String("name", Required) }, "name", "name is required"},
		{"required null", `{"name":null}`, func(r *Reader) { r.String("name", Required) }, "name", "name must be a string"},
		{"nested unknown", `{"widget":{"colour":1}}`, func(r *Reader) { r.Object("widget", Optional, "allowedOrigins") }, "widget.colour", "unknown field 'widget.colour'"},
		{"nested type", `{"widget":{"allowedOrigins":["a","b",3]}}`, func(r *Reader) {
			w, _ := r.Object("widget", Optional, "allowedOrigins")
			w.Strings("allowedOrigins", Optional)
		}, "widget.allowedOrigins[2]", "widget.allowedOrigins[2] must be a string"},
		{"free-form must be object", `{"parameters":[1]}`, func(r *Reader) { r.Raw("parameters", Optional) }, "parameters", "parameters must be an object"},
		{"first error wins", `{"a":1,"b":2}`, func(r *Reader) {
			r.String("a", Optional)
			r.String("b", Optional)
		}, "a", "a must be a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := read(t, c.body, "name", "n", "b", "a", "widget", "parameters")
			c.read(r)
			err := r.Err()
			if err == nil {
				t.Fatal("no error")
			}
			if err.Field != c.field || err.Message != c.msg {
				t.Fatalf("got (%q, %q), want (%q, %q)", err.Field, err.Message, c.field, c.msg)
			}
		})
	}
}

func TestReaderPresence(t *testing.T) {
	r := read(t, `{"s":"x","n":null,"i":-3,"b":false,"o":{"k":"v"},"l":[]}`, "s", "n", "i", "b", "o", "l", "absent")
	if s, p := r.String("s", Optional); s != "x" || p != Set {
		t.Fatalf("s = %q %v", s, p)
	}
	if _, p := r.String("n", Optional); p != IsNull {
		t.Fatalf("n presence %v", p)
	}
	if _, p := r.String("absent", Optional); p != Absent {
		t.Fatalf("absent presence %v", p)
	}
	if i, p := r.Int("i", Optional, -5, 5); i != -3 || p != Set {
		t.Fatalf("i = %d %v", i, p)
	}
	if b, p := r.Bool("b", Optional); b || p != Set {
		t.Fatalf("b = %v %v", b, p)
	}
	o, p := r.Object("o", Optional, "k")
	if p != Set {
		t.Fatal("o not set")
	}
	if k, _ := o.String("k", Required); k != "v" || o.Path("k") != "o.k" {
		t.Fatalf("o.k = %q path %q", k, o.Path("k"))
	}
	if l, p := r.Strings("l", Optional); l == nil || len(l) != 0 || p != Set {
		t.Fatalf("l = %v %v", l, p)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestQuoteCutsAndEscapes(t *testing.T) {
	if got := Quote(strings.Repeat("é", 70)); got != "'"+strings.Repeat("é", 64)+"…'" {
		t.Fatalf("got %s", got)
	}
	if got := Quote("a'b\n"); got != `'a\'b\n'` {
		t.Fatalf("got %s", got)
	}
}
