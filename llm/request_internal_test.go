package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

// decodeJSON decodes one JSON document keeping numbers as written.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if dec.More() {
		t.Fatalf("trailing data after the JSON value in %s", b)
	}
	return v
}

// referenceBody is what openai-go marshals from params(), plus the
// "stream": true NewStreaming adds.
func referenceBody(t *testing.T, r Request) any {
	t.Helper()
	p, err := r.params()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	obj, ok := decodeJSON(t, b).(map[string]any)
	if !ok {
		t.Fatalf("request params are not a JSON object: %s", b)
	}
	obj["stream"] = true
	return obj
}

const nestedSchema = `{
	"type": "object",
	"properties": {
		"orderId": {"type": "string", "maxLength": 64, "pattern": "^[A-Z]-\\d+$", "description": "Order <id> & \"ref\" \u00e9 \/"},
		"big": {"type": "integer", "minimum": -12345678901234567890, "maximum": 12345678901234567890},
		"ratio": {"type": "number", "multipleOf": 0.000001, "default": 3.141592653589793238462643383279, "examples": [1e-7, -0.0, 2.5E+10]},
		"tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", null, true]}, "maxItems": 3},
		"nested": {"type": "object", "properties": {"deep": {"type": "object", "properties": {}}}, "additionalProperties": false}
	},
	"required": ["orderId"]
}`

func TestBodyMatchesOpenAIGo(t *testing.T) {
	call := ToolCall{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001"}`}
	awkward := "quote \" backslash \\ nl\n cr\r tab\t nul\x00 esc\x1b del\x7f <b>&amp;</b> \u2028\u2029 Grüße 東京 🌍 bad\xff\xfe utf8 \xe2\x82"
	cases := []struct {
		name string
		req  Request
	}{
		{"one user message", Request{Model: "gpt-4.1-mini", Messages: []Message{User("What are your hours?")}}},
		{"no messages", Request{Model: "m"}},
		{"empty message list", Request{Model: "m", Messages: []Message{}}},
		{"every role", Request{Model: "gpt-4.1-mini", Messages: []Message{
			System("You are helpful."),
			User("Where is order A-1001?"),
			Assistant("", call),
			ToolResult("call_1", `{"status":"shipped"}`),
			Assistant("It has shipped."),
			User("Thanks!"),
		}}},
		{"assistant with text and tool calls", Request{Model: "m", Messages: []Message{
			Assistant("Let me check both.", call, ToolCall{ID: "call_2", Name: "lookup", Arguments: `{"q":"x"}`}),
			ToolResult("call_1", "ok"), ToolResult("call_2", ""),
		}}},
		{"assistant with neither text nor calls", Request{Model: "m", Messages: []Message{Assistant("")}}},
		{"tool call with empty fields", Request{Model: "m", Messages: []Message{
			Assistant("", ToolCall{}, ToolCall{Name: "n"}, ToolCall{Arguments: "{}"}, ToolCall{ID: "id"}),
		}}},
		{"empty strings", Request{Model: "m", Messages: []Message{System(""), User(""), ToolResult("c", "")}}},
		{"awkward text everywhere", Request{Model: "model \"" + awkward, Messages: []Message{
			System(awkward), User(awkward), Assistant(awkward, ToolCall{ID: awkward, Name: awkward, Arguments: awkward}),
			ToolResult(awkward, awkward),
		}, Tools: []Tool{{Name: awkward, Description: awkward}}}},
		{"every control character", Request{Model: "m", Messages: []Message{User(controlChars())}}},
		{"max tokens", Request{Model: "m", Messages: []Message{User("hi")}, MaxTokens: 256}},
		{"huge max tokens", Request{Model: "m", Messages: []Message{User("hi")}, MaxTokens: 1<<63 - 1}},
		{"negative max tokens", Request{Model: "m", Messages: []Message{User("hi")}, MaxTokens: -1}},
		{"tools", Request{Model: "m", Messages: []Message{User("hi")}, MaxTokens: 1, Tools: []Tool{
			{Name: "get_order_status", Description: "Look up an order.", Parameters: json.RawMessage(nestedSchema)},
			{Name: "ping"},
			{Name: "described", Description: "No schema."},
			{Name: "schema only", Parameters: json.RawMessage(`{"type":"object"}`)},
			{Name: "blank schema", Parameters: json.RawMessage(" \n\t ")},
			{Name: "empty schema", Parameters: json.RawMessage(`{}`)},
			{Name: "padded schema", Parameters: json.RawMessage("\n  { \"a\" : [ 1 , 2.50 , \"x y\" ] }  \n")},
			{Name: "duplicate keys", Parameters: json.RawMessage(`{"type":"object","type":"string"}`)},
		}}},
		{"long history", benchRequest()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.req.body()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatalf("body is not valid JSON: %s", b)
			}
			got, want := decodeJSON(t, b), referenceBody(t, c.req)
			if !reflect.DeepEqual(got, want) {
				w, _ := json.Marshal(want)
				t.Errorf("body differs from openai-go's:\n got %s\nwant %s", b, w)
			}
		})
	}
}

func FuzzBodyMatchesOpenAIGo(f *testing.F) {
	f.Add("hi", `{"orderId":"A-1001"}`, nestedSchema)
	f.Add("", "", "")
	f.Add("a\u2028\x00\xff\"", "\\", ` {"a": [1, 2.5e3, null]} `)
	for _, s := range []string{"null", "[1]", "42", `"s"`, "nope", `{"a":`, `{"a":1}x`, "{\"\xff\":1}", "\u00a0{}"} {
		f.Add("x", "{}", s)
	}
	f.Fuzz(func(t *testing.T, text, args, schema string) {
		r := Request{
			Model:    text,
			Messages: []Message{System(text), User(text), Assistant(text, ToolCall{ID: text, Name: text, Arguments: args}), ToolResult("c", args)},
			Tools:    []Tool{{Name: "t", Description: text, Parameters: json.RawMessage(schema)}},
		}
		b, err := r.body()
		_, refErr := r.params()
		if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
			t.Fatalf("err = %v, openai-go conversion said %v", err, refErr)
		}
		if err == nil && !reflect.DeepEqual(decodeJSON(t, b), referenceBody(t, r)) {
			t.Fatalf("body differs from openai-go's: %s", b)
		}
	})
}

func controlChars() string {
	var s strings.Builder
	for c := range 0x20 {
		s.WriteByte(byte(c))
	}
	return s.String()
}

func TestBodyKeepsSchemaAsWritten(t *testing.T) {
	schema := `{"z":1,"a":{"y":12345678901234567890,"b":1.10},"m":"<&>"}`
	r := Request{Model: "m", Tools: []Tool{{Name: "t", Parameters: json.RawMessage(" {\n\"z\": 1, \"a\": {\"y\": 12345678901234567890, \"b\": 1.10}, \"m\": \"<&>\"}\n")}}}
	b, err := r.body()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"parameters":`+schema+`}}]}`)) {
		t.Errorf("schema not sent compacted and in its own order: %s", b)
	}
}

func TestBodyErrors(t *testing.T) {
	tool := func(params string) Request {
		return Request{Model: "m", Messages: []Message{User("hi")}, Tools: []Tool{{Name: "ok"}, {Name: "t", Parameters: json.RawMessage(params)}}}
	}
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"no model", Request{Messages: []Message{User("hi")}}, "request has no model"},
		{"unknown role", Request{Model: "m", Messages: []Message{User("hi"), {Role: "developer", Content: "x"}}}, `message 1: unknown role "developer"`},
		{"empty role", Request{Model: "m", Messages: []Message{{Content: "x"}}}, `message 0: unknown role ""`},
		{"tool result without call id", Request{Model: "m", Messages: []Message{User("a"), Assistant("b"), ToolResult("", "x")}}, "message 2: tool result without tool call id"},
		{"tool without name", Request{Model: "m", Tools: []Tool{{Description: "d"}}}, `tool "": tool has no name`},
		{"null schema", tool("null"), `tool "t": parameters are not a JSON object: null`},
		{"padded null schema", tool(" null\n"), `tool "t": parameters are not a JSON object: null`},
		{"array schema", tool(`[1]`), `tool "t": parameters are not a JSON object: json: cannot unmarshal array`},
		{"number schema", tool(`42`), `tool "t": parameters are not a JSON object: json: cannot unmarshal number`},
		{"string schema", tool(`"s"`), `tool "t": parameters are not a JSON object: json: cannot unmarshal string`},
		{"bool schema", tool(`true`), `tool "t": parameters are not a JSON object: json: cannot unmarshal bool`},
		{"invalid schema", tool(`nope`), `tool "t": parameters are not a JSON object: invalid character`},
		{"truncated schema", tool(`{"a":`), `tool "t": parameters are not a JSON object: unexpected end of JSON input`},
		{"trailing comma", tool(`{"a":1,}`), `tool "t": parameters are not a JSON object: invalid character '}'`},
		{"two values", tool(`{"a":1} {}`), `tool "t": parameters are not a JSON object: invalid character '{' after top-level value`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.req.body()
			if err == nil {
				t.Fatalf("no error; body %s", b)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err = %q, want it to start with %q", err, c.want)
			}
			_, refErr := c.req.params()
			if refErr == nil || err.Error() != refErr.Error() {
				t.Errorf("err = %q, openai-go conversion said %q", err, refErr)
			}
			if c.name == "no model" && !errors.Is(err, errNoModel) {
				t.Errorf("err = %v, want errNoModel", err)
			}
		})
	}
}

func TestGatewayReceivesExactlyTheBody(t *testing.T) {
	gw := llmtest.New(t, llmtest.WithDefault(llmtest.Text("ok")))
	c, err := New(Config{BaseURL: gw.BaseURL(), APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	req := benchRequest()
	req.MaxTokens = 100
	if _, err := c.Stream(context.Background(), req, Handler{}); err != nil {
		t.Fatal(err)
	}
	want, err := req.body()
	if err != nil {
		t.Fatal(err)
	}
	got := gw.Request(0)
	if !bytes.Equal(got.Body, want) {
		t.Errorf("gateway received\n%s\nwant\n%s", got.Body, want)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestBodyFitsItsEstimate(t *testing.T) {
	req := benchRequest()
	req.Messages = append(req.Messages,
		Assistant("", ToolCall{ID: "call_1", Name: "get_order_status", Arguments: `{"orderId":"A-1001","include":["items","tracking"]}`}),
		ToolResult("call_1", `{"status":"shipped","carrier":"UPS","tracking":"1Z999AA10123456784","items":[{"sku":"X-1","qty":2}]}`))
	b, err := req.body()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > req.bodySize() {
		t.Errorf("body is %d bytes, estimate %d: appending had to grow it", len(b), req.bodySize())
	}
}

// benchRequest is a turn late in a conversation: a system prompt, 50
// history messages of about 200 characters and one tool.
func benchRequest() Request {
	const sentence = "Our support desk is open from nine to five, Monday to Friday; orders placed before noon ship the same day. "
	r := Request{
		Model:    "gpt-4.1-mini",
		Messages: []Message{System("You are the support assistant of an online shop. " + strings.Repeat(sentence, 4))},
		Tools: []Tool{{
			Name:        "get_order_status",
			Description: "Look up the shipping status of an order by its id.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"orderId":{"type":"string","maxLength":64,"description":"The order id, such as A-1001."},"includeItems":{"type":"boolean"}},"required":["orderId"],"additionalProperties":false}`),
		}},
	}
	for i := range 50 {
		text := strings.Repeat(sentence, 2)[:200]
		if i%2 == 0 {
			r.Messages = append(r.Messages, User(text))
		} else {
			r.Messages = append(r.Messages, Assistant(text))
		}
	}
	return r
}

func BenchmarkRequestBody(b *testing.B) {
	req := benchRequest()
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := req.body(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("openai-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := req.params()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
