package agent

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

func TestCheckBudgetRefusesOnlyOnceTheBudgetIsReached(t *testing.T) {
	budget := int64(100)
	cases := []struct {
		name string
		in   store.TurnInputs
		want error
	}{
		{"settings never written", store.TurnInputs{MonthTokens: 1 << 40}, nil},
		{"no budget", store.TurnInputs{HasSettings: true, MonthTokens: 1 << 40}, nil},
		{"under budget", store.TurnInputs{HasSettings: true, Settings: db.OrgSetting{MonthlyTokenBudget: &budget}, MonthTokens: 99}, nil},
		{"budget reached", store.TurnInputs{HasSettings: true, Settings: db.OrgSetting{MonthlyTokenBudget: &budget}, MonthTokens: 100}, ErrQuotaExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckBudget(&tc.in); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("CheckBudget = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResolveKeyPrefersTheOrgKeyThenTheServerKey(t *testing.T) {
	box, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	org, keyID := uuid.New(), uuid.New()
	sealed := box.Seal([]byte("sk-org"), seal.AAD("gateway_keys", "key_ciphertext", org, keyID))
	tenantURL := "https://gateway.example.com/v1"
	orgKey := func(ciphertext []byte, baseURL *string) store.TurnInputs {
		return store.TurnInputs{HasGatewayKey: true, GatewayKey: db.GatewayKey{ID: keyID, OrgID: org, KeyCiphertext: ciphertext, BaseUrl: baseURL}}
	}
	cases := []struct {
		name                      string
		serverKey                 string
		in                        store.TurnInputs
		wantErr                   error
		wantSecret, wantURL       string
		wantOrgKey, wantTenantURL bool
	}{
		{"org key over the server key", "sk-server", orgKey(sealed, nil), nil, "sk-org", "https://server.example.com/v1", true, false},
		{"org key with its own base URL", "", orgKey(sealed, &tenantURL), nil, "sk-org", tenantURL, true, true},
		{"org key that does not open", "sk-server", orgKey([]byte("garbage"), nil), ErrKeyUnusable, "", "", false, false},
		{"server key without an org key", "sk-server", store.TurnInputs{}, nil, "sk-server", "https://server.example.com/v1", false, false},
		{"no key at all", "", store.TurnInputs{}, ErrNoGatewayKey, "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Deps{Config: &config.Config{GatewayURL: "https://server.example.com/v1", GatewayKey: tc.serverKey}, Box: box})
			if err != nil {
				t.Fatal(err)
			}
			k, err := e.ResolveKey(org, &tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || k.secret != tc.wantSecret || k.BaseURL != tc.wantURL || k.ID.Valid != tc.wantOrgKey || k.tenantURL != tc.wantTenantURL {
				t.Fatalf("key %+v err %v", k, err)
			}
		})
	}
}
