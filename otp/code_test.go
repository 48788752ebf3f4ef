package otp_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"regexp"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/otp"
)

func TestGenerateDrawsSixDecimalDigitsUniformly(t *testing.T) {
	six := regexp.MustCompile(`^[0-9]{6}$`)
	const n = 20000
	var firstDigit [10]int
	seen := map[string]bool{}
	for range n {
		c, err := otp.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !six.MatchString(c) {
			t.Fatalf("code %q is not six digits", c)
		}
		firstDigit[c[0]-'0']++
		seen[c] = true
	}
	// Each leading digit has probability 1/10: 2000 expected, sd ≈ 42. A biased or constant
	// generator falls far outside 2000 ± 300.
	for d, got := range firstDigit {
		if got < 1700 || got > 2300 {
			t.Errorf("leading digit %d drawn %d times in %d codes", d, got, n)
		}
	}
	// 20000 draws from a million collide about 200 times; a repeating generator far more.
	if len(seen) < n-600 {
		t.Errorf("only %d distinct codes in %d draws", len(seen), n)
	}
}

func TestHashIsKeyedPerChallengeAndMatchesTheTypedCode(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	h, err := otp.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	sum := h.Hash(id, "482913")
	if len(sum) != 32 {
		t.Fatalf("hash of %d bytes", len(sum))
	}
	// The key is derived (HKDF), not the encryption key itself.
	raw := hmac.New(sha256.New, key)
	raw.Write([]byte(id.String() + ":482913"))
	if bytes.Equal(raw.Sum(nil), sum) {
		t.Fatal("the code is hashed under the encryption key itself")
	}
	if bytes.Equal(h.Hash(uuid.New(), "482913"), sum) {
		t.Fatal("the same code hashes alike for two challenges")
	}
	other, _ := otp.NewHasher(bytes.Repeat([]byte{8}, 32))
	if bytes.Equal(other.Hash(id, "482913"), sum) {
		t.Fatal("another server key gives the same hash")
	}
	for _, typed := range []string{"482913", "482 913", "482-913", " 48 29-13 "} {
		if !h.Matches(id, typed, sum) {
			t.Errorf("%q does not match", typed)
		}
	}
	for _, typed := range []string{"482914", "4829130", "", "482\t913", "４８２９１３"} {
		if h.Matches(id, typed, sum) {
			t.Errorf("%q matches", typed)
		}
	}
	if _, err := otp.NewHasher(nil); err == nil {
		t.Fatal("a hasher without a key")
	}
}

func TestMaskKeepsTheFirstCharacterAndTheDomain(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com",
		"Dana@example.com":  "D***@example.com",
		"é@x.io":            "é***@x.io",
		"nope":              "***",
	} {
		if got := otp.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
