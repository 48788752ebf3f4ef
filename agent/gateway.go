package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/netguard"
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

// GatewayKey is the key that pays for a turn, decrypted for that turn only, or, for a turn the
// offline model answers, no key at all: then model is set, nothing pays, and ID is invalid.
type GatewayKey struct {
	ID      uuid.NullUUID // the org key; invalid when the server key pays or nothing does
	BaseURL string
	secret  string
	// tenantURL: the org key's own baseUrl, reached through the guarded transport.
	tenantURL bool
	// model, when set, answers the turn instead of a gateway, as modelName.
	model     llm.Model
	modelName string
}

// String never shows the secret.
func (k *GatewayKey) String() string {
	switch {
	case k.model != nil:
		return "built-in model " + k.modelName
	case k.ID.Valid:
		return "gateway key " + k.ID.UUID.String()
	}
	return "server gateway key"
}

// LogValue keeps the secret out of structured logs.
func (k *GatewayKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// LoadInputs reads, in one round trip, everything send_message checks before its 202 and
// its turn then runs on (PROTOCOL §4.7, §7.1): the agent, its tools, the org settings, the
// org's newest active gateway key, its month-to-date tokens, and the conversation's newest
// SWITCHBOARD_HISTORY_MESSAGES messages. Call it before the turn's user message is stored.
func (e *Engine) LoadInputs(ctx context.Context, orgID, agentID, sessionID, conversationID uuid.UUID) (*store.TurnInputs, error) {
	return e.store.LoadTurnInputs(ctx, orgID, agentID, sessionID, conversationID, e.cfg.HistoryMessages)
}

// ResolveKey returns the key that pays for a turn of the org (ADMIN-API §7.1): its newest
// active key (read into in) with that key's baseUrl or SWITCHBOARD_GATEWAY_URL, else the
// server's key, else the offline model when SWITCHBOARD_DEMO_MODEL is on, else
// ErrNoGatewayKey; ErrKeyUnusable when the org key does not decrypt. A turn whose model is
// the offline model's name is always the offline model's, so no gateway ever sees that name
// and usage rows carrying it are exactly the turns nobody paid for.
func (e *Engine) ResolveKey(orgID uuid.UUID, in *store.TurnInputs) (*GatewayKey, error) {
	offline := e.offline.Model != nil
	if offline && e.turnModel(in) == e.offline.Name {
		return e.offlineKey(), nil
	}
	switch {
	case in.HasGatewayKey:
		k := in.GatewayKey
		plain, err := e.box.Open(k.KeyCiphertext, seal.AAD("gateway_keys", "key_ciphertext", orgID, k.ID))
		if err != nil {
			return nil, fmt.Errorf("open gateway key %s: %w", k.ID, ErrKeyUnusable)
		}
		gk := &GatewayKey{ID: uuid.NullUUID{UUID: k.ID, Valid: true}, BaseURL: e.cfg.GatewayURL, secret: string(plain)}
		if k.BaseUrl != nil && *k.BaseUrl != "" {
			gk.BaseURL, gk.tenantURL = *k.BaseUrl, true
		}
		return gk, nil
	case e.cfg.GatewayKey != "":
		return &GatewayKey{BaseURL: e.cfg.GatewayURL, secret: e.cfg.GatewayKey}, nil
	case offline && e.cfg.DemoModel:
		return e.offlineKey(), nil
	}
	return nil, ErrNoGatewayKey
}

// ServerKey reports whether the server's own key (SWITCHBOARD_GATEWAY_KEY) pays: not an org
// key, and not the offline model, which nobody pays for.
func (k *GatewayKey) ServerKey() bool { return k.model == nil && !k.ID.Valid }

func (e *Engine) offlineKey() *GatewayKey {
	return &GatewayKey{model: e.offline.Model, modelName: e.offline.Name}
}

// turnModel is the model a turn of in asks for (ADMIN-API §9.4): the agent's, else the org
// settings', else SWITCHBOARD_DEFAULT_MODEL.
func (e *Engine) turnModel(in *store.TurnInputs) string {
	if in.AgentFound && in.Agent.Model != nil && *in.Agent.Model != "" {
		return *in.Agent.Model
	}
	if in.HasSettings {
		return in.Settings.Model
	}
	return e.cfg.DefaultModel
}

// modelFor is what answers the model calls of a turn paid by k.
func (e *Engine) modelFor(k *GatewayKey) (llm.Model, error) {
	if k.model != nil {
		return e.traced(k.model, providerOffline), nil
	}
	httpClient := e.serverHTTP
	if k.tenantURL {
		httpClient = e.tenantHTTP
	}
	c, err := llm.New(llm.Config{
		BaseURL: k.BaseURL, APIKey: k.secret, HTTPClient: httpClient, Limits: e.limits,
		Retries: e.cfg.GatewayRetries, RetryMaxDelay: e.cfg.GatewayRetryMaxDelay, OnRetry: e.metrics.retried,
		// A refused address stays refused (ADMIN-API §6.4).
		Permanent: func(err error) bool { return errors.Is(err, netguard.ErrRefusedAddress) },
	})
	if err != nil {
		return nil, err
	}
	return e.traced(c, providerGateway), nil
}

// CheckBudget returns ErrQuotaExceeded when the org has a monthly token budget and its
// tokens of the current UTC month (read into in) have reached it (ADMIN-API §7.3).
func CheckBudget(in *store.TurnInputs) error {
	if in.HasSettings && in.Settings.MonthlyTokenBudget != nil && in.MonthTokens >= *in.Settings.MonthlyTokenBudget {
		return ErrQuotaExceeded
	}
	return nil
}
