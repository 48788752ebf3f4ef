package tools

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestResultTextsMatchTheProtocolTable(t *testing.T) {
	cases := []struct {
		name string
		got  Result
		want string
	}{
		{"unknown tool", UnknownTool("lookup_invoices"), "Error: unknown tool 'lookup_invoices'"},
		{"arguments not an object", InvalidArguments(""), "Error: invalid tool arguments"},
		{"arguments invalid", InvalidArguments("missing property 'number'"), "Error: invalid tool arguments: missing property 'number'"},
		{"non-2xx", HTTPStatus(503), "Error: tool returned HTTP 503"},
		{"timeout", TimedOut(5000), "Error: tool timed out after 5000 ms"},
		{"unreachable", RequestFailed(nil), "Error: tool request failed"},
		{"rejected by visitor", RejectedByVisitor(), "Denied: the user rejected this action."},
		{"rejected by admin without reason", RejectedByAdmin(""), "Denied: an administrator rejected this action."},
		{"rejected by admin with reason", RejectedByAdmin("Refunds over $500 need a manager."),
			"Denied: an administrator rejected this action. Reason: Refunds over $500 need a manager."},
		{"approval timed out", ApprovalTimedOut(300), "Denied: no decision was made within 300 seconds."},
		{"agent deleted", AgentDeleted(), "Denied: the agent was deleted."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Text != tc.want || !tc.got.IsError {
				t.Fatalf("got %+v, want error result %q", tc.got, tc.want)
			}
		})
	}
	if s := Success("Error: looks like an error"); s.IsError {
		t.Fatal("a success is never an error, whatever its text says")
	}
}

func TestWireResult(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"short text is unchanged", "Invoice INV-42 is paid.", "Invoice INV-42 is paid."},
		{"empty text", "", ""},
		{"exactly 500 characters is unchanged", strings.Repeat("é", 500), strings.Repeat("é", 500)},
		{"501 two-byte characters are cut to 500", strings.Repeat("é", 501), strings.Repeat("é", 500) + "…"},
		{"four-byte characters count once", strings.Repeat("😀", 600), strings.Repeat("😀", 500) + "…"},
		{"mixed widths", strings.Repeat("a", 499) + "€😀b", strings.Repeat("a", 499) + "€…"},
		{"ascii over the limit", strings.Repeat("x", 1000), strings.Repeat("x", 500) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := WireResult(tc.in)
			if got != tc.want {
				t.Fatalf("WireResult: %d characters, want %d", utf8.RuneCountInString(got), utf8.RuneCountInString(tc.want))
			}
			if !utf8.ValidString(got) {
				t.Fatal("cut inside a character")
			}
		})
	}
}

func TestNeedsApproval(t *testing.T) {
	cases := []struct {
		name             string
		tool             string
		requiresApproval bool
		patterns         []string
		want             bool
	}{
		{"prefix glob gates a matching name", "cancel_subscription", false, []string{"cancel_*"}, true},
		{"prefix glob does not match inside a name", "undo_cancel", false, []string{"cancel_*"}, false},
		{"prefix glob does not match a suffix match either", "undo_cancel_all", false, []string{"cancel_*"}, false},
		{"star matches an empty run", "cancel_", false, []string{"cancel_*"}, true},
		{"question mark matches exactly one character", "refund_1", false, []string{"refund_?"}, true},
		{"question mark does not match two", "refund_12", false, []string{"refund_?"}, false},
		{"question mark does not match none", "refund_", false, []string{"refund_?"}, false},
		{"match is case-sensitive", "Cancel_subscription", false, []string{"cancel_*"}, false},
		{"exact name", "lookup_invoice", false, []string{"lookup_invoice"}, true},
		{"whole name must match", "lookup_invoice_v2", false, []string{"lookup_invoice"}, false},
		{"star alone matches everything, built-ins too", "knowledge_search", false, []string{"*"}, true},
		{"character class works like path.Match", "bat", false, []string{"[a-c]at"}, true},
		{"malformed pattern matches nothing", "refund_[", false, []string{"refund_["}, false},
		{"malformed pattern does not spoil the others", "refund_all", false, []string{"[", "refund_*"}, true},
		{"requiresApproval gates without patterns", "lookup_invoice", true, nil, true},
		{"no flag and no patterns", "lookup_invoice", false, nil, false},
		{"no pattern matches", "lookup_invoice", false, []string{"refund_*", "cancel_*"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeedsApproval(tc.tool, tc.requiresApproval, tc.patterns); got != tc.want {
				t.Fatalf("NeedsApproval(%q, %v, %q) = %v, want %v", tc.tool, tc.requiresApproval, tc.patterns, got, tc.want)
			}
		})
	}
}

func TestValidConfirmPattern(t *testing.T) {
	cases := []struct {
		p    string
		want bool
	}{
		{"cancel_*", true},
		{"refund_?", true},
		{"*", true},
		{"a-b_C9", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"[abc]", false},
		{"refund_[", false},
		{`a\*`, false},
		{"a/b", false},
		{"a b", false},
		{"é", false},
		{"a.b", false},
	}
	for _, tc := range cases {
		if got := ValidConfirmPattern(tc.p); got != tc.want {
			t.Errorf("ValidConfirmPattern(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
