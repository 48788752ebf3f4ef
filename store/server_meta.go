package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/seal"
)

const (
	keyCheckName = "encryption_key_check"
	keyCheckText = "switchboard encryption key check v1"
)

// ErrEncryptionKeyMismatch: the configured key is not the one this database's secrets were sealed with.
var ErrEncryptionKeyMismatch = errors.New("SWITCHBOARD_ENCRYPTION_KEY does not match the key this database was encrypted with")

var keyCheckAAD = []byte("switchboard:server_meta.value:" + keyCheckName)

// CheckEncryptionKey stores a sealed canary at first start and, on every later start,
// proves the configured key opens it.
func (s *Store) CheckEncryptionKey(ctx context.Context, box *seal.Box) error {
	if err := queries.ServerMetaPutIfAbsent(ctx, s.pool, db.ServerMetaPutIfAbsentParams{Key: keyCheckName, Value: box.Seal([]byte(keyCheckText), keyCheckAAD)}); err != nil {
		return fmt.Errorf("store encryption key check: %w", err)
	}
	stored, err := queries.ServerMetaGet(ctx, s.pool, keyCheckName)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("encryption key check vanished")
	}
	if err != nil {
		return fmt.Errorf("read encryption key check: %w", err)
	}
	if pt, err := box.Open(stored, keyCheckAAD); err != nil || string(pt) != keyCheckText {
		return ErrEncryptionKeyMismatch
	}
	return nil
}
