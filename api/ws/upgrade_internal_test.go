package ws

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/config"
)

func TestDrainingInstanceRefusesUpgradesWith503(t *testing.T) {
	h := New(Deps{Config: &config.Config{}})
	app := fiber.New()
	h.Mount(app)
	h.SetDraining()
	req := httptest.NewRequest("GET", "/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Error struct{ Code, Message string }
	}
	if resp.StatusCode != 503 || json.Unmarshal(b, &env) != nil || env.Error.Code != "SERVER_SHUTTING_DOWN" ||
		env.Error.Message != "server is shutting down; reconnect and retry" {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}

func TestOriginMatching(t *testing.T) {
	allowed := []string{"https://shop.example.com", "http://localhost:3000", "https://*.example.org"}
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"https://shop.example.com", true},
		{"https://shop.example.com:443", true},
		{"https://SHOP.example.com", true},
		{"http://shop.example.com", false},
		{"http://localhost:3000", true},
		{"http://localhost", false},
		{"https://a.example.org", true},
		{"https://a.b.example.org", true},
		{"https://example.org", false},
		{"https://notexample.org", false},
		{"https://a.example.org:8443", false},
		{"", false},
	} {
		if got := originAllowed(tc.origin, allowed); got != tc.want {
			t.Errorf("%q: got %v", tc.origin, got)
		}
	}
	if !originAllowed("", nil) || !originAllowed("https://x.com", []string{"*"}) || originAllowed("", []string{"*"}) {
		t.Error("empty list or * misbehaves")
	}
}

func TestTitleSanitizing(t *testing.T) {
	if got := sanitizeTitle("  \"Opening\n\t hours\"  "); got != "Opening hours" {
		t.Errorf("got %q", got)
	}
	if got := sanitizeTitle("## *'Refund'* "); got != "Refund" {
		t.Errorf("got %q", got)
	}
}
