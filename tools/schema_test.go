package tools

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func nested(depth int) string {
	// A schema whose objects nest depth levels: {"type":"object","x":{"a":{"a":…{}…}}}.
	return `{"type":"object","x":` + strings.Repeat(`{"a":`, depth-2) + `{}` + strings.Repeat(`}`, depth-2) + `}`
}

func TestCompileSchemaAccepts(t *testing.T) {
	cases := map[string]string{
		"spec example":       `{"type":"object","properties":{"number":{"type":"string"}},"required":["number"]}`,
		"default parameters": DefaultParameters,
		"local $ref into $defs": `{"type":"object","$defs":{"id":{"type":"string","pattern":"^[A-Z]+-[0-9]+$"}},
			"properties":{"number":{"$ref":"#/$defs/id"}}}`,
		"local anchor $ref":          `{"type":"object","$defs":{"x":{"$anchor":"x","type":"string"}},"properties":{"n":{"$ref":"#x"}}}`,
		"explicit 2020-12 $schema":   `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`,
		"2020-12 $schema with hash":  `{"$schema":"https://json-schema.org/draft/2020-12/schema#","type":"object"}`,
		"32 levels deep":             nested(32),
		"whitespace does not count":  `{"type":"object",` + strings.Repeat(" ", 20000) + `"description":"x"}`,
		"property named $ref":        `{"type":"object","properties":{"$ref":{"type":"string"}}}`,
		"recursive via properties":   `{"type":"object","properties":{"child":{"$ref":"#"}}}`,
		"just under the size limit":  `{"type":"object","description":"` + strings.Repeat("x", MaxParametersBytes-len(`{"type":"object","description":""}`)) + `"}`,
		"unknown format is accepted": `{"type":"object","properties":{"d":{"type":"string","format":"date"}}}`,
	}
	for name, params := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := CompileSchema(json.RawMessage(params)); err != nil {
				t.Fatalf("CompileSchema: %v", err)
			}
		})
	}
}

func TestCompileSchemaRefuses(t *testing.T) {
	big := `{"type":"object","description":"` + strings.Repeat("x", MaxParametersBytes) + `"}`
	cases := []struct {
		name, params, want string
	}{
		{"not a JSON object", `[{"type":"object"}]`, "parameters must be a JSON object"},
		{"null", `null`, "parameters must be a JSON object"},
		{"empty", ``, "parameters must be a JSON object"},
		{"invalid JSON", `{"type":"object"`, "parameters must be valid JSON"},
		{"trailing data", `{"type":"object"} {}`, "valid JSON"},
		{"string type", `{"type":"string"}`, `parameters must have "type": "object" at the top level`},
		{"missing type", `{"properties":{}}`, `"type": "object"`},
		{"type as array", `{"type":["object"]}`, `"type": "object"`},
		{"remote $ref", `{"type":"object","properties":{"a":{"$ref":"https://evil.example/s.json"}}}`,
			"parameters may only use local $ref values starting with '#' (got 'https://evil.example/s.json')"},
		{"relative $ref", `{"type":"object","properties":{"a":{"$ref":"other.json#/x"}}}`, "local $ref"},
		{"remote $dynamicRef", `{"type":"object","properties":{"a":{"$dynamicRef":"https://evil.example/s.json#meta"}}}`, "local $ref"},
		{"other draft", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`, "JSON Schema 2020-12"},
		{"remote metaschema", `{"$schema":"https://evil.example/meta","type":"object"}`, "JSON Schema 2020-12"},
		{"too deep", nested(33), "more than 32 levels deep"},
		{"too big", big, "at most 16384 bytes"},
		{"duplicate key", `{"type":"object","properties":{"a":{},"a":{}}}`, "must not repeat a key in one object ('a')"},
		{"U+0000", `{"type":"object","description":"a\u0000b"}`, "U+0000"},
		{"invalid UTF-8", "{\"type\":\"object\",\"description\":\"\xff\"}", "valid UTF-8"},
		{"unknown type name", `{"type":"object","properties":{"a":{"type":"strnig"}}}`, "parameters is not a valid JSON Schema: at '/properties/a/type'"},
		{"wrong keyword type", `{"type":"object","required":"a"}`, "parameters is not a valid JSON Schema: at '/required': expected array, got string"},
		{"regex that does not compile", `{"type":"object","properties":{"a":{"type":"string","pattern":"(?=x)"}}}`, "not a valid JSON Schema"},
		{"$ref to nothing", `{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`, "points to nothing"},
		{"self-reference loop", `{"type":"object","allOf":[{"$ref":"#"}]}`, "refers to itself in a loop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileSchema(json.RawMessage(tc.params))
			if err == nil {
				t.Fatalf("CompileSchema accepted %s", tc.params)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want it to contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "switchboard.invalid") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q leaks the internal location or spans lines", msg)
			}
			if strings.Contains(msg, strings.Repeat("x", 65)) {
				t.Fatalf("error echoes more than 64 characters: %q", msg)
			}
		})
	}
}

func TestCompileSchemaNeverLoadsRemoteSchemas(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"type":"string"}`))
	}))
	defer srv.Close()
	for _, params := range []string{
		`{"type":"object","properties":{"a":{"$ref":"` + srv.URL + `/s.json"}}}`,
		`{"$schema":"` + srv.URL + `/meta","type":"object"}`,
		// A $ref that looks local but resolves against an $id on the test server.
		`{"$id":"` + srv.URL + `/root.json","type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"$ref":"` + srv.URL + `/other.json"}}}`,
	} {
		if _, err := CompileSchema(json.RawMessage(params)); err == nil {
			t.Errorf("CompileSchema accepted %s", params)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("schema server was contacted %d times", n)
	}
}

const invoiceSchema = `{
	"type":"object",
	"properties":{
		"number":{"type":"string"},
		"amount":{"type":"integer","minimum":1},
		"tags":{"type":"array","items":{"type":"string"}},
		"customer":{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]},
		"kind":{"enum":["refund","charge"]},
		"note":{"type":"string","maxLength":5},
		"code":{"type":"string","pattern":"^[A-Z]{3}$"},
		"ref":{"$ref":"#/$defs/ref"},
		"choice":{"anyOf":[{"type":"string"},{"type":"integer"}]},
		"a/b":{"type":"boolean"}
	},
	"$defs":{"ref":{"type":"string","minLength":2}},
	"required":["number"],
	"additionalProperties":false
}`

func TestValidateReasons(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, args, want string
	}{
		{"valid", `{"number":"INV-1","amount":3}`, ""},
		{"integer written as 2.0 is an integer", `{"number":"INV-1","amount":2.0}`, ""},
		{"missing required property", `{}`, "missing property 'number'"},
		{"wrong type", `{"number":"INV-1","amount":"12"}`, "at '/amount': expected integer, got string"},
		{"fraction for integer", `{"number":"INV-1","amount":1.5}`, "at '/amount': expected integer, got number"},
		{"below minimum", `{"number":"INV-1","amount":0}`, "at '/amount': must be at least 1, got 0"},
		{"array item", `{"number":"INV-1","tags":["a",7]}`, "at '/tags/1': expected string, got number"},
		{"nested required", `{"number":"INV-1","customer":{}}`, "at '/customer': missing property 'id'"},
		{"unexpected properties sorted", `{"number":"INV-1","zeta":1,"alpha":2}`, "unexpected properties 'alpha', 'zeta'"},
		{"enum", `{"number":"INV-1","kind":"gift"}`, "at '/kind': value must be one of 'refund', 'charge'"},
		{"max length", `{"number":"INV-1","note":"123456"}`, "at '/note': must be at most 5 characters, got 6"},
		{"pattern", `{"number":"INV-1","code":"abc"}`, "at '/code': does not match pattern '^[A-Z]{3}$'"},
		{"through $ref", `{"number":"INV-1","ref":"x"}`, "at '/ref': must be at least 2 characters, got 1"},
		{"anyOf", `{"number":"INV-1","choice":true}`, "at '/choice': value does not match any of the allowed schemas (anyOf)"},
		{"pointer escaping", `{"number":"INV-1","a/b":"yes"}`, "at '/a~1b': expected boolean, got string"},
		{"root error sorts first", `{"amount":"x","tags":[1]}`, "missing property 'number'"},
		{"name with newline stays on one line", `{"number":"INV-1","a\nb":1}`, `unexpected property 'a\nb'`},
		{"null for a string", `{"number":null}`, "at '/number': expected string, got null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args, ok := ParseArguments(tc.args)
			if !ok {
				t.Fatalf("ParseArguments(%s) failed", tc.args)
			}
			err := s.Validate(args)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %s", tc.args)
			}
			if err.Error() != tc.want {
				t.Fatalf("reason %q, want %q", err.Error(), tc.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") || strings.Contains(err.Error(), "switchboard.invalid") {
				t.Fatalf("reason %q is not a clean single line", err.Error())
			}
			if got := InvalidArguments(err.Error()).Text; got != "Error: invalid tool arguments: "+tc.want {
				t.Fatalf("result text %q", got)
			}
		})
	}
}

func TestValidateReasonIsDeterministic(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	args := json.RawMessage(`{"number":"INV-1","amount":"x","tags":[1],"note":"toolong","kind":"gift","zz":1,"aa":2}`)
	first := s.Validate(args).Error()
	for range 50 {
		if got := s.Validate(args).Error(); got != first {
			t.Fatalf("reason changed between runs: %q then %q", first, got)
		}
	}
	// Errors at the root sort before errors inside it.
	if first != "unexpected properties 'aa', 'zz'" {
		t.Fatalf("reason %q", first)
	}
}

func TestValidateReasonIsShort(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(`{"type":"object","additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"property_with_a_long_name_` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `_` + strings.Repeat("y", i) + `":1`)
	}
	sb.WriteString("}")
	err = s.Validate(json.RawMessage(sb.String()))
	if err == nil {
		t.Fatal("want error")
	}
	if n := len([]rune(err.Error())); n > maxReasonChars {
		t.Fatalf("reason of %d characters: %q", n, err.Error())
	}
}

func TestParseArguments(t *testing.T) {
	cases := []struct {
		name, raw, want string
		ok              bool
	}{
		{"empty string means no arguments", "", "{}", true},
		{"whitespace means no arguments", " \n\t", "{}", true},
		{"object", `{"number":"INV-42"}`, `{"number":"INV-42"}`, true},
		{"object is compacted in order", " {\n \"b\" : 1 ,\"a\": [1, 2] } ", `{"b":1,"a":[1,2]}`, true},
		{"large number keeps its digits", `{"n":12345678901234567890123}`, `{"n":12345678901234567890123}`, true},
		{"html characters kept", `{"q":"<b>&"}`, `{"q":"<b>&"}`, true},
		{"empty object", `{}`, `{}`, true},
		{"null", "null", "{}", false},
		{"array", `[{"a":1}]`, "{}", false},
		{"string", `"{\"a\":1}"`, "{}", false},
		{"number", "42", "{}", false},
		{"truncated object", `{"a":1`, "{}", false},
		{"two objects", `{"a":1}{"b":2}`, "{}", false},
		{"trailing garbage", `{"a":1} x`, "{}", false},
		{"not JSON", "number=42", "{}", false},
		{"duplicate key", `{"a":1,"a":2}`, "{}", false},
		{"nested duplicate key", `{"a":{"b":1,"b":1}}`, "{}", false},
		{"same key in sibling objects is fine", `{"a":{"b":1},"c":{"b":1}}`, `{"a":{"b":1},"c":{"b":1}}`, true},
		{"U+0000 in a value", `{"a":"x\u0000"}`, "{}", false},
		{"U+0000 in a key", `{"\u0000":1}`, "{}", false},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "{}", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseArguments(tc.raw)
			if ok != tc.ok || string(got) != tc.want {
				t.Fatalf("ParseArguments(%q) = %s, %v; want %s, %v", tc.raw, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestEmptyArgumentsStillValidate(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(`{"type":"object","properties":{"n":{"type":"string"}},"required":["n"]}`))
	if err != nil {
		t.Fatal(err)
	}
	args, ok := ParseArguments("")
	if !ok {
		t.Fatal("empty arguments refused")
	}
	if err := s.Validate(args); err == nil || err.Error() != "missing property 'n'" {
		t.Fatalf("Validate = %v, want missing property 'n'", err)
	}
}
