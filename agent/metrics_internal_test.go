package agent

import (
	"fmt"
	"testing"
)

func TestModelLabelsAreBounded(t *testing.T) {
	l := modelLabels{max: 3, seen: map[string]struct{}{}}
	for _, tc := range []struct{ in, want string }{
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"", "unknown"},
		{"ops@example.com", "other"},
		{"ft:gpt-4o:acme:0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", "other"},
		{"model\nwith a newline", "other"},
		{string(make([]byte, maxModelLabelBytes+1)), "other"},
		{"other", "other"},
		{"claude-sonnet", "claude-sonnet"},
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"llama-3", "llama-3"},
		{"mistral-large", "other"}, // the fourth distinct name
		{"claude-sonnet", "claude-sonnet"},
	} {
		if got := l.label(tc.in); got != tc.want {
			t.Errorf("label(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorLabelsAreTheFixedReasons(t *testing.T) {
	for msg, want := range map[string]string{
		"model gateway error (HTTP 503)": "model_gateway_error",
		"model gateway unreachable":      "model_gateway_unreachable",
		"model gateway timed out":        "model_gateway_timed_out",
		"model stream interrupted":       "model_stream_interrupted",
		"reply too long":                 "reply_too_long",
		"storage error":                  "storage_error",
		"server is shutting down":        "server_is_shutting_down",
		"internal error":                 "internal_error",
		fmt.Sprintf("something %d", 7):   "other",
		"":                               "",
	} {
		if got := errorLabel(msg); got != want {
			t.Errorf("errorLabel(%q) = %q, want %q", msg, got, want)
		}
	}
}
