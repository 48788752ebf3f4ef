// Package seal encrypts tenant secrets at rest (gateway keys, widget and tool signing
// secrets) with AES-256-GCM under SWITCHBOARD_ENCRYPTION_KEY. Every ciphertext is bound to
// its row through additional authenticated data, so a value copied to another row or org
// fails to open. It never logs, caches or returns plaintext beyond the caller.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// version is the leading byte of every sealed value: 0x01 ‖ nonce ‖ ciphertext ‖ tag.
const version = 0x01

// ErrOpen means the value was not sealed with this key for this row.
var ErrOpen = errors.New("seal: cannot open value")

// Box seals and opens values with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead}, nil
}

// AAD names the place a value lives: switchboard:<table>.<column>:<org_id>:<row id>.
func AAD(table, column string, orgID, rowID uuid.UUID) []byte {
	return []byte(fmt.Sprintf("switchboard:%s.%s:%s:%s", table, column, orgID, rowID))
}

// Seal encrypts plaintext with a fresh random nonce.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		panic("seal: no randomness: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return b.aead.Seal(out, out[1:1+ns], plaintext, aad) //nolint:gosec // G407: false positive, the nonce is read from crypto/rand above
}

// Open decrypts a value sealed by Seal with the same aad.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
