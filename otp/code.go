// Package otp makes, hashes and delivers the one-time codes of PROTOCOL-1.1 §7.14. A code
// exists in clear only between Generate and the email that carries it: it is never stored,
// logged, published or returned. What is stored is its keyed hash (Hasher), and what is
// shown is the masked destination (Mask).
package otp

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Digits is the length of a code (PROTOCOL-1.1 §7.14).
const Digits = 6

// codeSpace is how many codes there are: 000000–999999.
const codeSpace = 1_000_000

// MaxCodeChars is the longest verify_otp code accepted (PROTOCOL-1.1 §1.11).
const MaxCodeChars = 32

// Generate draws a code uniformly from 000000–999999 with crypto/rand. Rejection sampling
// keeps it free of modulo bias: a 32-bit draw at or above the largest multiple of 10^6 below
// 2^32 is drawn again.
func Generate() (string, error) {
	const limit = (1 << 32) / codeSpace * codeSpace
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("otp: read random: %w", err)
		}
		if n := binary.BigEndian.Uint32(b[:]); n < limit {
			return fmt.Sprintf("%0*d", Digits, n%codeSpace), nil
		}
	}
}

// Normalize is a code as verify_otp compares it: ASCII spaces and '-' removed (§4.13 step 6).
func Normalize(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
}

// hkdfInfo names the key derived for codes (PROTOCOL-1.1 §7.14).
const hkdfInfo = "switchboard otp v1"

// Hasher hashes codes under K_otp, derived from the server's encryption key, so that a copy
// of the database alone does not reveal them.
type Hasher struct {
	key []byte
}

// NewHasher derives K_otp from the server's encryption key with HKDF-SHA256 (empty salt,
// info "switchboard otp v1").
func NewHasher(encryptionKey []byte) (*Hasher, error) {
	if len(encryptionKey) == 0 {
		return nil, errors.New("otp: no encryption key")
	}
	k, err := hkdf.Key(sha256.New, encryptionKey, nil, hkdfInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("otp: derive key: %w", err)
	}
	return &Hasher{key: k}, nil
}

// Hash is HMAC-SHA256(K_otp, "<challenge id>:<code>"): 32 bytes.
func (h *Hasher) Hash(challengeID uuid.UUID, code string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(challengeID.String() + ":" + code))
	return m.Sum(nil)
}

// Matches reports, in constant time, whether typed (normalized first) is the code whose hash
// is stored for the challenge.
func (h *Hasher) Matches(challengeID uuid.UUID, typed string, stored []byte) bool {
	return hmac.Equal(h.Hash(challengeID, Normalize(typed)), stored)
}

// Mask is an address as visitors and logs see it (PROTOCOL-1.1 §5.15): the local part
// reduced to its first character and "***", the domain in full.
func Mask(address string) string {
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" {
		return "***"
	}
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}
