package auth

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewAPIKeyFormatAndHash(t *testing.T) {
	k, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Plaintext) != 47 || !ValidAPIKeyFormat(k.Plaintext) || !IsAPIKeyToken(k.Plaintext) {
		t.Errorf("plaintext %q is not sbk_ + 43 base64url characters", k.Plaintext)
	}
	sum := sha256.Sum256([]byte(k.Plaintext))
	if !bytes.Equal(k.Hash, sum[:]) || !EqualHash(k.Hash, HashAPIKey(k.Plaintext)) {
		t.Errorf("hash is not SHA-256 of the whole token")
	}
	if k.Prefix != k.Plaintext[:8] || !strings.HasPrefix(k.Prefix, "sbk_") || k.Last4 != k.Plaintext[43:] {
		t.Errorf("prefix %q / last4 %q do not match %q", k.Prefix, k.Last4, k.Plaintext)
	}
	other, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if other.Plaintext == k.Plaintext || EqualHash(other.Hash, k.Hash) {
		t.Errorf("two keys are equal")
	}
}

func TestAPIKeyPrintingAndLoggingRedactPlaintext(t *testing.T) {
	k, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("created", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), logs.String()} {
		if strings.Contains(out, k.Plaintext) {
			t.Errorf("output contains the plaintext: %s", out)
		}
		if !strings.Contains(out, k.Prefix) || !strings.Contains(out, k.Last4) {
			t.Errorf("output does not name prefix and last4: %s", out)
		}
	}
}

func TestValidAPIKeyFormat(t *testing.T) {
	body := strings.Repeat("A", 42)
	tests := []struct {
		name, tok string
		want      bool
	}{
		{"43 base64url characters", "sbk_" + body + "_", true},
		{"dash and underscore", "sbk_" + strings.Repeat("-_", 21) + "z", true},
		{"42 characters", "sbk_" + body, false},
		{"44 characters", "sbk_" + body + "AA", false},
		{"standard base64 plus", "sbk_" + body + "+", false},
		{"padding", "sbk_" + strings.Repeat("A", 41) + "==", false},
		{"upper-case prefix", "SBK_" + body + "A", false},
		{"trailing newline", "sbk_" + body + "A\n", false},
		{"JWT", "eyJhbGciOiJIUzI1NiJ9.e30.sig", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidAPIKeyFormat(tt.tok); got != tt.want {
				t.Errorf("ValidAPIKeyFormat(%q) = %v, want %v", tt.tok, got, tt.want)
			}
		})
	}
	if !IsAPIKeyToken("sbk_") || IsAPIKeyToken("Sbk_x") || IsAPIKeyToken("eyJ") {
		t.Errorf("IsAPIKeyToken must be a plain sbk_ prefix test")
	}
}

func TestEqualHash(t *testing.T) {
	a, b := HashAPIKey("sbk_a"), HashAPIKey("sbk_b")
	if !EqualHash(a, HashAPIKey("sbk_a")) || EqualHash(a, b) || EqualHash(a, a[:31]) || EqualHash(nil, a) {
		t.Errorf("EqualHash gives wrong answers")
	}
}

func TestNewResumeToken(t *testing.T) {
	tok, err := NewResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 47 || !strings.HasPrefix(tok, "srt_") || !ValidResumeTokenFormat(tok) {
		t.Errorf("resume token %q is not srt_ + 43 base64url characters", tok)
	}
	sum := sha256.Sum256([]byte(tok))
	if !bytes.Equal(HashResumeToken(tok), sum[:]) {
		t.Errorf("resume token hash is not SHA-256")
	}
	if ValidResumeTokenFormat("sbk_"+tok[4:]) || ValidResumeTokenFormat(tok+"A") {
		t.Errorf("ValidResumeTokenFormat accepts a malformed token")
	}
}
