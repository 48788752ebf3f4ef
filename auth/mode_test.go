package auth

import (
	"reflect"
	"testing"
)

func TestResolveMode(t *testing.T) {
	tests := []struct {
		name       string
		env        string
		material   bool
		production bool
		want       Mode // empty: startup error
	}{
		{"default with key material is jwt", "", true, false, ModeJWT},
		{"default without key material is apikey", "", false, false, ModeAPIKey},
		{"blank is the default", "  ", false, true, ModeAPIKey},
		{"jwt with key material", "jwt", true, true, ModeJWT},
		{"value is trimmed and case-insensitive", " JWT ", true, false, ModeJWT},
		{"jwt without key material is a startup error", "jwt", false, false, ""},
		{"apikey", "APIKey", false, true, ModeAPIKey},
		{"apikey with key material is a startup error", "apikey", true, false, ""},
		{"none in development", "none", false, false, ModeNone},
		{"none with key material is a startup error", "none", true, false, ""},
		{"none in production is a startup error", "None", false, true, ""},
		{"unknown value is a startup error", "oauth", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveMode(tt.env, tt.material, tt.production)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ResolveMode = %q, want a startup error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ResolveMode = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestDevPrincipal(t *testing.T) {
	got := DevPrincipal("0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30")
	want := Principal{UserID: "dev", OrgID: "0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", Role: RoleAdmin, DisplayName: "Dev Admin (AUTH_MODE=none)", AuthMethod: "dev"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DevPrincipal = %+v, want %+v", got, want)
	}
	if got, want := DevModeWarning("o1"), "AUTH_MODE=none: every bearer token is an admin of org o1; never use this in production"; got != want {
		t.Errorf("DevModeWarning = %q, want %q", got, want)
	}
}
