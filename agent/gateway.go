package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

var (
	// ErrNoGatewayKey: neither the org nor the server has a gateway key (LLM_UNAVAILABLE).
	ErrNoGatewayKey = errors.New("no LLM gateway key is configured for this organization")
	// ErrQuotaExceeded: the org's monthly token budget is spent (QUOTA_EXCEEDED).
	ErrQuotaExceeded = errors.New("the organization's monthly token budget is exhausted")
	// ErrKeyUnusable: the org's key does not open with the server's encryption key.
	ErrKeyUnusable = errors.New("gateway key cannot be decrypted")
)

// GatewayKey is the key that pays for a turn, decrypted for that turn only.
type GatewayKey struct {
	ID      uuid.NullUUID // the org key; invalid when the server key pays
	BaseURL string
	secret  string
	// tenantURL: the org key's own baseUrl, reached through the guarded transport.
	tenantURL bool
}

// String never shows the secret.
func (k *GatewayKey) String() string {
	if k.ID.Valid {
		return "gateway key " + k.ID.UUID.String()
	}
	return "server gateway key"
}

// LogValue keeps the secret out of structured logs.
func (k *GatewayKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ResolveKey returns the key that pays for a turn of the org (ADMIN-API §7.1): its newest
// active key with that key's baseUrl or SWITCHBOARD_GATEWAY_URL, else the server's key, else
// ErrNoGatewayKey. Other errors are storage failures, or ErrKeyUnusable.
func (e *Engine) ResolveKey(ctx context.Context, orgID uuid.UUID) (*GatewayKey, error) {
	k, err := e.store.NewestActiveGatewayKey(ctx, orgID)
	switch {
	case err == nil:
		plain, err := e.box.Open(k.KeyCiphertext, seal.AAD("gateway_keys", "key_ciphertext", orgID, k.ID))
		if err != nil {
			return nil, fmt.Errorf("open gateway key %s: %w", k.ID, ErrKeyUnusable)
		}
		gk := &GatewayKey{ID: uuid.NullUUID{UUID: k.ID, Valid: true}, BaseURL: e.cfg.GatewayURL, secret: string(plain)}
		if k.BaseUrl != nil && *k.BaseUrl != "" {
			gk.BaseURL, gk.tenantURL = *k.BaseUrl, true
		}
		return gk, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	case e.cfg.GatewayKey != "":
		return &GatewayKey{BaseURL: e.cfg.GatewayURL, secret: e.cfg.GatewayKey}, nil
	}
	return nil, ErrNoGatewayKey
}

// CheckBudget returns ErrQuotaExceeded when the org has a monthly token budget and its
// tokens of the current UTC month have reached it (ADMIN-API §7.3).
func (e *Engine) CheckBudget(ctx context.Context, orgID uuid.UUID) error {
	st, ok, err := e.store.OrgSettings(ctx, orgID)
	if err != nil {
		return err
	}
	if !ok || st.MonthlyTokenBudget == nil {
		return nil
	}
	used, err := e.store.MonthTokens(ctx, orgID)
	if err != nil {
		return err
	}
	if used >= *st.MonthlyTokenBudget {
		return ErrQuotaExceeded
	}
	return nil
}
