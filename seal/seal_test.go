package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/uuid"
)

func testBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealRoundTripAndFormat(t *testing.T) {
	b := testBox(t, 7)
	org, row := uuid.New(), uuid.New()
	aad := AAD("gateway_keys", "key_ciphertext", org, row)
	s1 := b.Seal([]byte("sk-secret"), aad)
	s2 := b.Seal([]byte("sk-secret"), aad)
	if s1[0] != 0x01 {
		t.Fatalf("version byte = %#x, want 0x01", s1[0])
	}
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
	if bytes.Contains(s1, []byte("sk-secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	pt, err := b.Open(s1, aad)
	if err != nil || string(pt) != "sk-secret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

func TestSealedValueDoesNotOpenElsewhere(t *testing.T) {
	b := testBox(t, 7)
	org, row := uuid.New(), uuid.New()
	s := b.Seal([]byte("secret"), AAD("agents", "tool_signing_secret", org, row))
	cases := map[string]func() ([]byte, error){
		"other row":    func() ([]byte, error) { return b.Open(s, AAD("agents", "tool_signing_secret", org, uuid.New())) },
		"other org":    func() ([]byte, error) { return b.Open(s, AAD("agents", "tool_signing_secret", uuid.New(), row)) },
		"other column": func() ([]byte, error) { return b.Open(s, AAD("agents", "widget_signing_secret", org, row)) },
		"other key": func() ([]byte, error) {
			return testBox(t, 8).Open(s, AAD("agents", "tool_signing_secret", org, row))
		},
		"truncated": func() ([]byte, error) { return b.Open(s[:10], AAD("agents", "tool_signing_secret", org, row)) },
	}
	for name, open := range cases {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
