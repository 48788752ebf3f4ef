package contact

import (
	"strings"
	"testing"
)

func TestEmailRule(t *testing.T) {
	for in, want := range map[string]string{
		"Dana@Example.COM":                       "Dana@example.com",
		"  dana@example.org\t":                   "dana@example.org",
		"DANA+tag@sub.EXAMPLE.io":                "DANA+tag@sub.example.io",
		"ünï@Exämple.COM":                        "ünï@exämple.com", // only ASCII letters are lowered
		strings.Repeat("l", 64) + "@example.com": strings.Repeat("l", 64) + "@example.com",
	} {
		if got, ok := Email(in); !ok || got != want {
			t.Errorf("Email(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "   ", "not-an-email", "a@b", "a b@c.com", "a@b .com", "@example.com", "a@@example.com", "a@b@example.com",
		"a@example..com", "a@.example.com", "a@example.com.", "a\x00@example.com", "a@exa\u007fmple.com",
		strings.Repeat("l", 65) + "@example.com", strings.Repeat("l", 64) + "@" + strings.Repeat("d", 186) + ".com",
	} {
		if got, ok := Email(in); ok {
			t.Errorf("Email(%q) = %q, accepted", in, got)
		}
	}
}
