// Package contact validates and normalizes the contact values a visitor gives about
// themselves (PROTOCOL-1.1 §3.7, §7.11). Such values are unverified data: this package
// never decides access, and never logs a value.
package contact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEmailChars is the longest email address accepted (PROTOCOL-1.1 §1.11).
const MaxEmailChars = 254

const maxLocalPartChars = 64

// Email applies the email rule of PROTOCOL-1.1 §7.11 to s, trimmed: at most 254 characters,
// no whitespace or control character, exactly one `@`, a non-empty local part of at most 64
// characters, and a domain of at least two `.`-separated labels, none empty. It returns the
// normalized address (the local part as typed, the domain in ASCII lowercase) and whether s
// is one.
func Email(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > MaxEmailChars || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", false
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") || local == "" || utf8.RuneCountInString(local) > maxLocalPartChars {
		return "", false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" {
			return "", false
		}
	}
	return local + "@" + asciiLower(domain), true
}

// asciiLower lowercases A–Z only, leaving every other character as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
