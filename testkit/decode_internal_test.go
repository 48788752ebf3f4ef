package testkit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type pet struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
	Vet  *struct {
		Name string `json:"name"`
	} `json:"vet,omitempty"`
}

func TestDecodeJSONDecodesEveryDeclaredField(t *testing.T) {
	got := DecodeJSON[pet](t, []byte(`{"name":"Rex","tags":["good"]}`))
	if diff := cmp.Diff(pet{Name: "Rex", Tags: []string{"good"}}, got); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	// An omitempty key may be absent; a null one is nil.
	for _, raw := range []string{`{"name":"Rex","tags":null,"vet":null}`, `{"name":"Rex","tags":null}`} {
		if diff := cmp.Diff(pet{Name: "Rex"}, DecodeJSON[pet](t, []byte(raw))); diff != "" {
			t.Fatalf("%s decoded (-want +got):\n%s", raw, diff)
		}
	}
}

func TestDecodeJSONRefusesWhatTheTypeDoesNotDeclare(t *testing.T) {
	for name, raw := range map[string]string{
		"an undeclared key":       `{"name":"Rex","tags":[],"owner":"Ada"}`,
		"a second value":          `{"name":"Rex","tags":[]} {}`,
		"a value of another type": `{"name":7,"tags":[]}`,
		"a declared key missing":  `{"name":"Rex"}`,
		"a nested key missing":    `{"name":"Rex","tags":[],"vet":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			tb := &fatalTB{TB: t}
			run(func() { DecodeJSON[pet](tb, []byte(raw)) })
			if !strings.HasPrefix(tb.msg, "testkit: decode testkit.pet: ") {
				t.Fatalf("failure %q, want a decode failure", tb.msg)
			}
		})
	}
}
